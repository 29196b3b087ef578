"""HTTP API of a cooperative's vessels and permits.

Members of the organization read them (the app offers the vessels when a
trip starts); only its administrators change them.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from server import db
from server.errors import ApiError
from server.fleet import services
from server.fleet.models import Permit, Vessel
from server.fleet.schemas import PermitSchema, PermitUpdateSchema, VesselSchema, VesselUpdateSchema
from server.members import auth
from server.members.models import Role

blp = Blueprint("fleet", __name__, url_prefix="/api/v1/organizations/<uuid:org_id>",
                description="A cooperative's vessels and fishing permits.")

MEMBERS = [Role.fisher, Role.admin]


@blp.route("/vessels")
class Vessels(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, VesselSchema(many=True))
    @auth.login_required
    def get(self, org_id: uuid.UUID) -> Any:
        """The organization's vessels (its members)."""
        auth.require_role(org_id, MEMBERS)
        return db.session().scalars(
            select(Vessel).where(Vessel.org_id == org_id).order_by(Vessel.name)).all()

    @blp.doc(security=auth.SECURITY)
    @blp.arguments(VesselSchema)
    @blp.response(201, VesselSchema)
    @auth.login_required
    def post(self, data: dict[str, Any], org_id: uuid.UUID) -> Any:
        """Register a vessel (administrators)."""
        auth.require_role(org_id, [Role.admin])
        sess = db.session()
        vessel = services.create_vessel(sess, org_id, data)
        sess.commit()
        return vessel


@blp.route("/vessels/<uuid:vessel_id>")
class VesselItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, VesselSchema)
    @auth.login_required
    def get(self, org_id: uuid.UUID, vessel_id: uuid.UUID) -> Any:
        """One vessel."""
        auth.require_role(org_id, MEMBERS)
        return services.get_vessel(db.session(), org_id, vessel_id)

    @blp.doc(security=auth.SECURITY)
    @blp.arguments(VesselUpdateSchema(partial=True))
    @blp.response(200, VesselSchema)
    @auth.login_required
    def patch(self, data: dict[str, Any], org_id: uuid.UUID, vessel_id: uuid.UUID) -> Any:
        """Change a vessel (administrators); set active=false to retire it."""
        auth.require_role(org_id, [Role.admin])
        sess = db.session()
        vessel = services.update_vessel(sess, services.get_vessel(sess, org_id, vessel_id), data)
        sess.commit()
        return vessel


@blp.route("/permits")
class Permits(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, PermitSchema(many=True))
    @auth.login_required
    def get(self, org_id: uuid.UUID) -> Any:
        """The organization's fishing permits (its members)."""
        auth.require_role(org_id, MEMBERS)
        return db.session().scalars(
            select(Permit).where(Permit.org_id == org_id).order_by(Permit.valid_until)).all()

    @blp.doc(security=auth.SECURITY)
    @blp.arguments(PermitSchema)
    @blp.response(201, PermitSchema)
    @auth.login_required
    def post(self, data: dict[str, Any], org_id: uuid.UUID) -> Any:
        """Record a permit (administrators)."""
        auth.require_role(org_id, [Role.admin])
        sess = db.session()
        permit = services.create_permit(sess, org_id, data)
        sess.commit()
        return permit


@blp.route("/permits/<uuid:permit_id>")
class PermitItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.arguments(PermitUpdateSchema(partial=True))
    @blp.response(200, PermitSchema)
    @auth.login_required
    def patch(self, data: dict[str, Any], org_id: uuid.UUID, permit_id: uuid.UUID) -> Any:
        """Change a permit (administrators)."""
        auth.require_role(org_id, [Role.admin])
        sess = db.session()
        permit = sess.get(Permit, (org_id, permit_id))
        if permit is None:
            raise ApiError(404, "not_found")
        permit = services.update_permit(sess, permit, data)
        sess.commit()
        return permit
