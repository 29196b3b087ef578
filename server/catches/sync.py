"""Push: a phone's batch of trips and catches, answered item by item.

Each item is ``created``, ``duplicate`` (same id and version, same content:
nothing to do), ``conflict`` (same id and version, other content, or a
correction of a version that is no longer current: the server's copy comes
back) or ``rejected`` (field errors). Bad items never block good ones:
everything is validated before anything is written, so the writes that
follow cannot fail on an item's content.

Idempotency comes from the keys, not from a lock: new records are inserted
with ON CONFLICT DO NOTHING on ``(org_id, id[, version])``, so a batch
retried, or sent twice at once over two connections, stores each record
once; corrections lock the current version row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.catalog.models import Gear, Port, Species
from server.catches import services as svc
from server.catches.fastpath import fast_catch_body, fast_item_head
from server.catches.models import Catch, RecordStatus, Trip
from server.catches.schemas import CatchBodySchema, ItemHead, TripBodySchema
from server.errors import FieldError, field_errors
from server.fleet.models import Vessel
from server.members.auth import Principal
from server.members.models import Role

_TRIP_SCHEMA = TripBodySchema(unknown=RAISE)
_CATCH_SCHEMA = CatchBodySchema(unknown=RAISE)
_HEAD_SCHEMA = ItemHead()
_HEAD_KEYS = ("type", "id", "version", "cancelled")


@dataclass(frozen=True)
class Limits:
    max_catch_kg: float
    max_count: int
    clock_skew: timedelta
    max_trip_days: int


@dataclass
class Item:
    index: int
    type: str = "?"
    id: uuid.UUID | None = None
    version: int = 1
    cancelled: bool = False
    body: dict[str, Any] = field(default_factory=dict)
    org_id: uuid.UUID | None = None
    status: str | None = None  # set once decided
    errors: list[FieldError] = field(default_factory=list)
    server: dict[str, Any] | None = None
    digest: bytes = b""

    def reject(self, *errors: FieldError) -> None:
        self.status = "rejected"
        self.errors.extend(errors)

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "type": self.type,
                               "id": str(self.id) if self.id else None,
                               "version": self.version, "status": self.status}
        if self.errors:
            out["errors"] = self.errors
        if self.server is not None:
            out["server"] = self.server
        return out


def push(sess: Session, who: Principal, raw_items: list[Any], *, device_id: str | None,
         now: datetime, limits: Limits) -> list[Item]:
    items = [_parse(i, raw) for i, raw in enumerate(raw_items)]
    _reject_repeats(items)
    trips = [it for it in items if it.type == "trip" and it.status is None]
    catches = [it for it in items if it.type == "catch" and it.status is None]
    _check_trips(sess, who, trips, now, limits)
    _write_trips(sess, who, [t for t in trips if t.status is None], device_id,
                 limits.clock_skew)
    _check_catches(sess, who, catches, now, limits)
    _write_catches(sess, who, [c for c in catches if c.status is None], device_id, now)
    return items


# --- validation ----------------------------------------------------------------------

def _parse(index: int, raw: Any) -> Item:
    item = Item(index)
    if not isinstance(raw, Mapping):
        item.reject(FieldError("", "not_an_object"))
        return item
    # The fast paths read well-formed items; anything else (and every error
    # message) is marshmallow's.
    head = fast_item_head(raw)
    if head is None:
        try:
            head = _HEAD_SCHEMA.load({k: raw[k] for k in _HEAD_KEYS if k in raw})
        except ValidationError as exc:
            item.type = str(raw.get("type", "?"))
            item.reject(*field_errors(exc.messages))
            return item
    item.type, item.id, item.version = head["type"], head["id"], head["version"]
    item.cancelled = head["cancelled"]
    body = {k: v for k, v in raw.items() if k not in _HEAD_KEYS}
    if item.cancelled and item.version == 1:
        item.reject(FieldError("version", "version_gap", {"value": 1, "current": 0}))
        return item
    if item.cancelled:
        return item  # a tombstone carries no content: it copies the previous version
    if item.type == "catch":
        fast = fast_catch_body(body)
        if fast is not None:
            item.body = fast
            return item
    schema = _TRIP_SCHEMA if item.type == "trip" else _CATCH_SCHEMA
    try:
        item.body = schema.load(body)
    except ValidationError as exc:
        item.reject(*field_errors(exc.messages))
    return item


def _reject_repeats(items: list[Item]) -> None:
    seen: set[tuple[str, uuid.UUID, int]] = set()
    for it in items:
        if it.id is None:
            continue
        key = (it.type, it.id, it.version)
        if key in seen:
            it.reject(FieldError("id", "duplicate_in_batch"))
        seen.add(key)


def _known(sess: Session, column: Any, values: set[Any]) -> set[Any]:
    values.discard(None)
    return set(sess.scalars(select(column).where(column.in_(values)))) if values else set()


def _check_time(it: Item, name: str, value: datetime | None, latest: datetime) -> None:
    if value is not None and value > latest:
        it.reject(FieldError(name, "in_future"))


def _check_trips(sess: Session, who: Principal, trips: list[Item], now: datetime,
                 limits: Limits) -> None:
    logging_orgs = who.orgs_with(Role.fisher, Role.admin)
    gear = _known(sess, Gear.code, {t.body.get("gear_code") for t in trips})
    ports = _known(sess, Port.id, {t.body.get(k) for t in trips
                                   for k in ("departure_port_id", "return_port_id")})
    vessel_keys: set[tuple[uuid.UUID | None, uuid.UUID | None]] = set()
    for t in trips:
        org = t.body.pop("org_id", None)
        if org is None and len(logging_orgs) == 1:
            org = logging_orgs[0]
        if org is None:
            t.reject(FieldError("org_id", "required"))
        elif org not in logging_orgs:
            t.reject(FieldError("org_id", "no_membership", {"value": str(org)}))
        t.org_id = org
        if t.cancelled:
            continue
        b = t.body
        vessel_keys.add((org, b.get("vessel_id")))
        if b.get("gear_code") and b["gear_code"] not in gear:
            t.reject(FieldError("gear_code", "unknown_gear", {"value": b["gear_code"]}))
        for k in ("departure_port_id", "return_port_id"):
            if b.get(k) and b[k] not in ports:
                t.reject(FieldError(k, "unknown_port", {"value": str(b[k])}))
        latest = now + limits.clock_skew
        _check_time(t, "departed_at", b["departed_at"], latest)
        _check_time(t, "returned_at", b.get("returned_at"), latest)
        end = b.get("returned_at")
        if end and end - b["departed_at"] > timedelta(days=limits.max_trip_days):
            t.reject(FieldError("returned_at", "trip_too_long", {"max": limits.max_trip_days}))
    pairs = [(o, v) for o, v in vessel_keys if o and v]
    vessels: set[tuple[uuid.UUID, uuid.UUID]] = set()
    if pairs:
        rows = sess.execute(select(Vessel.org_id, Vessel.id).where(
            Vessel.id.in_([v for _, v in pairs]))).all()
        vessels = {(r.org_id, r.id) for r in rows}
    for t in trips:
        v = t.body.get("vessel_id")
        if t.status is None and v and (t.org_id, v) not in vessels:
            t.reject(FieldError("vessel_id", "unknown_vessel", {"value": str(v)}))


def _check_catches(sess: Session, who: Principal, catches: list[Item], now: datetime,
                   limits: Limits) -> None:
    species = _known(sess, Species.code, {c.body.get("species_code") for c in catches})
    gear = _known(sess, Gear.code, {c.body.get("gear_code") for c in catches})
    # Trips a catch may hang on: the caller's own. Read after the batch's trips
    # were written, so a trip of this batch is seen as stored: created, revised
    # or cancelled, and not in the content of a copy that was rejected or in
    # conflict with the server's.
    wanted = {c.body["trip_id"] for c in catches if "trip_id" in c.body}
    stored = {trip.id: trip for trip in sess.scalars(select(Trip).where(
        Trip.id.in_(wanted), Trip.member_id == who.member_id))} if wanted else {}
    logging_orgs = set(who.orgs_with(Role.fisher, Role.admin))
    cancelled = [c for c in catches if c.cancelled]
    # A tombstone names only the catch: its organization is the one it was logged in.
    cancel_orgs = {row.id: row.org_id for row in sess.execute(select(Catch.id, Catch.org_id).where(
        Catch.id.in_([c.id for c in cancelled]), Catch.member_id == who.member_id,
        Catch.superseded_at.is_(None)))} if cancelled else {}
    for c in catches:
        if c.cancelled:
            c.org_id = cancel_orgs.get(c.id) if c.id else None
            if c.org_id is None:
                c.reject(FieldError("id", "not_found"))
            continue
        trip = stored.get(c.body["trip_id"])
        if trip is None:
            c.reject(FieldError("trip_id", "unknown_trip", {"value": str(c.body["trip_id"])}))
            continue
        c.org_id = trip.org_id
        if trip.org_id not in logging_orgs:
            c.reject(FieldError("trip_id", "no_membership", {"value": str(trip.org_id)}))
            continue
        errors = catch_errors(c.body, trip, species, gear, now, limits)
        if errors:
            c.reject(*errors)


def catch_errors(b: Mapping[str, Any], trip: Trip, species: set[str], gear: set[str],
                 now: datetime, limits: Limits) -> list[FieldError]:
    """The rules a catch's full content must follow on its trip (sync and REST alike)."""
    errors: list[FieldError] = []
    if trip.status == RecordStatus.cancelled:
        errors.append(FieldError("trip_id", "already_cancelled"))
    elif trip.zero_catch:
        errors.append(FieldError("trip_id", "zero_catch_has_catches"))
    if b["species_code"] not in species:
        errors.append(FieldError("species_code", "unknown_species", {"value": b["species_code"]}))
    if b.get("gear_code") and b["gear_code"] not in gear:
        errors.append(FieldError("gear_code", "unknown_gear", {"value": b["gear_code"]}))
    max_kg = Decimal(str(limits.max_catch_kg))
    for name in ("landed_kg", "live_kg"):
        if b.get(name) is not None and b[name] > max_kg:
            errors.append(FieldError(name, "weight_too_large",
                                     {"value": b[name], "max": limits.max_catch_kg}))
    landed, live = b.get("landed_kg"), b.get("live_kg")
    if landed is not None and live is not None and live < landed:
        errors.append(FieldError("live_kg", "live_below_landed"))
    if b.get("count") is not None and b["count"] > limits.max_count:
        errors.append(FieldError("count", "range_max", {"max": limits.max_count}))
    caught = b["caught_at"]
    start, end = trip.departed_at, trip.returned_at
    if caught > now + limits.clock_skew:
        errors.append(FieldError("caught_at", "in_future"))
    elif not (start - limits.clock_skew <= caught <= (end or now) + limits.clock_skew):
        errors.append(FieldError("caught_at", "catch_outside_trip", {
            "start": start.isoformat(), "end": end.isoformat() if end else "…"}))
    return errors


def check_catch(sess: Session, body: Mapping[str, Any], trip: Trip, now: datetime,
                limits: Limits) -> list[FieldError]:
    """``catch_errors`` with its own catalog look-ups, for one catch (REST corrections)."""
    species = _known(sess, Species.code, {body.get("species_code")})
    gear = _known(sess, Gear.code, {body.get("gear_code")})
    return catch_errors(body, trip, species, gear, now, limits)


# --- writing -------------------------------------------------------------------------

def _write_trips(sess: Session, who: Principal, trips: list[Item], device_id: str | None,
                 skew: timedelta) -> None:
    new_rows: list[dict[str, Any]] = []
    new_items: list[Item] = []
    for t in trips:
        assert t.org_id is not None and t.id is not None
        if t.version == 1:
            t.digest = svc.content_hash({"org_id": t.org_id, **t.body})
            new_rows.append(svc.trip_row(
                t.org_id, t.id, 1, t.body, member_id=who.member_id, recorded_by=who.member_id,
                device_id=device_id, cancelled=False, digest=t.digest))
            new_items.append(t)
    # Corrections lock rows one by one: in key order, so two batches holding
    # records the other needs wait for each other instead of deadlocking.
    for t in sorted((t for t in trips if t.version > 1), key=_key):
        _revise_trip(sess, who, t, device_id, skew)
    created = svc.insert_trips(sess, new_rows)
    svc.upsert_landings(sess, [r for r in new_rows if r["id"] in created])
    stale = [t for t in new_items if t.id not in created]
    existing = {(tr.org_id, tr.id): tr for tr in sess.scalars(select(Trip).where(
        Trip.id.in_([t.id for t in stale])))} if stale else {}
    for t in new_items:
        if t.id in created:
            t.status = "created"
            continue
        trip = existing.get((t.org_id, t.id))  # type: ignore[arg-type]
        if trip is None or trip.member_id != who.member_id:
            t.reject(FieldError("id", "duplicate_value", {"value": str(t.id)}))
        elif svc.trip_version_hash(sess, trip, 1) == t.digest:
            t.status = "duplicate"  # maybe corrected since: a late retry all the same
        else:
            t.status, t.server = "conflict", svc.render_trip(trip)


def _revise_trip(sess: Session, who: Principal, t: Item, device_id: str | None,
                 skew: timedelta) -> None:
    trip = sess.scalar(select(Trip).where(
        Trip.org_id == t.org_id, Trip.id == t.id, Trip.member_id == who.member_id
    ).with_for_update())
    if trip is None:
        t.reject(FieldError("id", "unknown_trip", {"value": str(t.id)}))
        return
    body = svc.trip_body_of(trip) if t.cancelled else t.body
    t.digest = svc.content_hash({"org_id": t.org_id, "cancelled": t.cancelled, **body})
    if trip.version >= t.version and svc.trip_version_hash(sess, trip, t.version) == t.digest:
        t.status = "duplicate"
    elif trip.version != t.version - 1 or trip.status == RecordStatus.cancelled:
        t.status, t.server = "conflict", svc.render_trip(trip)
    elif (t.cancelled or body.get("zero_catch")) and _any_active_catch(sess, trip):
        # Catches are the regulatory records: they are cancelled one by one (each a
        # tombstone version), never swept away by their trip.
        t.reject(FieldError("cancelled" if t.cancelled else "zero_catch", "trip_has_catches"))
    elif not t.cancelled and _any_active_catch(
            sess, trip, _outside(body["departed_at"], body.get("returned_at"), skew)):
        t.reject(FieldError("departed_at", "trip_excludes_catches"))
    else:
        assert t.org_id is not None and t.id is not None
        row = svc.trip_row(t.org_id, t.id, t.version, body, member_id=who.member_id,
                           recorded_by=who.member_id, device_id=device_id,
                           cancelled=t.cancelled, digest=t.digest)
        svc.revise_trip(sess, trip, row, who.member_id)
        svc.upsert_landings(sess, [row])
        t.status = "created"


def _any_active_catch(sess: Session, trip: Trip, *where: Any) -> bool:
    """Does the trip still hang an active catch (matching ``where``)?"""
    return sess.scalar(select(Catch.id).where(
        Catch.org_id == trip.org_id, Catch.trip_id == trip.id, Catch.superseded_at.is_(None),
        Catch.status == RecordStatus.active, *where).limit(1)) is not None


def _outside(start: datetime, end: datetime | None, skew: timedelta) -> Any:
    """Catches a trip with these times would leave out."""
    before = Catch.caught_at < start - skew
    return before if end is None else or_(before, Catch.caught_at > end + skew)


def _write_catches(sess: Session, who: Principal, catches: list[Item], device_id: str | None,
                   now: datetime) -> None:
    firsts = [c for c in catches if c.version == 1]
    enriched = svc.enrich(sess, [(c.body.get("position"), c.body["caught_at"]) for c in firsts],
                          now)
    rows = []
    for c, e in zip(firsts, enriched, strict=True):
        assert c.org_id is not None and c.id is not None
        c.digest = svc.content_hash(c.body)
        rows.append(svc.catch_row(c.org_id, c.id, 1, c.body, e, member_id=who.member_id,
                                  recorded_by=who.member_id, device_id=device_id,
                                  cancelled=False, digest=c.digest))
    created = svc.insert_catches(sess, rows)
    stale = [c for c in firsts if (c.id, 1) not in created]
    if stale:
        existing = {(r.org_id, r.id): r for r in sess.scalars(select(Catch).where(
            Catch.id.in_([c.id for c in stale]), Catch.version == 1))}
        for c in stale:
            row = existing.get((c.org_id, c.id))  # type: ignore[arg-type]
            if row is None or row.member_id != who.member_id:
                c.reject(FieldError("id", "duplicate_value", {"value": str(c.id)}))
            elif row.content_hash == c.digest:
                c.status = "duplicate"
            else:
                cur = svc.current_catch(sess, row.org_id, row.id)
                c.status, c.server = "conflict", svc.render_catch(cur or row)
    for c in firsts:
        if c.status is None:
            c.status = "created"
    for c in sorted((c for c in catches if c.version > 1), key=_key):  # see _write_trips
        correct(sess, who.member_id, c, device_id, now, owner=who.member_id)


def _key(it: Item) -> tuple[str, str, int]:
    return (str(it.org_id), str(it.id), it.version)


def correct(sess: Session, by: uuid.UUID, c: Item, device_id: str | None, now: datetime,
            owner: uuid.UUID | None) -> Catch | None:
    """Make version ``c.version`` of a catch from ``c.body`` (or a tombstone).

    ``owner`` limits the catch to one member's (sync); None lets an
    administrator correct any catch of ``c.org_id`` (checked by the caller).
    Returns the new current version when one was written."""
    assert c.org_id is not None and c.id is not None
    cur = svc.current_catch(sess, c.org_id, c.id, lock=True)
    if cur is None or (owner is not None and cur.member_id != owner):
        # Locked rows re-checked after a concurrent correction may vanish from
        # "current": look the version up before calling it unknown.
        same = svc.catch_version(sess, c.org_id, c.id, c.version)
        if same is not None and (owner is None or same.member_id == owner):
            c.digest = c.digest or svc.content_hash({"cancelled": c.cancelled, **c.body})
            _settle(sess, c, same)
        else:
            c.reject(FieldError("id", "not_found"))
        return None
    body = svc.body_of(cur) if c.cancelled else {**svc.body_of(cur), **c.body}
    c.digest = svc.content_hash({"cancelled": c.cancelled, **body})
    if cur.version >= c.version:
        same = svc.catch_version(sess, c.org_id, c.id, c.version)
        _settle(sess, c, same or cur)
        return None
    if cur.version != c.version - 1 or cur.status == RecordStatus.cancelled:
        c.status, c.server = "conflict", svc.render_catch(cur)
        return None
    (e,) = svc.enrich(sess, [(body.get("position"), body["caught_at"])], now)
    row = svc.catch_row(c.org_id, c.id, c.version, body, e, member_id=cur.member_id,
                        recorded_by=by, device_id=device_id, cancelled=c.cancelled,
                        digest=c.digest)
    if not svc.supersede(sess, cur, row):
        c.status, c.server = "conflict", svc.render_catch(cur)
        return None
    c.status = "created"
    return svc.catch_version(sess, c.org_id, c.id, c.version)


def _settle(sess: Session, c: Item, existing: Catch) -> None:
    if existing.version == c.version and existing.content_hash == c.digest:
        c.status = "duplicate"
    else:
        assert c.org_id is not None and c.id is not None
        cur = svc.current_catch(sess, c.org_id, c.id) or existing
        c.status, c.server = "conflict", svc.render_catch(cur)
