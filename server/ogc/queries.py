"""Reading the rollup for one caller's jurisdiction: sum over organizations, then suppress.

Every query groups the per-organization rows of the jurisdiction by cell and
month (and species), adds them up, and keeps a group only when the summed
vessel count reaches the threshold. Vessels belong to one cooperative, so
the sum of per-organization distinct counts is the distinct count. The
threshold is applied to the summed figure, never per organization, and
the same HAVING serves lists, single features and extents, so a suppressed
cell cannot be reached by any door.

Groups are read in key order with keyset paging. No COUNT(*) for
``numberMatched``: it would aggregate the whole jurisdiction again on every
page, only to report a number clients do not need to page.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.ogc import rollup
from server.ogc.params import ItemsQuery, Key


@dataclass(frozen=True)
class Collection:
    id: str
    table: str
    with_species: bool
    title: dict[str, str]
    description: dict[str, str]


CATCH_CELLS = Collection(
    "catch-cells", "ogc_cell", False,
    {"es": "Captura por celda y mes", "en": "Catch per cell and month"},
    {"es": "Captura desembarcada y en peso vivo por celda hexagonal H3 (resolución 6, ~36 km²) y "
           "mes, todas las especies. Se omiten las celdas con menos barcos que el umbral.",
     "en": "Landed and live-weight catch per H3 hexagon cell (resolution 6, ~36 km²) and month, "
           "all species. Cells with fewer vessels than the threshold are left out."})
CATCH_CELLS_SPECIES = Collection(
    "catch-cells-species", "ogc_cell_species", True,
    {"es": "Captura por celda, mes y especie", "en": "Catch per cell, month and species"},
    {"es": "Como catch-cells, por especie (código ASFIS). El umbral de barcos se aplica a cada "
           "especie.",
     "en": "As catch-cells, per species (ASFIS code). The vessel threshold applies to each "
           "species."})
COLLECTIONS = {c.id: c for c in (CATCH_CELLS, CATCH_CELLS_SPECIES)}


@dataclass(frozen=True)
class Scope:
    """Whose rows count: an authority's cooperatives, its region, or everything."""

    org_ids: tuple[uuid.UUID, ...] | None  # None: every organization (platform admin)
    region_of: uuid.UUID | None  # this authority's region also counts, by cell centre
    min_vessels: int

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
        return {"scope_orgs": list(self.org_ids or ()), "scope_authority": self.region_of,
                "min_vessels": self.min_vessels}


class Row(NamedTuple):
    cell: str
    month: date
    species: str | None
    landed_kg: float
    live_kg: float
    catches: int
    trips: int
    vessels: int

    @property
    def key(self) -> Key:
        return Key(self.cell, self.month, self.species)


def _grouped(coll: Collection, scope: Scope, filters: list[str], tail: str = "") -> str:
    keys = "r.cell, r.month" + (", r.species_code" if coll.with_species else "")
    species = "r.species_code" if coll.with_species else "NULL::varchar"
    where = " AND ".join([scope.predicate(), *filters])
    return f"""
        SELECT r.cell, r.month, {species}, sum(r.landed_kg)::float8, sum(r.live_kg)::float8,
               sum(r.catches)::int, sum(r.trips)::int, sum(r.vessels)::int
        FROM {coll.table} r
        WHERE {where}
        GROUP BY {keys}
        HAVING sum(r.vessels) >= :min_vessels
        ORDER BY {keys}
        {tail}
    """


def items(sess: Session, coll: Collection, scope: Scope, q: ItemsQuery) -> tuple[list[Row], bool]:
    """One page of features in key order, and whether another page follows."""
    filters: list[str] = []
    params = scope.params() | {"limit": q.limit + 1}
    if q.bbox is not None:
        filters.append("""r.cell IN (SELECT h.cell FROM h3_cell h WHERE
                          ST_Intersects(h.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))""")
        params |= dict(zip(("x0", "y0", "x1", "y1"), q.bbox, strict=True))
    if q.months is not None and q.months.first is not None:
        filters.append("r.month >= :m0")
        params["m0"] = q.months.first
    if q.months is not None and q.months.last is not None:
        filters.append("r.month <= :m1")
        params["m1"] = q.months.last
    if q.species is not None and coll.with_species:
        filters.append("r.species_code = ANY(CAST(:species AS varchar[]))")
        params["species"] = q.species
    if q.after is not None:
        if coll.with_species:
            filters.append("(r.cell, r.month, r.species_code) > (:k_cell, :k_month, :k_species)")
        else:
            filters.append("(r.cell, r.month) > (:k_cell, :k_month)")
        params |= {"k_cell": q.after.cell, "k_month": q.after.month, "k_species": q.after.species}
    rows = [Row(*r) for r in sess.execute(text(_grouped(coll, scope, filters, "LIMIT :limit")),
                                          params)]
    return rows[:q.limit], len(rows) > q.limit


def one(sess: Session, coll: Collection, scope: Scope, key: Key) -> Row | None:
    filters = ["r.cell = :cell", "r.month = :month"]
    params = scope.params() | {"cell": key.cell, "month": key.month}
    if coll.with_species:
        filters.append("r.species_code = :species")
        params["species"] = key.species
    row = sess.execute(text(_grouped(coll, scope, filters)), params).first()
    return Row(*row) if row else None


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float]
    first_month: date
    last_month: date


_EXTENT_SQL = """
    WITH g AS (SELECT r.cell, r.month FROM ogc_cell r WHERE {scope}
               GROUP BY r.cell, r.month HAVING sum(r.vessels) >= :min_vessels)
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi FROM (
        SELECT ST_Extent(h.geom) AS e, (SELECT min(month) FROM g) AS lo,
               (SELECT max(month) FROM g) AS hi
        FROM h3_cell h WHERE h.cell IN (SELECT cell FROM g)) q
"""
EXTENT_TTL = 300.0  # also bounds how long an authority's edited region goes unnoticed
_extents: dict[tuple[Scope, int], tuple[float, Extent | None]] = {}


def extent(sess: Session, scope: Scope) -> Extent | None:
    """Bounds of the cell-months the scope shows (after suppression).

    Taken from catch-cells for both collections: a species' cells lie
    within its cell's, so this bounds the species collection too. It reads
    the whole scope (a second for every organization's 400,000 rows), and
    GDAL asks for /collections on every open: kept per process until the
    rollup's version moves."""
    key = (scope, rollup.version(sess))
    now = time.monotonic()
    hit = _extents.get(key)
    if hit is not None and now - hit[0] < EXTENT_TTL:
        return hit[1]
    row = sess.execute(text(_EXTENT_SQL.format(scope=scope.predicate())), scope.params()).first()
    value = None if row is None or row[0] is None else \
        Extent((row[0], row[1], row[2], row[3]), row[4], row[5])
    if len(_extents) > 1024:
        _extents.clear()
    _extents[key] = (now, value)
    return value
