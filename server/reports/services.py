"""Authorities and their subscriptions: creating them and checking what they may cover."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from exports import base as registry
from exports import push as push_mod
from server.db import new_id
from server.errors import ApiError, FieldError
from server.members.models import Membership, MembershipStatus, Organization, OrgKind, Role
from server.reports import periods
from server.reports.models import (
    Authority,
    AuthorityCooperative,
    DeliveryMethod,
    Subscription,
)


def _multi(geom: BaseGeometry | None) -> Any:
    if geom is None:
        return None
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    return from_shape(geom, srid=4326)


def _cooperatives(sess: Session, org_ids: list[uuid.UUID], field: str) -> None:
    """Every id names a cooperative, or the field is at fault."""
    found = set(sess.scalars(select(Organization.id).where(
        Organization.id.in_(org_ids), Organization.kind == OrgKind.cooperative)))
    errs = [FieldError(f"{field}.{i}", "not_a_cooperative", {"id": str(o)})
            for i, o in enumerate(org_ids) if o not in found]
    if errs:
        raise ApiError(422, "validation_error", errors=errs)


def create_authority(sess: Session, data: dict[str, Any], by: uuid.UUID | None) -> Authority:
    """A new authority organization with its jurisdiction, or an existing authority org made one."""
    tz = data.get("timezone") or "America/Mexico_City"
    if not periods.valid_timezone(tz):
        raise ApiError(422, "validation_error", errors=[FieldError("timezone", "invalid_timezone")])
    coops = list(dict.fromkeys(data.get("cooperative_ids") or []))
    if not coops and data.get("region") is None:
        raise ApiError(422, "validation_error", errors=[
            FieldError("cooperative_ids", "jurisdiction_required")])
    _cooperatives(sess, coops, "cooperative_ids")
    if data.get("rnpa") is not None and sess.scalar(
            select(Organization.id).where(Organization.rnpa == data["rnpa"])):
        raise ApiError(409, "conflict", errors=[FieldError("rnpa", "already_registered")])
    org = Organization(id=new_id(), kind=OrgKind.authority, name=data["name"],
                       state=data.get("state"), office_key=data.get("office_key"),
                       rnpa=data.get("rnpa"))
    sess.add(org)
    sess.flush()
    auth = Authority(id=org.id, region=_multi(data.get("region")), timezone=tz,
                     contact_email=data.get("contact_email"), created_by=by)
    sess.add(auth)
    sess.flush()
    sess.add_all([AuthorityCooperative(authority_id=auth.id, org_id=o) for o in coops])
    sess.flush()
    return auth


def authority_cooperatives(sess: Session, authority_id: uuid.UUID) -> list[uuid.UUID]:
    return list(sess.scalars(select(AuthorityCooperative.org_id).where(
        AuthorityCooperative.authority_id == authority_id).order_by(AuthorityCooperative.org_id)))


def render_authority(sess: Session, auth: Authority) -> dict[str, Any]:
    org = sess.get(Organization, auth.id)
    assert org is not None
    return {
        "id": auth.id, "name": org.name, "office_key": org.office_key, "state": org.state,
        "timezone": auth.timezone, "contact_email": auth.contact_email,
        "cooperative_ids": authority_cooperatives(sess, auth.id),
        "region": mapping(to_shape(auth.region)) if auth.region is not None else None,
        "created_at": auth.created_at,
    }


def add_staff(sess: Session, authority_id: uuid.UUID, member_id: uuid.UUID,
              by: uuid.UUID) -> Membership:
    """An authority's staff member: sees its runs, downloads and acknowledges them."""
    existing = sess.get(Membership, (authority_id, member_id))
    if existing is not None:
        existing.role = Role.authority
        existing.status = MembershipStatus.active
        existing.decided_by = by
        sess.flush()
        return existing
    m = Membership(org_id=authority_id, member_id=member_id, role=Role.authority,
                   status=MembershipStatus.active, decided_by=by)
    sess.add(m)
    sess.flush()
    return m


def _check_scope(sess: Session, auth: Authority, org_ids: list[uuid.UUID],
                 region: BaseGeometry | None) -> None:
    """A subscription narrows the authority's jurisdiction; it never widens it."""
    if org_ids:
        _cooperatives(sess, org_ids, "org_ids")
        if auth.region is None:
            listed = set(authority_cooperatives(sess, auth.id))
            errs = [FieldError(f"org_ids.{i}", "outside_jurisdiction", {"id": str(o)})
                    for i, o in enumerate(org_ids) if o not in listed]
            if errs:
                raise ApiError(422, "validation_error", errors=errs)
    if region is not None and auth.region is not None:
        covered = sess.scalar(text("SELECT ST_CoveredBy(ST_GeomFromText(:r, 4326), a.region) "
                                   "FROM authority a WHERE a.id = :a"),
                              {"r": region.wkt, "a": auth.id})
        if not covered:
            raise ApiError(422, "validation_error", errors=[
                FieldError("region", "outside_jurisdiction")])


def _check_delivery(data: dict[str, Any], allow_loopback_http: bool) -> str | None:
    method = data["delivery"]
    url = data.get("push_url")
    if method == DeliveryMethod.push:
        if not url:
            raise ApiError(422, "validation_error", errors=[FieldError("push_url", "required")])
        try:
            return push_mod.validate_endpoint(url, allow_loopback_http=allow_loopback_http)
        except push_mod.EndpointError as exc:
            raise ApiError(422, "validation_error", errors=[FieldError("push_url", exc.code)]) from exc
    if url:
        raise ApiError(422, "validation_error", errors=[FieldError("push_url", "push_url_without_push")])
    return None


def create_subscription(sess: Session, auth: Authority, data: dict[str, Any], *, by: uuid.UUID | None,
                        now: datetime, allow_loopback_http: bool) -> tuple[Subscription, str | None]:
    """Returns the subscription and, for push delivery, its HMAC secret (shown only now)."""
    try:
        exporter = registry.get(data["format"])
    except KeyError as exc:
        raise ApiError(422, "validation_error", errors=[
            FieldError("format", "unknown_format", {"choices": ", ".join(registry.names())})]) from exc
    try:
        options = exporter.validate_options(data.get("options") or {})
    except registry.OptionError as exc:
        raise ApiError(422, "validation_error", errors=[
            FieldError(exc.field, exc.code, dict(exc.params))]) from exc
    tz = data.get("timezone") or auth.timezone
    if not periods.valid_timezone(tz):
        raise ApiError(422, "validation_error", errors=[FieldError("timezone", "invalid_timezone")])
    if not periods.valid_cron(data["schedule"]):
        raise ApiError(422, "validation_error", errors=[FieldError("schedule", "invalid_cron")])
    org_ids = list(dict.fromkeys(data.get("org_ids") or []))
    region = data.get("region")
    _check_scope(sess, auth, org_ids, region)
    url = _check_delivery(data, allow_loopback_http)
    secret = secrets.token_urlsafe(32) if url else None
    # A period is reported whole: the first one starts where its period does.
    first_day: date = data.get("starts_on") or now.astimezone(periods.ZoneInfo(tz)).date()
    starts_on = periods.span_of(data["period"], first_day).start
    sub = Subscription(
        id=new_id(), authority_id=auth.id, name=data["name"], format=data["format"],
        options=options, org_ids=org_ids, region=_multi(region), schedule=data["schedule"],
        period=data["period"], timezone=tz, delivery=data["delivery"], push_url=url,
        push_secret=secret, active=True, starts_on=starts_on,
        next_run_at=periods.next_fire(data["schedule"], tz, now), created_by=by)
    sess.add(sub)
    sess.flush()
    return sub, secret


def render_subscription(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id, "authority_id": sub.authority_id, "name": sub.name, "format": sub.format,
        "options": sub.options, "org_ids": list(sub.org_ids or []),
        "region": mapping(to_shape(sub.region)) if sub.region is not None else None,
        "schedule": sub.schedule, "period": sub.period, "timezone": sub.timezone,
        "delivery": sub.delivery, "push_url": sub.push_url, "active": sub.active,
        "starts_on": sub.starts_on, "next_run_at": sub.next_run_at, "last_run_at": sub.last_run_at,
        "created_at": sub.created_at,
    }
