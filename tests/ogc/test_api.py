"""OGC API - Features at /ogc: documents, features, filters, paging, suppression, access."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from geo import hexgrid
from tests.conftest import Api, problem
from tests.ogc.conftest import World

CELLS = "/ogc/collections/catch-cells"
SPECIES = "/ogc/collections/catch-cells-species"
GEOJSON = "application/geo+json"


def features(api: Api, url: str, **query: Any) -> list[dict[str, Any]]:
    r = api.get(url, query_string=query)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == GEOJSON
    body: dict[str, Any] = r.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"])
    assert "numberMatched" not in body
    out: list[dict[str, Any]] = body["features"]
    return out


def by_id(feats: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f["properties"] for f in feats}


def ours(w: World, feats: list[dict[str, Any]]) -> set[str]:
    """Feature ids in this world's cells (a platform admin also sees other modules' data)."""
    mine = set(w.cells.values())
    return {f["id"] for f in feats if f["properties"]["cell"] in mine}


# --- landing, conformance, collections ----------------------------------------------------

def test_landing_page_is_public_and_links_the_rest(anon: Api) -> None:
    r = anon.get("/ogc/")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["title"] and "3" in body["description"]
    rels = {link["rel"]: link for link in body["links"]}
    assert set(rels) >= {"self", "service-desc", "conformance", "data"}
    assert rels["service-desc"]["href"].endswith("/api/openapi.json")
    assert rels["conformance"]["href"].endswith("/ogc/conformance")
    assert rels["data"]["href"].endswith("/ogc/collections")
    assert anon.get("/ogc/", lang="en").get_json()["title"] != body["title"]


def test_conformance_classes(anon: Api) -> None:
    r = anon.get("/ogc/conformance")
    assert r.status_code == 200
    assert set(r.get_json()["conformsTo"]) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"}


def test_the_api_document_describes_the_ogc_paths(anon: Api) -> None:
    spec = anon.get("/api/openapi.json").get_json()
    items = spec["paths"]["/ogc/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000 and limit["schema"]["default"] == 100
    assert "/ogc/collections/{collectionId}/items/{featureId}" in spec["paths"]


def test_collections_and_their_extent(world: World) -> None:
    r = world.auth_a.staff.api.get("/ogc/collections")
    assert r.status_code == 200 and r.mimetype == "application/json"
    colls = {c["id"]: c for c in r.get_json()["collections"]}
    assert set(colls) == {"catch-cells", "catch-cells-species"}
    cc = colls["catch-cells"]
    assert cc["itemType"] == "feature"
    assert cc["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert any(link["rel"] == "items" and link["type"] == GEOJSON for link in cc["links"])
    (bbox,) = cc["extent"]["spatial"]["bbox"]
    xs = [hexgrid.cell_polygon(world.cells[n]).bounds for n in ("X", "Z1", "Z2", "Z3", "Z4")]
    assert bbox == pytest.approx([min(b[0] for b in xs), min(b[1] for b in xs),
                                  max(b[2] for b in xs), max(b[3] for b in xs)], abs=1e-5)
    (interval,) = cc["extent"]["temporal"]["interval"]
    # From M2's first day to the end of M1, Mexico City midnight (UTC-6) as UTC.
    assert interval[0] == f"{world.m2:%Y-%m}-01T06:00:00Z"
    assert interval[1].endswith("T06:00:00Z") and interval[1] > f"{world.m1:%Y-%m}-28"

    one = world.auth_a.staff.api.get(CELLS)
    assert one.status_code == 200 and one.get_json()["extent"] == cc["extent"]


# --- items --------------------------------------------------------------------------------

def test_items_are_geojson_hexagons_with_sums(world: World) -> None:
    feats = features(world.auth_a.staff.api, f"{CELLS}/items")
    got = by_id(feats)
    m1, m2 = world.m1, world.m2
    assert set(got) == {world.fid("X", m1), world.fid("X", m2),
                        *(world.fid(z, m1) for z in ("Z1", "Z2", "Z3", "Z4"))}
    assert got[world.fid("X", m1)] == {
        "cell": world.cells["X"], "month": f"{m1:%Y-%m}", "landed_kg": 64.0, "live_kg": 68.0,
        "catches": 4, "trips": 3, "vessels": 3}
    assert got[world.fid("X", m2)]["landed_kg"] == 6.0
    assert got[world.fid("Z1", m1)] == {
        "cell": world.cells["Z1"], "month": f"{m1:%Y-%m}", "landed_kg": 3.0, "live_kg": 3.0,
        "catches": 3, "trips": 3, "vessels": 3}
    x = next(f for f in feats if f["id"] == world.fid("X", m1))
    assert x["type"] == "Feature" and x["geometry"]["type"] == "Polygon"
    ring = x["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    expected = hexgrid.cell_polygon(world.cells["X"]).exterior.coords
    assert ring == [pytest.approx(list(p), abs=1e-6) for p in expected]


def test_species_items_suppress_per_species(world: World) -> None:
    got = by_id(features(world.auth_a.staff.api, f"{SPECIES}/items"))
    assert world.fid("X", world.m1, "SIE") not in got  # one vessel
    # X's total (M1) is shown, so its LJS goes too: total minus LJS would be SIE alone.
    assert world.fid("X", world.m1, "LJS") not in got
    assert world.fid("X", world.m1) in by_id(features(world.auth_a.staff.api, f"{CELLS}/items"))
    # In M2 X has LJS only, by three vessels: shown.
    lj = world.fid("X", world.m2, "LJS")
    assert got[lj] == {"cell": world.cells["X"], "month": f"{world.m2:%Y-%m}",
                       "species_code": "LJS", "landed_kg": 6.0, "live_kg": 6.0, "catches": 3,
                       "trips": 3, "vessels": 3}
    assert not [i for i in got if i.startswith(world.cells["Y"])]
    only_sie = features(world.auth_a.staff.api, f"{SPECIES}/items", species="SIE")
    assert only_sie == []
    only_ljs = by_id(features(world.auth_a.staff.api, f"{SPECIES}/items", species="ljs,LJS"))
    assert lj in only_ljs and all(p["species_code"] == "LJS" for p in only_ljs.values())


def test_bbox_filter(world: World) -> None:
    lon, lat = hexgrid.cell_center(world.cells["X"])
    box = f"{lon - 0.005},{lat - 0.005},{lon + 0.005},{lat + 0.005}"
    got = by_id(features(world.auth_a.staff.api, f"{CELLS}/items", bbox=box))
    assert set(got) == {world.fid("X", world.m1), world.fid("X", world.m2)}
    assert features(world.auth_a.staff.api, f"{CELLS}/items", bbox="0,0,1,1") == []
    everything = features(world.auth_a.staff.api, f"{CELLS}/items", bbox="-180,-90,180,90")
    assert len(everything) == 6


def test_datetime_filter_selects_overlapping_months(world: World) -> None:
    api, m1, m2 = world.auth_a.staff.api, world.m1, world.m2
    x1, x2 = world.fid("X", m1), world.fid("X", m2)

    def ids(value: str) -> set[str]:
        return set(by_id(features(api, f"{CELLS}/items", datetime=value)))

    assert ids(f"{m2:%Y-%m}-15T12:00:00Z") == {x2}
    assert ids(f"{m2:%Y-%m}-15") == {x2}
    assert x1 in ids(f"{m1:%Y-%m}-20T00:00:00-06:00") and x2 not in ids(f"{m1:%Y-%m}-20T00:00:00Z")
    assert ids(f"{m2:%Y-%m}-20T00:00:00Z/{m1:%Y-%m}-02T00:00:00Z") >= {x1, x2}
    assert ids(f"../{m2:%Y-%m}-28T00:00:00Z") == {x2}
    assert x2 not in ids(f"{m1:%Y-%m}-01T12:00:00Z/..")
    assert ids(f"{m1:%Y-%m}-01T12:00:00Z/") == ids(f"{m1:%Y-%m}-01T12:00:00Z/..")
    # The first instant of M1 in Mexico City is 06:00 UTC; a minute before is still M2.
    assert x2 in ids(f"{m1:%Y-%m}-01T05:59:00Z")
    assert ids(f"{m1:%Y-%m}-01T06:00:00Z") == ids(f"{m1:%Y-%m}-01T06:00:00Z/{m1:%Y-%m}-01T06:00:00Z")
    assert ids("1990-01-01T00:00:00Z/1990-12-31T00:00:00Z") == set()


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_paging_covers_every_feature_exactly_once(world: World, limit: int) -> None:
    api = world.auth_a.staff.api
    everything = [f["id"] for f in features(api, f"{CELLS}/items", limit=1000)]
    assert len(everything) == 6
    seen: list[str] = []
    r = api.get(f"{CELLS}/items", query_string={"limit": limit})
    pages = 0
    while True:
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert len(body["features"]) <= limit
        seen += [f["id"] for f in body["features"]]
        pages += 1
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert "self" in links
        if "next" not in links:
            break
        assert "offset" not in links["next"] and f"limit={limit}" in links["next"]
        r = api.get(links["next"])
    assert seen == everything  # same order, nothing twice, nothing missed
    assert pages == -(-6 // limit)  # a full last page has no next link: no empty page follows


def test_species_paging_and_filters_combine(world: World) -> None:
    api = world.auth_a.staff.api
    lon, lat = hexgrid.cell_center(world.cells["X"])
    # X and its ring of Z cells: LJS of X in M2 and of Z1..Z4 in M1 (X's LJS in M1 is
    # hidden with its SIE).
    q = {"limit": 1, "bbox": f"{lon - 0.2},{lat - 0.2},{lon + 0.2},{lat + 0.2}",
         "species": "LJS"}
    seen = []
    r = api.get(f"{SPECIES}/items", query_string=q)
    while True:
        body = r.get_json()
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        r = api.get(nxt[0])
    expected = [world.fid("X", world.m2, "LJS"),
                *(world.fid(z, world.m1, "LJS") for z in ("Z1", "Z2", "Z3", "Z4"))]
    assert seen == sorted(expected)  # key order: cell, then month


def test_single_item(world: World) -> None:
    api = world.auth_a.staff.api
    fid = world.fid("X", world.m1)
    r = api.get(f"{CELLS}/items/{fid}")
    assert r.status_code == 200 and r.mimetype == GEOJSON
    body = r.get_json()
    assert body["type"] == "Feature" and body["id"] == fid
    assert body["properties"]["landed_kg"] == 64.0
    assert body["geometry"]["type"] == "Polygon"
    sp = api.get(f"{SPECIES}/items/{world.fid('X', world.m2, 'LJS')}")
    assert sp.status_code == 200 and sp.get_json()["properties"]["vessels"] == 3
    # A feature hidden by secondary suppression is absent from this door too.
    problem(api.get(f"{SPECIES}/items/{world.fid('X', world.m1, 'LJS')}"), 404, "not_found")


@pytest.mark.parametrize("path", [
    "/ogc/collections/nope", "/ogc/collections/nope/items", "/ogc/collections/nope/items/x",
    f"{CELLS}/items/not-a-feature", f"{CELLS}/items/864833a37ffffff:2001-01",
    f"{CELLS}/items/864833a37ffffff:2001-13", f"{SPECIES}/items/864833a37ffffff:2001-01",
    f"{CELLS}/items/864833a37ffffff:2001-01:LJS"])
def test_unknown_collection_or_feature_is_404(world: World, path: str) -> None:
    problem(world.auth_a.staff.api.get(path), 404, "not_found")


# --- suppression and what is never shown --------------------------------------------------

def test_cells_below_three_vessels_vanish_everywhere(world: World) -> None:
    api = world.auth_a.staff.api
    y = world.fid("Y", world.m1)
    assert y not in by_id(features(api, f"{CELLS}/items", limit=10000))
    problem(api.get(f"{CELLS}/items/{y}"), 404, "not_found")
    problem(api.get(f"{SPECIES}/items/{world.fid('X', world.m1, 'SIE')}"), 404, "not_found")
    # Y's bbox alone: nothing, and no hint of it in the extent either.
    lon, lat = hexgrid.cell_center(world.cells["Y"])
    assert features(api, f"{CELLS}/items", bbox=f"{lon - .001},{lat - .001},{lon + .001},{lat + .001}") == []


def test_suppression_applies_after_summing_organizations(world: World) -> None:
    """Y has 2 vessels of A and 1 of B: hidden from A's view, shown over A and B."""
    api = world.auth_ab.staff.api
    got = by_id(features(api, f"{CELLS}/items", limit=10000))
    assert got[world.fid("Y", world.m1)] == {
        "cell": world.cells["Y"], "month": f"{world.m1:%Y-%m}", "landed_kg": 13.0,
        "live_kg": 13.5, "catches": 3, "trips": 3, "vessels": 3}
    assert got[world.fid("X", world.m1)]["landed_kg"] == 64.0
    assert got[world.fid("W", world.m1)]["landed_kg"] == 9.0
    assert api.get(f"{CELLS}/items/{world.fid('Y', world.m1)}").status_code == 200
    # Per species Y has LJS by a1 and b1 (2 vessels), SIE by a2 (1): both hidden.
    sp = by_id(features(api, f"{SPECIES}/items", limit=10000))
    assert not [i for i in sp if i.startswith(world.cells["Y"])]


def test_threshold_is_configurable_upwards_only(app: Flask, world: World) -> None:
    api = world.auth_a.staff.api
    before = app.config.get("OGC_MIN_VESSELS")
    try:
        app.config["OGC_MIN_VESSELS"] = 1
        assert world.fid("Y", world.m1) not in by_id(features(api, f"{CELLS}/items"))
        app.config["OGC_MIN_VESSELS"] = 4
        assert features(api, f"{CELLS}/items") == []
        assert "4" in api.get("/ogc/").get_json()["description"]
    finally:
        if before is None:
            app.config.pop("OGC_MIN_VESSELS", None)
        else:
            app.config["OGC_MIN_VESSELS"] = before


def _answers(w: World) -> list[str]:
    out = []
    for api in (w.auth_a.staff.api, w.auth_ab.staff.api, w.admin.api):
        for url in ("/ogc/", "/ogc/collections", CELLS, f"{CELLS}/items?limit=10000",
                    f"{SPECIES}/items?limit=10000", f"{CELLS}/items/{w.fid('X', w.m1)}",
                    f"{SPECIES}/items/{w.fid('X', w.m2, 'LJS')}"):
            r = api.get(url)
            assert r.status_code == 200, url
            out.append(r.get_data(as_text=True))
    return out


def test_no_answer_exposes_a_position_or_an_id(world: World) -> None:
    forbidden_keys = {"position", "positions", "member_id", "vessel_id", "trip_id", "catch_id",
                      "org_id", "members", "vessel_ids", "lon", "lat"}
    hexagon_vertices = set()
    for cell in world.cells.values():
        hexagon_vertices |= {(round(x, 6), round(y, 6)) for x, y in hexgrid.cell_ring(cell)}
    for text in _answers(world):
        for secret in world.secrets:
            assert secret not in text
        for lon, lat in world.positions:
            assert f"{lon}" not in text or f"{lat}" not in text

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                assert not forbidden_keys & set(node), set(node)
                if node.get("type") == "Polygon":
                    for x, y in node["coordinates"][0]:
                        assert (x, y) in hexagon_vertices or not _ours(world, x, y)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(json.loads(text))


def _ours(w: World, lon: float, lat: float) -> bool:
    return hexgrid.cell_of(lon, lat) in set(w.cells.values())


# --- who sees what -------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/ogc/collections", CELLS, f"{CELLS}/items",
                                 f"{SPECIES}/items", f"{CELLS}/items/864833a37ffffff:2001-01"])
def test_fishers_and_coop_admins_get_404(world: World, url: str) -> None:
    for person in (world.a.fisher, world.a.admin, world.fisher_a2, world.b.admin):
        problem(person.api.get(url), 404, "not_found")


def test_without_a_token_401(anon: Api) -> None:
    r = anon.get(f"{CELLS}/items")
    problem(r, 401, "token_missing")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_each_authority_sees_only_its_jurisdiction(world: World) -> None:
    a = by_id(features(world.auth_a.staff.api, f"{CELLS}/items", limit=10000))
    b = by_id(features(world.auth_b.staff.api, f"{CELLS}/items", limit=10000))
    assert world.fid("X", world.m1) in a and world.fid("W", world.m1) not in a
    assert set(b) == {world.fid("W", world.m1)}  # Y has only b1 in B's own view
    problem(world.auth_b.staff.api.get(f"{CELLS}/items/{world.fid('X', world.m1)}"), 404,
            "not_found")


def test_region_authority_sees_cells_centred_in_its_region(world: World) -> None:
    got = by_id(features(world.auth_r.staff.api, f"{CELLS}/items", limit=10000))
    assert set(got) == {world.fid("W", world.m1)}
    assert got[world.fid("W", world.m1)]["landed_kg"] == 9.0


def test_staff_of_several_authorities_choose_with_authority(world: World) -> None:
    api = world.auth_a.staff.api  # staff of A (the first) and of AB
    y = world.fid("Y", world.m1)
    assert y not in by_id(features(api, f"{CELLS}/items"))  # A's view by default
    got = by_id(features(api, f"{CELLS}/items", authority=world.auth_ab.id, limit=10000))
    assert y in got
    r = api.get(f"{CELLS}/items?authority={world.auth_ab.id}&limit=1")
    nxt = next(link["href"] for link in r.get_json()["links"] if link["rel"] == "next")
    assert f"authority={world.auth_ab.id}" in nxt  # the choice is kept across pages
    problem(api.get(f"{CELLS}/items", query_string={"authority": world.auth_b.id}), 404,
            "not_found")
    body = problem(api.get(f"{CELLS}/items?authority=nope"), 400, "invalid_query")
    assert body["errors"][0]["field"] == "authority"


def test_platform_admin_sees_everything_or_one_authority(world: World) -> None:
    feats = features(world.admin.api, f"{CELLS}/items", limit=10000)
    assert ours(world, feats) >= {world.fid("X", world.m1), world.fid("Y", world.m1),
                                  world.fid("W", world.m1)}
    only_b = by_id(features(world.admin.api, f"{CELLS}/items", authority=world.auth_b.id))
    assert set(only_b) == {world.fid("W", world.m1)}
    problem(world.admin.api.get(f"{CELLS}/items",
                                query_string={"authority": str(world.a.org.id)}), 404, "not_found")


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "field", "code"), [
    ({"bbox": "1,2,3"}, "bbox", "bbox_invalid"),
    ({"bbox": "1,2,3,4,5,6"}, "bbox", "bbox_invalid"),
    ({"bbox": "a,b,c,d"}, "bbox", "bbox_invalid"),
    ({"bbox": "nan,0,1,1"}, "bbox", "bbox_invalid"),
    ({"bbox": "0,0,inf,1"}, "bbox", "bbox_invalid"),
    ({"bbox": ""}, "bbox", "bbox_invalid"),
    ({"bbox": "10,0,5,1"}, "bbox", "bbox_inverted"),
    ({"bbox": "0,10,1,5"}, "bbox", "bbox_inverted"),
    ({"bbox": "-181,0,1,1"}, "bbox", "bbox_out_of_range"),
    ({"bbox": "0,0,1,91"}, "bbox", "bbox_out_of_range"),
    ({"datetime": "yesterday"}, "datetime", "datetime_invalid"),
    ({"datetime": "2026-03-01T00:00:00"}, "datetime", "datetime_invalid"),  # no time zone
    ({"datetime": "2026-02-30"}, "datetime", "datetime_invalid"),
    ({"datetime": "2026-03-01T25:00:00Z"}, "datetime", "datetime_invalid"),
    ({"datetime": "../.."}, "datetime", "datetime_invalid"),
    ({"datetime": "2026-01-01T00:00:00Z/2026-02-01T00:00:00Z/x"}, "datetime", "datetime_invalid"),
    ({"datetime": "2026-03-01T00:00:00Z/2026-02-01T00:00:00Z"}, "datetime", "datetime_inverted"),
    ({"limit": "0"}, "limit", "limit_range"),
    ({"limit": "10001"}, "limit", "limit_range"),
    ({"limit": "99999999999999999999"}, "limit", "limit_range"),
    ({"limit": "-1"}, "limit", "limit_range"),
    ({"limit": "ten"}, "limit", "limit_range"),
    ({"next": "garbage"}, "next", "invalid_cursor"),
    ({"next": "k1.bm90LWpzb24"}, "next", "invalid_cursor"),
    ({"offset": "10"}, "offset", "unknown_parameter"),
    ({"species": "LJS"}, "species", "unknown_parameter"),  # not on catch-cells
    ({"f": "html"}, "f", "format_unsupported"),
])
def test_bad_query_is_400_problem(world: World, query: dict[str, str], field: str,
                                  code: str) -> None:
    r = world.auth_a.staff.api.get(f"{CELLS}/items", query_string=query, lang="en")
    body = problem(r, 400, "invalid_query")
    assert [(e["field"], e["in"], e["code"]) for e in body["errors"]] == [(field, "query", code)]
    assert all(e["message"] for e in body["errors"])


def test_several_faults_are_reported_together_in_spanish(world: World) -> None:
    r = world.auth_a.staff.api.get(f"{CELLS}/items?bbox=1,2&limit=0&datetime=x")
    body = problem(r, 400, "invalid_query")
    assert {e["field"] for e in body["errors"]} == {"bbox", "limit", "datetime"}
    assert r.headers["Content-Language"] == "es"
    assert "bbox" in body["errors"][0]["message"]


def test_a_token_from_another_collection_is_refused(world: World) -> None:
    api = world.auth_a.staff.api
    r = api.get(f"{CELLS}/items?limit=1")
    nxt = next(link["href"] for link in r.get_json()["links"] if link["rel"] == "next")
    token = nxt.split("next=")[1]
    problem(api.get(f"{SPECIES}/items?next={token}"), 400, "invalid_query")


@pytest.mark.parametrize("url", ["/ogc/?x=1", "/ogc/conformance?bbox=1,2,3,4",
                                 "/ogc/collections?limit=5", f"{CELLS}?datetime=2020-01-01",
                                 f"{CELLS}/items/{'864833a37ffffff:2001-01'}?limit=3",
                                 f"{CELLS}/items?bbox=1,2,3,4&bbox=1,2,3,4"])
def test_unknown_or_repeated_parameters_are_400(world: World, url: str) -> None:
    body = problem(world.auth_a.staff.api.get(url), 400, "invalid_query")
    assert body["errors"][0]["code"] in ("unknown_parameter", "repeated_parameter")


def test_f_json_is_accepted(world: World) -> None:
    assert world.auth_a.staff.api.get("/ogc/?f=json").status_code == 200
    assert world.auth_a.staff.api.get(f"{CELLS}/items?f=json").status_code == 200
