"""The dashboards' rollup follows the logbook: corrections, cancellations, empty trips."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.analytics.conftest import SPOT
from tests.conftest import Factory, catch_item, trip_item
from tests.ogc.conftest import at, months
from tests.ogc.test_rollup import catch_up
from tests.test_sync import push, statuses

ME = "/api/v1/me/dashboard"


def month_row(api: Any, month: str) -> dict[str, Any] | None:
    r = api.get(ME, query_string={"from": month, "to": month})
    assert r.status_code == 200, r.get_json()
    rows = r.get_json()["by_month"]
    return rows[0] if rows else None


def test_corrections_cancellations_and_empty_trips_reach_the_dashboard(factory: Factory,
                                                                      db: Session) -> None:
    coop = factory.coop()
    api = coop.fisher.api
    m1, _ = months()
    key = f"{m1:%Y-%m}"
    t = trip_item(coop.vessel_id, departed_at=at(m1, 6), returned_at=at(m1, 15))
    k = catch_item(t["id"], caught_at=at(m1, 10), position=SPOT, landed_kg=8, live_kg=None,
                   unit_price=50.0)
    # A trip with nothing caught is effort too: it counts in trips and hours.
    day2 = m1 + timedelta(days=1)
    empty = trip_item(coop.vessel_id, departed_at=at(day2, 6), returned_at=at(day2, 9),
                      zero_catch=True, costs=[{"kind": "fuel", "amount": 300}])
    assert statuses(push(api, [t, k, empty])) == ["created"] * 3
    catch_up(db, lambda: (month_row(api, key) or {}).get("trips") == 2)
    assert month_row(api, key) == {
        "month": key, "landed_kg": 8.0, "trips": 2, "zero_catch_trips": 1, "sea_hours": 12.0,
        "sea_days": 2, "first_sale_mxn": 400.0, "market_sales_mxn": 0.0, "income_mxn": 400.0,
        "costs_mxn": 1270.0, "net_mxn": -870.0, "kg_per_trip": 4.0}
    r = api.patch(f"/api/v1/catches/{k['id']}", {"base_version": 1, "landed_kg": 10})
    assert r.status_code == 201, r.get_json()
    catch_up(db, lambda: (month_row(api, key) or {}).get("landed_kg") == 10.0)
    assert month_row(api, key)["income_mxn"] == 500.0  # type: ignore[index]
    r = api.delete(f"/api/v1/catches/{k['id']}", {"base_version": 2})
    assert r.status_code in (200, 201), r.get_json()
    catch_up(db, lambda: (month_row(api, key) or {}).get("landed_kg") == 0.0)
    assert month_row(api, key)["trips"] == 2  # type: ignore[index]


def test_a_cooperative_month_is_decided_again_when_its_data_change(factory: Factory,
                                                                   db: Session) -> None:
    from server.members.models import Role
    from tests.analytics.conftest import consent, log

    coop = factory.coop()
    fishers = [coop.fisher, *(factory.person(coop.org, Role.fisher) for _ in range(2))]
    vessels = [coop.vessel_id, *(factory.vessel(coop.org) for _ in range(2))]
    m1, _ = months()
    key = f"{m1:%Y-%m}"
    for p, v in zip(fishers, vessels, strict=True):
        log(p, v, m1, [{"species_code": "LJS", "landed_kg": 10}])
        consent(p, str(coop.org.id))
    url = f"/api/v1/organizations/{coop.org.id}/dashboard"

    def landed() -> float | None:
        r = coop.admin.api.get(url, query_string={"from": key, "to": key})
        assert r.status_code == 200, r.get_json()
        rows = r.get_json()["landings"]["by_month"]
        return rows[0].get("landed_kg") if rows else None

    catch_up(db, lambda: landed() == 30.0)
    assert landed() == 30.0  # decided, and kept
    # A fourth catch: the month's slice moves on, so the month is decided again.
    t = trip_item(vessels[0], departed_at=at(m1, 6), returned_at=at(m1, 15))
    k = catch_item(t["id"], caught_at=at(m1, 11), position=SPOT, landed_kg=5, live_kg=None)
    assert statuses(push(fishers[0].api, [t, k])) == ["created", "created"]
    catch_up(db, lambda: landed() == 35.0)


def test_a_zone_is_hidden_when_the_rest_of_the_month_is_one_boat(factory: Factory,
                                                                 db: Session) -> None:
    """Four boats inside a zone, one outside: the month's total minus the zone would be
    the fifth boat's catch, so the zone (or the total) goes."""
    import uuid as _uuid

    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon, box

    from server.catalog.models import Zone, ZoneKind
    from server.members.models import Role
    from tests.analytics.conftest import consent, log

    lon, lat = -110.6, 24.9  # Isla San José: no other test fishes here
    zone = Zone(kind=ZoneKind.concession, code=f"CO-{_uuid.uuid4().hex[:6]}", name="Concesión",
                geom=from_shape(MultiPolygon([box(lon - 0.01, lat - 0.01, lon + 0.01,
                                                  lat + 0.01)]), srid=4326))
    db.add(zone)
    db.commit()
    coop = factory.coop()
    fishers = [coop.fisher, *(factory.person(coop.org, Role.fisher) for _ in range(4))]
    vessels = [coop.vessel_id, *(factory.vessel(coop.org) for _ in range(4))]
    m1, _ = months()
    key = f"{m1:%Y-%m}"
    inside = {"type": "Point", "coordinates": [lon, lat]}
    outside = {"type": "Point", "coordinates": [lon + 0.3, lat]}
    for i, (p, v) in enumerate(zip(fishers, vessels, strict=True)):
        log(p, v, m1, [{"species_code": "LJS", "landed_kg": 10,
                        "position": inside if i < 4 else outside}])
        consent(p, str(coop.org.id))
    url = f"/api/v1/organizations/{coop.org.id}/dashboard"

    def answer() -> dict[str, Any]:
        r = coop.admin.api.get(url, query_string={"from": key, "to": key})
        assert r.status_code == 200, r.get_json()
        body: dict[str, Any] = r.get_json()
        return body

    catch_up(db, lambda: bool(answer()["landings"]["by_month"]))
    d = answer()
    (month,) = d["landings"]["by_month"]
    (in_zone,) = d["landings"]["by_zone_month"]
    assert in_zone["zone_id"] == str(zone.id)
    assert month["suppressed"] or in_zone["suppressed"]
    assert not (month.get("landed_kg") == 50.0 and in_zone.get("landed_kg") == 40.0)
