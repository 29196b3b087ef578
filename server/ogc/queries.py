"""Reading one audience's published features (server/ogc/publish.py wrote them).

Nothing is summed or suppressed here: the rows are the audience's answers,
their ids and properties already JSON. A page is one range of the primary
key ``(audience, collection, cell, month, species)`` from the page's key on,
in key order, with keyset paging. No COUNT(*) for ``numberMatched``: clients
do not need it to page, and it would read the whole audience on every page.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.ogc.collections import CATCH_CELLS, COLLECTIONS, Collection
from server.ogc.params import ItemsQuery, Key
from server.ogc.publish import Published
from server.pages import split_page

__all__ = ["COLLECTIONS", "Collection", "Extent", "Page", "extent", "items", "one"]


@dataclass(frozen=True)
class Page:
    """A page of features: ``features`` is the text between the brackets of a
    FeatureCollection's ``features``."""

    features: str
    count: int
    last: Key | None  # the key of the last feature, for the next page's token
    more: bool  # another page follows


_OF = "f.audience_id = :audience AND f.collection = :collection"
_KEY = "f.cell, f.month, f.species_code"


def _base(coll: Collection, audience: uuid.UUID) -> dict[str, Any]:
    return {"audience": audience, "collection": coll.code}


def items(sess: Session, coll: Collection, pub: Published, q: ItemsQuery) -> Page:
    """One page of features in key order: one range of the primary key, whose rows are
    finished features, joined with commas."""
    where = [_OF]
    p = _base(coll, pub.audience)
    if q.after is not None:
        where.append(f"({_KEY}) > (:k_cell, :k_month, :k_species)")
        p |= {"k_cell": q.after.cell, "k_month": q.after.month, "k_species": q.after.species or ""}
    if q.bbox is not None:
        where.append("""f.cell IN (SELECT h.cell FROM h3_cell h WHERE
                        ST_Intersects(h.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))""")
        p |= dict(zip(("x0", "y0", "x1", "y1"), q.bbox, strict=True))
    if q.months is not None and q.months.first is not None:
        where.append("f.month >= :m0")
        p["m0"] = q.months.first
    if q.months is not None and q.months.last is not None:
        where.append("f.month <= :m1")
        p["m1"] = q.months.last
    if q.species is not None and coll.with_species:
        where.append("f.species_code = ANY(CAST(:species AS varchar[]))")
        p["species"] = q.species
    # One row more than the page tells whether another follows. Fetched whole (one
    # fetchall, no per-row work): each row is a finished feature.
    rows = sess.execute(text(f"""
        SELECT f.feature, {_KEY} FROM ogc_feature f WHERE {" AND ".join(where)}
        ORDER BY {_KEY} LIMIT :limit"""), p | {"limit": q.limit + 1}).all()
    page, more = split_page(rows, q.limit)
    last = Key(page[-1][1], page[-1][2], page[-1][3] or None) if page else None
    return Page(",".join([r[0] for r in page]), len(page), last, more)


def one(sess: Session, coll: Collection, pub: Published, key: Key) -> str | None:
    """The feature's GeoJSON text, or None when the audience is not shown it."""
    feature: str | None = sess.scalar(text(f"""
        SELECT f.feature FROM ogc_feature f
        WHERE {_OF} AND f.cell = :cell AND f.month = :month AND f.species_code = :species"""),
        _base(coll, pub.audience) | {"cell": key.cell, "month": key.month,
                                     "species": key.species or ""})
    return feature


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float]
    first_month: date
    last_month: date


_EXTENT_SQL = f"""
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi FROM (
        SELECT ST_Extent(h.geom) AS e, min(f.month) AS lo, max(f.month) AS hi
        FROM ogc_feature f JOIN h3_cell h ON h.cell = f.cell WHERE {_OF}) q
"""
EXTENT_TTL = 300.0
_extents: dict[Published, tuple[float, Extent | None]] = {}


def extent(sess: Session, pub: Published) -> Extent | None:
    """Bounds of the cell-months the audience sees, from catch-cells for both
    collections: a species' cells lie within its cell's, so this bounds the species
    collection too. GDAL asks for /collections on every open: kept per process for
    this publication of the audience."""
    now = time.monotonic()
    hit = _extents.get(pub)
    if hit is not None and now - hit[0] < EXTENT_TTL:
        return hit[1]
    row = sess.execute(text(_EXTENT_SQL), _base(CATCH_CELLS, pub.audience)).first()
    value = None if row is None or row[0] is None else \
        Extent((row[0], row[1], row[2], row[3]), row[4], row[5])
    if len(_extents) > 1024:
        _extents.clear()
    _extents[pub] = (now, value)
    return value
