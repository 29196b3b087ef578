"""geo.hexgrid: a point lies in the polygon of its own cell, everywhere that matters."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from geo import hexgrid

REPO_ROOT = Path(__file__).resolve().parents[2]

# Straight lon/lat edges stand in for H3's great-circle edges: the gap is far
# below a metre at resolution 6 (1e-5 degrees is ~1 m); polar cells excepted.
TOLERANCE_DEG = 1e-5

lons = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
lats = st.floats(min_value=-80.0, max_value=80.0, allow_nan=False)
# Mexico's Pacific and Gulf waters, where the data is.
mx_lons = st.floats(min_value=-118.0, max_value=-86.0, allow_nan=False)
mx_lats = st.floats(min_value=14.0, max_value=32.5, allow_nan=False)


def _near(poly: Polygon, lon: float, lat: float, tol: float) -> bool:
    pt = Point(lon, lat)
    if poly.covers(pt) or poly.distance(pt) <= tol:
        return True
    # A cell across the antimeridian is drawn next to its first vertex, so
    # the point may sit a whole turn away from the polygon's longitudes.
    return any(poly.distance(Point(lon + shift, lat)) <= tol for shift in (-360.0, 360.0))


@settings(max_examples=400, deadline=None)
@given(lons, lats)
def test_point_lies_in_its_cell(lon: float, lat: float) -> None:
    cell = hexgrid.cell_of(lon, lat)
    assert _near(hexgrid.cell_polygon(cell), lon, lat, TOLERANCE_DEG)


@settings(max_examples=400, deadline=None)
@given(mx_lons, mx_lats)
def test_point_lies_in_its_cell_in_mexico(lon: float, lat: float) -> None:
    # At these latitudes the straight edges are within centimetres of H3's.
    poly = hexgrid.cell_polygon(hexgrid.cell_of(lon, lat))
    pt = Point(lon, lat)
    assert poly.covers(pt) or poly.distance(pt) <= 1e-6


@settings(max_examples=200, deadline=None)
@given(lons, lats, st.integers(min_value=0, max_value=15))
def test_cell_is_of_the_resolution_asked(lon: float, lat: float, res: int) -> None:
    cell = hexgrid.cell_of(lon, lat, res)
    assert hexgrid.cell_resolution(cell) == res
    assert hexgrid.is_cell(cell, res)


@settings(max_examples=200, deadline=None)
@given(mx_lons, mx_lats)
def test_polygon_is_a_closed_valid_hexagon(lon: float, lat: float) -> None:
    cell = hexgrid.cell_of(lon, lat)
    poly = hexgrid.cell_polygon(cell)
    coords = list(poly.exterior.coords)
    assert coords[0] == coords[-1]
    assert len(coords) == 7  # six vertices (a pentagon has five; none near Mexico)
    assert poly.is_valid
    clon, clat = hexgrid.cell_center(cell)
    assert poly.contains(Point(clon, clat))
    assert hexgrid.cell_of(clon, clat) == cell


def test_default_resolution_cell_size() -> None:
    cell = hexgrid.cell_of(-106.55, 23.05)
    assert cell == "864833a37ffffff"
    poly = hexgrid.cell_polygon(cell)
    # ~36 km² in degrees² at 23°N: 36 / (111.3 * 102.5)
    area_km2 = poly.area * 111.32 * 111.32 * math.cos(math.radians(23.05))
    assert 25 < area_km2 < 50


def test_antimeridian_cell_stays_small() -> None:
    cell = hexgrid.cell_of(180.0, 0.0)
    poly = hexgrid.cell_polygon(cell)
    minx, _, maxx, _ = poly.bounds
    assert maxx - minx < 1.0


@pytest.mark.parametrize(("lon", "lat"), [(math.nan, 0.0), (0.0, math.inf), (181.0, 0.0),
                                          (0.0, -90.5)])
def test_bad_positions_are_refused(lon: float, lat: float) -> None:
    with pytest.raises(ValueError):
        hexgrid.cell_of(lon, lat)


def test_bad_resolution_is_refused() -> None:
    with pytest.raises(ValueError):
        hexgrid.cell_of(0.0, 0.0, 16)


@pytest.mark.parametrize("value", ["", "zz", "864833a37fffff", "864833A37FFFFFF",
                                   "854833a3fffffff"])
def test_is_cell_rejects_junk_and_other_resolutions(value: str) -> None:
    assert not hexgrid.is_cell(value)


def test_hexgrid_imports_neither_flask_nor_server() -> None:
    code = ("import sys, geo.hexgrid; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'server', 'exports')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_cell_geojson_is_the_rounded_closed_ring() -> None:
    import orjson

    cell = hexgrid.cell_of(-112.15, 24.55)
    doc = orjson.loads(hexgrid.cell_geojson(cell))
    assert doc["type"] == "Polygon" and len(doc["coordinates"]) == 1
    ring = doc["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert ring == [[round(x, hexgrid.GEOJSON_DECIMALS), round(y, hexgrid.GEOJSON_DECIMALS)]
                    for x, y in hexgrid.cell_ring(cell)]
    assert " " not in hexgrid.cell_geojson(cell)  # compact: spliced into pages as it is
