"""The in-memory zone index answers exactly what PostGIS answers."""

from __future__ import annotations

import random

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import func, text, update
from sqlalchemy.orm import Session

from server.catalog.models import Zone
from server.catches import zoneindex
from server.db import new_id

_POSTGIS = text("""
    SELECT p.i, z.id
      FROM unnest(CAST(:i AS int[]), CAST(:x AS float8[]), CAST(:y AS float8[])) AS p(i, x, y)
      JOIN zone_piece zp ON ST_Intersects(zp.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
      JOIN zone z ON z.id = zp.zone_id AND z.retired_at IS NULL
""")


def _postgis(db: Session, xs: list[float], ys: list[float]) -> list[set[object]]:
    out: list[set[object]] = [set() for _ in xs]
    for i, zone_id in db.execute(_POSTGIS, {"i": list(range(len(xs))), "x": xs, "y": ys}):
        out[i].add(zone_id)
    return out


def test_same_zones_as_postgis_along_the_coasts(db: Session) -> None:
    rng = random.Random(7)
    # Mexico's coasts, where land/sea and FAO-area seams make answers differ most.
    xs = [rng.uniform(-118.0, -86.0) for _ in range(3000)]
    ys = [rng.uniform(14.0, 32.5) for _ in range(3000)]
    mine = [{h.id for h in hits} for hits in zoneindex.containing(db, xs, ys)]
    assert mine == _postgis(db, xs, ys)
    assert sum(1 for m in mine if m) > 2500  # nearly every point is in some zone


def test_new_and_retired_zones_are_seen_at_once(db: Session) -> None:
    box = shapely.box(-106.8, 22.8, -106.7, 22.9)
    zone = Zone(id=new_id(), kind="no_take", name="Refugio de prueba",
                geom=from_shape(shapely.MultiPolygon([box]), srid=4326))
    db.add(zone)
    db.commit()
    (hits,) = zoneindex.containing(db, [-106.75], [22.85])
    assert zone.id in {h.id for h in hits}
    db.execute(update(Zone).where(Zone.id == zone.id).values(retired_at=func.now()))
    db.commit()
    (hits,) = zoneindex.containing(db, [-106.75], [22.85])
    assert zone.id not in {h.id for h in hits}
