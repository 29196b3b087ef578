"""Registration, login, token rotation, organizations and memberships.

Functions take a Session and flush; the caller (view, CLI, job) commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db import new_id, utcnow
from server.errors import ApiError, FieldError
from server.members import tokens
from server.members.models import (
    Member,
    Membership,
    MembershipStatus,
    Organization,
    RefreshToken,
    Role,
)


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    access_ttl: int
    refresh_ttl: int


def violated(exc: IntegrityError) -> str | None:
    """The name of the constraint an IntegrityError broke (psycopg's diagnostics)."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return str(name) if name else None


def _phone_registered(sess: Session, phone: str) -> bool:
    return sess.scalar(select(Member.id).where(Member.phone == phone)) is not None


def register(sess: Session, *, phone: str, password: str, name: str, locale: str) -> Member:
    taken = ApiError(409, "conflict", errors=[FieldError("phone", "phone_taken")])
    if _phone_registered(sess, phone):
        raise taken
    member = Member(id=new_id(), phone=phone, name=name, locale=locale,
                    password_hash=tokens.hash_password(password))
    try:
        # A retried tap can send the same registration twice at once: the
        # loser of that race hits the unique index and gets the same 409.
        with sess.begin_nested():
            sess.add(member)
    except IntegrityError as exc:
        if violated(exc) != "uq_member_phone":
            raise
        raise taken from exc
    return member


def authenticate(sess: Session, phone: str, password: str) -> Member:
    member = sess.scalar(select(Member).where(Member.phone == phone))
    ok = tokens.verify_password(member.password_hash if member else None, password)
    if member is None or not ok or member.disabled_at is not None:
        raise ApiError(401, "bad_credentials")
    return member


def issue_tokens(sess: Session, ts: TokenSettings, member: Member, device_id: str,
                 family_id: uuid.UUID | None = None) -> dict[str, Any]:
    now = utcnow()
    family = family_id or new_id()
    refresh, digest = tokens.new_refresh_token()
    sess.add(RefreshToken(id=new_id(), member_id=member.id, family_id=family, device_id=device_id,
                          token_hash=digest, expires_at=now + timedelta(seconds=ts.refresh_ttl)))
    sess.flush()
    return {
        "access_token": tokens.issue_access(ts.secret, member.id, family, now, ts.access_ttl),
        "token_type": "Bearer",
        "expires_in": ts.access_ttl,
        "refresh_token": refresh,
        "refresh_expires_in": ts.refresh_ttl,
        "member": member,
    }


class RefreshReused(ApiError):
    def __init__(self) -> None:
        super().__init__(401, "refresh_reused")


def rotate(sess: Session, ts: TokenSettings, refresh_token: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair; a second use revokes the family.

    The row is locked so two concurrent uses of one token cannot both win.
    On reuse the revocation is flushed and ``RefreshReused`` raised: the caller
    commits before answering, so the revocation survives the error.
    """
    row = sess.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.refresh_hash(refresh_token)).with_for_update())
    now = utcnow()
    if row is None or row.expires_at <= now:
        raise ApiError(401, "refresh_invalid")
    if row.used_at is not None:
        revoke_family(sess, row.family_id, now)
        raise RefreshReused()
    if row.revoked_at is not None:
        # Never used, but its session was closed (logout, or a reuse of an older
        # token of the family): invalid, not "reused".
        raise ApiError(401, "refresh_invalid")
    row.used_at = now
    member = sess.get(Member, row.member_id)
    if member is None or member.disabled_at is not None:
        raise ApiError(401, "refresh_invalid")
    return issue_tokens(sess, ts, member, row.device_id, row.family_id)


def revoke_family(sess: Session, family_id: uuid.UUID, when: datetime | None = None) -> None:
    sess.execute(update(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None),
    ).values(revoked_at=when or utcnow()))


def memberships_of(sess: Session, member_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = sess.execute(
        select(Membership, Organization.name).join(Organization)
        .where(Membership.member_id == member_id).order_by(Membership.requested_at)
    ).all()
    return [{"org_id": m.org_id, "org_name": name, "role": m.role, "status": m.status}
            for m, name in rows]


def _rnpa_taken(sess: Session, rnpa: str) -> bool:
    return sess.scalar(select(Organization.id).where(Organization.rnpa == rnpa)) is not None


def create_organization(sess: Session, data: dict[str, Any]) -> Organization:
    admin_id = data.pop("admin_member_id", None)
    if data.get("rnpa") and _rnpa_taken(sess, data["rnpa"]):
        raise ApiError(409, "conflict",
                       errors=[FieldError("rnpa", "duplicate_value", {"value": data["rnpa"]})])
    org = Organization(id=new_id(), **data)
    try:
        with sess.begin_nested():  # the same RNPA sent twice at once
            sess.add(org)
    except IntegrityError as exc:
        if violated(exc) != "uq_organization_rnpa":
            raise
        raise ApiError(409, "conflict", errors=[
            FieldError("rnpa", "duplicate_value", {"value": data["rnpa"]})]) from exc
    if admin_id is not None:
        if sess.get(Member, admin_id) is None:
            raise ApiError(422, "validation_error", errors=[
                FieldError("admin_member_id", "unknown_member", {"value": str(admin_id)})])
        sess.add(Membership(org_id=org.id, member_id=admin_id, role=Role.admin,
                            status=MembershipStatus.active, decided_at=utcnow()))
        sess.flush()
    return org


def _membership(sess: Session, org_id: uuid.UUID, member_id: uuid.UUID) -> Membership | None:
    return sess.get(Membership, (org_id, member_id))


def request_join(sess: Session, org: Organization, member_id: uuid.UUID, role: str) -> Membership:
    existing = _membership(sess, org.id, member_id)
    if existing is not None and existing.status in (MembershipStatus.pending,
                                                    MembershipStatus.active):
        raise ApiError(409, "already_member")
    if existing is not None:  # rejected or removed before: ask again
        existing.role, existing.status = role, MembershipStatus.pending
        existing.requested_at, existing.decided_at, existing.decided_by = utcnow(), None, None
        sess.flush()
        return existing
    m = Membership(org_id=org.id, member_id=member_id, role=role, status=MembershipStatus.pending)
    try:
        with sess.begin_nested():  # a request sent twice at once: the second one is a 409
            sess.add(m)
    except IntegrityError as exc:
        if violated(exc) != "pk_membership":
            raise
        raise ApiError(409, "already_member") from exc
    return m


def members_of(sess: Session, org_id: uuid.UUID, status: str | None) -> list[dict[str, Any]]:
    q = (select(Membership, Member.name, Member.phone)
         .join(Member, Member.id == Membership.member_id)
         .where(Membership.org_id == org_id).order_by(Membership.requested_at))
    if status:
        q = q.where(Membership.status == status)
    return [{"member_id": m.member_id, "name": name, "phone": phone, "role": m.role,
             "status": m.status, "requested_at": m.requested_at, "decided_at": m.decided_at}
            for m, name, phone in sess.execute(q).all()]


def update_membership(sess: Session, org_id: uuid.UUID, member_id: uuid.UUID,
                      changes: dict[str, Any], by: uuid.UUID) -> Membership:
    # One membership change per organization at a time: two administrators
    # demoting each other concurrently would otherwise each still count the
    # other, and both succeed, leaving none. FOR NO KEY UPDATE: rows that only
    # reference the organization (trips, catches) are not held up.
    sess.execute(select(Organization.id).where(Organization.id == org_id)
                 .with_for_update(key_share=True))
    m = sess.get(Membership, (org_id, member_id), with_for_update=True)
    if m is None:
        raise ApiError(404, "not_found")
    was_admin = m.role == Role.admin and m.status == MembershipStatus.active
    for key in ("role", "status"):
        if key in changes:
            setattr(m, key, changes[key])
    if "status" in changes:
        m.decided_at, m.decided_by = utcnow(), by
    still_admin = m.role == Role.admin and m.status == MembershipStatus.active
    if was_admin and not still_admin:
        sess.flush()
        admins = sess.scalar(select(func.count()).select_from(Membership).where(
            Membership.org_id == org_id, Membership.role == Role.admin,
            Membership.status == MembershipStatus.active))
        if not admins:
            raise ApiError(409, "last_admin")
    sess.flush()
    return m
