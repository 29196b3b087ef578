"""Saved searches: a new listing notifies each saved search it matches (but the seller's
own), with the same predicate as the search itself; at most 20 per member; deleting only
one's own; criteria checked as in the search."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from server.market.schemas import SearchQuery
from server.market.search import search as run_search
from server.members.models import Role
from tests.conftest import Factory, Person, errors_of, problem
from tests.market.search_helpers import (
    ALTATA,
    CERRITOS,
    LA_PAZ,
    MAZATLAN,
    SAVED,
    TEACAPAN,
    TOPOLOBAMPO,
    Seller,
    destination,
    ids,
    listing,
    matched,
    save,
    search,
    seller,
)


@pytest.fixture
def coop(factory: Factory) -> Seller:
    return seller(factory)


@pytest.fixture
def buyer(factory: Factory) -> Person:
    return factory.person(factory.org(kind="company", name="Restaurante Mar Azul"), Role.buyer)


def told(api: Any, made: set[str], saved_id: str | None = None) -> set[str]:
    """The listings (of those given) this member was told of, by one saved search or any."""
    return {n["data"]["listing_id"] for n in matched(api)
            if n["data"]["listing_id"] in made
            and (saved_id is None or n["data"]["saved_search_id"] == saved_id)}


def as_query(criteria: dict[str, Any]) -> dict[str, Any]:
    """A saved search's criteria as GET /market/listings parameters."""
    q = {k: v for k, v in criteria.items() if k != "name"}
    if "bbox" in q:
        q["bbox"] = ",".join(str(x) for x in q["bbox"])
    return q


# --- notifying -------------------------------------------------------------------------------

def test_a_matching_listing_notifies_in_the_readers_language(coop, buyer):
    saved = save(buyer.api, name="Huachinango", species_code="LWP")
    hit = listing(coop, species_code="LWP", title="Huachinango rojo del día", unit_price=185.5)
    miss = listing(coop, species_code="LJS")
    notes = [n for n in matched(buyer.api) if n["data"]["listing_id"] in (hit["id"], miss["id"])]
    assert len(notes) == 1
    n = notes[0]
    assert n["kind"] == "market.listing_matched" and n["read_at"] is None
    assert n["data"]["listing_id"] == hit["id"]
    assert n["data"]["saved_search_id"] == saved["id"]
    assert n["data"]["title"] == "Huachinango rojo del día"
    assert n["data"]["currency"] == "MXN" and n["data"]["unit_price"] == 185.5
    assert n["text"].startswith("Nuevo anuncio para su búsqueda «Huachinango»: "
                                "Huachinango rojo del día a 185.5 MXN/kg")
    en = next(x for x in matched(buyer.api, lang="en") if x["id"] == n["id"])
    assert en["text"].startswith("New listing for your search “Huachinango”: "
                                 "Huachinango rojo del día at 185.5 MXN/kg")


def _sea() -> tuple[float, float]:
    """Open sea east of where test_search looks (it keeps west of -123)."""
    return (round(random.uniform(-121.0, -118.0), 4), round(random.uniform(6.0, 14.0), 4))


SEA = _sea()
# criterion -> (saved criteria, listings that match, listings that do not)
CASES: dict[str, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {
    "species": ({"species_code": "LWP"},
                [{"species_code": "LWP"}],
                [{"species_code": "LJS"}, {"kind": "goods", "category": "gear"}]),
    "price range": ({"min_price": 100, "max_price": 200},
                    [{"unit_price": 150.0}, {"unit_price": 100.0}, {"unit_price": 200.0}],
                    [{"unit_price": 99.99}, {"unit_price": 200.01},
                     {"unit_price": 150.0, "currency": "USD"}]),
    "price in USD": ({"max_price": 20, "currency": "USD"},
                     [{"unit_price": 20.0, "currency": "USD"}],
                     [{"unit_price": 15.0}, {"unit_price": 25.0, "currency": "USD"}]),
    "radius": ({"lon": SEA[0], "lat": SEA[1], "radius_km": 20},
               [{"at": SEA}, {"at": destination(SEA, 10, 19_800)}],
               [{"at": destination(SEA, 250, 20_200)}, {"at": MAZATLAN}]),
    "bbox": ({"bbox": [SEA[0] - 0.5, SEA[1] - 0.5, SEA[0] + 0.5, SEA[1] + 0.5]},
             [{"at": SEA}, {"at": (SEA[0] + 0.49, SEA[1] - 0.49)}],
             [{"at": (SEA[0] + 0.51, SEA[1])}, {"at": MAZATLAN}]),
    "text": ({"q": "huachinango"},
             [{"species_code": "LWP", "title": "Pargo rojo"}, {"title": "Huachinangos del día"},
              {"title": "Guachinango fresco"}],
             [{"species_code": "PNS", "title": "Camarón azul"}, {"title": "Pargo lunarejo"}]),
    "kind": ({"kind": "service"},
             [{"kind": "service", "category": "transport", "title": "Flete"}],
             [{"kind": "goods", "category": "ice", "title": "Hielo"}, {}]),
    "category": ({"category": "ice"},
                 [{"kind": "goods", "category": "ice", "title": "Hielo en bloque"}],
                 [{"kind": "goods", "category": "fuel", "title": "Gasolina"}]),
    "presentation": ({"presentation": "fillet"}, [{"presentation": "fillet"}],
                     [{"presentation": "whole"}]),
    "preservation": ({"preservation": "frozen"}, [{"preservation": "frozen"}],
                     [{"preservation": "fresh"}]),
    "everything": ({"q": "fresco", "species_code": "LJS", "kind": "fish", "max_price": 150,
                    "lon": SEA[0], "lat": SEA[1], "radius_km": 50},
                   [{"at": SEA, "unit_price": 150.0}],
                   [{"at": SEA, "unit_price": 151.0}, {"at": MAZATLAN},
                    {"at": SEA, "species_code": "LWP"}, {"at": SEA, "preservation": "frozen"}]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_criterion_notifies_only_the_listings_it_matches(coop, buyer, case):
    criteria, hits, misses = CASES[case]
    saved = save(buyer.api, **criteria)
    hit_ids = {listing(coop, **h)["id"] for h in hits}
    miss_ids = {listing(coop, **m)["id"] for m in misses}
    assert told(buyer.api, hit_ids | miss_ids, saved["id"]) == hit_ids


def test_the_org_criterion(factory, coop, buyer):
    other = seller(factory)
    saved = save(buyer.api, org_id=coop.org_id)
    hit, miss = listing(coop)["id"], listing(other)["id"]
    assert told(buyer.api, {hit, miss}, saved["id"]) == {hit}


def test_the_sellers_own_saved_search_is_not_notified(factory, coop, buyer):
    admin = factory.person(coop.org, Role.admin)  # a colleague, not the seller
    mine = save(coop.api, species_code="NUT")
    theirs = save(admin.api, species_code="NUT")
    bought = save(buyer.api, species_code="NUT")
    made = {listing(coop, species_code="NUT", title="Langosta roja", unit="piece")["id"]}
    assert told(coop.api, made) == set()
    assert told(admin.api, made, theirs["id"]) == made
    assert told(buyer.api, made, bought["id"]) == made
    assert mine["id"] != theirs["id"]
    # And a listing of the colleague does tell the first seller.
    other = {listing(Seller(coop.org, admin), species_code="NUT", unit="piece")["id"]}
    assert told(coop.api, other, mine["id"]) == other


def test_each_matching_saved_search_notifies_once(coop, buyer):
    a = save(buyer.api, name="Pargo", q="pargo")
    b = save(buyer.api, name="LJS", species_code="LJS")
    save(buyer.api, name="Camarón", q="camarón")
    made = listing(coop, title="Pargo lunarejo")["id"]
    notes = [n for n in matched(buyer.api) if n["data"]["listing_id"] == made]
    assert sorted(n["data"]["saved_search_id"] for n in notes) == sorted([a["id"], b["id"]])


# --- notified iff found ----------------------------------------------------------------------

PLACES = [MAZATLAN, CERRITOS, TEACAPAN, ALTATA, TOPOLOBAMPO, LA_PAZ]
FISH_TITLES = {"LJS": ["Pargo lunarejo fresco", "Lunarejo del día"],
               "LWP": ["Huachinango rojo", "Pargo rojo de anzuelo", "Huachinango entero"],
               "PNS": ["Camarón azul", "Camarones frescos", "Colas de camarón"]}
GOODS = [("engines", "Motor fuera de borda 40 HP"), ("ice", "Hielo en bloque"),
         ("gear", "Redes agalleras")]
SERVICES = [("mechanics", "Reparación de motores"), ("transport", "Flete refrigerado")]
WORDS = ["huachinango", "camarón", "camarones", "pargo", "pargo rojo", "motor", "hielo",
         "fresco", "snapper", "reparación", "lunarejo", "shrimp", "guachinango"]


def random_listing(rnd: random.Random) -> dict[str, Any]:
    place = rnd.choice(PLACES)
    at = destination(place, rnd.uniform(0, 360), rnd.uniform(0, 60_000))
    out: dict[str, Any] = {"at": (round(at[0], 5), round(at[1], 5)),
                           "unit_price": round(rnd.uniform(20, 500), 2),
                           "currency": rnd.choice(["MXN"] * 5 + ["USD"])}
    kind = rnd.choice(["fish"] * 6 + ["goods"] * 3 + ["service"] * 2)
    if kind == "fish":
        sp = rnd.choice(list(FISH_TITLES))
        out |= {"species_code": sp, "title": rnd.choice(FISH_TITLES[sp]),
                "presentation": rnd.choice(["whole", "whole", "fillet", "gutted"]),
                "preservation": rnd.choice(["fresh", "fresh", "frozen"])}
    elif kind == "goods":
        cat, title = rnd.choice(GOODS)
        out |= {"kind": "goods", "category": cat, "title": title}
    else:
        cat, title = rnd.choice(SERVICES)
        out |= {"kind": "service", "category": cat, "title": title}
    return out


def random_criteria(rnd: random.Random, orgs: list[str], prices: bool) -> dict[str, Any]:
    kinds = ["species_code", "kind", "q", "q", "presentation", "preservation", "category",
             "radius", "radius", "bbox", "org_id"] + (["price", "price"] if prices else [])
    c: dict[str, Any] = {}
    for what in rnd.sample(kinds, rnd.randint(1, 3)):
        if what == "species_code":
            c["species_code"] = rnd.choice(list(FISH_TITLES))
        elif what == "kind":
            c["kind"] = rnd.choice(["fish", "fish", "goods", "service"])
        elif what == "q":
            c["q"] = rnd.choice(WORDS)
        elif what == "presentation":
            c["presentation"] = rnd.choice(["whole", "fillet", "gutted"])
        elif what == "preservation":
            c["preservation"] = rnd.choice(["fresh", "frozen"])
        elif what == "category":
            c["category"] = rnd.choice(["engines", "ice", "gear", "mechanics", "transport"])
        elif what == "radius":
            p = rnd.choice(PLACES)
            c |= {"lon": p[0], "lat": p[1], "radius_km": rnd.choice([5, 30, 80, 300])}
        elif what == "bbox":
            x0, y0 = rnd.uniform(-111, -106.5), rnd.uniform(21.5, 25)
            c["bbox"] = [round(x0, 3), round(y0, 3), round(x0 + rnd.uniform(0.3, 4), 3),
                         round(y0 + rnd.uniform(0.3, 3), 3)]
        elif what == "org_id":
            c["org_id"] = rnd.choice(orgs)
        elif what == "price":
            lo = rnd.choice([None, 50, 150, 300])
            hi = rnd.choice([None, 100, 250, 450])
            if lo is not None and hi is not None and lo > hi:
                lo, hi = hi, lo
            c |= {k: v for k, v in (("min_price", lo), ("max_price", hi)) if v is not None}
            if rnd.random() < 0.3:
                c["currency"] = "USD"
            if not {"min_price", "max_price"} & set(c):
                c["max_price"] = 250
    return c


def _make_world(factory: Factory, seed: int, prices: bool) -> tuple[
        Person, list[Seller], list[tuple[dict[str, Any], str]], dict[str, dict[str, Any]]]:
    rnd = random.Random(seed)
    sellers = [seller(factory), seller(factory)]
    member = factory.person(factory.org(kind="company"), Role.buyer)
    orgs = [s.org_id for s in sellers]
    saved = []
    for n in range(18):
        c = random_criteria(rnd, orgs, prices)
        saved.append((c, save(member.api, name=f"azar {seed}.{n}", **c)["id"]))
    made = {}
    for _ in range(14):
        spec = random_listing(rnd)
        made[listing(rnd.choice(sellers), **spec)["id"]] = spec
    return member, sellers, saved, made


@pytest.mark.parametrize("seed", [5, 17, 2026])
def test_notified_iff_the_same_search_finds_it(factory, seed):
    member, sellers, saved, made = _make_world(factory, seed, prices=False)
    notes = matched(member.api)
    hits = 0
    for criteria, sid in saved:
        notified = {n["data"]["listing_id"] for n in notes
                    if n["data"]["saved_search_id"] == sid and n["data"]["listing_id"] in made}
        orgs = [criteria["org_id"]] if "org_id" in criteria else [s.org_id for s in sellers]
        found: set[str] = set()
        for org in orgs:
            found |= set(ids(search(member.api, **(as_query(criteria) | {"org_id": org,
                                                                          "limit": 100}))))
        assert notified == found & set(made), (seed, criteria,
                                               {i: made[i] for i in notified ^ (found & set(made))})
        hits += len(notified)
    assert hits > 0, "no random saved search matched anything: the property was not exercised"


@pytest.mark.parametrize("seed", [8, 41])
def test_notified_iff_the_search_predicate_finds_it_with_prices(factory, db, seed):
    """As above with price criteria, searching through the search's own schema and query
    (GET cannot take prices from a query string: see test_search.test_filters)."""
    member, sellers, saved, made = _make_world(factory, seed, prices=True)
    notes = matched(member.api)
    for criteria, sid in saved:
        notified = {n["data"]["listing_id"] for n in notes
                    if n["data"]["saved_search_id"] == sid and n["data"]["listing_id"] in made}
        q = as_query(criteria)
        loaded = SearchQuery().load(q | {"limit": 100, "org_id": sellers[0].org_id}
                                    if "org_id" not in q else q | {"limit": 100})
        found = {str(r["id"]) for r in run_search(db, loaded)["items"]}
        if "org_id" not in q:
            found |= {str(r["id"]) for r in run_search(db, SearchQuery().load(
                q | {"limit": 100, "org_id": sellers[1].org_id}))["items"]}
        db.rollback()
        assert notified == found & set(made), (seed, criteria,
                                               {i: made[i] for i in notified ^ (found & set(made))})


# --- keeping, listing, deleting --------------------------------------------------------------

def test_saved_criteria_come_back_as_given(coop, buyer):
    criteria = {"q": "huachinango", "kind": "fish", "species_code": "LWP",
                "presentation": "whole", "preservation": "fresh", "min_price": 100,
                "max_price": 250.5, "currency": "MXN", "lon": -106.41, "lat": 23.2,
                "radius_km": 25, "bbox": [-107.0, 22.5, -106.0, 23.5], "org_id": coop.org_id}
    out = save(buyer.api, name="Huachinango cerca", **criteria)
    assert out["name"] == "Huachinango cerca"
    listed = buyer.api.get(SAVED).get_json()["saved_searches"]
    assert [s["id"] for s in listed] == [out["id"]]
    assert listed[0]["criteria"] == out["criteria"]
    missing = {k: v for k, v in criteria.items() if out["criteria"].get(k) != v}
    assert missing == {}, f"criteria not given back: {missing}"


def test_at_most_20_saved_searches(buyer):
    made = [save(buyer.api, name=f"b{n}", q=f"palabra{n}")["id"] for n in range(20)]
    body = problem(buyer.api.post(SAVED, {"name": "la 21", "q": "una más"}), 409,
                   "too_many_saved_searches")
    assert "20" in body["detail"]
    en = problem(buyer.api.post(SAVED, {"name": "la 21", "q": "one more"}, lang="en"), 409,
                 "too_many_saved_searches")
    assert en["detail"] == "At most 20 saved searches."
    assert len(buyer.api.get(SAVED).get_json()["saved_searches"]) == 20
    assert buyer.api.delete(f"{SAVED}/{made[0]}").status_code == 204
    save(buyer.api, name="la 21", q="ahora sí")
    problem(buyer.api.post(SAVED, {"name": "la 22"}), 409, "too_many_saved_searches")


def test_delete_removes_only_your_own(factory, coop, buyer):
    other = factory.person(factory.org(kind="company"), Role.buyer)
    mine = save(buyer.api, species_code="SIE")
    theirs = save(other.api, species_code="SIE")
    problem(buyer.api.delete(f"{SAVED}/{theirs['id']}"), 404, "not_found")
    assert [s["id"] for s in other.api.get(SAVED).get_json()["saved_searches"]] == [theirs["id"]]
    problem(buyer.api.delete(f"{SAVED}/{uuid.uuid4()}"), 404, "not_found")
    assert buyer.api.delete(f"{SAVED}/{mine['id']}").status_code == 204
    problem(buyer.api.delete(f"{SAVED}/{mine['id']}"), 404, "not_found")
    assert buyer.api.get(SAVED).get_json()["saved_searches"] == []
    made = {listing(coop, species_code="SIE", title="Sierra del Pacífico")["id"]}
    assert told(buyer.api, made) == set()  # deleted: no longer told
    assert told(other.api, made, theirs["id"]) == made


def test_saved_searches_need_login(anon):
    problem(anon.get(SAVED), 401, "token_missing")
    problem(anon.post(SAVED, {"name": "x"}), 401, "token_missing")
    problem(anon.delete(f"{SAVED}/{uuid.uuid4()}"), 401, "token_missing")


BAD = [
    ({"radius_km": 10}, "radius_km", "radius_needs_point"),
    ({"radius_km": 0, "lon": -106.4, "lat": 23.2}, "radius_km", None),
    ({"radius_km": 5000, "lon": -106.4, "lat": 23.2}, "radius_km", None),
    ({"lon": -106.4}, "lat", "point_incomplete"),
    ({"lat": 23.2}, "lon", "point_incomplete"),
    ({"lon": -106.4, "lat": 91}, "lat", None),
    ({"lon": 181, "lat": 23}, "lon", None),
    ({"lon": "abc", "lat": 23}, "lon", "not_a_number"),
    ({"min_price": 200, "max_price": 100}, "min_price", "price_range"),
    ({"min_price": -1}, "min_price", None),
    ({"bbox": [1, 2, 3]}, "bbox", "search_bbox_invalid"),
    ({"bbox": [10, 0, 5, 5]}, "bbox", "search_bbox_invalid"),
    ({"bbox": [-200, 0, 5, 5]}, "bbox", "search_bbox_invalid"),
    ({"bbox": ["a", "b", "c", "d"]}, "bbox", None),
    ({"currency": "XYZ"}, "currency", "currency_unknown"),
    ({"currency": "mxn"}, "currency", "currency_unknown"),
    ({"species_code": "lj"}, "species_code", "invalid_code"),
    ({"kind": "boat"}, "kind", "one_of"),
    ({"q": ""}, "q", None),
    ({"name": ""}, "name", None),
    ({"name": None}, "name", None),
    ({"sort": "price"}, "sort", "unknown_field"),
]


@pytest.mark.parametrize(("criteria", "field", "code"), BAD,
                         ids=[json.dumps(b[0])[:50] for b in BAD])
def test_bad_criteria_are_422_as_in_the_search(buyer, criteria, field, code):
    r = buyer.api.post(SAVED, {"name": "mala"} | criteria)
    body = problem(r, 422, "validation_error")
    errs = errors_of(body)
    assert {f.split(".")[0] for f in errs} == {field}, body
    if code:
        assert errs[field] == code
    assert buyer.api.get(SAVED).get_json()["saved_searches"] == []


def test_bad_criteria_messages_in_both_languages(buyer):
    es = problem(buyer.api.post(SAVED, {"name": "x", "radius_km": 5}), 422, "validation_error")
    en = problem(buyer.api.post(SAVED, {"name": "x", "radius_km": 5}, lang="en"), 422,
                 "validation_error")
    assert es["errors"][0]["message"] == "Un radio necesita lon y lat."
    assert en["errors"][0]["message"] == "A radius needs lon and lat."


@pytest.mark.parametrize("criteria", [{"species_code": "ZZZ"}, {"org_id": str(uuid.uuid4())}],
                         ids=["unknown species", "unknown org"])
def test_criteria_naming_nothing_are_not_a_server_error(buyer, criteria):
    """A well-formed species code or org id that does not exist: the search answers an empty
    page; saving it must not be a 500 (a 422 naming the field, or a search that never
    matches)."""
    assert search(buyer.api, **criteria)["items"] == []
    r = buyer.api.post(SAVED, {"name": "nada"} | criteria)
    assert r.status_code in (201, 422), (r.status_code, r.get_data(as_text=True)[:300])
    if r.status_code == 422:
        assert list(errors_of(r.get_json())) == list(criteria)
