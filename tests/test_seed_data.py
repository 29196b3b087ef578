"""Checks on the catalog seed data shipped in server/catalog/data (no database needed).

The cross-checks against the FAO/UNECE code lists read ``shared/reference`` beside the
repository and are skipped when that folder is absent.
"""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

DATA = Path(__file__).resolve().parents[1] / "server" / "catalog" / "data"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"

SPECIES_COLUMNS = [
    "code", "scientific_name", "name_es", "name_en", "isscaap_group", "conapesca_key", "coasts",
]
GEAR_COLUMNS = ["isscfg_code", "code", "name_en", "name_es"]
PORT_COLUMNS = ["code", "name", "state", "coast", "lon", "lat"]

# Mexico's bounding box (lon_min, lat_min, lon_max, lat_max), with its islands.
MEXICO_BBOX = (-118.5, 14.4, -86.6, 32.8)

SEA = {
    "off Mazatlán": ((-106.6, 23.0), "77"),
    "Bay of Campeche": ((-93.0, 20.5), "31"),
    "Gulf of California near La Paz": ((-110.5, 24.5), "77"),
    "off Ensenada": ((-117.5, 31.5), "77"),
    "upper Gulf of California": ((-114.5, 31.2), "77"),
    "Gulf of Tehuantepec": ((-95.0, 15.5), "77"),
    "off Acapulco": ((-100.0, 16.6), "77"),
    "off Tampico": ((-97.5, 22.3), "31"),
    "Campeche Bank": ((-90.5, 21.5), "31"),
    "Mexican Caribbean off Cancún": ((-86.6, 21.1), "31"),
    "Bahía de Chetumal approaches": ((-87.6, 18.6), "31"),
    "central Gulf of Mexico": ((-90.0, 25.0), "31"),
}
LAND = {
    "Mexico City": (-99.13, 19.43),
    "Guadalajara": (-103.35, 20.67),
    "Monterrey": (-100.31, 25.67),
    "Puebla": (-98.20, 19.04),
    "Chihuahua": (-106.09, 28.63),
    "Mérida": (-89.62, 20.97),
}


def read_csv(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def read_reference(name: str, encoding: str = "utf-8") -> list[dict[str, str]]:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference code list {path} not available")
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def land() -> BaseGeometry:
    fc = json.loads((DATA / "land.geojson").read_text(encoding="utf-8"))
    geom = shapely.union_all([shape(f["geometry"]) for f in fc["features"]])
    shapely.prepare(geom)
    return geom


@cache
def land_filled() -> BaseGeometry:
    """The land layer with its lakes filled: what is outside is sea."""
    polys = [Polygon(p.exterior) for p in getattr(land(), "geoms", [land()])]
    geom = shapely.union_all(polys)
    shapely.prepare(geom)
    return geom


@cache
def fao_areas() -> dict[str, BaseGeometry]:
    fc = json.loads((DATA / "fao_areas.geojson").read_text(encoding="utf-8"))
    areas = {}
    for f in fc["features"]:
        geom = shape(f["geometry"])
        shapely.prepare(geom)
        areas[f["properties"]["code"]] = geom
    return areas


def areas_at(lon: float, lat: float) -> list[str]:
    return [code for code, geom in fao_areas().items() if geom.contains(Point(lon, lat))]


def km_inside_land(lon: float, lat: float) -> float:
    """How far inside the land layer a point is (0 when it is on water)."""
    p = Point(lon, lat)
    if not land().contains(p):
        return 0.0
    # Local equirectangular projection around the point: accurate to well under 1% at 10 km.
    kx, ky = 111.32 * math.cos(math.radians(lat)), 110.57
    near = land().boundary.intersection(box(lon - 0.5, lat - 0.5, lon + 0.5, lat + 0.5))
    local = shapely.transform(near, lambda xy: (xy - [lon, lat]) * [kx, ky])
    return float(local.distance(Point(0, 0))) if not local.is_empty else math.inf


# ---------------------------------------------------------------------------- species


def test_species_columns_and_codes() -> None:
    columns, rows = read_csv("species.csv")
    assert columns == SPECIES_COLUMNS
    assert len(rows) >= 60
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate species codes"
    for r in rows:
        assert len(r["code"]) == 3 and r["code"].isalpha() and r["code"].isupper(), r
        assert r["scientific_name"] and r["name_es"] and r["name_en"], r
        assert r["coasts"] in {"pacific", "atlantic", "both", "inland"}, r
        assert r["conapesca_key"] == "", "official CONAPESCA keys are not known: leave them empty"
        assert r["isscaap_group"].isdigit(), r
    assert "WEM" not in codes, "totoaba is protected and must not be offered"


def test_species_match_asfis() -> None:
    asfis = {r["code"]: r for r in read_reference("cl_asfis_species.csv")}
    _, rows = read_csv("species.csv")
    for r in rows:
        ref = asfis.get(r["code"])
        assert ref is not None, f"{r['code']} is not an ASFIS code"
        assert r["scientific_name"] == ref["taxa_scientific_name"].strip(), r["code"]
        assert r["isscaap_group"] == ref["isscaap_group_code"].strip(), r["code"]


# ---------------------------------------------------------------------------- gear


def test_gear_columns_and_codes() -> None:
    columns, rows = read_csv("gear.csv")
    assert columns == GEAR_COLUMNS
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate gear codes"
    assert len({r["isscfg_code"] for r in rows}) == len(rows)
    assert all(r["name_en"] and r["name_es"] for r in rows)
    assert {"GNS", "LLS", "FPO", "LHP", "PS", "OTB", "MDV"} <= set(codes)


def test_gear_match_isscfg() -> None:
    ref = read_reference("cl_isscfg_gear.csv")
    by_abb: dict[str, dict[str, str]] = {}
    for r in ref:
        abb = r["std_abb"].strip()
        if abb not in ("", "-"):
            by_abb.setdefault(abb, r)
    _, rows = read_csv("gear.csv")
    for r in rows:
        assert r["code"] in by_abb, f"{r['code']} is not an ISSCFG abbreviation"
        assert r["isscfg_code"] == by_abb[r["code"]]["code"]
        assert r["name_en"] == by_abb[r["code"]]["label"]
    assert {r["code"] for r in rows} == set(by_abb), "every ISSCFG abbreviation is shipped"


# ---------------------------------------------------------------------------- ports


def test_port_columns_and_codes() -> None:
    columns, rows = read_csv("ports.csv")
    assert columns == PORT_COLUMNS
    assert len(rows) >= 10
    codes = [r["code"] for r in rows if r["code"]]
    assert len(codes) == len(set(codes)), "duplicate port codes"
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names))
    for r in rows:
        assert r["coast"] in {"pacific", "atlantic"}, r
        assert r["state"], r
        assert not r["code"] or (r["code"].startswith("MX ") and len(r["code"]) == 6), r


def test_port_codes_match_unlocode() -> None:
    known = {r["code"] for r in read_reference("cl_unlocode_mx.csv", encoding="latin-1")}
    _, rows = read_csv("ports.csv")
    for r in rows:
        assert not r["code"] or r["code"] in known, r


def test_ports_are_in_mexico_at_the_waterfront() -> None:
    _, rows = read_csv("ports.csv")
    w, s, e, n = MEXICO_BBOX
    for r in rows:
        lon, lat = float(r["lon"]), float(r["lat"])
        assert w <= lon <= e and s <= lat <= n, r["name"]
        assert km_inside_land(lon, lat) <= 3.0, f"{r['name']} is more than 3 km inland"


def test_ports_fall_in_the_marine_area_of_their_coast() -> None:
    _, rows = read_csv("ports.csv")
    for r in rows:
        expected = "77" if r["coast"] == "pacific" else "31"
        assert areas_at(float(r["lon"]), float(r["lat"])) == [expected], r["name"]


# ---------------------------------------------------------------------------- land


def test_land_layer_is_valid_and_documented() -> None:
    fc = json.loads((DATA / "land.geojson").read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection"
    for f in fc["features"]:
        assert f["properties"]["name"] == "land"
        assert f["properties"]["source"]
        geom = shape(f["geometry"])
        assert isinstance(geom, Polygon | MultiPolygon)
        assert geom.is_valid, shapely.is_valid_reason(geom)


@pytest.mark.parametrize("name", sorted(SEA))
def test_known_sea_points_are_not_on_land(name: str) -> None:
    (lon, lat), _ = SEA[name]
    assert not land().contains(Point(lon, lat)), name


@pytest.mark.parametrize("name", sorted(LAND))
def test_known_land_points_are_on_land(name: str) -> None:
    assert land().contains(Point(*LAND[name])), name


def test_near_shore_water_is_not_land() -> None:
    # 1-2 km off the harbour entrances, on open water.
    for lon, lat in [(-106.425, 23.175), (-116.64, 31.84), (-96.11, 19.215), (-89.66, 21.31)]:
        assert not land().contains(Point(lon, lat)), (lon, lat)


# ---------------------------------------------------------------------------- FAO areas


def test_fao_areas_properties_and_validity() -> None:
    fc = json.loads((DATA / "fao_areas.geojson").read_text(encoding="utf-8"))
    codes = [f["properties"]["code"] for f in fc["features"]]
    assert sorted(codes) == ["02", "31", "77"]
    for f in fc["features"]:
        props = f["properties"]
        assert props["name_en"] and props["name_es"] and props["source"], props
        geom = shape(f["geometry"])
        assert isinstance(geom, Polygon | MultiPolygon)
        assert geom.is_valid, shapely.is_valid_reason(geom)


def test_fao_area_names_match_reference() -> None:
    ref = {r["code"]: r for r in read_reference("cl_fao_areas.csv")}
    fc = json.loads((DATA / "fao_areas.geojson").read_text(encoding="utf-8"))
    for f in fc["features"]:
        props = f["properties"]
        assert props["name_en"] == ref[props["code"]]["label_en"]
        assert props["name_es"] == ref[props["code"]]["label_es"]


@pytest.mark.parametrize("name", sorted(SEA))
def test_sea_points_fall_in_their_fao_area(name: str) -> None:
    (lon, lat), area = SEA[name]
    assert areas_at(lon, lat) == [area], name


@pytest.mark.parametrize("name", sorted(LAND))
def test_inland_points_fall_in_area_02(name: str) -> None:
    assert areas_at(*LAND[name]) == ["02"], name


def test_fao_areas_are_disjoint() -> None:
    areas = fao_areas()
    for a, b in [("77", "31"), ("77", "02"), ("31", "02")]:
        # Rounding coordinates to 1e-4 deg can leave slivers of ~1e-7 deg2 (~0.001 km2).
        assert areas[a].intersection(areas[b]).area < 1e-5, (a, b)


def test_mexican_waters_are_covered_by_the_right_marine_area() -> None:
    """On a 0.25 deg grid over Mexico: water is in exactly one marine area, never in 02."""
    areas = fao_areas()
    checked = 0
    for i in range(int((-86.0 + 118.5) / 0.25) + 1):
        for j in range(int((32.75 - 14.0) / 0.25) + 1):
            lon, lat = -118.5 + 0.25 * i, 14.0 + 0.25 * j
            if land_filled().contains(Point(lon, lat)):
                continue
            found = areas_at(lon, lat)
            assert len(found) == 1 and found[0] in {"77", "31"}, (lon, lat, found)
            if lon < -99.0 or (lat < 16.0 and lon < -93.0):
                assert found == ["77"], (lon, lat)
            elif (lat > 18.3 and lon > -98.5) or (lat > 15.5 and lon > -92.0):
                assert found == ["31"], (lon, lat)
            checked += 1
    assert checked > 1000
    assert areas["02"].contains(Point(-99.13, 19.43))
