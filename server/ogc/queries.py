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

import math
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
    """A feature: its key, its id and its properties as a JSON object, both written by
    the query (so a page of a thousand features costs Python no float formatting)."""

    cell: str
    month: date
    species: str | None
    id: str  # <cell>:<YYYY-MM>[:<species>], as params.format_feature_id writes it
    properties: str

    @property
    def key(self) -> Key:
        return Key(self.cell, self.month, self.species)


def _number(total: str) -> str:
    """A sum of numeric(14,3) as JSON, written as Python writes the float (repr of
    ``round(float(x), 3)``): trailing zeros trimmed, ``.0`` when whole (both the same
    digits for up to 15 significant ones, far beyond any kilograms here)."""
    return (f"CASE WHEN scale(trim_scale({total})) = 0 THEN trim_scale({total})::text || '.0' "
            f"ELSE trim_scale({total})::text END")


def _feature_columns(coll: Collection, a: str) -> str:
    """Of a group of rows ``a``: its cell, month, species (NULL for catch-cells), feature
    id and properties. Cells are H3 hexadecimal, species ASFIS codes (three capitals):
    nothing in them needs escaping in JSON."""
    month = f"to_char({a}.month, 'YYYY-MM')"
    fid = f"{a}.cell || ':' || {month}"
    species = "NULL::varchar"
    species_prop = ""
    if coll.with_species:
        species = f"{a}.species_code"
        fid += f" || ':' || {a}.species_code"
        species_prop = f""" || '","species_code":"' || {a}.species_code"""
    return f"""{a}.cell, {a}.month, {species}, {fid},
               '{{"cell":"' || {a}.cell || '","month":"' || {month}{species_prop}
               || '","landed_kg":' || {_number(f"sum({a}.landed_kg)")}
               || ',"live_kg":' || {_number(f"sum({a}.live_kg)")}
               || ',"catches":' || sum({a}.catches) || ',"trips":' || sum({a}.trips)
               || ',"vessels":' || sum({a}.vessels) || '}}'"""


def _grouped(coll: Collection, scope: Scope, filters: list[str], tail: str = "") -> str:
    keys = "r.cell, r.month" + (", r.species_code" if coll.with_species else "")
    where = " AND ".join([scope.predicate(), *filters])
    return f"""
        SELECT {_feature_columns(coll, "r")}
        FROM {coll.table} r
        WHERE {where}
        GROUP BY {keys}
        HAVING sum(r.vessels) >= :min_vessels
        ORDER BY {keys}
        {tail}
    """


def _key_filter(coll: Collection, op: str) -> str:
    if coll.with_species:
        return "(r.cell, r.month, r.species_code) " + op + " (:k_cell, :k_month, :k_species)"
    return "(r.cell, r.month) " + op + " (:k_cell, :k_month)"


def _window_sql(coll: Collection, scope: Scope, filters: list[str]) -> str:
    """The groups of one window, in key order. A window is the scope's first ``window``
    rows from a key on, in key order; the group holding the window's last row (flagged
    ``edge``, and kept whatever its vessels) may go on past the window, so the caller
    drops it and starts the next window at its key. ``last``: the row number of a
    group's last row, to tell how many rows the groups read so far took."""
    keys = ["cell", "month", *(["species_code"] if coll.with_species else [])]
    rkeys = ", ".join(f"r.{k}" for k in keys)
    wkeys = ", ".join(f"w.{k}" for k in keys)
    where = " AND ".join([scope.predicate(), *filters])
    return f"""
        SELECT {_feature_columns(coll, "w")}, bool_or(w.n = :window) AS edge, max(w.n) AS last
        FROM (SELECT {rkeys}, r.landed_kg, r.live_kg, r.catches, r.trips, r.vessels,
                     row_number() OVER (ORDER BY {rkeys}) AS n
              FROM {coll.table} r WHERE {where}
              ORDER BY {rkeys} LIMIT :window) w
        GROUP BY {wkeys}
        HAVING sum(w.vessels) >= :min_vessels OR bool_or(w.n = :window)
        ORDER BY {wkeys}
        LIMIT :limit
    """


# How many raw rows a window takes: the features still wanted over the share of rows
# that became features (suppression drops groups, and a group is one row per
# organization) in the last window this process read of the collection, with slack;
# at least WINDOW_MIN. A guess only: too small costs one more window; too large costs
# little, as reading stops once the page is full.
WINDOW_YIELD = 0.5  # until a window has been read
WINDOW_SLACK = 2.0
WINDOW_MIN = 64
_yields: dict[str, float] = {}


def _window(coll: Collection, wanted: int) -> int:
    return max(WINDOW_MIN, math.ceil(WINDOW_SLACK * wanted / _yields.get(coll.id, WINDOW_YIELD)))


def items(sess: Session, coll: Collection, scope: Scope, q: ItemsQuery) -> tuple[list[Row], bool]:
    """One page of features in key order, and whether another page follows.

    A page is summed window by window: a window is the first ``window`` rows of the
    scope from the page's key on, in key order (an index scan that stops there).
    Every group but the window's last has all its rows in it, so it is summed and
    suppressed exactly as over the whole table; the last key starts the next window.
    Summing everything after the page's key and keeping the first groups (one
    GROUP BY ... LIMIT) reads the rest of the jurisdiction on every page once the
    page is larger than the planner's guess of how many groups HAVING keeps: a client
    walking the collection then has the database read it pages²/2 times."""
    filters: list[str] = []
    params = scope.params()
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
    want = q.limit + 1
    rows: list[Row] = []
    start, op = q.after, ">"  # after the page's key; then from each window's edge on
    window = _window(coll, want)
    while True:
        where, p = filters, params | {"window": window, "limit": want - len(rows) + 1}
        if start is not None:
            where = [*filters, _key_filter(coll, op)]
            p |= {"k_cell": start.cell, "k_month": start.month, "k_species": start.species}
        got = sess.execute(text(_window_sql(coll, scope, where)), p).all()  # one fetchall
        groups = [Row(*r[:5]) for r in got if not r[5]]
        rows += groups
        if got:  # features per row read, for the next window's size
            _yields[coll.id] = max(0.01, len(groups) / got[-1][6])
        edge = Key(*got[-1][:3]) if got and got[-1][5] else None
        if len(rows) >= want or edge is None:  # enough, or the window reached the end
            break
        if groups or edge != start:
            window = _window(coll, want - len(rows))
        else:  # one key has more rows than the window: take more
            window *= 2
        start, op = edge, ">="
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
