"""The OGC map's share of a rollup slice: catch per organization, H3 cell and month.

Cells are computed in Python with ``geo.hexgrid.cell_of``, the one definition
of which cell a position is in (PostGIS has no H3 here). A slice's catches are
streamed from a server-side cursor and summed in dicts, and each table gets
one INSERT ... SELECT FROM unnest(...) per slice. The slice is rewritten
whole (delete, then insert), so a correction that moves a catch to another
cell, species or month is right without bookkeeping of what the old version
had contributed. Every slice written is queued for publication
(server/ogc/publish.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import shapely
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import hexgrid
from server.ogc import publish
from server.ogc.models import ROLLUP_TZ
from server.rollup.changes import MONTH_OF

STREAM_ROWS = 5000
_CURRENT = "c.superseded_at IS NULL AND c.status = 'active' AND c.position IS NOT NULL"


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


def write_slice(sess: Session, org_id: uuid.UUID, month: date) -> tuple[int, int]:
    """Rewrite the slice's cells (flushes, does not commit; the caller holds the slice's
    lock). Returns (catches read, rows written)."""
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
    publish.queue(sess, org_id, month)
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
