from __future__ import annotations

from tests.market.conftest import LISTINGS, create, fish, order, step


def test_list_search_order_complete(market, anon):
    listing = create(market.fisher.api, fish(market))
    assert listing["available"] == 50 and listing["traced"]
    r = market.buyer.api.get(LISTINGS, query_string={"q": "pargo", "lon": -106.4, "lat": 23.2,
                                                     "org_id": str(market.coop.org.id),
                                                     "radius_km": 50})
    assert r.status_code == 200, r.get_json()
    assert [i["id"] for i in r.get_json()["items"]] == [listing["id"]]
    o = order(market.buyer.api, listing["id"], 10)
    assert o.status_code == 201, o.get_json()
    oid = o.get_json()["id"]
    for s in ("accepted", "ready", "completed"):
        r = step(market.fisher.api, oid, s)
        assert r.status_code == 200, r.get_json()
    lot = anon.get(f"/api/v1/market/lots/{listing['short_code']}")
    assert lot.status_code == 200, lot.get_json()
    assert lot.get_json()["listing"]["sold"] == 10
