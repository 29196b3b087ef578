"""Vessels and permits of one organization."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.catalog.models import Gear, Species, Zone
from server.db import new_id
from server.errors import ApiError, FieldError
from server.fleet.models import Permit, Vessel
from server.members.models import Membership, MembershipStatus
from server.members.services import violated

# Unique constraints a concurrent duplicate can still hit after the checks.
_UNIQUE_FIELD = {"uq_vessel_org_id": "registration", "uq_permit_org_id": "number"}


def get_vessel(sess: Session, org_id: uuid.UUID, vessel_id: uuid.UUID) -> Vessel:
    vessel = sess.get(Vessel, (org_id, vessel_id))
    if vessel is None:
        raise ApiError(404, "not_found")
    return vessel


def _check_vessel(sess: Session, org_id: uuid.UUID, data: dict[str, Any],
                  exclude: uuid.UUID | None = None) -> None:
    errors: list[FieldError] = []
    reg = data.get("registration")
    if reg is not None:
        q = select(Vessel.id).where(Vessel.org_id == org_id, Vessel.registration == reg)
        if exclude:
            q = q.where(Vessel.id != exclude)
        if sess.scalar(q) is not None:
            errors.append(FieldError("registration", "duplicate_value", {"value": reg}))
    owner = data.get("owner_member_id")
    membership = sess.get(Membership, (org_id, owner)) if owner is not None else None
    # The owner must belong to the cooperative: a pending, rejected or removed
    # request does not count.
    if owner is not None and (membership is None or membership.status != MembershipStatus.active):
        errors.append(FieldError("owner_member_id", "unknown_member", {"value": str(owner)}))
    if errors:
        raise ApiError(422, "validation_error", errors=errors)


def _save(sess: Session, obj: Vessel | Permit, data: dict[str, Any], *, update: bool) -> None:
    """Add ``obj`` (or apply ``data`` to it) and flush, in a savepoint.

    The checks run before the write, so two identical requests at once can
    both pass them; the loser hits the unique constraint and gets the same 422
    as if it had come second.
    """
    try:
        with sess.begin_nested():
            if update:
                for key, value in data.items():
                    setattr(obj, key, value)
                obj.updated_at = func.now()
            else:
                sess.add(obj)
    except IntegrityError as exc:
        name = _UNIQUE_FIELD.get(violated(exc) or "")
        if name is None:
            raise
        raise ApiError(422, "validation_error", errors=[
            FieldError(name, "duplicate_value", {"value": data.get(name)})]) from exc


def create_vessel(sess: Session, org_id: uuid.UUID, data: dict[str, Any]) -> Vessel:
    _check_vessel(sess, org_id, data)
    vessel = Vessel(org_id=org_id, id=new_id(), **data)
    _save(sess, vessel, data, update=False)
    return vessel


def update_vessel(sess: Session, vessel: Vessel, data: dict[str, Any]) -> Vessel:
    _check_vessel(sess, vessel.org_id, data, exclude=vessel.id)
    _save(sess, vessel, data, update=True)
    return vessel


def _check_permit(sess: Session, org_id: uuid.UUID, data: dict[str, Any],
                  exclude: uuid.UUID | None = None) -> None:
    errors: list[FieldError] = []
    known_species = set(sess.scalars(select(Species.code).where(
        Species.code.in_(data.get("species_codes") or []))))
    for i, code in enumerate(data.get("species_codes") or []):
        if code not in known_species:
            errors.append(FieldError(f"species_codes.{i}", "unknown_species", {"value": code}))
    known_gear = set(sess.scalars(select(Gear.code).where(
        Gear.code.in_(data.get("gear_codes") or []))))
    for i, code in enumerate(data.get("gear_codes") or []):
        if code not in known_gear:
            errors.append(FieldError(f"gear_codes.{i}", "unknown_gear", {"value": code}))
    if data.get("zone_id") and sess.get(Zone, data["zone_id"]) is None:
        errors.append(FieldError("zone_id", "unknown_zone", {"value": str(data["zone_id"])}))
    if data.get("vessel_id") and sess.get(Vessel, (org_id, data["vessel_id"])) is None:
        errors.append(FieldError("vessel_id", "unknown_vessel", {"value": str(data["vessel_id"])}))
    number = data.get("number")
    if number is not None:
        q = select(Permit.id).where(Permit.org_id == org_id, Permit.number == number)
        if exclude:
            q = q.where(Permit.id != exclude)
        if sess.scalar(q) is not None:
            errors.append(FieldError("number", "duplicate_value", {"value": number}))
    if errors:
        raise ApiError(422, "validation_error", errors=errors)


def create_permit(sess: Session, org_id: uuid.UUID, data: dict[str, Any]) -> Permit:
    _check_permit(sess, org_id, data)
    permit = Permit(org_id=org_id, id=new_id(), **data)
    _save(sess, permit, data, update=False)
    return permit


def update_permit(sess: Session, permit: Permit, data: dict[str, Any]) -> Permit:
    _check_permit(sess, permit.org_id, data, exclude=permit.id)
    merged_from = data.get("valid_from", permit.valid_from)
    merged_until = data.get("valid_until", permit.valid_until)
    if merged_until < merged_from:
        raise ApiError(422, "validation_error", errors=[FieldError("valid_until", "date_order")])
    _save(sess, permit, data, update=True)
    return permit
