"""The shared catalog: seed content, the change feed, zone uploads and species upserts.

Zones uploaded here lie in the open Pacific (around 140 W, 10 S), far from any
position other tests log catches at, so they never flag someone else's catch.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from server.catalog.models import Zone, ZoneKind
from tests.conftest import Api, Factory, problem

SPECIES = "/api/v1/catalog/species"
ZONES = "/api/v1/catalog/zones"
CHANGES = "/api/v1/catalog/changes"


def square(lon: float = -140.0, lat: float = -10.0, size: float = 0.5) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def feature(ring: list[list[float]] | None = None, **props: Any) -> dict[str, Any]:
    props.setdefault("name", f"Refugio {secrets.token_hex(3)}")
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring or square()]}}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}




def zone_count(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Zone)) or 0)


@pytest.fixture
def admin(factory: Factory) -> Api:
    return factory.person(platform_admin=True).api


# --------------------------------------------------------------------------- seed content


def test_species(anon: Api) -> None:
    r = anon.get(SPECIES)
    assert r.status_code == 200
    species = r.get_json()
    assert len(species) >= 60
    codes = [s["code"] for s in species]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in codes), codes
    for s in species:
        assert s["name_es"].strip() and s["name_en"].strip(), s
        assert s["scientific_name"].strip(), s
    by_code = {s["code"]: s for s in species}
    assert by_code["YFT"]["scientific_name"] == "Thunnus albacares"
    assert by_code["YFT"]["name_es"] == "Atún aleta amarilla"
    assert by_code["YFT"]["name_en"] == "Yellowfin tuna"
    assert by_code["LJS"]["name_es"] == "Pargo lunarejo"


def test_gear(anon: Api) -> None:
    gear = anon.get("/api/v1/catalog/gear").get_json()
    assert len(gear) >= 30
    isscfg = [g["isscfg_code"] for g in gear]
    assert len(isscfg) == len(set(isscfg))
    assert all(re.fullmatch(r"\d{2}(\.\d{1,2})*", c) for c in isscfg), isscfg
    by_code = {g["code"]: g for g in gear}
    assert by_code["PS"]["isscfg_code"] == "01.1"
    assert by_code["PS"]["name_es"] == "Redes de cerco con jareta"
    assert by_code["GNS"]["isscfg_code"].startswith("07.")
    assert all(g["name_en"] and g["name_es"] for g in gear)


def test_ports_are_geojson_points(anon: Api) -> None:
    ports = anon.get("/api/v1/catalog/ports").get_json()
    assert len(ports) >= 10
    for p in ports:
        loc = p["location"]
        assert loc["type"] == "Point", p
        lon, lat = loc["coordinates"]
        assert -120 < lon < -85 and 14 < lat < 33, p  # Mexico's coasts
        uuid.UUID(p["id"])
    ensenada = next(p for p in ports if p["code"] == "MX ESE")
    assert ensenada["name"] == "Ensenada"
    assert ensenada["location"]["coordinates"] == [-116.6251, 31.8575]


def test_zones_list_fao_areas_without_land(anon: Api) -> None:
    r = anon.get(ZONES)
    assert r.status_code == 200
    assert r.mimetype == "application/geo+json"
    fc = orjson.loads(r.get_data())
    assert fc["type"] == "FeatureCollection"
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert "land" not in kinds
    fao = {f["properties"]["code"]: f for f in fc["features"]
           if f["properties"]["kind"] == "fao_area"}
    assert {"77", "31", "02"} <= set(fao)
    assert fao["77"]["geometry"]["type"] == "MultiPolygon"
    assert fao["77"]["properties"]["name"] == "Pacific, Eastern Central"
    # The land layer exists; it is only left out unless asked for.
    land = orjson.loads(anon.get(ZONES + "?kind=land").get_data())
    assert [f["properties"]["kind"] for f in land["features"]] == ["land"]


def test_zones_list_by_kind_and_etag(anon: Api) -> None:
    r = anon.get(ZONES + "?kind=fao_area")
    fc = orjson.loads(r.get_data())
    assert {f["properties"]["kind"] for f in fc["features"]} == {"fao_area"}
    etag = r.headers["ETag"]
    again = anon.get(ZONES + "?kind=fao_area", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert problem(anon.get(ZONES + "?kind=volcano"), 422, "validation_error")["errors"][0][
        "field"] == "kind"


# --------------------------------------------------------------------------- change feed


def settle(db: Session) -> None:
    """Wait until the feed may show every catalog row written so far.

    The feed returns rows older than every transaction still running on the
    *cluster* (server.feed), so a transaction left open in another database
    of a shared development cluster holds it back. Wait a little for it; skip
    naming it if it stays (in this test's own database it is a failure).
    """
    target = db.execute(text(
        "SELECT max(x) FROM (SELECT max(change_xid) AS x FROM species UNION ALL "
        "SELECT max(change_xid) FROM gear UNION ALL SELECT max(change_xid) FROM port UNION ALL "
        "SELECT max(change_xid) FROM zone) t")).scalar_one()
    db.rollback()
    deadline = time.monotonic() + 20
    while True:
        horizon = db.execute(text(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
        blockers = db.execute(text(
            "SELECT datname, pid, state, backend_xid::text AS xid FROM pg_stat_activity "
            "WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()")).all()
        db.rollback()
        if horizon > target:
            return
        ours = [b for b in blockers if b.datname == db.bind.url.database]  # type: ignore[union-attr]
        assert ours == [], f"a transaction of this database holds the feed back: {ours}"
        if time.monotonic() > deadline:
            pytest.skip(f"transactions in other databases of the cluster hold the feed back: "
                        f"{[tuple(b) for b in blockers]}")
        time.sleep(0.5)


def _pull_all(anon: Api, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str, str]:
    changes: list[dict[str, Any]] = []
    etag = ""
    for _ in range(200):
        url = f"{CHANGES}?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = anon.get(url)
        assert r.status_code == 200, r.get_json()
        page = orjson.loads(r.get_data())
        assert len(page["changes"]) <= limit
        changes.extend(page["changes"])
        cursor, etag = page["cursor"], r.headers["ETag"]
        if not page["has_more"]:
            break
    else:
        pytest.fail("the feed never ended")
    assert cursor is not None
    return changes, cursor, etag


def test_catalog_feed_pages_through_everything(anon: Api, db: Session) -> None:
    settle(db)
    changes, cursor, etag = _pull_all(anon, None, 37)
    keys = [(c["kind"], c["id"]) for c in changes]
    assert len(keys) == len(set(keys)), "a row came twice"
    by_kind: dict[str, set[str]] = {}
    for c in changes:
        by_kind.setdefault(c["kind"], set()).add(c["id"])
    species = {s["code"] for s in anon.get(SPECIES).get_json()}
    assert species <= by_kind["species"]
    assert {g["code"] for g in anon.get("/api/v1/catalog/gear").get_json()} <= by_kind["gear"]
    assert {p["id"] for p in anon.get("/api/v1/catalog/ports").get_json()} <= by_kind["port"]
    zones = [c for c in changes if c["kind"] == "zone"]
    assert {"77", "31", "02"} <= {z["code"] for z in zones}
    assert "land" not in {z["kind"] for z in zones} | {z.get("zone_kind") for z in zones}
    assert all(z["geometry"]["type"] == "MultiPolygon" for z in zones)
    # Nothing new: the same cursor answers 304 to its ETag, and an empty page without.
    r = anon.get(f"{CHANGES}?cursor={cursor}", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.headers["ETag"] == etag
    r = anon.get(f"{CHANGES}?cursor={cursor}")
    assert r.get_json() == {"changes": [], "cursor": cursor, "has_more": False}


def test_catalog_feed_sees_uploads_and_retirements(anon: Api, admin: Api, db: Session) -> None:
    settle(db)
    _, cursor, etag = _pull_all(anon, None, 2000)
    created = admin.post(ZONES + "?kind=no_take", collection(feature(name="Nuevo refugio")))
    assert created.status_code == 201, created.get_json()
    zone_id = created.get_json()[0]["id"]
    settle(db)
    r = anon.get(f"{CHANGES}?cursor={cursor}", headers={"If-None-Match": etag})
    assert r.status_code == 200  # the ETag no longer matches
    page = r.get_json()
    mine = [c for c in page["changes"] if c["id"] == zone_id]
    assert len(mine) == 1
    assert mine[0]["kind"] == "zone"
    assert mine[0]["name"] == "Nuevo refugio"
    assert mine[0]["deleted"] is False

    assert admin.delete(f"{ZONES}/{zone_id}").status_code == 204
    settle(db)
    page2 = anon.get(f"{CHANGES}?cursor={page['cursor']}").get_json()
    gone = [c for c in page2["changes"] if c["id"] == zone_id]
    assert len(gone) == 1 and gone[0]["deleted"] is True


def test_catalog_feed_rejects_bad_cursor(anon: Api) -> None:
    body = problem(anon.get(CHANGES + "?cursor=not-a-cursor"), 400, "invalid_cursor")
    assert body["errors"][0]["field"] == "cursor"
    assert body["errors"][0]["in"] == "query"
    problem(anon.get(CHANGES + "?limit=0"), 422, "validation_error")


# --------------------------------------------------------------------------- zone upload


def test_upload_zones_geojson(admin: Api, anon: Api, db: Session) -> None:
    before = zone_count(db)
    fc = collection(
        feature(square(-140.0, -10.0), name="Refugio Norte", code="RN-1",
                valid_from="2025-01-01", valid_until="2030-12-31", authority="CONAPESCA"),
        feature(square(-141.0, -10.0), name="  Refugio Sur  "),
    )
    r = admin.client.post(ZONES + "?kind=no_take&source=DOF%202025", data=orjson.dumps(fc),
                          content_type="application/geo+json",
                          headers={"Authorization": f"Bearer {admin.token}"})
    assert r.status_code == 201, r.get_json()
    zones = r.get_json()
    assert [z["name"] for z in zones] == ["Refugio Norte", "Refugio Sur"]
    north = zones[0]
    assert north["kind"] == "no_take"
    assert north["code"] == "RN-1"
    assert north["valid_from"] == "2025-01-01" and north["valid_until"] == "2030-12-31"
    assert north["source"] == "DOF 2025"
    assert zone_count(db) == before + 2

    listed = orjson.loads(anon.get(ZONES + "?kind=no_take").get_data())
    by_id = {f["id"]: f for f in listed["features"]}
    shown = by_id[north["id"]]
    assert shown["geometry"]["type"] == "MultiPolygon"
    assert sorted(map(tuple, shown["geometry"]["coordinates"][0][0])) == \
        sorted(map(tuple, square(-140.0, -10.0)))
    assert shown["properties"]["authority"] == "CONAPESCA"
    assert zones[1]["id"] in by_id
    # The trigger cut the zone into pieces for point lookups.
    pieces = db.execute(text("SELECT count(*) FROM zone_piece WHERE zone_id = :z"),
                        {"z": north["id"]}).scalar_one()
    assert pieces >= 1


def test_upload_zones_as_application_json(admin: Api) -> None:
    r = admin.post(ZONES + "?kind=fishing_zone", collection(feature(name="Zona A")))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()[0]["kind"] == "fishing_zone"


def test_self_intersecting_polygon_is_refused_with_the_point(admin: Api, db: Session) -> None:
    before = zone_count(db)
    bow_tie = [[-140.0, -10.0], [-139.0, -9.0], [-139.0, -10.0], [-140.0, -9.0], [-140.0, -10.0]]
    body = problem(admin.post(ZONES + "?kind=no_take", collection(feature(bow_tie))),
                   422, "validation_error")
    assert len(body["errors"]) == 1
    err = body["errors"][0]
    assert err["field"] == "features.0.geometry.coordinates.0"
    assert err["code"] == "self_intersection"
    assert err["message"] == \
        "Los bordes del polígono se cruzan entre sí en la longitud -139.5, latitud -9.5."
    en = admin.post(ZONES + "?kind=no_take", collection(feature(bow_tie)), lang="en").get_json()
    assert en["errors"][0]["message"] == \
        "The polygon's edges cross each other at longitude -139.5, latitude -9.5."
    assert zone_count(db) == before


def test_ring_not_closed(admin: Api) -> None:
    ring = [*square()[:-1], [-140.0, -9.9]]
    body = problem(admin.post(ZONES + "?kind=no_take", collection(feature(), feature(ring))),
                   422, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == \
        [("features.1.geometry.coordinates.0", "ring_not_closed")]


def test_missing_name_and_bad_dates(admin: Api, db: Session) -> None:
    before = zone_count(db)
    nameless = feature()
    del nameless["properties"]["name"]
    fc = collection(feature(valid_from="2025-02-30"), nameless, feature(name="   "),
                    feature(valid_from="2025-06-01", valid_until="2025-01-01"),
                    feature(code="X" * 41))
    body = problem(admin.post(ZONES + "?kind=no_take", fc), 422, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("features.0.properties.valid_from", "not_a_date"),
        ("features.1.properties.name", "required"),
        ("features.2.properties.name", "required"),
        ("features.3.properties.valid_until", "date_order"),
        ("features.4.properties.code", "length_max"),
    ]
    assert body["errors"][1]["message"] == "Este campo es obligatorio."
    assert body["errors"][4]["message"] == "Más largo que la longitud máxima de 40."
    assert zone_count(db) == before


@pytest.mark.parametrize("bad", [
    {"type": "Polygon", "coordinates": [square()]},  # a geometry, not a Feature
    {"type": "Feature", "properties": {"name": "P"},
     "geometry": {"type": "Point", "coordinates": [-140, -10]}},
    {"type": "Feature", "properties": {"name": "Lejos"},
     "geometry": {"type": "Polygon", "coordinates": [[[200, 0], [201, 0], [201, 1], [200, 0]]]}},
])
def test_one_bad_feature_stores_nothing(admin: Api, db: Session, bad: dict[str, Any]) -> None:
    before = zone_count(db)
    r = admin.post(ZONES + "?kind=no_take", collection(feature(), feature(), bad))
    body = problem(r, 422, "validation_error")
    assert body["errors"][0]["field"].startswith("features.2")
    assert zone_count(db) == before


@pytest.mark.parametrize(("payload", "status", "code"), [
    ([1, 2], 422, "validation_error"),
    ({"type": "FeatureCollection"}, 422, "validation_error"),
    ({"type": "FeatureCollection", "features": "none"}, 422, "validation_error"),
])
def test_upload_shapes_that_are_not_collections(admin: Api, payload: Any, status: int,
                                                code: str) -> None:
    problem(admin.post(ZONES + "?kind=no_take", payload), status, code)


def test_upload_hostile_bodies_are_4xx(admin: Api) -> None:
    auth = {"Authorization": f"Bearer {admin.token}"}
    post = admin.client.post
    problem(post(ZONES + "?kind=no_take", data=b"[" * 100_000 + b"]" * 100_000,
                 content_type="application/json", headers=auth), 400, "malformed_json")
    problem(post(ZONES + "?kind=no_take", data=b'{"type": ', content_type="application/json",
                 headers=auth), 400, "malformed_json")
    problem(post(ZONES + "?kind=no_take", data=b"", content_type="application/json",
                 headers=auth), 400, "malformed_json")
    nul = orjson.dumps(collection(feature(name="a\u0000b")))
    problem(post(ZONES + "?kind=no_take", data=nul, content_type="application/json",
                 headers=auth), 400, "malformed_json")
    problem(post(ZONES + "?kind=no_take", data=orjson.dumps(collection(feature())),
                 content_type="text/plain", headers=auth), 415, "unsupported_media_type")


def test_upload_kind_is_checked(admin: Api) -> None:
    fc = collection(feature())
    body = problem(admin.post(ZONES + "?kind=land", fc), 422, "validation_error")
    assert body["errors"][0]["field"] == "kind" and body["errors"][0]["in"] == "query"
    body = problem(admin.post(ZONES, fc), 422, "validation_error")
    assert body["errors"][0]["code"] == "required"


def test_upload_needs_platform_admin(factory: Factory, anon: Api, db: Session) -> None:
    before = zone_count(db)
    coop = factory.coop()
    problem(coop.admin.api.post(ZONES + "?kind=no_take", collection(feature())), 403, "forbidden")
    r = anon.post(ZONES + "?kind=no_take", collection(feature()))
    problem(r, 401, "token_missing")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    problem(anon.post(ZONES + "?kind=no_take", collection(feature()),
                      headers={"Authorization": "Bearer nonsense"}), 401, "token_invalid")
    assert zone_count(db) == before


def test_retire_zone(admin: Api, anon: Api, factory: Factory, db: Session) -> None:
    created = admin.post(ZONES + "?kind=no_take", collection(feature(name="Temporal")))
    zone_id = created.get_json()[0]["id"]
    ids = {f["id"] for f in orjson.loads(anon.get(ZONES).get_data())["features"]}
    assert zone_id in ids

    problem(factory.person().api.delete(f"{ZONES}/{zone_id}"), 403, "forbidden")
    problem(anon.delete(f"{ZONES}/{zone_id}"), 401, "token_missing")
    r = admin.delete(f"{ZONES}/{zone_id}")
    assert r.status_code == 204
    ids = {f["id"] for f in orjson.loads(anon.get(ZONES).get_data())["features"]}
    assert zone_id not in ids
    db.expire_all()
    zone = db.get(Zone, uuid.UUID(zone_id))
    assert zone is not None and zone.retired_at is not None  # kept for the records
    problem(admin.delete(f"{ZONES}/{zone_id}"), 404, "not_found")
    problem(admin.delete(f"{ZONES}/{uuid.uuid4()}"), 404, "not_found")
    problem(admin.delete(f"{ZONES}/not-a-uuid"), 404, "not_found")
    land = db.scalar(select(Zone.id).where(Zone.kind == ZoneKind.land))
    problem(admin.delete(f"{ZONES}/{land}"), 404, "not_found")


# --------------------------------------------------------------------------- species upsert


def _new_code(anon: Api) -> str:
    taken = {s["code"] for s in anon.get(SPECIES).get_json()}
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while True:
        code = "Q" + "".join(secrets.choice(letters) for _ in range(2))
        if code not in taken:
            return code


def _species(code: str, **over: Any) -> dict[str, Any]:
    row = {"code": code, "scientific_name": "Piscis testus", "name_es": "Pez de prueba",
           "name_en": "Test fish"}
    row.update(over)
    return row


def test_species_upsert(admin: Api, anon: Api) -> None:
    code = _new_code(anon)
    r = admin.put(SPECIES, {"species": [_species(code, coasts="pacific", isscaap_group="33")]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == [{"code": code, "scientific_name": "Piscis testus",
                             "name_es": "Pez de prueba", "name_en": "Test fish",
                             "isscaap_group": "33", "conapesca_key": None, "coasts": "pacific",
                             "active": True}]
    listed = {s["code"]: s for s in anon.get(SPECIES).get_json()}
    assert listed[code]["name_en"] == "Test fish"

    r = admin.put(SPECIES, {"species": [_species(code, name_es="Pez corregido", active=False)]})
    assert r.status_code == 200
    listed = {s["code"]: s for s in anon.get(SPECIES).get_json()}
    assert listed[code]["name_es"] == "Pez corregido"
    assert listed[code]["active"] is False
    assert listed[code]["coasts"] == "pacific"  # left out: kept
    assert listed[code]["isscaap_group"] == "33"


def test_species_upsert_rows_with_different_fields(admin: Api, anon: Api) -> None:
    a, b = _new_code(anon), _new_code(anon)
    while b == a:
        b = _new_code(anon)
    r = admin.put(SPECIES, {"species": [_species(a, coasts="atlantic"), _species(b)]})
    assert r.status_code == 200, r.get_json()
    got = {s["code"]: s for s in r.get_json()}
    assert got[a]["coasts"] == "atlantic"
    assert got[b]["coasts"] is None


def test_species_upsert_rejects_repeated_codes(admin: Api, anon: Api) -> None:
    code = _new_code(anon)
    body = problem(admin.put(SPECIES, {"species": [_species(code), _species(code)]}),
                   422, "validation_error")
    assert body["errors"] == [{"field": "species.1.code", "in": "json", "code": "duplicate_code",
                               "message": "Este código aparece más de una vez en el lote."}]
    assert code not in {s["code"] for s in anon.get(SPECIES).get_json()}


def test_species_upsert_validates(admin: Api) -> None:
    body = problem(admin.put(SPECIES, {"species": [_species("QQ1", coasts="arctic")]}),
                   422, "validation_error")
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields == {"species.0.code": "pattern_mismatch", "species.0.coasts": "one_of"}
    body = problem(admin.put(SPECIES, {"species": []}), 422, "validation_error")
    assert body["errors"][0]["field"] == "species"
    problem(admin.put(SPECIES, [_species("QQQ")]), 422, "validation_error")


def test_species_upsert_needs_platform_admin(factory: Factory, anon: Api) -> None:
    code = _new_code(anon)
    problem(factory.coop().admin.api.put(SPECIES, {"species": [_species(code)]}), 403, "forbidden")
    problem(anon.put(SPECIES, {"species": [_species(code)]}), 401, "token_missing")
    assert code not in {s["code"] for s in anon.get(SPECIES).get_json()}
