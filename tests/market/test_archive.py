"""A member's archive holds their marketplace life: listings, the catches they draw on,
prices, orders on either side with every step, ratings given, saved searches,
notifications; and nothing of anyone else's."""

from __future__ import annotations

import csv
import io
import json

from tests.market.conftest import create, fish, order, step
from tests.test_archive import archive


def _csv(z, name):
    return list(csv.DictReader(io.StringIO(z.read(f"{name}.csv").decode())))


def test_market_data_in_the_archive(market, factory):
    listing = create(market.fisher.api, fish(market, quantity=45))
    assert market.fisher.api.patch(f"/api/v1/market/listings/{listing['id']}",
                                   {"unit_price": 130.0}).status_code == 200
    o = order(market.buyer.api, listing["id"], 5).get_json()
    for s in ("accepted", "ready", "completed"):
        assert step(market.fisher.api, o["id"], s).status_code == 200
    assert market.buyer.api.post(f"/api/v1/market/orders/{o['id']}/rating",
                                 {"stars": 5}).status_code == 201
    assert market.buyer.api.post("/api/v1/me/saved-searches",
                                 {"name": "pargo", "species_code": "LJS"}).status_code == 201
    other = factory.person(market.coop.org)
    assert order(other.api, listing["id"], 1).status_code == 201

    seller = archive(market.fisher.api)
    (row,) = _csv(seller, "listings")
    assert row["id"] == listing["id"] and row["sold"] == "5.000"
    assert [r["quantity"] for r in _csv(seller, "listing_catches")] == ["40.000", "5.000"]
    assert [r["unit_price"] for r in _csv(seller, "listing_prices")] == ["120.00", "130.00"]
    orders = _csv(seller, "orders")
    assert {r["as"] for r in orders} == {"seller"} and len(orders) == 2
    assert len(_csv(seller, "order_events")) == 5  # placed..completed, and the other's placed
    kinds = {n["kind"] for n in json.loads(seller.read("data.json"))["notifications"]}
    assert kinds == {"market.order_placed"}

    buyer = archive(market.buyer.api)
    assert _csv(buyer, "listings") == []
    (mine,) = _csv(buyer, "orders")
    assert mine["id"] == o["id"] and mine["as"] == "buyer"
    assert [r["stars"] for r in _csv(buyer, "ratings_given")] == ["5"]
    assert [r["name"] for r in _csv(buyer, "saved_searches")] == ["pargo"]
    # The other buyer's order is not in the first buyer's archive.
    assert other.member.id not in {r["buyer_id"] for r in _csv(buyer, "orders")}
