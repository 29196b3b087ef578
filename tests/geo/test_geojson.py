"""Tests for geo.geojson parsing, GeoError and the message catalogue."""

from __future__ import annotations

import math
import pickle
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

# Imported from the submodules: a stale editable install can expose ``geo``
# as a namespace package (no __init__ run) when the tests run outside the repo
# root. The package-level re-exports are checked in a subprocess below.
from geo.errors import ERROR_CODES, GeoError
from geo.geojson import (
    parse_feature_collection_polygons,
    parse_linestring,
    parse_point,
    parse_polygonal,
    to_geojson,
)
from geo.messages import MESSAGES, render

REPO_ROOT = Path(__file__).resolve().parents[2]

SQUARE = [[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]]
BOW_TIE = [[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]


def point(*coords: Any) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(coords)}


def polygon(*rings: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(geometry: Any, properties: Any = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def raises(code: str, fn: Any, obj: Any, **kwargs: Any) -> GeoError:
    with pytest.raises(GeoError) as info:
        fn(obj, **kwargs)
    assert info.value.code == code, repr(info.value)
    return info.value


# --------------------------------------------------------------------------- examples per code

EXAMPLES: list[tuple[str, Any, Any, dict[str, object], tuple[str | int, ...]]] = [
    # (code, parser, input, expected params, expected path)
    ("not_an_object", parse_point, [1, 2], {"got": "array"}, ()),
    ("not_an_object", parse_polygonal, "POLYGON((0 0, ...))", {"got": "string"}, ()),
    (
        "unknown_geometry_type",
        parse_point,
        {"type": "point", "coordinates": [1, 2]},
        {"got": "point"},
        ("type",),
    ),
    ("unknown_geometry_type", parse_point, {"coordinates": [1, 2]}, {"got": "null"}, ("type",)),
    (
        "wrong_geometry_type",
        parse_point,
        {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        {"expected": "Point", "got": "LineString"},
        ("type",),
    ),
    (
        "wrong_geometry_type",
        parse_linestring,
        point(1, 2),
        {"expected": "LineString", "got": "Point"},
        ("type",),
    ),
    (
        "wrong_geometry_type",
        parse_polygonal,
        point(1, 2),
        {"expected": "Polygon/MultiPolygon", "got": "Point"},
        ("type",),
    ),
    (
        "wrong_geometry_type",
        parse_polygonal,
        feature(feature(polygon(SQUARE))),
        {"expected": "Polygon/MultiPolygon", "got": "Feature"},
        ("geometry", "type"),
    ),
    ("missing_coordinates", parse_point, {"type": "Point"}, {}, ("coordinates",)),
    ("missing_coordinates", parse_point, point(5), {}, ("coordinates",)),
    (
        "missing_coordinates",
        parse_point,
        {"type": "Point", "coordinates": "1,2"},
        {},
        ("coordinates",),
    ),
    (
        "missing_coordinates",
        parse_linestring,
        {"type": "LineString", "coordinates": [[0, 0], 7]},
        {},
        ("coordinates", 1),
    ),
    ("missing_coordinates", parse_polygonal, polygon([0, 0, 1, 1]), {}, ("coordinates", 0, 0)),
    (
        "missing_features",
        parse_feature_collection_polygons,
        {"type": "FeatureCollection"},
        {},
        ("features",),
    ),
    ("not_a_number", parse_point, point("1.5", 2), {"got": "string"}, ("coordinates", 0)),
    ("not_a_number", parse_point, point(1, True), {"got": "boolean"}, ("coordinates", 1)),
    ("not_a_number", parse_point, point(1, None), {"got": "null"}, ("coordinates", 1)),
    ("not_a_number", parse_point, point(1, 2, "high"), {"got": "string"}, ("coordinates", 2)),
    ("not_finite", parse_point, point(math.nan, 2), {"value": "NaN"}, ("coordinates", 0)),
    ("not_finite", parse_point, point(1, -math.inf), {"value": "-Infinity"}, ("coordinates", 1)),
    ("not_finite", parse_point, point(1, 2, math.inf), {"value": "Infinity"}, ("coordinates", 2)),
    ("too_many_dimensions", parse_point, point(1, 2, 3, 4), {"got": 4}, ("coordinates",)),
    ("longitude_out_of_range", parse_point, point(180.5, 2), {"value": 180.5}, ("coordinates", 0)),
    (
        "longitude_out_of_range",
        parse_point,
        point(-(10**400), 2),
        {"value": -(10**400)},
        ("coordinates", 0),
    ),
    ("latitude_out_of_range", parse_point, point(1, 95.0), {"value": 95.0}, ("coordinates", 1)),
    (
        "latitude_out_of_range",
        parse_linestring,
        {"type": "LineString", "coordinates": [[0, 0], [1, -90.01]]},
        {"value": -90.01},
        ("coordinates", 1, 1),
    ),
    (
        "too_few_points",
        parse_linestring,
        {"type": "LineString", "coordinates": [[0, 0]]},
        {"min": 2, "got": 1},
        ("coordinates",),
    ),
    (
        "too_few_points",
        parse_polygonal,
        polygon([[0, 0], [1, 0], [0, 0]]),
        {"min": 4, "got": 3},
        ("coordinates", 0),
    ),
    (
        "too_many_vertices",
        parse_linestring,
        {"type": "LineString", "coordinates": [[0, 0]] * 20_001},
        {"max": 20_000, "got": 20_001},
        ("coordinates",),
    ),
    (
        "ring_not_closed",
        parse_polygonal,
        polygon(SQUARE, [[1, 1], [2, 1], [2, 2], [1, 2]]),
        {},
        ("coordinates", 1),
    ),
    ("empty_geometry", parse_point, point(), {}, ("coordinates",)),
    (
        "empty_geometry",
        parse_linestring,
        {"type": "LineString", "coordinates": []},
        {},
        ("coordinates",),
    ),
    ("empty_geometry", parse_polygonal, polygon(), {}, ("coordinates",)),
    (
        "empty_geometry",
        parse_polygonal,
        {"type": "MultiPolygon", "coordinates": []},
        {},
        ("coordinates",),
    ),
    ("empty_geometry", parse_polygonal, feature(None), {}, ("geometry",)),
    (
        "self_intersection",
        parse_polygonal,
        polygon(BOW_TIE),
        {"x": 1.0, "y": 1.0},
        ("coordinates", 0),
    ),
    (
        "invalid_geometry",
        parse_polygonal,
        polygon(SQUARE, [[5, 5], [6, 5], [6, 6], [5, 5]]),
        {"reason": "Hole lies outside shell[5 5]", "x": 5.0, "y": 5.0},
        ("coordinates",),
    ),
]


@pytest.mark.parametrize(
    ("code", "parser", "obj", "params", "path"),
    EXAMPLES,
    ids=[f"{e[0]}-{i}" for i, e in enumerate(EXAMPLES)],
)
def test_error_examples(
    code: str, parser: Any, obj: Any, params: dict[str, object], path: tuple[str | int, ...]
) -> None:
    err = raises(code, parser, obj)
    assert err.params == params
    assert err.path == path
    assert isinstance(err, ValueError)
    assert str(err) == render(code, params, "en")


def test_every_code_has_an_example() -> None:
    assert {e[0] for e in EXAMPLES} == set(ERROR_CODES)


def test_too_few_distinct_points_is_invalid_geometry() -> None:
    err = raises("invalid_geometry", parse_polygonal, polygon([[0, 0], [1, 0], [0, 0], [0, 0]]))
    assert err.params["reason"] == "Too few points in geometry component[0 0]"
    assert err.path == ("coordinates", 0)


def test_multipolygon_error_paths() -> None:
    multi = {
        "type": "MultiPolygon",
        "coordinates": [[SQUARE], [[[10, 10], [11, 10], [11, 11], [10, 10.5]]]],
    }
    assert raises("ring_not_closed", parse_polygonal, multi).path == ("coordinates", 1, 0)

    multi["coordinates"] = [[SQUARE], [BOW_TIE]]
    err = raises("self_intersection", parse_polygonal, feature(multi))
    assert err.path == ("geometry", "coordinates", 1, 0)

    # Parts valid on their own but overlapping: only the whole is to blame.
    multi["coordinates"] = [[SQUARE], [[[1, 1], [4, 1], [4, 4], [1, 4], [1, 1]]]]
    err = raises("self_intersection", parse_polygonal, multi)
    assert err.path == ("coordinates",)


def test_polygon_vertex_limit() -> None:
    err = raises("too_many_vertices", parse_polygonal, polygon(SQUARE, SQUARE), max_vertices=9)
    assert err.params == {"max": 9, "got": 10}
    assert parse_polygonal(polygon(SQUARE), max_vertices=5).area == 9


def test_point_accepts_altitude_and_drops_it() -> None:
    p = parse_point(point(-110.3, 24.1, 12.5))
    assert not p.has_z
    assert (p.x, p.y) == (-110.3, 24.1)


def test_point_accepts_ints_and_bounds() -> None:
    for lon, lat in [(-180, -90), (180, 90), (0, 0)]:
        p = parse_point(point(lon, lat))
        assert (p.x, p.y) == (float(lon), float(lat))


def test_linestring_parses_and_may_cross_itself() -> None:
    track = {"type": "LineString", "coordinates": BOW_TIE}
    line = parse_linestring(track)
    assert isinstance(line, shapely.LineString)
    assert len(line.coords) == 5
    assert to_geojson(line) == {
        "type": "LineString",
        "coordinates": [[float(x), float(y)] for x, y in BOW_TIE],
    }


def test_polygon_always_returns_multipolygon_2d() -> None:
    ring3d = [[x, y, 5] for x, y in SQUARE]
    mp = parse_polygonal(polygon(ring3d, [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]]))
    assert isinstance(mp, shapely.MultiPolygon)
    assert not mp.has_z
    assert mp.area == 8


def test_feature_collection() -> None:
    result = parse_feature_collection_polygons(
        collection(
            feature(polygon(SQUARE), {"name": "Zona A"}),
            feature({"type": "MultiPolygon", "coordinates": [[SQUARE]]}),
        )
    )
    assert [props for props, _ in result] == [{"name": "Zona A"}, {}]
    assert all(isinstance(g, shapely.MultiPolygon) for _, g in result)
    assert parse_feature_collection_polygons(collection()) == []


def test_feature_collection_errors() -> None:
    err = raises(
        "self_intersection",
        parse_feature_collection_polygons,
        collection(feature(polygon(SQUARE)), feature(polygon(BOW_TIE))),
    )
    assert err.path == ("features", 1, "geometry", "coordinates", 0)

    err = raises(
        "latitude_out_of_range",
        parse_feature_collection_polygons,
        collection(feature(polygon([[0, 0], [1, 0], [1, 91], [0, 0]]))),
    )
    assert err.path == ("features", 0, "geometry", "coordinates", 0, 2, 1)

    err = raises(
        "wrong_geometry_type", parse_feature_collection_polygons, collection(polygon(SQUARE))
    )
    assert err.params == {"expected": "Feature", "got": "Polygon"}
    assert err.path == ("features", 0, "type")

    err = raises("wrong_geometry_type", parse_feature_collection_polygons, polygon(SQUARE))
    assert err.params == {"expected": "FeatureCollection", "got": "Polygon"}

    err = raises(
        "not_an_object",
        parse_feature_collection_polygons,
        collection(feature(polygon(SQUARE), ["a"])),
    )
    assert err.path == ("features", 0, "properties")

    err = raises("not_an_object", parse_feature_collection_polygons, collection(None))
    assert err.path == ("features", 0)

    # The limit covers the whole collection, not each feature.
    err = raises(
        "too_many_vertices",
        parse_feature_collection_polygons,
        collection(feature(polygon(SQUARE)), feature(polygon(SQUARE))),
        max_vertices=9,
    )
    assert err.params == {"max": 9, "got": 10}
    assert err.path == ("features",)


def test_error_pickles() -> None:
    err = GeoError("self_intersection", {"x": -110.2, "y": 24.1}, ("coordinates", 0))
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.params, copy.path, str(copy)) == (
        err.code,
        err.params,
        err.path,
        str(err),
    )


# --------------------------------------------------------------------------- properties

lons = st.floats(min_value=-180, max_value=180, allow_nan=False, allow_infinity=False)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False, allow_infinity=False)


@given(lon=lons, lat=lats, alt=st.none() | st.floats(allow_nan=False, allow_infinity=False))
def test_valid_point_round_trips(lon: float, lat: float, alt: float | None) -> None:
    obj = point(lon, lat) if alt is None else point(lon, lat, alt)
    p = parse_point(obj)
    assert (p.x, p.y) == (lon, lat)
    out = to_geojson(p)
    assert out == {"type": "Point", "coordinates": [lon, lat]}
    assert type(out["coordinates"]) is list
    assert parse_point(out).equals_exact(p, 0)


@given(
    coords=st.lists(st.tuples(lons, lats), min_size=2, max_size=50),
)
def test_valid_linestring_round_trips(coords: list[tuple[float, float]]) -> None:
    obj = {"type": "LineString", "coordinates": [list(c) for c in coords]}
    line = parse_linestring(obj)
    assert to_geojson(line) == obj


out_of_range_lons = (
    st.floats(min_value=180, exclude_min=True, allow_infinity=False)
    | st.floats(max_value=-180, exclude_max=True, allow_infinity=False)
    | st.integers(min_value=181)
    | st.integers(max_value=-181)
)
out_of_range_lats = (
    st.floats(min_value=90, exclude_min=True, allow_infinity=False)
    | st.floats(max_value=-90, exclude_max=True, allow_infinity=False)
    | st.integers(min_value=91)
    | st.integers(max_value=-91)
)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])


@given(lon=out_of_range_lons, lat=lats)
def test_out_of_range_longitude_rejected(lon: float, lat: float) -> None:
    err = raises("longitude_out_of_range", parse_point, point(lon, lat))
    assert err.params == {"value": lon}
    assert err.path == ("coordinates", 0)


@given(lon=lons, lat=out_of_range_lats)
def test_out_of_range_latitude_rejected(lon: float, lat: float) -> None:
    err = raises("latitude_out_of_range", parse_point, point(lon, lat))
    assert err.params == {"value": lat}
    assert err.path == ("coordinates", 1)


@given(value=non_finite, axis=st.sampled_from([0, 1]), lon=lons, lat=lats)
def test_non_finite_rejected(value: float, axis: int, lon: float, lat: float) -> None:
    coords = [lon, lat]
    coords[axis] = value
    err = raises("not_finite", parse_point, point(*coords))
    assert err.path == ("coordinates", axis)
    assert err.params["value"] in {"NaN", "Infinity", "-Infinity"}


@given(
    value=st.booleans()
    | st.text(max_size=5)
    | st.none()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    axis=st.sampled_from([0, 1]),
)
def test_non_numbers_rejected(value: object, axis: int) -> None:
    coords: list[object] = [10.0, 20.0]
    coords[axis] = value
    err = raises("not_a_number", parse_point, point(*coords))
    assert err.path == ("coordinates", axis)


@given(
    lon=st.floats(min_value=-170, max_value=170),
    lat=st.floats(min_value=-80, max_value=80),
    width=st.floats(min_value=1e-6, max_value=10),
    height=st.floats(min_value=1e-6, max_value=10),
    radius=st.floats(min_value=1e-4, max_value=9),
    use_buffer=st.booleans(),
)
@settings(deadline=None)
def test_random_valid_polygon_parses(
    lon: float, lat: float, width: float, height: float, radius: float, use_buffer: bool
) -> None:
    shape = (
        shapely.Point(lon, lat).buffer(radius)
        if use_buffer
        else shapely.box(lon, lat, lon + width, lat + height)
    )
    assume(shape.is_valid and not shape.is_empty)
    for obj in (to_geojson(shape), feature(to_geojson(shape))):
        parsed = parse_polygonal(obj)
        assert isinstance(parsed, shapely.MultiPolygon)
        assert parsed.equals_exact(shapely.MultiPolygon([shape]), 0)
    assert parse_polygonal(to_geojson(parsed)).equals_exact(parsed, 0)


@given(
    x0=st.floats(min_value=-170, max_value=160),
    y0=st.floats(min_value=-80, max_value=70),
    size=st.floats(min_value=1e-3, max_value=10),
    as_multi=st.booleans(),
)
@settings(deadline=None)
def test_bow_tie_reports_crossing_point(x0: float, y0: float, size: float, as_multi: bool) -> None:
    x1, y1 = x0 + 2 * size, y0 + 2 * size
    ring = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
    obj: dict[str, Any] = (
        {"type": "MultiPolygon", "coordinates": [[ring]]} if as_multi else polygon(ring)
    )
    err = raises("self_intersection", parse_polygonal, obj)
    assert set(err.params) == {"x", "y"}
    # GEOS prints the location with limited precision.
    tol = 1e-6 * max(1.0, abs(x0), abs(y0))
    assert err.params["x"] == pytest.approx((x0 + x1) / 2, abs=tol)
    assert err.params["y"] == pytest.approx((y0 + y1) / 2, abs=tol)
    assert err.path == (("coordinates", 0, 0) if as_multi else ("coordinates", 0))


# --------------------------------------------------------------------------- messages

FORMAT_FIELDS = string.Formatter()


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in FORMAT_FIELDS.parse(template) if name}


def test_every_code_has_english_and_spanish() -> None:
    assert set(MESSAGES) == set(ERROR_CODES)
    for code, texts in MESSAGES.items():
        assert set(texts) == {"en", "es"}, code
        assert texts["en"] and texts["es"] and texts["en"] != texts["es"], code
        # Both languages must use the same placeholders.
        assert _fields(texts["en"]) == _fields(texts["es"]), code


def test_messages_render_with_params_actually_raised() -> None:
    # Check against errors as the parsers really raise them, not hand-made params.
    raised = [raises(code, parser, obj) for code, parser, obj, _, _ in EXAMPLES]
    assert {e.code for e in raised} == set(ERROR_CODES)
    for err in raised:
        template_fields = _fields(MESSAGES[err.code]["en"])
        assert template_fields <= set(err.params), (err.code, err.params)
        for lang in ("en", "es"):
            text = render(err.code, err.params, lang)
            assert "{" not in text, text
            assert text == err.message(lang)


def test_render_fallbacks() -> None:
    params = {"value": 95.0}
    assert render("latitude_out_of_range", params, "es") == (
        "La latitud 95.0 está fuera del rango de -90 a 90."
    )
    assert render("latitude_out_of_range", params, "es-MX") == render(
        "latitude_out_of_range", params, "es"
    )
    assert render("latitude_out_of_range", params, "fr") == (
        "Latitude 95.0 is outside the range -90 to 90."
    )
    # Missing params or unknown codes must never turn into a server error.
    assert render("latitude_out_of_range", {}, "en") == MESSAGES["latitude_out_of_range"]["en"]
    assert render("no_such_code", {}, "es") == "no_such_code"


# --------------------------------------------------------------------------- isolation


def test_package_reexports_and_imports_no_web_or_db_layers() -> None:
    code = (
        "import sys, geo, geo.geojson, geo.errors, geo.messages\n"
        "assert geo.__file__ is not None, 'geo imported as a namespace package'\n"
        "for name in geo.__all__:\n"
        "    assert getattr(geo, name) is not None, name\n"
        "assert geo.parse_point is geo.geojson.parse_point\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'flask_smorest', 'server', 'exports', 'sqlalchemy', 'geoalchemy2', 'psycopg'})\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
