"""Searching the marketplace: distance from a point, filters, prices in one currency,
freshness, only live listings, keyset pages for every sort, Spanish text search, and
bad input.

Other tests share the database and list near Mazatlán too, so every search here is
scoped to the test's own sellers (org_id) or to a box of open sea no one else uses.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from server.members.models import Role
from tests.conftest import Factory, Person, errors_of, iso, problem
from tests.market.conftest import LISTINGS, log_catches, order, port_id
from tests.market.search_helpers import (
    ALTATA,
    CERRITOS,
    ISLA_PIEDRA,
    LA_PAZ,
    MAZATLAN,
    TEACAPAN,
    TOPOLOBAMPO,
    Seller,
    box,
    destination,
    expire,
    haversine,
    ids,
    listing,
    search,
    seller,
    walk,
)


@pytest.fixture
def buyer(factory: Factory) -> Person:
    return factory.person(factory.org(kind="company", name="Mariscos La Perla"), Role.buyer)


@pytest.fixture
def coop(factory: Factory) -> Seller:
    return seller(factory)


def lonlat(p: tuple[float, float]) -> dict[str, float]:
    return {"lon": p[0], "lat": p[1]}


def open_sea(lat_from: float, lat_to: float) -> tuple[float, float]:
    """A random spot of the open Pacific, far from any port and from the other tests' spots
    (each test its own band of latitude; test_saved_searches keeps east of -122)."""
    return (round(random.uniform(-128.0, -123.0), 4), round(random.uniform(lat_from, lat_to), 4))


# --- 1. distance -----------------------------------------------------------------------------

def test_distance_sort_is_nearest_first_with_true_distances(coop, buyer):
    places = {"la_paz": LA_PAZ, "teacapan": TEACAPAN, "cerritos": CERRITOS,
              "piedra": ISLA_PIEDRA, "topolobampo": TOPOLOBAMPO, "altata": ALTATA}
    made = {name: listing(coop, at=p, title=f"Pargo de {name}")["id"] for name, p in places.items()}
    page = search(buyer.api, org_id=coop.org_id, **lonlat(MAZATLAN))
    assert page["sort"] == "distance"  # the default with a point
    expected = sorted(places, key=lambda n: haversine(MAZATLAN, places[n]))
    assert ids(page) == [made[n] for n in expected]
    by_id = {i["id"]: i for i in page["items"]}
    for name, p in places.items():
        got = by_id[made[name]]["distance_m"]
        assert got == pytest.approx(haversine(MAZATLAN, p), rel=0.001), name
        assert by_id[made[name]]["location"]["coordinates"] == pytest.approx(list(p))
    # Nearest is Isla de la Piedra (~3 km), farthest La Paz (~400 km).
    assert expected[0] == "piedra" and expected[-1] == "la_paz"
    assert 2_000 < by_id[made["piedra"]]["distance_m"] < 4_000
    assert 390_000 < by_id[made["la_paz"]]["distance_m"] < 420_000


def test_default_sort_is_freshness_without_a_point_and_no_distance(coop, buyer):
    a = listing(coop, at=CERRITOS)["id"]
    b = listing(coop, at=LA_PAZ)["id"]
    page = search(buyer.api, org_id=coop.org_id)
    assert page["sort"] == "freshness"
    assert ids(page) == [b, a]  # b was listed last
    assert all("distance_m" not in i and "delivers_here" not in i for i in page["items"])
    # Another sort with a point still tells the distance.
    page = search(buyer.api, org_id=coop.org_id, sort="price", **lonlat(MAZATLAN))
    assert page["sort"] == "price"
    assert {i["id"]: round(i["distance_m"] / 1000) for i in page["items"]} == {
        a: round(haversine(MAZATLAN, CERRITOS) / 1000), b: round(haversine(MAZATLAN, LA_PAZ) / 1000)}


def test_a_search_card_is_the_listing_as_its_own_page_shows_it(coop, buyer, db):
    """Search pages are written by orjson, a listing's page by its marshmallow schema:
    the two must say the same, to the type of every value."""
    made = [listing(coop, at=MAZATLAN, description="Recién llegado", port_id=port_id(db)),
            listing(coop, at=CERRITOS, delivery_area=box(-106.6, 23.1, -106.3, 23.4),
                    quantity=12.345, unit_price=87.5),
            listing(coop, kind="goods", at=TEACAPAN), listing(coop, kind="service", at=ALTATA)]
    for params in ({}, lonlat(MAZATLAN)):
        page = search(buyer.api, org_id=coop.org_id, **params)
        assert page["next_cursor"] is None and len(page["items"]) == len(made)
        for item in page["items"]:
            alone = buyer.api.get(f"{LISTINGS}/{item['id']}").get_json()
            if params:
                assert set(item) - set(alone) == {"distance_m", "delivers_here"}
                item = {k: v for k, v in item.items() if k in alone}
            assert json.dumps(item, sort_keys=True) == json.dumps(alone, sort_keys=True)


def test_radius_includes_exactly_the_listings_within_it(coop, buyer):
    q = MAZATLAN
    spots = {"here": q, "10km": destination(q, 90, 10_000), "inside": destination(q, 30, 49_900),
             "outside": destination(q, 200, 50_100), "120km": destination(q, 300, 120_000)}
    made = {n: listing(coop, at=p, title=f"Lote {n}")["id"] for n, p in spots.items()}
    names = {v: k for k, v in made.items()}

    def within(km: float, **kw: Any) -> list[str]:
        page = search(buyer.api, org_id=coop.org_id, radius_km=km, **lonlat(q), **kw)
        return [names[i] for i in ids(page)]

    assert within(50) == ["here", "10km", "inside"]
    assert within(50.2) == ["here", "10km", "inside", "outside"]
    assert within(9.9) == ["here"]
    assert within(1000) == ["here", "10km", "inside", "outside", "120km"]
    assert sorted(within(50, sort="price")) == sorted(["here", "10km", "inside"])
    page = search(buyer.api, org_id=coop.org_id, radius_km=50, **lonlat(q))
    assert [i["distance_m"] for i in page["items"]] == pytest.approx([0, 10_000, 49_900], abs=2)


def test_radius_in_open_sea_finds_only_what_is_there(coop, buyer):
    sea = open_sea(6.0, 9.5)
    near = listing(coop, at=destination(sea, 45, 3_000), title="Atún en altamar")["id"]
    listing(coop, at=destination(sea, 45, 30_000), title="Atún lejos")
    page = search(buyer.api, radius_km=10, **lonlat(sea))  # no org_id: nobody else is here
    assert ids(page) == [near]


def test_delivers_here_only_where_the_delivery_area_holds_the_point(coop, buyer):
    q = MAZATLAN
    around = box(q[0] - 0.2, q[1] - 0.2, q[0] + 0.2, q[1] + 0.2)
    elsewhere = box(LA_PAZ[0] - 0.2, LA_PAZ[1] - 0.2, LA_PAZ[0] + 0.2, LA_PAZ[1] + 0.2)
    multi = {"type": "MultiPolygon", "coordinates": [elsewhere["coordinates"],
                                                      around["coordinates"]]}
    made = {
        "area": listing(coop, at=CERRITOS, delivery_area=around)["id"],
        "far_area": listing(coop, at=CERRITOS, delivery_area=elsewhere)["id"],
        "none": listing(coop, at=CERRITOS)["id"],
        "multi": listing(coop, at=TEACAPAN, delivery_area=multi)["id"],
    }
    page = search(buyer.api, org_id=coop.org_id, **lonlat(q))
    got = {i["id"]: (i["delivers"], i["delivers_here"]) for i in page["items"]}
    assert got == {made["area"]: (True, True), made["far_area"]: (True, False),
                   made["none"]: (False, False), made["multi"]: (True, True)}
    page = search(buyer.api, org_id=coop.org_id, **lonlat(LA_PAZ))
    got = {i["id"]: i["delivers_here"] for i in page["items"]}
    assert got == {made["area"]: False, made["far_area"]: True, made["none"]: False,
                   made["multi"]: True}


# --- 2. filters, prices, freshness -----------------------------------------------------------

@dataclass
class Shelf:
    coop: Seller
    other: Seller
    ids: dict[str, str]

    def names(self, page: dict[str, Any]) -> set[str]:
        back = {v: k for k, v in self.ids.items()}
        return {back[i] for i in ids(page)}


@pytest.fixture
def shelf(factory: Factory) -> Shelf:
    coop, other = seller(factory), seller(factory)
    made = {
        "ljs": listing(coop, at=CERRITOS, unit_price=100.0)["id"],
        "lwp_fillet": listing(coop, at=ISLA_PIEDRA, species_code="LWP", presentation="fillet",
                              preservation="frozen", unit_price=150.0)["id"],
        "pns": listing(coop, at=MAZATLAN, species_code="PNS", presentation="tail",
                       unit_price=250.0, title="Colas de camarón")["id"],
        "ljs_usd": listing(coop, at=TEACAPAN, presentation="gutted", unit_price=80.0,
                           currency="USD")["id"],
        "engine": listing(coop, kind="goods", category="engines", unit_price=30000.0,
                          at=LA_PAZ, title="Motor fuera de borda 40 HP")["id"],
        "ice": listing(coop, kind="goods", category="ice", unit="kg", unit_price=5.0,
                       at=MAZATLAN, title="Hielo en bloque")["id"],
        "mechanic": listing(coop, kind="service", category="mechanics", unit_price=800.0,
                            at=LA_PAZ, title="Reparación de motores")["id"],
        "other_ljs": listing(other, at=CERRITOS, unit_price=100.0)["id"],
    }
    return Shelf(coop, other, made)


FILTERS = [
    ({"species_code": "LJS"}, {"ljs", "ljs_usd"}),
    ({"species_code": "LWP"}, {"lwp_fillet"}),
    ({"species_code": "NUT"}, set()),
    ({"kind": "fish"}, {"ljs", "lwp_fillet", "pns", "ljs_usd"}),
    ({"kind": "goods"}, {"engine", "ice"}),
    ({"kind": "service"}, {"mechanic"}),
    ({"category": "ice"}, {"ice"}),
    ({"category": "engines"}, {"engine"}),
    ({"kind": "goods", "category": "mechanics"}, set()),
    ({"presentation": "fillet"}, {"lwp_fillet"}),
    ({"presentation": "whole"}, {"ljs"}),
    ({"preservation": "frozen"}, {"lwp_fillet"}),
    ({"preservation": "fresh"}, {"ljs", "pns", "ljs_usd"}),
    # Inclusive bounds, MXN by default; the USD 80 never counts as 80 MXN.
    ({"min_price": 100, "max_price": 250}, {"ljs", "lwp_fillet", "pns"}),
    ({"min_price": 100.01, "max_price": 249.99}, {"lwp_fillet"}),
    ({"min_price": 100}, {"ljs", "lwp_fillet", "pns", "engine", "mechanic"}),
    ({"max_price": 100}, {"ljs", "ice"}),
    ({"max_price": 100, "currency": "MXN"}, {"ljs", "ice"}),
    ({"max_price": 100, "currency": "USD"}, {"ljs_usd"}),
    ({"min_price": 80, "max_price": 80, "currency": "USD"}, {"ljs_usd"}),
    ({"min_price": 81, "currency": "USD"}, set()),
    ({"min_price": 1, "currency": "EUR"}, set()),
    ({"species_code": "LJS", "max_price": 1000}, {"ljs"}),
    ({"kind": "fish", "min_price": 120, "preservation": "fresh"}, {"pns"}),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
def test_filters(shelf, buyer, params, expected):
    page = search(buyer.api, org_id=shelf.coop.org_id, limit=100, **params)
    assert shelf.names(page) == expected


def test_price_filters_in_the_search_predicate(shelf, db):
    """The price criteria themselves, below the query-string parser (GET cannot take them:
    see test_filters): inclusive bounds, in the one currency asked for."""
    from server.market import search as market_search

    def names(**c: Any) -> set[str]:
        page = market_search.search(db, {"org_id": shelf.coop.org.id, "limit": 100} | c)
        db.rollback()
        back = {v: k for k, v in shelf.ids.items()}
        return {back[str(r["id"])] for r in page["items"]}

    d = Decimal
    assert names(min_price=d(100), max_price=d(250)) == {"ljs", "lwp_fillet", "pns"}
    assert names(min_price=d("100.01"), max_price=d("249.99")) == {"lwp_fillet"}
    assert names(max_price=d(100)) == {"ljs", "ice"}
    assert names(max_price=d(100), currency="USD") == {"ljs_usd"}
    assert names(min_price=d(80), max_price=d(80), currency="USD") == {"ljs_usd"}
    assert names(min_price=d(1), currency="EUR") == set()


def test_org_id_and_bbox(shelf, buyer):
    assert shelf.names(search(buyer.api, org_id=shelf.other.org_id)) == {"other_ljs"}
    assert shelf.names(search(buyer.api, org_id=str(uuid.uuid4()))) == set()
    # Around Mazatlán (Cerritos, Isla de la Piedra, the port), not Teacapán nor La Paz.
    mzt = "-106.6,23.1,-106.3,23.4"
    assert shelf.names(search(buyer.api, org_id=shelf.coop.org_id, bbox=mzt)) == {
        "ljs", "lwp_fillet", "pns", "ice"}
    assert shelf.names(search(buyer.api, org_id=shelf.coop.org_id, bbox="-111,23.5,-109.5,25")) == {
        "engine", "mechanic"}
    assert shelf.names(search(buyer.api, org_id=shelf.coop.org_id, bbox="-106,22,-105,23")) == {
        "ljs_usd"}
    # bbox and the other criteria together
    assert shelf.names(search(buyer.api, org_id=shelf.coop.org_id, bbox=mzt, kind="fish",
                              preservation="fresh")) == {"ljs", "pns"}
    assert shelf.names(search(buyer.api, org_id=shelf.coop.org_id, bbox=mzt, species_code="LJS",
                              radius_km=30, **lonlat(MAZATLAN))) == {"ljs"}


def test_bbox_alone_in_open_sea(coop, buyer):
    sea = open_sea(10.5, 14.0)
    inside = listing(coop, at=sea)["id"]
    listing(coop, at=(sea[0] + 0.35, sea[1]))
    bbox = f"{sea[0] - 0.3},{sea[1] - 0.3},{sea[0] + 0.3},{sea[1] + 0.3}"
    assert ids(search(buyer.api, bbox=bbox)) == [inside]


def test_price_sort_ascending_and_descending_with_ties(coop, buyer):
    prices = [120.0, 90.0, 120.0, 300.0, 90.0, 120.0, 15.5]
    made = [(Decimal(str(p)), uuid.UUID(listing(coop, unit_price=p)["id"])) for p in prices]
    up = search(buyer.api, org_id=coop.org_id, sort="price")
    assert up["sort"] == "price"
    assert ids(up) == [str(i) for _, i in sorted(made)]
    assert [x["unit_price"] for x in up["items"]] == sorted(prices)
    down = search(buyer.api, org_id=coop.org_id, sort="-price")
    assert ids(down) == [str(i) for _, i in sorted(made, reverse=True)]


def test_price_sort_compares_one_currency(coop, buyer):
    """A price is only comparable with prices in its currency: sorting by price in MXN (the
    default currency) must not rank a USD 10 below MXN 50."""
    mxn = [listing(coop, unit_price=p)["id"] for p in (50.0, 200.0)]
    usd = listing(coop, unit_price=10.0, currency="USD")["id"]
    page = search(buyer.api, org_id=coop.org_id, sort="price")
    assert ids(page) == mxn, "a USD listing is sorted among MXN prices"
    page = search(buyer.api, org_id=coop.org_id, sort="-price", currency="USD")
    assert ids(page) == [usd]


def test_freshness_is_the_newest_linked_catch_or_the_listing_time(market, buyer):
    now = datetime.now(UTC)
    times = [now - timedelta(hours=h) for h in (11, 7, 3)]
    _, (c11, c7, c3) = log_catches(market.fisher, market.coop.vessel_id, [
        {"landed_kg": 20.0, "caught_at": iso(t)} for t in times])
    org = str(market.coop.org.id)
    mk = {"org_id": org, "title": "Pargo lunarejo", "species_code": "LJS", "presentation": "whole",
          "preservation": "fresh", "unit": "kg", "unit_price": 100.0, "port_id": market.port_id}

    def make(**over: Any) -> dict[str, Any]:
        r = market.fisher.api.post(LISTINGS, mk | over)
        assert r.status_code == 201, r.get_json()
        return dict(r.get_json())

    old = make(quantity=10, catch_ids=[c11])
    new = make(quantity=10, catch_ids=[c3])
    mixed = make(quantity=15, catch_ids=[c11, c7])  # the 10 kg left of c11, then 5 of c7
    untraced = make(quantity=5)
    goods = make(kind="goods", category="ice", title="Hielo", species_code=None,
                 presentation=None, preservation=None, quantity=5)
    for card, t in ((old, times[0]), (mixed, times[1]), (new, times[2])):
        assert datetime.fromisoformat(card["fresh_at"]) == pytest.approx(t, abs=timedelta(seconds=1))
    for card in (untraced, goods):
        assert datetime.fromisoformat(card["fresh_at"]) == pytest.approx(
            datetime.fromisoformat(card["created_at"]), abs=timedelta(seconds=2))
    page = search(buyer.api, org_id=org)
    assert page["sort"] == "freshness"
    assert ids(page) == [goods["id"], untraced["id"], new["id"], mixed["id"], old["id"]]
    assert ids(search(buyer.api, org_id=org, sort="freshness", **lonlat(MAZATLAN))) == ids(page)


# --- 3. only live listings -------------------------------------------------------------------

def test_only_live_listings_are_found(market, db):
    api, org = market.fisher.api, str(market.coop.org.id)
    base = {"org_id": org, "title": "Pargo lunarejo fresco", "species_code": "LJS",
            "presentation": "whole", "preservation": "fresh", "unit": "kg", "quantity": 10,
            "unit_price": 100.0, "location": {"type": "Point", "coordinates": list(CERRITOS)}}

    def make() -> str:
        r = api.post(LISTINGS, base)
        assert r.status_code == 201, r.get_json()
        return str(r.get_json()["id"])

    live, partial, paused, closed, sold_out, expired, back = (make() for _ in range(7))
    assert order(market.buyer.api, partial, 4).status_code == 201
    assert order(market.buyer.api, sold_out, 10).status_code == 201
    for lid, status in ((paused, "paused"), (closed, "closed"), (back, "paused")):
        r = api.patch(f"{LISTINGS}/{lid}", {"status": status})
        assert r.status_code == 200, r.get_json()
    expire(db, expired)
    r = api.patch(f"{LISTINGS}/{back}", {"status": "active"})
    assert r.status_code == 200, r.get_json()
    want = {live, partial, back}
    for params in ({}, {"q": "pargo"}, {"species_code": "LJS", "sort": "price"},
                   {"radius_km": 100, **lonlat(MAZATLAN)}, {"bbox": "-107,23,-106,24"}):
        page = search(market.buyer.api, org_id=org, **params)
        assert set(ids(page)) == want, params
        assert len(ids(page)) == 3
    left = {i["id"]: i["available"] for i in search(market.buyer.api, org_id=org)["items"]}
    assert left == {live: 10, partial: 6, back: 10}
    # Cancelling the order that sold it out brings that listing back.
    mine = market.buyer.api.get("/api/v1/market/orders").get_json()["orders"]
    oid = next(o["id"] for o in mine if o["listing_id"] == sold_out)
    r = market.buyer.api.post(f"/api/v1/market/orders/{oid}/status", {"status": "cancelled"})
    assert r.status_code == 200, r.get_json()
    assert set(ids(search(market.buyer.api, org_id=org))) == want | {sold_out}


# --- 4. keyset pages -------------------------------------------------------------------------

def test_keyset_pages_walk_every_sort_once_in_order(market, buyer):
    org = str(market.coop.org.id)
    api = market.fisher.api
    spots = [MAZATLAN, MAZATLAN, MAZATLAN, CERRITOS, CERRITOS, ISLA_PIEDRA, TEACAPAN, ALTATA,
             LA_PAZ, TOPOLOBAMPO, MAZATLAN]
    prices = [100.0, 100.0, 150.0, 100.0, 90.0, 90.0, 300.0, 100.0, 150.0, 42.0, 100.0]
    made: dict[str, tuple[tuple[float, float], float]] = {}
    for n, (p, price) in enumerate(zip(spots, prices, strict=True)):
        b: dict[str, Any] = {
            "org_id": org, "title": f"Pargo lote {n}", "species_code": "LJS",
            "presentation": "whole", "preservation": "fresh", "unit": "kg", "quantity": 4,
            "unit_price": price, "location": {"type": "Point", "coordinates": list(p)}}
        if n < 4:
            b["catch_ids"] = [market.catches[0]]  # the same catch: the same fresh_at
        if n in (6, 7):
            b |= {"kind": "goods", "category": "gear", "unit": "piece", "species_code": None,
                  "presentation": None, "preservation": None}
        r = api.post(LISTINGS, b)
        assert r.status_code == 201, r.get_json()
        made[r.get_json()["id"]] = (p, price)
    everyone = set(made)
    point = lonlat(MAZATLAN)

    def key(sort: str, item: dict[str, Any]) -> Any:
        i = uuid.UUID(item["id"])
        p, price = made[item["id"]]
        return {"distance": (round(haversine(MAZATLAN, p)), i), "price": (price, i),
                "-price": (price, i), "freshness": (datetime.fromisoformat(item["fresh_at"]), i)}[sort]

    for sort, params in (("distance", point), ("price", {}), ("price", point), ("-price", {}),
                         ("-price", point), ("freshness", {}), ("freshness", point)):
        one = search(buyer.api, org_id=org, sort=sort, limit=100, **params)
        assert one["next_cursor"] is None
        assert set(ids(one)) == everyone and len(one["items"]) == len(everyone)
        expected = sorted(one["items"], key=lambda x: key(sort, x),
                          reverse=sort in ("-price", "freshness"))
        assert ids(one) == [x["id"] for x in expected], sort
        for limit in (2, 3):
            paged = walk(buyer.api, limit=limit, org_id=org, sort=sort, **params)
            assert [x["id"] for x in paged] == ids(one), (sort, params, limit)
    # The ties the walk went through.
    fresh = search(buyer.api, org_id=org, sort="freshness", limit=100)["items"]
    assert len({x["fresh_at"] for x in fresh if x["traced"]}) == 1
    assert sum(x["traced"] for x in fresh) == 4
    # A cursor keeps the page size the next request asks for.
    first = search(buyer.api, org_id=org, sort="price", limit=2)
    rest = search(buyer.api, org_id=org, sort="price", limit=100, after=first["next_cursor"])
    assert ids(first) + ids(rest) == ids(search(buyer.api, org_id=org, sort="price", limit=100))


def _token(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


ZERO = "00000000-0000-0000-0000-000000000000"
TAMPERED = [
    ("price", "not-a-cursor!!"),
    ("price", _token("100.00")),  # one value, two expected
    ("price", base64.urlsafe_b64encode(b'{"a": 1}').decode()),
    ("price", _token("100.00", "not-a-uuid")),
    ("price", _token("abc", ZERO)),
    ("-price", _token("cien", ZERO)),
    ("distance", _token("far", ZERO)),
    ("freshness", _token("yesterday", ZERO)),
    ("freshness", _token("2026-01-01T00:00:00+00:00", "zz")),
]


@pytest.mark.parametrize(("sort", "after"), TAMPERED)
def test_a_tampered_cursor_is_400_on_after(coop, buyer, sort, after):
    r = buyer.api.get(LISTINGS, query_string={"sort": sort, "after": after, "org_id": coop.org_id,
                                             **lonlat(MAZATLAN)})
    body = problem(r, 400, "invalid_cursor")
    assert errors_of(body) == {"after": "invalid_cursor"}
    assert body["errors"][0]["in"] == "query"


def test_a_real_cursor_with_its_id_changed_is_400(coop, buyer):
    for p in (100.0, 200.0, 300.0):
        listing(coop, unit_price=p)
    first = search(buyer.api, org_id=coop.org_id, sort="price", limit=1)
    values = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    assert len(values) == 2
    bad = _token(values[0], values[1][:-4] + "zzzz")
    problem(buyer.api.get(LISTINGS, query_string={"sort": "price", "after": bad,
                                                  "org_id": coop.org_id}), 400, "invalid_cursor")


# --- 5. Spanish text search ------------------------------------------------------------------

CORPUS: dict[str, dict[str, Any]] = {
    "camaron_azul": {"title": "Camarón azul fresco", "species_code": "PNS", "unit_price": 280.0},
    "camarones_estero": {"title": "Camarones de estero", "species_code": "PNV"},
    "huachinango": {"title": "Huachinango del Pacífico entero", "species_code": "LWP"},
    "pargo_rojo": {"title": "Pargo rojo de anzuelo", "species_code": "LWP",
                   "presentation": "gutted"},
    "pulpo": {"title": "Pulpo cocido", "species_code": "OCZ", "presentation": "other",
              "description": "Cocido y listo para coctel."},
    "robalo": {"title": "Filete de róbalo", "species_code": "JPV", "presentation": "fillet",
               "preservation": "frozen"},
    "atun": {"title": "Atun aleta amarilla en lomo", "species_code": "YFT",
             "presentation": "fillet", "preservation": "frozen"},
    "langosta": {"title": "Langosta roja viva", "species_code": "NUT", "presentation": "alive",
                 "preservation": "live", "unit": "piece"},
    "callo": {"title": "Callo de hacha", "species_code": "TQM", "presentation": "shucked"},
    "sierra": {"title": "Sierra del día", "species_code": "SIE", "port": True},
    "motor": {"kind": "goods", "category": "engines", "title": "Motor fuera de borda 40 HP",
              "description": "Yamaha de dos tiempos, poco uso.", "unit_price": 45000.0},
    "hielo": {"kind": "goods", "category": "ice", "title": "Hielo en bloque", "unit": "kg",
              "description": "Entrega en el muelle, en bolsas de 25 kg.", "unit_price": 4.0},
    "hielera": {"kind": "goods", "category": "other", "title": "Hielera termica de 200 litros"},
    "camara": {"kind": "goods", "category": "other", "title": "Cámara frigorífica usada"},
    "redes": {"kind": "goods", "category": "gear", "title": "Redes agalleras nuevas"},
    "chaleco": {"kind": "goods", "category": "safety", "title": "Chaleco salvavidas"},
    "reparacion": {"kind": "service", "category": "mechanics", "title": "Reparacion de motores",
                   "description": "Mecánico con taller en el puerto."},
    "flete": {"kind": "service", "category": "transport", "title": "Flete refrigerado a Culiacán"},
}


@dataclass
class Corpus:
    coop: Seller
    buyer: Person
    ids: dict[str, str]

    def find(self, q: str, lang: str | None = None) -> set[str]:
        back = {v: k for k, v in self.ids.items()}
        page = search(self.buyer.api, lang=lang, q=q, org_id=self.coop.org_id, limit=100)
        return {back[i] for i in ids(page)}


@pytest.fixture(scope="module")
def corpus(app: Flask) -> Iterator[Corpus]:
    maker = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        f = Factory(app, sess)
        coop = seller(f)
        buyer = f.person(f.org(kind="company"), Role.buyer)
        mzt = port_id(sess)
        made = {}
        for n, (key, spec) in enumerate(CORPUS.items()):
            spec = dict(spec)
            extra: dict[str, Any] = {}
            if spec.pop("port", False):
                extra = {"port_id": mzt, "location": None}
            made[key] = listing(coop, at=destination(MAZATLAN, n * 20, 5_000 + n * 500),
                                **(spec | extra))["id"]
        yield Corpus(coop, buyer, made)


SHRIMP = {"camaron_azul", "camarones_estero"}
SNAPPER = {"huachinango", "pargo_rojo"}

# Each word finds at least these listings: accents either way, case, plurals, common and
# English and scientific names, a port's name, descriptions, near-miss typos.
RECALL = [
    ("camarón", SHRIMP), ("camaron", SHRIMP), ("CAMARÓN", SHRIMP), ("Camaron", SHRIMP),
    ("camarones", SHRIMP), ("CAMARONES", SHRIMP), ("camarónes", SHRIMP),
    ("pulpo", {"pulpo"}), ("pulpos", {"pulpo"}), ("PULPO", {"pulpo"}),
    ("filete", {"robalo"}), ("filetes", {"robalo"}), ("róbalo", {"robalo"}),
    ("robalo", {"robalo"}), ("RÓBALO", {"robalo"}), ("robalos", {"robalo"}),
    ("atún", {"atun"}), ("atun", {"atun"}), ("atunes", {"atun"}), ("tuna", {"atun"}),
    ("huachinango", SNAPPER), ("huachinangos", SNAPPER), ("Huachinango", SNAPPER),
    ("snapper", SNAPPER), ("red snapper", SNAPPER), ("Lutjanus peru", SNAPPER),
    ("guachinango", SNAPPER), ("huachinago", SNAPPER),
    ("langosta", {"langosta"}), ("langostas", {"langosta"}), ("lobster", {"langosta"}),
    ("shrimp", SHRIMP), ("octopus", {"pulpo"}),
    ("motor", {"motor", "reparacion"}), ("motores", {"motor", "reparacion"}),
    ("reparación", {"reparacion"}), ("reparacion", {"reparacion"}),
    ("reparaciones", {"reparacion"}), ("mecánico", {"reparacion"}), ("mecanico", {"reparacion"}),
    ("hielo", {"hielo"}), ("bolsas", {"hielo"}), ("muelle", {"hielo"}),
    ("térmica", {"hielera"}), ("termica", {"hielera"}), ("hieleras", {"hielera"}),
    ("cámara", {"camara"}), ("camara frigorifica", {"camara"}),
    ("redes", {"redes"}), ("red agallera", {"redes"}), ("salvavidas", {"chaleco"}),
    ("life jacket", {"chaleco"}), ("chalecos", {"chaleco"}),
    ("mazatlán", {"sierra"}), ("Mazatlan", {"sierra"}), ("sierras", {"sierra"}),
    ("transporte", {"flete"}), ("culiacan", {"flete"}), ("coctel", {"pulpo"}),
    ("pulpo cocido", {"pulpo"}), ("camarón fresco", SHRIMP), ("motor fuera de borda", {"motor"}),
    ("filete de róbalo", {"robalo"}), ("langosta viva", {"langosta"}),
]


def _diagnose(corpus: Corpus, q: str, keys: set[str]) -> str:
    """The lexemes behind a wrong answer, for the report."""
    maker = corpus.buyer.api.client.application.extensions["cardumen.sessionmaker"]
    out = [f"q={q!r}"]
    with maker() as sess:
        out.append("query: " + str(sess.execute(text(
            "SELECT websearch_to_tsquery('spanish', :q)::text, "
            "lower(cardumen_unaccent(:q))"), {"q": q}).one()))
        for k in sorted(keys):
            row = sess.execute(text(
                "SELECT title, search::text, plain, "
                "strict_word_similarity(lower(cardumen_unaccent(:q)), plain) "
                "FROM listing WHERE id = :i"), {"q": q, "i": corpus.ids[k]}).one()
            out.append(f"{k}: {tuple(row)}")
    return "\n".join(out)


@pytest.mark.parametrize(("q", "wanted"), RECALL, ids=[r[0] for r in RECALL])
def test_text_search_finds(corpus, q, wanted):
    got = corpus.find(q)
    assert wanted <= got, _diagnose(corpus, q, wanted - got)


# Exactly these: no listing that merely shares a stem or some letters.
PRECISION = [
    ("camarón", SHRIMP), ("camarones", SHRIMP), ("langosta", {"langosta"}),
    ("lobster", {"langosta"}), ("pulpo", {"pulpo"}), ("pulpos", {"pulpo"}),
    ("cámara", {"camara"}), ("huachinango", SNAPPER), ("huachinango entero", {"huachinango"}),
    ("huachinango congelado", set()), ("pargo rojo", {"pargo_rojo"}), ("hielo", {"hielo"}),
    ("hielera", {"hielera"}), ("motor", {"motor", "reparacion"}), ("filetes", {"robalo", "atun"}),
    ("flete", {"flete"}), ("tiburón", set()), ("mojarra", set()), ("ostiones", set()),
    ("atún", {"atun"}), ("redes", {"redes"}), ("sierra", {"sierra"}), ("callo", {"callo"}),
    ("camarón congelado", set()),
]


@pytest.mark.parametrize(("q", "wanted"), PRECISION, ids=[r[0] for r in PRECISION])
def test_text_search_finds_only(corpus, q, wanted):
    got = corpus.find(q)
    assert got == wanted, _diagnose(corpus, q, got ^ wanted)


def test_text_search_with_other_criteria_and_language(corpus):
    api, org = corpus.buyer.api, corpus.coop.org_id
    page = search(api, q="motor", kind="service", org_id=org)
    assert ids(page) == [corpus.ids["reparacion"]]
    page = search(api, q="camarón", species_code="PNV", org_id=org)
    assert ids(page) == [corpus.ids["camarones_estero"]]
    page = search(api, q="camarón", sort="-price", org_id=org, kind="fish")
    assert ids(page) == [corpus.ids["camaron_azul"], corpus.ids["camarones_estero"]]  # 280, 100
    # The answer does not depend on the reader's language.
    assert corpus.find("huachinango", lang="en") == SNAPPER


# --- 6. bad input ----------------------------------------------------------------------------

POINT = {"lon": -106.4, "lat": 23.2}
BAD = [
    ({"radius_km": 0, **POINT}, "radius_km"),
    ({"radius_km": -5, **POINT}, "radius_km"),
    ({"radius_km": 5000, **POINT}, "radius_km"),
    ({"radius_km": "diez", **POINT}, "radius_km"),
    ({"radius_km": "nan", **POINT}, "radius_km"),
    ({"lon": -106.4}, "lat"),
    ({"lat": 23.2}, "lon"),
    ({"lon": -106.4, "lat": 91}, "lat"),
    ({"lon": 181, "lat": 23.2}, "lon"),
    ({"lon": "abc", "lat": 23.2}, "lon"),
    ({"radius_km": 10}, "radius_km"),
    ({"sort": "distance"}, "sort"),
    ({"min_price": 200, "max_price": 100}, "min_price"),
    ({"min_price": -1}, "min_price"),
    ({"max_price": "barato"}, "max_price"),
    ({"bbox": "-107,23,-106"}, "bbox"),
    ({"bbox": "-106,23,-107,24"}, "bbox"),
    ({"bbox": "-107,24,-106,23"}, "bbox"),
    ({"bbox": "-200,23,-106,24"}, "bbox"),
    ({"bbox": "-107,23,-106,95"}, "bbox"),
    ({"bbox": "oeste,sur,este,norte"}, "bbox"),
    ({"bbox": "nan,23,-106,24"}, "bbox"),
    ({"bbox": "-107,23,-106,24,5"}, "bbox"),
    ({"sort": "nearest"}, "sort"),
    ({"sort": "price,distance"}, "sort"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "mxn"}, "currency"),
    ({"species_code": "lj"}, "species_code"),
    ({"species_code": "LJSS"}, "species_code"),
    ({"kind": "boat"}, "kind"),
    ({"category": "boats"}, "category"),
    ({"presentation": "cooked"}, "presentation"),
    ({"preservation": "canned"}, "preservation"),
    ({"q": ""}, "q"),
    ({"q": "x" * 201}, "q"),
    ({"org_id": "cooperativa"}, "org_id"),
]


@pytest.mark.parametrize(("params", "field"), BAD, ids=[json.dumps(b[0])[:60] for b in BAD])
def test_bad_search_input_is_422_on_the_field(buyer, params, field):
    body = problem(buyer.api.get(LISTINGS, query_string=params), 422, "validation_error")
    assert list(errors_of(body)) == [field], body
    err = body["errors"][0]
    assert err["in"] == "query" and err["code"] not in ("", "invalid") and err["message"]


CODES = [
    ({"lon": -106.4}, "lat", "point_incomplete"),
    ({"radius_km": 10}, "radius_km", "radius_needs_point"),
    ({"sort": "distance"}, "sort", "distance_needs_point"),
    ({"min_price": 200, "max_price": 100}, "min_price", "price_range"),
    ({"bbox": "-106,23,-107,24"}, "bbox", "search_bbox_invalid"),
    ({"currency": "mxn"}, "currency", "currency_unknown"),
    ({"species_code": "lj"}, "species_code", "invalid_code"),
    ({"sort": "nearest"}, "sort", "one_of"),
    ({"lon": "abc", "lat": 23.2}, "lon", "not_a_number"),
]


@pytest.mark.parametrize(("params", "field", "code"), CODES, ids=[c[2] for c in CODES])
def test_bad_search_input_codes(buyer, params, field, code):
    body = problem(buyer.api.get(LISTINGS, query_string=params), 422, "validation_error")
    assert errors_of(body) == {field: code}


def test_messages_are_spanish_by_default_english_on_request(buyer):
    r = buyer.api.get(LISTINGS, query_string={"lon": -106.4})
    body = problem(r, 422, "validation_error")
    assert body["errors"][0]["message"] == "Indique lon y lat."
    assert body["title"] == "La solicitud tiene campos no válidos."
    r = buyer.api.get(LISTINGS, query_string={"lon": -106.4}, lang="en")
    body = problem(r, 422, "validation_error")
    assert body["errors"][0]["message"] == "Give both lon and lat."
    assert body["title"] == "The request has invalid fields."
    es = problem(buyer.api.get(LISTINGS, query_string={"bbox": "1,2,3"}), 422, "validation_error")
    en = problem(buyer.api.get(LISTINGS, query_string={"bbox": "1,2,3"}, lang="en"), 422,
                 "validation_error")
    assert es["errors"][0]["message"].startswith("Un bbox es minLon,minLat,maxLon,maxLat")
    assert en["errors"][0]["message"].startswith("A bbox is minLon,minLat,maxLon,maxLat")
    es = problem(buyer.api.get(LISTINGS, query_string={"limit": 0}), 422, "validation_error")
    en = problem(buyer.api.get(LISTINGS, query_string={"limit": 0}, lang="en"), 422,
                 "validation_error")
    assert es["errors"][0]["message"] != en["errors"][0]["message"]
    assert "1" in es["errors"][0]["message"] and "100" in es["errors"][0]["message"]


def test_search_needs_login(anon):
    problem(anon.get(LISTINGS), 401, "token_missing")
    problem(anon.get(LISTINGS, query_string={"q": "camarón", "lon": -106.4, "lat": 23.2}), 401,
            "token_missing")
    problem(anon.get(LISTINGS, query_string={"limit": 0}), 401, "token_missing")
    anon.token = "not-a-token"
    problem(anon.get(LISTINGS), 401, "token_invalid")
