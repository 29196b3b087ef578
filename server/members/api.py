"""HTTP API of auth, the member's profile, organizations and memberships."""

from __future__ import annotations

import tempfile
import uuid
from typing import Any

from flask import current_app, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from exports import archive as archive_writer
from server import db
from server.errors import ApiError
from server.members import archive, auth, ratelimit, services
from server.members.models import MembershipStatus, Organization, Role
from server.members.schemas import (
    JoinSchema,
    LoginSchema,
    MemberListQuery,
    MemberOfOrgSchema,
    MemberSchema,
    MembershipSchema,
    MembershipUpdateSchema,
    MeSchema,
    OrganizationSchema,
    OrgCreateSchema,
    RefreshSchema,
    RegisterSchema,
    TokenSchema,
)

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1",
                     description="Registration, login, token refresh and logout.")
orgs_blp = Blueprint("organizations", __name__, url_prefix="/api/v1/organizations",
                     description="Cooperatives and other organizations, and their members.")


def _token_settings() -> services.TokenSettings:
    cfg = current_app.config
    return services.TokenSettings(cfg["SECRET_KEY"], cfg["ACCESS_TOKEN_TTL"],
                                  cfg["REFRESH_TOKEN_TTL"])


def _limit(action: str, phone: str) -> None:
    cfg = current_app.config
    ratelimit.check(db.engine(), [
        (f"{action}:phone:{phone}", cfg["RATE_LIMIT_PER_PHONE"]),
        (f"{action}:addr:{request.remote_addr}", cfg["RATE_LIMIT_PER_ADDRESS"]),
    ], cfg["RATE_LIMIT_WINDOW"])


@auth_blp.route("/auth/register")
class Register(MethodView):
    @auth_blp.arguments(RegisterSchema)
    @auth_blp.response(201, MemberSchema)
    @auth_blp.alt_response(409, description="Phone already registered.")
    @auth_blp.alt_response(429, description="Too many attempts (Retry-After).")
    def post(self, data: dict[str, Any]) -> Any:
        """Register with a phone number and a password."""
        _limit("register", data["phone"])
        sess = db.session()
        member = services.register(sess, **data)
        sess.commit()
        return member


@auth_blp.route("/auth/login")
class Login(MethodView):
    @auth_blp.arguments(LoginSchema)
    @auth_blp.response(200, TokenSchema)
    @auth_blp.alt_response(401, description="Wrong phone or password.")
    @auth_blp.alt_response(429, description="Too many attempts (Retry-After).")
    def post(self, data: dict[str, Any]) -> Any:
        """Log in from a device: an access token and a refresh token for that device."""
        _limit("login", data["phone"])
        sess = db.session()
        member = services.authenticate(sess, data["phone"], data["password"])
        out = services.issue_tokens(sess, _token_settings(), member, data["device_id"])
        sess.commit()
        return out


@auth_blp.route("/auth/refresh")
class Refresh(MethodView):
    @auth_blp.arguments(RefreshSchema)
    @auth_blp.response(200, TokenSchema)
    @auth_blp.alt_response(401, description="Invalid, expired or reused refresh token.")
    def post(self, data: dict[str, Any]) -> Any:
        """Rotate: the refresh token is spent and a new pair issued.

        Presenting a spent refresh token again revokes every token of that login."""
        sess = db.session()
        try:
            out = services.rotate(sess, _token_settings(), data["refresh_token"])
        except services.RefreshReused:
            sess.commit()  # keep the revocation
            raise
        sess.commit()
        return out


@auth_blp.route("/auth/logout")
class Logout(MethodView):
    @auth_blp.doc(security=auth.SECURITY)
    @auth_blp.response(204)
    @auth.login_required
    def post(self) -> None:
        """End this device's session: its refresh and access tokens stop working."""
        sess = db.session()
        services.revoke_family(sess, auth.current().family_id)
        sess.commit()


@auth_blp.route("/me")
class Me(MethodView):
    @auth_blp.doc(security=auth.SECURITY)
    @auth_blp.response(200, MeSchema)
    @auth.login_required
    def get(self) -> Any:
        """The caller's profile and memberships."""
        sess = db.session()
        p = auth.current()
        member = sess.get(services.Member, p.member_id)
        out = {name: getattr(member, name) for name in MemberSchema().fields}
        out["memberships"] = services.memberships_of(sess, p.member_id)
        return out


@auth_blp.route("/me/archive")
class MyArchive(MethodView):
    @auth_blp.doc(security=auth.SECURITY, responses={"200": {
        "description": "A ZIP: data.json, one CSV per table, catches.gpkg (every catch "
                       "version as a point) and manifest.json (SHA-256 of each file).",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
    @auth.login_required
    def get(self) -> Any:
        """All of your data, to keep or take elsewhere: profile, memberships, vessels, trips
        and their revisions, every version of every catch, the reports that carried them,
        your consents and their history."""
        p = auth.current()
        meta, tables = archive.gather(db.session(), p.member_id)
        # Closed by send_file once the response is sent, hence no `with`.
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        archive_writer.write(out, meta, tables)
        out.seek(0)
        day = meta["exported_at"][:10]
        return send_file(out, mimetype="application/zip", as_attachment=True,
                         download_name=f"cardumen-{day}.zip", max_age=0)


@orgs_blp.route("")
class Organizations(MethodView):
    @orgs_blp.response(200, OrganizationSchema(many=True))
    def get(self) -> Any:
        """Cooperatives and other organizations one can ask to join (public)."""
        return db.session().scalars(select(Organization).order_by(Organization.name)).all()

    @orgs_blp.doc(security=auth.SECURITY)
    @orgs_blp.arguments(OrgCreateSchema)
    @orgs_blp.response(201, OrganizationSchema)
    @auth.platform_admin_required
    def post(self, data: dict[str, Any]) -> Any:
        """Create an organization (platform admin), optionally naming its first admin."""
        sess = db.session()
        org = services.create_organization(sess, data)
        sess.commit()
        return org


def _org(org_id: uuid.UUID) -> Organization:
    org = db.session().get(Organization, org_id)
    if org is None:
        raise ApiError(404, "not_found")
    return org


@orgs_blp.route("/<uuid:org_id>")
class OrganizationItem(MethodView):
    @orgs_blp.response(200, OrganizationSchema)
    def get(self, org_id: uuid.UUID) -> Any:
        """One organization's public profile."""
        return _org(org_id)


@orgs_blp.route("/<uuid:org_id>/join")
class Join(MethodView):
    @orgs_blp.doc(security=auth.SECURITY)
    @orgs_blp.arguments(JoinSchema)
    @orgs_blp.response(202, MembershipSchema)
    @auth.login_required
    def post(self, data: dict[str, Any], org_id: uuid.UUID) -> Any:
        """Ask to join as fisher or buyer; an administrator of the organization decides."""
        sess = db.session()
        org = _org(org_id)
        m = services.request_join(sess, org, auth.current().member_id, data["role"])
        sess.commit()
        return {"org_id": org.id, "org_name": org.name, "role": m.role, "status": m.status}


@orgs_blp.route("/<uuid:org_id>/members")
class Members(MethodView):
    @orgs_blp.doc(security=auth.SECURITY)
    @orgs_blp.arguments(MemberListQuery, location="query")
    @orgs_blp.response(200, MemberOfOrgSchema(many=True))
    @auth.login_required
    def get(self, query: dict[str, Any], org_id: uuid.UUID) -> Any:
        """Members and pending requests (the organization's administrators)."""
        auth.require_role(org_id, [Role.admin])
        return services.members_of(db.session(), org_id, query.get("status"))


@orgs_blp.route("/<uuid:org_id>/members/<uuid:member_id>")
class MemberItem(MethodView):
    @orgs_blp.doc(security=auth.SECURITY)
    @orgs_blp.arguments(MembershipUpdateSchema)
    @orgs_blp.response(200, MemberOfOrgSchema)
    @auth.login_required
    def patch(self, data: dict[str, Any], org_id: uuid.UUID, member_id: uuid.UUID) -> Any:
        """Approve (status=active) or reject a request, change a role, or remove a member."""
        p = auth.require_role(org_id, [Role.admin])
        sess = db.session()
        services.update_membership(sess, org_id, member_id, data, p.member_id)
        sess.commit()
        rows = services.members_of(sess, org_id, None)
        return next(r for r in rows if r["member_id"] == member_id)


__all__ = ["MembershipStatus", "auth_blp", "orgs_blp"]
