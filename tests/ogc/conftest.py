"""One world for the OGC tests (building it is the slow part), rolled up once.

Cooperative A (vessels a1..a3, two fishers) fishes a cluster of cells off
Bahía Magdalena; cooperative B (vessels b1..b3) fishes off Tehuantepec and
once in A's cell Y. The cells are nowhere near the other test modules' data
(Mazatlán, La Paz), so region scopes see only this world.

Month M1 (the 10th of last month):
- X: a1 LJS 10/12 kg, a2 LJS 20/22, a3 LJS 30 (no live weight), a3 SIE 4/4
  -> 3 vessels; LJS 3 vessels; SIE 1 vessel (suppressed in the species view)
- Y: a1 LJS 5, a2 SIE 7/7.5 (2 vessels of A: suppressed), b1 LJS 1 (A+B: 3)
- Z1..Z4: a1, a2, a3 LJS 1 kg each -> 3 vessels, 3 kg
- W: b1, b2, b3 LJS 3 kg each -> 3 vessels, 9 kg
Month M2 (the 10th of the month before): X: a1, a2, a3 LJS 2 kg each.

Authorities: A (cooperative A), B (cooperative B), AB (both; A's staff are
staff of AB too), R (a region around W only, no cooperative).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3
import pytest
from flask import Flask

from geo import hexgrid
from server.members.models import Role
from server.rollup import run as rollup
from tests.conftest import Coop, Factory, Person, catch_item, iso, trip_item
from tests.reports.helpers import make_authority
from tests.test_sync import push, statuses

LOCAL = ZoneInfo("America/Mexico_City")
X_CENTER = (-112.15, 24.55)  # off Bahía Magdalena
W_CENTER = (-95.0, 15.9)  # Gulf of Tehuantepec


def at(day: date, hour: int = 10) -> str:
    return iso(datetime.combine(day, datetime.min.time(), LOCAL).replace(hour=hour).astimezone(UTC))


def inside(cell: str, nudge: float = 0.0) -> dict[str, Any]:
    """A GeoJSON point well inside the cell, off its centre (not a vertex, not the centre)."""
    lon, lat = hexgrid.cell_center(cell)
    return {"type": "Point", "coordinates": [round(lon + 0.003 + nudge, 6),
                                             round(lat + 0.002 - nudge, 6)]}


def log(fisher: Person, vessel: uuid.UUID, day: date,
        catches: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One trip of this vessel on ``day`` (06:00-15:00 Mexico City) with its catches at 10:00."""
    t = trip_item(vessel, departed_at=at(day, 6), returned_at=at(day, 15))
    items = [catch_item(t["id"], **({"caught_at": at(day, 10)} | c)) for c in catches]
    assert statuses(push(fisher.api, [t, *items])) == ["created"] * (1 + len(items))
    return t, items


def c(cell: str, kg: float, live: float | None = None, species: str = "LJS",
      nudge: float = 0.0) -> dict[str, Any]:
    return {"position": inside(cell, nudge), "species_code": species, "landed_kg": kg,
            "live_kg": live}


@dataclass
class Authority:
    id: str
    staff: Person


@dataclass
class World:
    admin: Person
    a: Coop
    b: Coop
    fisher_a2: Person
    auth_a: Authority
    auth_b: Authority
    auth_ab: Authority
    auth_r: Authority
    cells: dict[str, str]
    m1: date
    m2: date
    # ids of members, vessels, trips and catches: none may appear in an OGC answer
    secrets: set[str] = field(default_factory=set)
    positions: list[list[float]] = field(default_factory=list)

    def fid(self, name: str, month: date, species: str | None = None) -> str:
        base = f"{self.cells[name]}:{month:%Y-%m}"
        return f"{base}:{species}" if species else base


def months() -> tuple[date, date]:
    first = datetime.now(LOCAL).date().replace(day=1)
    m1 = (first - timedelta(days=1)).replace(day=10)
    m2 = (m1.replace(day=1) - timedelta(days=1)).replace(day=10)
    return m1, m2


def _cells() -> dict[str, str]:
    x = hexgrid.cell_of(*X_CENTER)
    ring = sorted(h3.grid_ring(x, 2))  # not adjacent to X nor (mostly) to each other
    names = {"X": x, "Y": ring[0], "Z1": ring[3], "Z2": ring[5], "Z3": ring[7], "Z4": ring[9]}
    names["W"] = hexgrid.cell_of(*W_CENTER)
    return names


def _region_around(cell: str) -> dict[str, Any]:
    lon, lat = hexgrid.cell_center(cell)
    d = 0.02  # the centre and the catches inside, not the whole hexagon: centres decide
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d],
                                               [lon + d, lat + d], [lon - d, lat + d],
                                               [lon - d, lat - d]]]}


def _add_staff(f: Factory, admin: Person, authority_id: str, person: Person) -> Person:
    r = admin.api.post(f"/api/v1/authorities/{authority_id}/staff",
                       {"member_id": str(person.member.id)})
    assert r.status_code == 201, r.get_json()
    return Person(person.member, person.phone, f.login(person.member))  # roles are read at login


@pytest.fixture(scope="package")
def world(app: Flask) -> Iterator[World]:
    maker = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        f = Factory(app, sess)
        admin = f.person(platform_admin=True)
        a, b = f.coop(), f.coop()
        fisher_a2 = f.person(a.org, Role.fisher)
        a1, a2, a3 = a.vessel_id, f.vessel(a.org), f.vessel(a.org)
        b1, b2, b3 = b.vessel_id, f.vessel(b.org), f.vessel(b.org)
        cells = _cells()
        m1, m2 = months()
        zs = [c(cells[z], 1) for z in ("Z1", "Z2", "Z3", "Z4")]
        logged = [
            log(a.fisher, a1, m1, [c(cells["X"], 10, 12), c(cells["Y"], 5), *zs]),
            log(fisher_a2, a2, m1, [c(cells["X"], 20, 22), c(cells["Y"], 7, 7.5, "SIE"), *zs]),
            log(a.fisher, a3, m1, [c(cells["X"], 30), c(cells["X"], 4, 4, "SIE", 0.001), *zs]),
            log(b.fisher, b1, m1, [c(cells["W"], 3), c(cells["Y"], 1)]),
            log(b.fisher, b2, m1, [c(cells["W"], 3)]),
            log(b.fisher, b3, m1, [c(cells["W"], 3)]),
            *(log(a.fisher, v, m2, [c(cells["X"], 2)]) for v in (a1, a2, a3)),
        ]
        _, staff_a_first, auth_a = make_authority(f, [a], admin=admin)
        _, staff_b, auth_b = make_authority(f, [b], admin=admin)
        _, staff_ab, auth_ab = make_authority(f, [a, b], admin=admin)
        _, staff_r, auth_r = make_authority(f, [], admin=admin, region=_region_around(cells["W"]))
        staff_a = _add_staff(f, admin, auth_ab, staff_a_first)  # staff of A, then of AB too

        rollup.refresh(sess, org_ids=[a.org.id, b.org.id])

        secrets = {str(x) for x in (a1, a2, a3, b1, b2, b3, a.org.id, b.org.id)}
        secrets |= {str(p.member.id) for p in (a.fisher, a.admin, b.fisher, b.admin, fisher_a2)}
        positions = []
        for trip, items in logged:
            secrets.add(trip["id"])
            for item in items:
                secrets.add(item["id"])
                positions.append(item["position"]["coordinates"])
        yield World(admin, a, b, fisher_a2, Authority(auth_a, staff_a), Authority(auth_b, staff_b),
                    Authority(auth_ab, staff_ab), Authority(auth_r, staff_r), cells, m1, m2,
                    secrets, positions)
