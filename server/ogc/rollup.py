"""Keeping the cell rollup equal to the logbook.

The unit of work is a *slice*: one organization and one month. A slice is
recomputed whole (delete, then insert), so recomputing is idempotent and a
correction that moves a catch to another cell, species or month is right
without bookkeeping of what the old version had contributed.

Cells are computed in Python with ``geo.hexgrid.cell_of``, the one
definition of which cell a position is in (PostGIS has no H3 here). A
slice's catches are streamed from a server-side cursor and summed in dicts,
and each table gets one INSERT ... SELECT FROM unnest(...) per slice.

``refresh_changed`` finds the slices touched since the last run through the
logbook's change positions ``(change_xid, change_seq)`` and reads them the
way the change feed does (server/feed.py): only rows whose ``change_xid`` is
below the xmin of the current snapshot, so a transaction still running when
we look is picked up by a later run instead of being skipped. A correction
inserts a new version and stamps the old one (an UPDATE, which moves its
change position too), so both the old and the new month are found. Trip
changes count as well: moving a trip to another vessel changes vessel counts.

Every slice is committed on its own: a full rebuild holds no long
transaction (which would hold back every change feed's horizon), and an
advisory lock per slice keeps a CLI run and the worker from colliding.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import shapely
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import hexgrid
from server.ogc import publish
from server.ogc.models import ROLLUP_TZ

Progress = Callable[[int, int], None]  # (slices done, slices in all)
Slice = tuple[uuid.UUID, date]

WATERMARK = "catch"  # the logbook's change position the rollup has caught up to
_LOCK_NAMESPACE = zlib.crc32(b"cardumen.ogc.slice") & 0x7FFFFFFF
STREAM_ROWS = 5000

MONTH_OF = "date_trunc('month', {col} AT TIME ZONE :tz)::date"
_CURRENT = "c.superseded_at IS NULL AND c.status = 'active' AND c.position IS NOT NULL"


@dataclass(frozen=True, order=True)
class Position:
    xid: int
    seq: int


@dataclass
class RefreshStats:
    slices: int = 0
    catches: int = 0
    rows: int = 0  # rollup rows written, both tables
    audiences: int = 0  # audiences republished
    position: Position | None = None  # the watermark saved, when one was


@dataclass
class _Acc:
    landed: Decimal = Decimal(0)
    live: Decimal = Decimal(0)
    catches: int = 0
    trips: set[uuid.UUID] = field(default_factory=set)
    vessels: set[uuid.UUID] = field(default_factory=set)

    def add(self, landed: Decimal, live: Decimal, trip: uuid.UUID, vessel: uuid.UUID | None) -> None:
        self.landed += landed
        self.live += live
        self.catches += 1
        self.trips.add(trip)
        # A trip without a vessel (shore fishing) adds weight but no vessel:
        # the suppression threshold then errs towards hiding.
        if vessel is not None:
            self.vessels.add(vessel)


def month_start(d: date) -> date:
    return d.replace(day=1)


# --- which slices -----------------------------------------------------------------------------

def slices(sess: Session, *, months: Iterable[date] | None = None,
           org_ids: Iterable[uuid.UUID] | None = None) -> list[Slice]:
    """Slices with rollable catches or with rollup rows (which may have to go)."""
    where_c, where_r = [_CURRENT], ["true"]
    params: dict[str, Any] = {"tz": ROLLUP_TZ}
    if months is not None:
        params["months"] = sorted({month_start(m) for m in months})
        where_c.append(MONTH_OF.format(col="c.caught_at") + " = ANY(CAST(:months AS date[]))")
        where_r.append("r.month = ANY(CAST(:months AS date[]))")
    if org_ids is not None:
        params["orgs"] = list(org_ids)
        where_c.append("c.org_id = ANY(CAST(:orgs AS uuid[]))")
        where_r.append("r.org_id = ANY(CAST(:orgs AS uuid[]))")
    sql = f"""
        SELECT c.org_id, {MONTH_OF.format(col="c.caught_at")} FROM catch c WHERE {" AND ".join(where_c)}
        UNION
        SELECT r.org_id, r.month FROM ogc_cell r WHERE {" AND ".join(where_r)}
        ORDER BY 2, 1
    """
    return [(r[0], r[1]) for r in sess.execute(text(sql), params)]


# --- one slice -------------------------------------------------------------------------------

_STREAM = f"""
    SELECT ST_X(c.position), ST_Y(c.position), c.species_code, c.landed_kg,
           coalesce(c.live_kg, c.landed_kg), c.trip_id, t.vessel_id
    FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
    WHERE c.org_id = :org AND {_CURRENT}
      -- the range lets ix_catch_org_caught find the month; the equality is the definition
      AND c.caught_at >= (CAST(:month AS timestamp) AT TIME ZONE :tz)
      AND c.caught_at < ((CAST(:month AS timestamp) + interval '1 month') AT TIME ZONE :tz)
      AND {MONTH_OF.format(col="c.caught_at")} = :month
"""

_INSERT_SPECIES = """
    INSERT INTO ogc_cell_species (org_id, cell, month, species_code, landed_kg, live_kg, catches,
                                  trips, vessels)
    SELECT :org, u.cell, :month, u.sp, u.landed, u.live, u.catches, u.trips, u.vessels
    FROM unnest(CAST(:cells AS varchar[]), CAST(:sp AS varchar[]), CAST(:landed AS numeric[]),
                CAST(:live AS numeric[]), CAST(:catches AS int[]), CAST(:trips AS int[]),
                CAST(:vessels AS int[])) AS u(cell, sp, landed, live, catches, trips, vessels)
"""

_INSERT_CELL = """
    INSERT INTO ogc_cell (org_id, cell, month, landed_kg, live_kg, catches, trips, vessels)
    SELECT :org, u.cell, :month, u.landed, u.live, u.catches, u.trips, u.vessels
    FROM unnest(CAST(:cells AS varchar[]), CAST(:landed AS numeric[]), CAST(:live AS numeric[]),
                CAST(:catches AS int[]), CAST(:trips AS int[]), CAST(:vessels AS int[]))
         AS u(cell, landed, live, catches, trips, vessels)
"""

_INSERT_H3 = """
    INSERT INTO h3_cell (cell, resolution, geom, center)
    SELECT u.cell, :res, ST_GeomFromWKB(u.geom, 4326), ST_GeomFromWKB(u.center, 4326)
    FROM unnest(CAST(:cells AS varchar[]), CAST(:geoms AS bytea[]), CAST(:centers AS bytea[]))
         AS u(cell, geom, center)
    ON CONFLICT (cell) DO NOTHING
"""


def _ensure_cells(sess: Session, cells: set[str]) -> None:
    if not cells:
        return
    known = set(sess.scalars(text("SELECT cell FROM h3_cell WHERE cell = ANY(CAST(:c AS varchar[]))"),
                             {"c": sorted(cells)}))
    new = sorted(cells - known)
    if not new:
        return
    sess.execute(text(_INSERT_H3), {
        "res": hexgrid.RESOLUTION, "cells": new,
        "geoms": [shapely.to_wkb(hexgrid.cell_polygon(c)) for c in new],
        "centers": [shapely.to_wkb(Point(*hexgrid.cell_center(c))) for c in new]})


def _lock_slice(sess: Session, org_id: uuid.UUID, month: date) -> None:
    key = zlib.crc32(f"{org_id}:{month.isoformat()}".encode()) & 0x7FFFFFFF
    sess.execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"), {"ns": _LOCK_NAMESPACE, "k": key})


def refresh_slice(sess: Session, org_id: uuid.UUID, month: date) -> tuple[int, int]:
    """Recompute one slice (flushes, does not commit). Returns (catches read, rows written)."""
    month = month_start(month)
    _lock_slice(sess, org_id, month)
    p = {"org": org_id, "month": month}
    # Read and sum first, write last: the transaction takes an xid (which
    # holds back every change feed's horizon) only for the short writes.
    by_species: dict[tuple[str, str], _Acc] = {}
    by_cell: dict[str, _Acc] = {}
    n = 0
    rows = sess.execute(text(_STREAM).execution_options(yield_per=STREAM_ROWS),
                        p | {"tz": ROLLUP_TZ})
    for lon, lat, species, landed, live, trip, vessel in rows:
        cell = hexgrid.cell_of(lon, lat)
        for acc in (by_species.setdefault((cell, species), _Acc()),
                    by_cell.setdefault(cell, _Acc())):
            acc.add(landed, live, trip, vessel)
        n += 1
    sess.execute(text("DELETE FROM ogc_cell_species WHERE org_id = :org AND month = :month"), p)
    sess.execute(text("DELETE FROM ogc_cell WHERE org_id = :org AND month = :month"), p)
    if not by_cell:
        return n, 0

    _ensure_cells(sess, set(by_cell))
    sp_keys = sorted(by_species)
    sp = [by_species[k] for k in sp_keys]
    sess.execute(text(_INSERT_SPECIES), p | {
        "cells": [k[0] for k in sp_keys], "sp": [k[1] for k in sp_keys],
        "landed": [a.landed for a in sp], "live": [a.live for a in sp],
        "catches": [a.catches for a in sp], "trips": [len(a.trips) for a in sp],
        "vessels": [len(a.vessels) for a in sp]})
    cell_keys = sorted(by_cell)
    cl = [by_cell[k] for k in cell_keys]
    sess.execute(text(_INSERT_CELL), p | {
        "cells": cell_keys, "landed": [a.landed for a in cl], "live": [a.live for a in cl],
        "catches": [a.catches for a in cl], "trips": [len(a.trips) for a in cl],
        "vessels": [len(a.vessels) for a in cl]})
    return n, len(sp) + len(cl)


def refresh_slices(sess: Session, todo: list[Slice], progress: Progress | None = None) -> RefreshStats:
    """Recompute these slices, committing after each one, then republish the map's
    audiences that see them (server/ogc/publish.py)."""
    stats = RefreshStats()
    if progress:
        progress(0, len(todo))
    for i, (org_id, month) in enumerate(todo, 1):
        catches, rows = refresh_slice(sess, org_id, month)
        publish.queue(sess, org_id, month_start(month))
        sess.commit()
        stats.slices += 1
        stats.catches += catches
        stats.rows += rows
        if progress:
            progress(i, len(todo))
    stats.audiences = publish.pending(sess)
    return stats


def refresh(sess: Session, *, months: list[date] | None = None,
            org_ids: list[uuid.UUID] | None = None, progress: Progress | None = None) -> RefreshStats:
    """Recompute the slices of these months and organizations (all of them when both are None).

    A full refresh also moves the watermark to where the logbook stood before
    it started, so the next ``refresh_changed`` does not redo everything.
    Commits (per slice)."""
    full = months is None and org_ids is None
    start = _horizon_position(sess) if full else None
    todo = slices(sess, months=months, org_ids=org_ids)
    sess.commit()  # nothing held open while the slices run
    stats = refresh_slices(sess, todo, progress)
    if start is not None:
        stats.position = _save_watermark(sess, start)
        sess.commit()
    return stats


# --- what changed ----------------------------------------------------------------------------

_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
_RANGE = "(x.change_xid, x.change_seq) > (:xid, :seq) AND x.change_xid < :horizon"


def watermark(sess: Session) -> Position:
    row = sess.execute(text("SELECT change_xid, change_seq FROM ogc_watermark WHERE name = :n"),
                       {"n": WATERMARK}).first()
    return Position(int(row[0]), int(row[1])) if row else Position(0, 0)


def _save_watermark(sess: Session, pos: Position) -> Position:
    # Never backwards: two runs that overlap both end at the further position.
    sess.execute(text("""
        INSERT INTO ogc_watermark (name, change_xid, change_seq) VALUES (:n, :xid, :seq)
        ON CONFLICT (name) DO UPDATE SET change_xid = EXCLUDED.change_xid,
               change_seq = EXCLUDED.change_seq, updated_at = now()
        WHERE (ogc_watermark.change_xid, ogc_watermark.change_seq)
              < (EXCLUDED.change_xid, EXCLUDED.change_seq)
    """), {"n": WATERMARK, "xid": pos.xid, "seq": pos.seq})
    return max(pos, watermark(sess))


def _last_position(sess: Session, table: str, params: dict[str, Any]) -> Position | None:
    row = sess.execute(text(f"""
        SELECT x.change_xid, x.change_seq FROM {table} x WHERE {_RANGE}
        ORDER BY x.change_xid DESC, x.change_seq DESC LIMIT 1"""), params).first()
    return Position(int(row[0]), int(row[1])) if row else None


def _horizon_position(sess: Session) -> Position:
    """The furthest position below the current horizon: every change up to it has committed."""
    horizon = int(sess.execute(text(_HORIZON)).scalar_one())
    params = {"xid": 0, "seq": 0, "horizon": horizon}
    found = [p for p in (_last_position(sess, t, params) for t in ("catch", "trip")) if p]
    return max(found, default=Position(0, 0))


def changed_slices(sess: Session, since: Position) -> tuple[list[Slice], Position]:
    """Slices touched by changes after ``since`` that are safe to read, and the
    position the watermark may move to once they are recomputed."""
    horizon = int(sess.execute(text(_HORIZON)).scalar_one())
    params: dict[str, Any] = {"xid": since.xid, "seq": since.seq, "horizon": horizon, "tz": ROLLUP_TZ}
    rows = sess.execute(text(f"""
        SELECT x.org_id, {MONTH_OF.format(col="x.caught_at")} FROM catch x WHERE {_RANGE}
        UNION
        SELECT c.org_id, {MONTH_OF.format(col="c.caught_at")}
        FROM trip x JOIN catch c ON c.org_id = x.org_id AND c.trip_id = x.id
        WHERE {_RANGE} AND c.superseded_at IS NULL
        ORDER BY 2, 1
    """), params).all()
    found = [p for p in (_last_position(sess, t, params) for t in ("catch", "trip")) if p]
    return [(r[0], r[1]) for r in rows], max([since, *found])


def refresh_changed(sess: Session, progress: Progress | None = None) -> RefreshStats:
    """Recompute every slice changed since the watermark, then move the watermark. Commits."""
    todo, pos = changed_slices(sess, watermark(sess))
    sess.commit()
    stats = refresh_slices(sess, todo, progress)
    stats.position = _save_watermark(sess, pos)
    sess.commit()
    return stats
