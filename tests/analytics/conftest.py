"""One cooperative's world for the dashboards, rolled up once.

Cooperative C: six fishers f1..f6, each with a vessel, each one trip a month
(06:00-15:00 Mexico City, 9 h at sea, costs 850 + 120 MXN, gear GNS).
f1..f5 consent to C's statistics; f6 does not (and logs far more than anyone).

Month M1 (the 10th of last month):
- LJS: f1 10 kg (95 MXN/kg), f2 20, f3 30, f4 40, f5 50, f6 600
- SIE: f1 2, f2 3, f3 4 (no price)
- OCZ: f4 5
Month M2 (the 10th of the month before): LJS f1 1, f2 2, f3 3 (95 MXN/kg).

Pooled over f1..f5, M1's LJS (5 vessels) shows; OCZ (1 vessel) is hidden, and
so is SIE (3 vessels), or M1's total minus LJS would give OCZ alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box

from server.catalog.models import Zone, ZoneKind
from server.members.models import Role
from server.rollup import run as rollup
from tests.conftest import Coop, Factory, Person, catch_item, trip_item
from tests.ogc.conftest import at, months
from tests.test_sync import push, statuses

SPOT = {"type": "Point", "coordinates": [-109.95, 24.35]}  # off La Paz


@dataclass
class World:
    coop: Coop
    other: Coop  # another cooperative, for the forbidden paths
    fishers: list[Person]  # f1..f6
    vessels: list[uuid.UUID]
    m1: date
    m2: date
    zone_id: str

    @property
    def org(self) -> str:
        return str(self.coop.org.id)


def log(fisher: Person, vessel: uuid.UUID, day: date, catches: list[dict[str, Any]]) -> None:
    t = trip_item(vessel, departed_at=at(day, 6), returned_at=at(day, 15))
    items = [catch_item(t["id"], caught_at=at(day, 10), position=SPOT, live_kg=None,
                        unit_price=None) | c for c in catches]
    assert statuses(push(fisher.api, [t, *items])) == ["created"] * (1 + len(items))


def consent(p: Person, org: str, granted: bool = True) -> None:
    r = p.api.post("/api/v1/me/consents", {"purpose": "cooperative_statistics",
                                           "recipient_id": org, "granted": granted})
    assert r.status_code == 200, r.get_json()


@pytest.fixture(scope="package")
def world(app: Flask) -> Iterator[World]:
    maker = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        f = Factory(app, sess)
        coop, other = f.coop(), f.coop()
        fishers = [coop.fisher, *(f.person(coop.org, Role.fisher) for _ in range(5))]
        vessels = [coop.vessel_id, *(f.vessel(coop.org) for _ in range(5))]
        m1, m2 = months()
        # A fishing zone around the spot: every catch of this world is in it.
        lon, lat = SPOT["coordinates"]
        zone = Zone(kind=ZoneKind.fishing_zone, code=f"ZP-{uuid.uuid4().hex[:6]}",
                    name="Zona de pesca El Mogote",
                    geom=from_shape(MultiPolygon([box(lon - 0.01, lat - 0.01, lon + 0.01,
                                                      lat + 0.01)]), srid=4326))
        sess.add(zone)
        sess.commit()
        lj = [10, 20, 30, 40, 50, 600]
        for i, (p, v) in enumerate(zip(fishers, vessels, strict=True)):
            catches: list[dict[str, Any]] = [
                {"species_code": "LJS", "landed_kg": lj[i], "unit_price": 95.0 if i == 0 else None}]
            if i < 3:
                catches.append({"species_code": "SIE", "landed_kg": i + 2})
            if i == 3:
                catches.append({"species_code": "OCZ", "landed_kg": 5})
            log(p, v, m1, catches)
            if i < 3:
                log(p, v, m2, [{"species_code": "LJS", "landed_kg": i + 1, "unit_price": 95.0}])
        for p in fishers[:5]:
            consent(p, str(coop.org.id))
        rollup.refresh(sess, org_ids=[coop.org.id, other.org.id])
        yield World(coop, other, fishers, vessels, m1, m2, str(zone.id))
