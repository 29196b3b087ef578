"""Publishing the map: each audience's features summed, suppressed and written once.

An audience is one view of the rollup: an authority's jurisdiction (its
cooperatives, plus every organization's cells whose centre lies in its region)
or the platform's (every organization). Publishing an audience groups the
per-organization rollup rows of its jurisdiction by cell and month (and
species), adds them up, keeps a group only when the summed vessel count
reaches the threshold, and writes each kept group's id and properties as
JSON text into ``ogc_feature``. Vessels belong to one cooperative, so the sum
of per-organization distinct counts is the distinct count; the threshold is
applied to that sum, never per organization.

Secondary suppression (server/ogc/suppression.py) then hides more, decided for
every audience together: a cell's total minus its shown species, or one
office's cell minus another's, never gives a hidden contribution away.

The API then reads finished rows in key order and never sums nor suppresses
on a request: a suppressed group is simply not there, so no door (a page, a
single feature, an extent, a bbox) can reach it.

When: the rollup queues every slice (organization, month) it rewrites, in
the slice's own transaction (``ogc_publish_queue``); ``pending`` takes the
queue and republishes those months for every audience, in one transaction, so
a crash leaves the queue to the next run. An audience never published (a new
authority) or published with another threshold (the configuration changed)
makes every audience be published whole on its next read (``ensure``).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import hexgrid
from server.ogc import suppression
from server.ogc.collections import COLLECTIONS, Collection
from server.ogc.models import PLATFORM_AUDIENCE

Progress = Callable[[int, int], None]  # (audiences done, audiences in all)
_LOCK_NAMESPACE = zlib.crc32(b"cardumen.ogc.audience") & 0x7FFFFFFF


@dataclass(frozen=True)
class Scope:
    """Whose rollup rows an audience sums: some cooperatives, a region, or everything."""

    org_ids: tuple[uuid.UUID, ...] | None  # None: every organization (the platform)
    region_of: uuid.UUID | None  # this authority's region also counts, by cell centre

    def predicate(self) -> str:
        if self.org_ids is None:
            return "true"
        parts = []
        if self.org_ids:
            parts.append("r.org_id = ANY(CAST(:scope_orgs AS uuid[]))")
        if self.region_of is not None:
            # The cell stands for where its catches were: in the region when its
            # centre is (the cells are small next to a state's waters).
            parts.append("""r.cell IN (SELECT h.cell FROM h3_cell h JOIN authority a
                                        ON ST_Covers(a.region, h.center)
                                        WHERE a.id = :scope_authority)""")
        return "(" + (" OR ".join(parts) or "false") + ")"

    def params(self) -> dict[str, Any]:
        return {"scope_orgs": list(self.org_ids or ()), "scope_authority": self.region_of}



def _number(total: str) -> str:
    """A sum of numeric(14,3) as JSON, written as Python writes the float (repr of
    ``round(float(x), 3)``): trailing zeros trimmed, ``.0`` when whole (both the same
    digits for up to 15 significant ones, far beyond any kilograms here)."""
    return (f"CASE WHEN scale(trim_scale({total})) = 0 THEN trim_scale({total})::text || '.0' "
            f"ELSE trim_scale({total})::text END")


def _insert_sql(coll: Collection, scope: Scope, *, some_months: bool) -> str:
    """The audience's groups of one collection, summed, suppressed and written as whole
    GeoJSON Features, compact, members in the order orjson wrote them before (type, id,
    geometry, properties). Cells are H3 hexadecimal, species ASFIS codes (three
    capitals): nothing in them needs escaping in JSON."""
    keys = "r.cell, r.month" + (", r.species_code" if coll.with_species else "")
    month = "to_char(r.month, 'YYYY-MM')"
    fid = f"r.cell || ':' || {month}"
    species, species_prop = "''", ""
    if coll.with_species:
        species = "r.species_code"
        fid += " || ':' || r.species_code"
        species_prop = """ || '","species_code":"' || r.species_code"""
    where = [scope.predicate()]
    if some_months:
        where.append("r.month = ANY(CAST(:months AS date[]))")
    return f"""
        INSERT INTO ogc_feature (audience_id, collection, cell, month, species_code, feature)
        SELECT :audience, {coll.code}, g.cell, g.month, g.species,
               '{{"type":"Feature","id":"' || g.fid || '","geometry":' || h.geojson
               || ',"properties":' || g.properties || '}}'
        FROM (SELECT r.cell, r.month, {species} AS species, {fid} AS fid,
                     '{{"cell":"' || r.cell || '","month":"' || {month}{species_prop}
                     || '","landed_kg":' || {_number("sum(r.landed_kg)")}
                     || ',"live_kg":' || {_number("sum(r.live_kg)")}
                     || ',"catches":' || sum(r.catches) || ',"trips":' || sum(r.trips)
                     || ',"vessels":' || sum(r.vessels) || '}}' AS properties
              FROM {coll.table} r
              WHERE {" AND ".join(where)}
              GROUP BY {keys}
              HAVING sum(r.vessels) >= :min_vessels) g
        JOIN h3_cell h ON h.cell = g.cell
        -- secondary suppression (server/ogc/suppression.py), decided for every audience
        WHERE NOT EXISTS (
            SELECT 1 FROM unnest(CAST(:h_cells AS varchar[]), CAST(:h_months AS date[]),
                                 CAST(:h_species AS varchar[])) AS x(cell, month, species)
            WHERE x.cell = g.cell AND x.month = g.month AND x.species = g.species)
        -- in key order: a page's rows then share heap pages (a range of the key is a
        -- handful of blocks, not one per feature)
        ORDER BY g.cell, g.month, g.species
    """


def _fill_geojson(sess: Session) -> None:
    """Write the hexagon of every cell that has none yet (the rollup adds cells)."""
    cells = list(sess.scalars(text("SELECT cell FROM h3_cell WHERE geojson IS NULL")))
    if cells:
        sess.execute(text("""
            UPDATE h3_cell h SET geojson = u.geojson
            FROM unnest(CAST(:cells AS varchar[]), CAST(:geojson AS text[])) AS u(cell, geojson)
            WHERE h.cell = u.cell"""),
            {"cells": cells, "geojson": [hexgrid.cell_geojson(c) for c in cells]})


def audience_of(authority_id: uuid.UUID | None) -> uuid.UUID:
    """An authority's view has the authority's id; the platform's, the nil UUID."""
    return PLATFORM_AUDIENCE if authority_id is None else authority_id


def scope_of(sess: Session, authority_id: uuid.UUID | None) -> Scope | None:
    """The jurisdiction of an authority (None when it does not exist), or the platform's."""
    if authority_id is None:
        return Scope(None, None)
    row = sess.execute(text("""
        SELECT a.region IS NOT NULL,
               ARRAY(SELECT ac.org_id FROM authority_cooperative ac
                     WHERE ac.authority_id = a.id ORDER BY ac.org_id)
        FROM authority a WHERE a.id = :id"""), {"id": authority_id}).first()
    if row is None:
        return None
    return Scope(tuple(row[1]), authority_id if row[0] else None)


def _lock(sess: Session) -> None:
    # One publisher at a time: audiences are decided together (server/ogc/suppression.py).
    sess.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": _LOCK_NAMESPACE})


def publish(sess: Session, authority_id: uuid.UUID | None, scope: Scope, min_vessels: int,
            months: Iterable[date] | None, hidden: set[suppression.Key]) -> int:
    """(Re)write the audience's features, of these months or all of them, leaving out the
    ``hidden`` ones; returns the audience's new version. Flushes, does not commit: the
    caller's commit makes the change visible to readers at once and whole."""
    audience = audience_of(authority_id)
    version = int(sess.execute(text("""
        INSERT INTO ogc_audience (id, authority_id, min_vessels) VALUES (:id, :authority, :min)
        ON CONFLICT (id) DO UPDATE SET min_vessels = EXCLUDED.min_vessels,
               version = ogc_audience.version + 1, published_at = now()
        RETURNING version"""), {"id": audience, "authority": authority_id,
                                "min": min_vessels}).scalar_one())
    keys = sorted(hidden)
    p: dict[str, Any] = scope.params() | {
        "audience": audience, "min_vessels": min_vessels, "h_cells": [k[0] for k in keys],
        "h_months": [k[1] for k in keys], "h_species": [k[2] for k in keys]}
    some = months is not None
    if some:
        p["months"] = sorted(set(months or ()))
        sess.execute(text("DELETE FROM ogc_feature WHERE audience_id = :audience "
                          "AND month = ANY(CAST(:months AS date[]))"), p)
    else:
        sess.execute(text("DELETE FROM ogc_feature WHERE audience_id = :audience"), p)
    for coll in COLLECTIONS.values():
        sess.execute(text(_insert_sql(coll, scope, some_months=some)), p)
    return version


def publish_all(sess: Session, min_vessels: int,
                months: Iterable[date] | None = None) -> dict[uuid.UUID, int]:
    """Republish every audience (the platform's view and every authority's, read yet or
    not, so what one shows never depends on who has looked), these months or all of them,
    suppressed together. An audience never published, or published with another
    threshold, makes it all months. Returns each audience's new version. Flushes, does
    not commit."""
    _lock(sess)
    _fill_geojson(sess)
    wanted: list[uuid.UUID | None] = [None, *sess.scalars(text(
        "SELECT id FROM authority ORDER BY id"))]
    published: dict[uuid.UUID | None, int] = dict(sess.execute(text(
        "SELECT authority_id, min_vessels FROM ogc_audience")).all())
    if any(published.get(a) != min_vessels for a in wanted):
        months = None
    scopes: dict[uuid.UUID | None, Scope] = {}
    for authority_id in wanted:
        scope = scope_of(sess, authority_id)
        if scope is not None:  # an authority removed meanwhile goes with its rows
            scopes[authority_id] = scope
    month_list = None if months is None else sorted(set(months))
    hidden = suppression.hidden(sess, {audience_of(a): s for a, s in scopes.items()},
                                min_vessels, month_list)
    return {audience_of(a): publish(sess, a, s, min_vessels, month_list,
                                    hidden[audience_of(a)])
            for a, s in scopes.items()}


@dataclass(frozen=True)
class Published:
    audience: uuid.UUID
    version: int


def ensure(sess: Session, authority_id: uuid.UUID | None, min_vessels: int) -> Published | None:
    """The audience as published with this threshold: when it never was, or was with
    another threshold, every audience is republished (they are decided together) and
    committed first. None when the authority does not exist."""
    audience = audience_of(authority_id)
    q = text("SELECT min_vessels, version FROM ogc_audience WHERE id = :id")
    row = sess.execute(q, {"id": audience}).first()
    if row is not None and row[0] == min_vessels:
        return Published(audience, int(row[1]))
    if scope_of(sess, authority_id) is None:
        return None
    _lock(sess)
    row = sess.execute(q, {"id": audience}).first()  # another request may have done it
    if row is not None and row[0] == min_vessels:
        version = int(row[1])
    else:
        version = publish_all(sess, min_vessels)[audience]
    sess.commit()
    return Published(audience, version)


def pending(sess: Session, progress: Progress | None = None) -> int:
    """Republish the months the queued slices changed, for every audience (they are
    decided together); returns how many audiences were republished. Commits once, at
    the end: the queue goes with the publications or stays."""
    months = sorted({m for (m,) in sess.execute(text(
        "DELETE FROM ogc_publish_queue RETURNING month"))})
    threshold = sess.scalar(text("SELECT max(min_vessels) FROM ogc_audience"))
    if not months or threshold is None:
        sess.commit()
        return 0
    if progress:
        progress(0, 1)
    done = publish_all(sess, int(threshold), months)
    if progress:
        progress(1, 1)
    sess.commit()
    return len(done)


def queue(sess: Session, org_id: uuid.UUID, month: date) -> None:
    """Mark a rewritten slice for publication (in the slice's transaction)."""
    sess.execute(text("INSERT INTO ogc_publish_queue (org_id, month) VALUES (:org, :month) "
                      "ON CONFLICT DO NOTHING"), {"org": org_id, "month": month})
