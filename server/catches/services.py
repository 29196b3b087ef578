"""The logbook's rules: storing, enriching, correcting and cancelling records.

Functions take a Session and flush; the caller commits. Used by the sync
endpoint, the REST corrections and the demo loader alike.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson
from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

import geo
from server.catalog.models import ZoneKind
from server.catches import zoneindex
from server.catches.models import Catch, Landing, QualityFlag, RecordStatus, Trip, TripRevision
from server.db import new_id

LATE_AFTER = timedelta(days=30)

@dataclass(frozen=True)
class Enrichment:
    fao_area: str | None
    zone_ids: list[uuid.UUID]
    flags: list[str]


def enrich(sess: Session, points: Sequence[tuple[BaseGeometry | None, datetime]],
           now: datetime) -> list[Enrichment]:
    """FAO area, zones and quality flags for each (position, caught_at)."""
    idx, xs, ys = [], [], []
    for i, (pos, _) in enumerate(points):
        if pos is not None:
            idx.append(i)
            xs.append(pos.x)
            ys.append(pos.y)
    hits: dict[int, list[Any]] = dict(zip(idx, zoneindex.containing(sess, xs, ys), strict=True))
    return [_classify(pos, when, hits.get(i, []), now) for i, (pos, when) in enumerate(points)]


def _classify(pos: BaseGeometry | None, when: datetime, zones: list[Any],
              now: datetime) -> Enrichment:
    flags: list[str] = []
    if now - when > LATE_AFTER:
        flags.append(QualityFlag.received_late)
    if pos is None:
        flags.append(QualityFlag.no_position)
        return Enrichment(None, [], flags)
    day = when.astimezone(UTC).date()
    valid = [z for z in zones if (z.valid_from is None or z.valid_from <= day)
             and (z.valid_until is None or z.valid_until >= day)]
    kinds = {z.kind for z in valid}
    if ZoneKind.land in kinds and ZoneKind.inland_water not in kinds:
        flags.append(QualityFlag.on_land)
    if ZoneKind.no_take in kinds:
        flags.append(QualityFlag.in_no_take_zone)
    fao = sorted(z.code for z in valid if z.kind == ZoneKind.fao_area)
    if not fao:
        flags.append(QualityFlag.outside_fao_areas)
    zone_ids = sorted({z.id for z in valid if z.kind not in (ZoneKind.fao_area, ZoneKind.land)})
    return Enrichment(fao[0] if fao else None, zone_ids, flags)


def _canon_leaf(value: Any) -> Any:
    """The canonical text of values orjson cannot write itself (or, for datetimes, is told not to)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time) and getattr(value, "tzinfo", None) is None:
        # Passed through along with datetimes; orjson writes these as isoformat() does.
        return value.isoformat()
    if isinstance(value, BaseGeometry):
        return geo.to_geojson(value)
    raise TypeError(f"not hashable content: {type(value).__name__}")


# orjson walks dicts and lists itself and writes UUIDs as str() does; only the
# leaves it cannot write reach _canon_leaf. Stored hashes decide duplicate vs
# conflict, so these bytes must never change (pinned in tests/test_sync_fastpath.py).
_HASH_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _canon_json(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields, default=_canon_leaf, option=_HASH_OPTIONS)


def content_hash(fields: dict[str, Any]) -> bytes:
    """Same content, same hash, whatever the JSON spelling (12.5 vs 12.50, time zones)."""
    return hashlib.sha256(_canon_json(fields)).digest()


def ewkt(geom: BaseGeometry | None) -> str | None:
    return None if geom is None else f"SRID=4326;{geom.wkt}"


# --- rendering -----------------------------------------------------------------------

def _geojson(value: Any) -> Any:
    return None if value is None else geo.to_geojson(to_shape(value))


def render_trip(t: Trip) -> dict[str, Any]:
    return {
        "type": "trip", "id": t.id, "org_id": t.org_id, "member_id": t.member_id,
        "version": t.version, "status": t.status, "deleted": t.status == RecordStatus.cancelled,
        "vessel_id": t.vessel_id, "gear_code": t.gear_code, "departed_at": t.departed_at,
        "returned_at": t.returned_at, "departure_port_id": t.departure_port_id,
        "return_port_id": t.return_port_id, "zero_catch": t.zero_catch, "costs": t.costs,
        "track": _geojson(t.track), "notes": t.notes, "received_at": t.received_at,
        "updated_at": t.updated_at,
    }


def render_catch(c: Catch) -> dict[str, Any]:
    return {
        "type": "catch", "id": c.id, "org_id": c.org_id, "member_id": c.member_id,
        "version": c.version, "status": c.status, "deleted": c.status == RecordStatus.cancelled,
        "trip_id": c.trip_id, "species_code": c.species_code, "gear_code": c.gear_code,
        "landed_kg": c.landed_kg, "live_kg": c.live_kg, "count": c.count,
        "presentation": c.presentation, "disposition": c.disposition,
        "unit_price": c.unit_price, "currency": c.currency, "position": _geojson(c.position),
        "caught_at": c.caught_at, "fao_area": c.fao_area, "zone_ids": c.zone_ids,
        "quality_flags": c.quality_flags, "notes": c.notes, "superseded_at": c.superseded_at,
        "recorded_by": c.recorded_by, "received_at": c.received_at,
    }


# --- writing -------------------------------------------------------------------------

CATCH_FIELDS = ("trip_id", "species_code", "gear_code", "landed_kg", "live_kg", "count",
                "presentation", "disposition", "unit_price", "currency", "position",
                "caught_at", "notes")
TRIP_FIELDS = ("vessel_id", "gear_code", "departed_at", "returned_at", "departure_port_id",
               "return_port_id", "zero_catch", "costs", "track", "notes")


def catch_row(org_id: uuid.UUID, catch_id: uuid.UUID, version: int, body: dict[str, Any],
              e: Enrichment, *, member_id: uuid.UUID, recorded_by: uuid.UUID,
              device_id: str | None, cancelled: bool, digest: bytes) -> dict[str, Any]:
    row = {k: body.get(k) for k in CATCH_FIELDS}
    row["position"] = ewkt(body.get("position"))
    row.update(org_id=org_id, id=catch_id, version=version, member_id=member_id,
               recorded_by=recorded_by, device_id=device_id, content_hash=digest,
               fao_area=e.fao_area, zone_ids=e.zone_ids, quality_flags=e.flags,
               status=RecordStatus.cancelled if cancelled else RecordStatus.active)
    if row["currency"] is None:
        row["currency"] = "MXN"
    if row["presentation"] is None:
        row["presentation"] = "whole"
    return row


# One statement whatever the batch size: the rows travel as one JSON document
# that PostgreSQL unpacks in C (jsonb_to_recordset). A multi-row VALUES is a new
# SQL text per batch size (recompiled, re-parsed: ~80% of a push's CPU), and
# one typed array per column made psycopg adapt every value in Python (~16 ms a
# batch); orjson writes the document in about a millisecond.
_CATCH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("org_id", "uuid"), ("id", "uuid"), ("version", "int"), ("trip_id", "uuid"),
    ("member_id", "uuid"), ("species_code", "text"), ("gear_code", "text"),
    ("landed_kg", "numeric"), ("live_kg", "numeric"), ("count", "int"),
    ("presentation", "text"), ("disposition", "text"), ("unit_price", "numeric"),
    ("currency", "text"), ("position", "text"), ("caught_at", "timestamptz"),
    ("fao_area", "text"), ("zone_ids", "uuid[]"), ("quality_flags", "varchar[]"),
    ("notes", "text"), ("status", "text"), ("recorded_by", "uuid"), ("device_id", "text"),
    ("content_hash", "text"),
)
_CATCH_SELECT = {"position": "ST_GeomFromEWKT(u.position)",
                 "content_hash": "decode(u.content_hash, 'hex')"}
_INSERT_CATCHES = text(
    "INSERT INTO catch ({cols}) SELECT {exprs} "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS u({defs}) "
    "ON CONFLICT DO NOTHING RETURNING id, version".format(
        cols=", ".join(c for c, _ in _CATCH_COLUMNS),
        exprs=", ".join(_CATCH_SELECT.get(c, f"u.{c}") for c, _ in _CATCH_COLUMNS),
        defs=", ".join(f'"{c}" {t}' for c, t in _CATCH_COLUMNS)))


def _row_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact: numeric parses the text, no float on the way
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def insert_catches(sess: Session, rows: list[dict[str, Any]]) -> set[tuple[uuid.UUID, int]]:
    """Insert new versions; return the (id, version) pairs that were new.

    ON CONFLICT DO NOTHING makes a retried or concurrent batch a no-op instead
    of an error; the caller classifies what was not inserted."""
    if not rows:
        return set()
    # Rows go in key order: two writers inserting overlapping records then wait
    # for each other in the same order instead of deadlocking (each would hold
    # a record the other needs).
    rows = sorted(rows, key=lambda r: (r["org_id"], r["id"], r["version"]))
    doc = orjson.dumps([{c: r[c] for c, _ in _CATCH_COLUMNS} for r in rows], default=_row_json)
    return {(r.id, r.version) for r in sess.execute(_INSERT_CATCHES, {"rows": doc.decode()})}


def current_catch(sess: Session, org_id: uuid.UUID, catch_id: uuid.UUID,
                  lock: bool = False) -> Catch | None:
    q = select(Catch).where(Catch.org_id == org_id, Catch.id == catch_id,
                            Catch.superseded_at.is_(None))
    if lock:
        q = q.with_for_update()
    return sess.scalar(q)


def catch_version(sess: Session, org_id: uuid.UUID, catch_id: uuid.UUID,
                  version: int) -> Catch | None:
    return sess.get(Catch, (org_id, catch_id, version))


def supersede(sess: Session, current: Catch, new_row: dict[str, Any]) -> bool:
    """Stamp the current version superseded and insert the next; False if another
    writer got there first (the partial unique index admits one current version)."""
    sess.execute(update(Catch).where(
        Catch.org_id == current.org_id, Catch.id == current.id,
        Catch.version == current.version).values(superseded_at=text("now()")))
    inserted = insert_catches(sess, [new_row])
    if inserted:
        # Marketplace lots drawing on this catch give back what it no longer holds.
        from server.market.listings import catch_corrected

        catch_corrected(sess, current.org_id, current.id)
    return bool(inserted)


def body_of(c: Catch) -> dict[str, Any]:
    """A version's client-side fields, to build the next version from."""
    body = {k: getattr(c, k) for k in CATCH_FIELDS}
    body["position"] = None if c.position is None else to_shape(c.position)
    return body


def trip_body_of(t: Trip) -> dict[str, Any]:
    body = {k: getattr(t, k) for k in TRIP_FIELDS}
    body["track"] = None if t.track is None else to_shape(t.track)
    return body


def trip_row(org_id: uuid.UUID, trip_id: uuid.UUID, version: int, body: dict[str, Any], *,
             member_id: uuid.UUID, recorded_by: uuid.UUID, device_id: str | None,
             cancelled: bool, digest: bytes) -> dict[str, Any]:
    row = {k: body.get(k) for k in TRIP_FIELDS}
    row["track"] = ewkt(body.get("track"))
    row["costs"] = [{k: float(v) if isinstance(v, Decimal) else v for k, v in cost.items()}
                    for cost in body.get("costs") or []]
    row.update(org_id=org_id, id=trip_id, version=version, member_id=member_id,
               recorded_by=recorded_by, device_id=device_id, content_hash=digest,
               zero_catch=bool(body.get("zero_catch")),
               status=RecordStatus.cancelled if cancelled else RecordStatus.active)
    return row


def insert_trips(sess: Session, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: (r["org_id"], r["id"]))  # key order: see insert_catches
    stmt = insert(Trip).values(rows).on_conflict_do_nothing().returning(Trip.id)
    return set(sess.scalars(stmt))


def revise_trip(sess: Session, trip: Trip, row: dict[str, Any], by: uuid.UUID) -> None:
    """Trips change in place (catches reference them); the old state is kept."""
    old = orjson.loads(_canon_json(trip_body_of(trip)))  # the hashed form, as JSONB
    old["status"] = trip.status
    # So a late retry of this version is still known as a duplicate.
    old["content_hash"] = trip.content_hash.hex()
    sess.add(TripRevision(org_id=trip.org_id, trip_id=trip.id, version=trip.version,
                          data=old, replaced_by=by))
    for key in (*TRIP_FIELDS, "version", "status", "content_hash", "recorded_by", "device_id"):
        setattr(trip, key, row[key])
    trip.updated_at = datetime.now(UTC)
    sess.flush()


def trip_version_hash(sess: Session, trip: Trip, version: int) -> bytes | None:
    """The content hash a version of a trip had (the current one or a revision)."""
    if version == trip.version:
        return trip.content_hash
    rev = sess.get(TripRevision, (trip.org_id, trip.id, version))
    value = rev.data.get("content_hash") if rev is not None else None
    return bytes.fromhex(value) if isinstance(value, str) else None


def upsert_landings(sess: Session, trips: Iterable[dict[str, Any]]) -> None:
    """A returned trip with a return port has a landing: where and when it came ashore."""
    rows = [{"org_id": t["org_id"], "id": new_id(), "trip_id": t["id"],
             "port_id": t["return_port_id"], "landed_at": t["returned_at"]}
            for t in trips if t.get("returned_at") and t.get("return_port_id")]
    if not rows:
        return
    rows.sort(key=lambda r: (r["org_id"], r["trip_id"]))  # key order: see insert_catches
    stmt = insert(Landing).values(rows)
    sess.execute(stmt.on_conflict_do_update(
        index_elements=["org_id", "trip_id"],
        set_={"port_id": stmt.excluded.port_id, "landed_at": stmt.excluded.landed_at}))


