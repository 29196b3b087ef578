"""Listings: who may sell what, how much the logged catches allow, price history, photos,
and the lot's public page that never shows where the fish was caught."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from server.members.models import Role
from tests.conftest import errors_of, iso, problem
from tests.market.conftest import LISTINGS, SPOT, create, fish, log_catches, order, stock

pytestmark = pytest.mark.usefixtures("market")


def _links(db: Any, listing_id: str) -> list[float]:
    rows = db.execute(text("SELECT quantity FROM listing_catch WHERE listing_id = :l "
                           "ORDER BY position"), {"l": listing_id}).scalars().all()
    db.rollback()
    return [float(r) for r in rows]


def test_catches_are_drawn_in_order_and_never_twice(market, db):
    first = create(market.fisher.api, fish(market, quantity=50))  # 40 + 10 of 40, 30
    assert _links(db, first["id"]) == [40.0, 10.0]
    # What the first listing took is not there for a second one: 20 left in catch 2.
    body = problem(market.fisher.api.post(LISTINGS, fish(market, quantity=21)), 422,
                   "validation_error")
    assert errors_of(body) == {"quantity": "quantity_exceeds_catches"}
    assert "20" in body["errors"][0]["message"]
    second = create(market.fisher.api, fish(market, quantity=20))
    assert _links(db, second["id"]) == [0.0, 20.0]


def test_quantity_above_what_the_catches_landed_is_refused(market, db):
    before = db.execute(text("SELECT count(*) FROM listing WHERE seller_id = :s"),
                        {"s": market.fisher.member.id}).scalar()
    r = market.fisher.api.post(LISTINGS, fish(market, quantity=70.001), lang="en")
    body = problem(r, 422, "validation_error")
    assert errors_of(body) == {"quantity": "quantity_exceeds_catches"}
    assert body["errors"][0]["message"] == "The linked catches have 70 kg left to offer."
    assert db.execute(text("SELECT count(*) FROM listing WHERE seller_id = :s"),
                      {"s": market.fisher.member.id}).scalar() == before


def test_closing_a_listing_returns_the_unsold_rest_to_its_catches(market, db):
    listing = create(market.fisher.api, fish(market, quantity=70))
    o = order(market.buyer.api, listing["id"], 15)
    assert o.status_code == 201
    r = market.fisher.api.patch(f"{LISTINGS}/{listing['id']}", {"status": "closed"})
    assert r.status_code == 200, r.get_json()
    assert _links(db, listing["id"]) == [15.0, 0.0]  # only the reserved 15 kg stay
    again = create(market.fisher.api, fish(market, quantity=55))
    assert _links(db, again["id"]) == [25.0, 30.0]
    # A closed listing no longer changes.
    problem(market.fisher.api.patch(f"{LISTINGS}/{listing['id']}", {"unit_price": 99.0}),
            409, "listing_final")


def test_links_refuse_catches_not_for_sale_not_yours_or_of_another_species(market, factory):
    _, sold = log_catches(market.fisher, market.coop.vessel_id,
                          [{"disposition": "sold", "unit_price": 90.0}])
    _, other_species = log_catches(market.fisher, market.coop.vessel_id,
                                   [{"species_code": "SNR"}])
    colleague = factory.person(market.coop.org, Role.fisher)
    _, theirs = log_catches(colleague, market.coop.vessel_id, [{}])
    body = problem(market.fisher.api.post(LISTINGS, fish(
        market, quantity=1, catch_ids=[sold[0], other_species[0], theirs[0], str(uuid.uuid4())])),
        422, "validation_error")
    assert errors_of(body) == {"catch_ids.0": "catch_not_for_sale",
                               "catch_ids.1": "catch_species_mismatch",
                               "catch_ids.2": "catch_unknown", "catch_ids.3": "catch_unknown"}


def test_a_listing_by_the_piece_needs_counted_catches(market):
    body = problem(market.fisher.api.post(LISTINGS, fish(market, unit="piece", quantity=3)), 422,
                   "validation_error")
    assert set(errors_of(body).values()) == {"catch_has_no_count"}
    _, counted = log_catches(market.fisher, market.coop.vessel_id, [{"count": 12}])
    create(market.fisher.api, fish(market, unit="piece", quantity=12, catch_ids=counted))
    body = problem(market.fisher.api.post(LISTINGS, fish(market, unit="piece", quantity=2.5,
                                                         catch_ids=[])), 422, "validation_error")
    assert errors_of(body) == {"quantity": "whole_units"}


def test_the_seller_alone_sets_the_price_and_its_history_is_kept(market, factory):
    listing = create(market.fisher.api, fish(market))
    url = f"{LISTINGS}/{listing['id']}"
    assert market.fisher.api.patch(url, {"unit_price": 135.5}).get_json()["unit_price"] == 135.5
    assert market.fisher.api.patch(url, {"unit_price": 128.0}).status_code == 200
    for other in (market.coop.admin, market.buyer, factory.person(market.coop.org, Role.fisher)):
        problem(other.api.patch(url, {"unit_price": 1.0}), 403, "listing_not_yours")
    prices = market.buyer.api.get(f"{url}/prices").get_json()["prices"]
    assert [p["unit_price"] for p in prices] == [120.0, 135.5, 128.0]
    assert [p["seq"] for p in prices] == [1, 2, 3]


def test_price_history_cannot_be_rewritten(market, db):
    listing = create(market.fisher.api, fish(market))
    with pytest.raises(Exception, match="listing_price is immutable: UPDATE refused"):
        db.execute(text("UPDATE listing_price SET unit_price = 1 WHERE listing_id = :l"),
                   {"l": listing["id"]})
    db.rollback()


def test_quantity_cannot_drop_below_what_is_ordered(market, db):
    listing = create(market.fisher.api, fish(market, quantity=50))
    assert order(market.buyer.api, listing["id"], 30).status_code == 201
    url = f"{LISTINGS}/{listing['id']}"
    body = problem(market.fisher.api.patch(url, {"quantity": 29}), 422, "validation_error")
    assert errors_of(body) == {"quantity": "quantity_below_committed"}
    r = market.fisher.api.patch(url, {"quantity": 30})
    assert r.status_code == 200 and r.get_json()["available"] == 0
    assert stock(db, listing["id"]) == (30.0, 30.0, 0.0)
    assert _links(db, listing["id"]) == [30.0, 0.0]
    body = problem(market.fisher.api.patch(url, {"quantity": 90.5}), 422, "validation_error")
    assert errors_of(body) == {"quantity": "quantity_exceeds_catches"}


def test_goods_and_services_beside_fish(market):
    ice = create(market.coop.admin.api, {
        "org_id": str(market.coop.org.id), "kind": "goods", "category": "ice",
        "title": "Hielo en bloque", "unit": "piece", "quantity": 200, "unit_price": 45.0,
        "port_id": market.port_id})
    assert ice["species"] is None and ice["category"] == "ice" and not ice["traced"]
    mech = create(market.fisher.api, {
        "kind": "service", "category": "mechanics", "title": "Reparación de motores fuera de borda",
        "unit": "hour", "quantity": 40, "unit_price": 350.0, "location": SPOT})
    assert mech["unit"] == "hour"
    # A service is not sold by the kilo, goods have a category, fish has none.
    for body, field, code in [
        ({"kind": "service", "category": "mechanics", "unit": "kg"}, "unit", "unit_not_for_kind"),
        ({"kind": "goods", "unit": "piece"}, "category", "category_required"),
        ({"kind": "fish", "category": "ice"}, "category", "not_for_fish"),
        ({"kind": "goods", "category": "ice", "unit": "piece", "catch_ids": market.catches[:1]},
         "catch_ids", "catches_only_fish"),
    ]:
        payload = {"title": "Algo a la venta", "quantity": 1, "unit_price": 10.0,
                   "location": SPOT, "species_code": "LJS", "presentation": "whole",
                   "preservation": "fresh"} | body
        if payload["kind"] != "fish":
            for k in ("species_code", "presentation", "preservation"):
                payload.pop(k)
        assert errors_of(problem(market.fisher.api.post(LISTINGS, payload), 422,
                                 "validation_error"))[field] == code, body


@pytest.mark.parametrize("over, field, code", [
    ({"quantity": 0}, "quantity", "range_between"),
    ({"quantity": -5}, "quantity", "range_between"),
    ({"quantity": "10"}, "quantity", "not_a_number"),
    ({"unit_price": 0}, "unit_price", "range_between"),
    ({"unit_price": -1}, "unit_price", "range_between"),
    ({"currency": "XYZ"}, "currency", "currency_unknown"),
    ({"currency": "mxn"}, "currency", "currency_unknown"),
    ({"species_code": "lj"}, "species_code", "invalid_code"),
    ({"species_code": "ZZZ"}, "species_code", "species_unknown"),
    ({"presentation": "raw"}, "presentation", "one_of"),
    ({"port_id": None}, "location", "location_required"),
    ({"port_id": None, "location": {"type": "Point", "coordinates": [-200, 23]}},
     "location.coordinates.0", "longitude_out_of_range"),
    ({"port_id": str(uuid.uuid4())}, "port_id", "port_unknown"),
    ({"available_until": iso(datetime.now(UTC) - timedelta(hours=1))}, "available_until",
     "until_in_past"),
    ({"available_from": iso(datetime.now(UTC) + timedelta(days=2)),
      "available_until": iso(datetime.now(UTC) + timedelta(days=1))}, "available_until",
     "until_before_from"),
    ({"available_until": iso(datetime.now(UTC) + timedelta(days=400))}, "available_until",
     "listing_window_too_long"),
    ({"title": "ab"}, "title", "length_between"),
    ({"species_code": None}, "species_code", "fish_needs"),
])
def test_bad_listings_are_refused_and_nothing_is_written(market, db, over, field, code):
    count = db.execute(text("SELECT count(*) FROM listing")).scalar()
    db.rollback()
    body = problem(market.fisher.api.post(LISTINGS, fish(market, **over)), 422, "validation_error")
    assert errors_of(body).get(field) == code, body
    assert db.execute(text("SELECT count(*) FROM listing")).scalar() == count


def test_who_may_sell(market, factory):
    outsider = factory.person()
    problem(outsider.api.post(LISTINGS, fish(market)), 404, "not_found")
    buyer_in_coop = factory.person(market.coop.org, Role.buyer)
    problem(buyer_in_coop.api.post(LISTINGS, fish(market)), 403, "forbidden")
    # Fish is sold by cooperatives: the buyer's company may list goods, not fish.
    company = market.buyer.api.get("/api/v1/me").get_json()["memberships"][0]["org_id"]
    seller = factory.person()
    factory.join(factory.sess.get(type(market.coop.org), uuid.UUID(company)), seller.member,
                 Role.admin)
    body = problem(seller.api.post(LISTINGS, fish(market, org_id=company, catch_ids=[])), 422,
                   "validation_error")
    assert errors_of(body) == {"org_id": "seller_org_kind"}
    problem(market.buyer.api.post(LISTINGS, fish(market, catch_ids=[])), 404, "not_found")
    problem(factory.anon().post(LISTINGS, fish(market)) if hasattr(factory, "anon") else
            type(market.buyer.api)(market.buyer.api.client).post(LISTINGS, fish(market)),
            401, "token_missing")


def test_the_lot_page_tells_the_story_without_the_position(market, anon, db):
    listing = create(market.fisher.api, fish(market, quantity=45))
    r = anon.get(f"/api/v1/market/lots/{listing['short_code']}", lang="en")
    assert r.status_code == 200
    lot = r.get_json()
    assert lot["cooperative"]["name"] == market.coop.org.name
    assert [c["quantity"] for c in lot["catches"]] == [40.0, 5.0]
    c = lot["catches"][0]
    assert c["species"]["code"] == "LJS" and c["fao_area"] == "77"
    assert c["gear"]["code"] == "GNS" and c["vessel"]["name"] == "La Esperanza"
    assert c["caught_on"] == (datetime.now(UTC) - timedelta(hours=6)).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Mexico_City")).date().isoformat()
    assert lot["statement"].startswith("Spotted rose snapper caught on ")
    # Nowhere in the page is the fishing position (nor anything close to it).
    raw = r.get_data(as_text=True)
    lon, lat = SPOT["coordinates"]
    for needle in (str(lon), str(lat), "-106.5", "23.0", "position", "h3", "cell"):
        assert needle not in raw, needle
    assert lot["listing"]["location"]["coordinates"] == listing["location"]["coordinates"]
    # The short URL for a QR code leads there.
    short = anon.get(f"/p/{listing['short_code'].lower()}")
    assert short.status_code == 302
    assert short.headers["Location"].endswith(f"/api/v1/market/lots/{listing['short_code']}")
    problem(anon.get("/api/v1/market/lots/NOSUCHCODE"), 404, "not_found")


def _png(w: int = 8, h: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (0, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def test_photos(market, anon):
    listing = create(market.fisher.api, fish(market))
    url = f"{LISTINGS}/{listing['id']}/photos"
    r = market.fisher.api.post(url, data=_png(), content_type="image/png")
    assert r.status_code == 201, r.get_json()
    photo_url = r.get_json()["photos"][0]
    path = photo_url.split("localhost", 1)[1]
    got = anon.get(path)
    assert got.status_code == 200 and got.mimetype == "image/png" and got.data == _png()
    assert anon.get(path, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    problem(market.buyer.api.post(url, data=_png(), content_type="image/png"), 403,
            "listing_not_yours")
    problem(market.fisher.api.post(url, data=b"<script>alert(1)</script>",
                                   content_type="image/png"), 422, "validation_error")
    problem(market.fisher.api.post(url, data=_png(), content_type="text/html"), 415,
            "unsupported_media_type")
    problem(market.fisher.api.post(url, data=_png(), content_type="image/jpeg"), 422,
            "validation_error")  # a PNG sent as a JPEG is not a JPEG
    assert market.fisher.api.delete(path).status_code == 204
    problem(anon.get(path), 404, "not_found")


def _correct(api: Any, catch_id: str, **fields: Any) -> None:
    r = api.patch(f"/api/v1/catches/{catch_id}", {"base_version": 1} | fields)
    assert r.status_code == 201, r.get_json()


def test_a_corrected_catch_takes_back_what_it_no_longer_holds(market, db):
    listing = create(market.fisher.api, fish(market, quantity=50))  # 40 + 10 of 40, 30
    assert order(market.buyer.api, listing["id"], 12).status_code == 201
    # Catch 2 landed 4 kg, not 30: the lot gives back 6 of its 10 from it.
    _correct(market.fisher.api, market.catches[1], landed_kg=4.0)
    assert _links(db, listing["id"]) == [40.0, 4.0]
    assert stock(db, listing["id"]) == (44.0, 12.0, 0.0)
    # Catch 1 turns out to have been sold at landing: it backs nothing any more, but the
    # 12 kg a buyer ordered stay (the market never undoes an order).
    _correct(market.fisher.api, market.catches[0], disposition="sold", unit_price=90.0)
    assert stock(db, listing["id"]) == (12.0, 12.0, 0.0)
    assert _links(db, listing["id"]) == [8.0, 4.0]
    feed = market.fisher.api.get("/api/v1/me/notifications").get_json()["notifications"]
    assert [n["kind"] for n in feed][:2] == ["market.listing_reduced"] * 2


def test_a_cancelled_catch_closes_a_lot_it_alone_backed(market, db):
    listing = create(market.fisher.api, fish(market, quantity=20, catch_ids=market.catches[2:]))
    r = market.fisher.api.delete(f"/api/v1/catches/{market.catches[2]}", {"base_version": 1})
    assert r.status_code == 200, r.get_json()
    got = market.fisher.api.get(f"{LISTINGS}/{listing['id']}").get_json()
    assert got["status"] == "closed" and _links(db, listing["id"]) == [0.0]
    # Another correction of an untouched catch changes no lot.
    _correct(market.fisher.api, market.catches[0], landed_kg=41.0)


def test_my_listings_any_status_newest_first_and_only_mine(market, factory):
    a = create(market.fisher.api, fish(market, quantity=10))
    b = create(market.fisher.api, fish(market, quantity=10, title="Pargo para restaurante"))
    assert market.fisher.api.patch(f"{LISTINGS}/{a['id']}", {"status": "closed"}).status_code == 200
    create(factory.person(market.coop.org, Role.fisher).api, fish(market, catch_ids=[]))
    page = market.fisher.api.get("/api/v1/me/listings", query_string={"limit": 1}).get_json()
    assert [i["id"] for i in page["items"]] == [b["id"]] and page["next_cursor"]
    rest = market.fisher.api.get("/api/v1/me/listings", query_string={
        "limit": 5, "after": page["next_cursor"]}).get_json()
    assert [(i["id"], i["status"]) for i in rest["items"]] == [(a["id"], "closed")]
    closed = market.fisher.api.get("/api/v1/me/listings", query_string={"status": "closed"})
    assert [i["id"] for i in closed.get_json()["items"]] == [a["id"]]
    assert market.buyer.api.get("/api/v1/me/listings").get_json()["items"] == []
