"""The analytics share of a rollup slice, written by PostgreSQL from the logbook.

A slice (organization, month) is rewritten whole: catches by their catch
month, trips by their departure month, both in the rollup's calendar
(America/Mexico_City). Only current, active versions count; a catch's gear is
its own or its trip's. Money is counted in MXN only (prices and costs in other
currencies are left out of the sums rather than converted at a guessed rate).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import hexgrid
from server.analytics.models import NO_VESSEL
from server.ogc.models import ROLLUP_TZ
from server.rollup.changes import MONTH_OF

_IN_MONTH = """
      AND {col} >= (CAST(:month AS timestamp) AT TIME ZONE :tz)
      AND {col} < ((CAST(:month AS timestamp) + interval '1 month') AT TIME ZONE :tz)
      AND {month_of} = :month
"""

# The local calendar days trip ``u`` was at sea (a trip not back yet: its departure day).
# greatest() skips a NULL return time.
SEA_DAYS = """generate_series((u.departed_at AT TIME ZONE :tz)::date,
                              (greatest(u.returned_at, u.departed_at) AT TIME ZONE :tz)::date,
                              interval '1 day')"""

_SPECIES = f"""
    INSERT INTO stat_species (org_id, month, member_id, vessel_id, species_code, gear_code,
                              landed_kg, live_kg, catches, value_mxn, priced_kg)
    SELECT c.org_id, :month, c.member_id, coalesce(t.vessel_id, :none), c.species_code,
           coalesce(c.gear_code, t.gear_code, ''), sum(c.landed_kg),
           sum(coalesce(c.live_kg, c.landed_kg)), count(*),
           coalesce(sum(c.landed_kg * c.unit_price)
                    FILTER (WHERE c.unit_price IS NOT NULL AND c.currency = 'MXN'), 0),
           coalesce(sum(c.landed_kg)
                    FILTER (WHERE c.unit_price IS NOT NULL AND c.currency = 'MXN'), 0)
    FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
    WHERE c.org_id = :org AND c.superseded_at IS NULL AND c.status = 'active'
      {_IN_MONTH.format(col="c.caught_at", month_of=MONTH_OF.format(col="c.caught_at"))}
    GROUP BY 1, 2, 3, 4, 5, 6
"""

_TRIPS = f"""
    INSERT INTO stat_trip (org_id, month, member_id, vessel_id, gear_code, trips,
                           zero_catch_trips, timed_trips, sea_hours, sea_days, costs_mxn)
    SELECT t.org_id, :month, t.member_id, coalesce(t.vessel_id, :none), coalesce(t.gear_code, ''),
           count(*), count(*) FILTER (WHERE t.zero_catch),
           count(*) FILTER (WHERE t.returned_at > t.departed_at),
           coalesce(round(sum(extract(epoch FROM t.returned_at - t.departed_at) / 3600)
                          FILTER (WHERE t.returned_at > t.departed_at), 2), 0),
           (SELECT count(DISTINCT d) FROM trip u, {SEA_DAYS} AS d
            WHERE u.org_id = t.org_id AND u.id = ANY(array_agg(t.id))),
           coalesce((SELECT sum((x->>'amount')::numeric) FROM trip u,
                            jsonb_array_elements(u.costs) AS x
                     WHERE u.org_id = t.org_id AND u.id = ANY(array_agg(t.id))
                       AND coalesce(x->>'currency', 'MXN') = 'MXN'), 0)
    FROM trip t
    WHERE t.org_id = :org AND t.status = 'active'
      {_IN_MONTH.format(col="t.departed_at", month_of=MONTH_OF.format(col="t.departed_at"))}
    GROUP BY 1, 2, 3, 4, 5
"""


_ZONES = f"""
    INSERT INTO stat_zone (org_id, month, member_id, vessel_id, zone_id, landed_kg, catches)
    SELECT c.org_id, :month, c.member_id, coalesce(t.vessel_id, :none), z.zone_id,
           sum(c.landed_kg), count(*)
    FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
    CROSS JOIN LATERAL unnest(c.zone_ids) AS z(zone_id)
    WHERE c.org_id = :org AND c.superseded_at IS NULL AND c.status = 'active'
      {_IN_MONTH.format(col="c.caught_at", month_of=MONTH_OF.format(col="c.caught_at"))}
    GROUP BY 1, 2, 3, 4, 5
"""

_POSITIONED = f"""
    SELECT c.member_id, coalesce(t.vessel_id, :none), c.species_code, ST_X(c.position),
           ST_Y(c.position), c.landed_kg
    FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
    WHERE c.org_id = :org AND c.superseded_at IS NULL AND c.status = 'active'
      AND c.position IS NOT NULL
      {_IN_MONTH.format(col="c.caught_at", month_of=MONTH_OF.format(col="c.caught_at"))}
"""

_INSERT_CELLS = """
    INSERT INTO stat_cell (org_id, month, member_id, vessel_id, cell, species_code, landed_kg,
                           catches)
    SELECT :org, :month, u.member, u.vessel, u.cell, u.sp, u.landed, u.catches
    FROM unnest(CAST(:members AS uuid[]), CAST(:vessels AS uuid[]), CAST(:cells AS varchar[]),
                CAST(:sp AS varchar[]), CAST(:landed AS numeric[]), CAST(:catches AS int[]))
         AS u(member, vessel, cell, sp, landed, catches)
"""


def _cells(sess: Session, p: dict[str, object]) -> int:
    """Catch per member, vessel, cell and species: the cell is computed in Python
    (geo.hexgrid, the one definition of a cell; PostGIS here has no H3)."""
    acc: dict[tuple[uuid.UUID, uuid.UUID, str, str], list[Decimal | int]] = {}
    rows = sess.execute(text(_POSITIONED).execution_options(yield_per=5000), p)
    for member, vessel, species, lon, lat, landed in rows:
        a = acc.setdefault((member, vessel, hexgrid.cell_of(lon, lat), species), [Decimal(0), 0])
        a[0] += landed
        a[1] += 1
    if not acc:
        return 0
    keys = sorted(acc)
    sess.execute(text(_INSERT_CELLS), p | {
        "members": [k[0] for k in keys], "vessels": [k[1] for k in keys],
        "cells": [k[2] for k in keys], "sp": [k[3] for k in keys],
        "landed": [acc[k][0] for k in keys], "catches": [acc[k][1] for k in keys]})
    return len(keys)


def write_slice(sess: Session, org_id: uuid.UUID, month: date) -> int:
    """Rewrite the slice's statistics (flushes, does not commit; the caller holds the
    slice's lock). Returns the rows written."""
    p = {"org": org_id, "month": month, "tz": ROLLUP_TZ, "none": NO_VESSEL}
    for table in ("stat_species", "stat_trip", "stat_cell", "stat_zone"):
        sess.execute(text(f"DELETE FROM {table} WHERE org_id = :org AND month = :month"), p)
    conn = sess.connection()
    n = conn.execute(text(_SPECIES), p).rowcount + conn.execute(text(_TRIPS), p).rowcount
    n += conn.execute(text(_ZONES), p).rowcount + _cells(sess, p)
    sess.execute(text("""
        INSERT INTO stat_slice (org_id, month) VALUES (:org, :month)
        ON CONFLICT (org_id, month) DO UPDATE SET version = stat_slice.version + 1"""), p)
    return n
