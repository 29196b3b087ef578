"""Strict GeoJSON (RFC 7946) parsing into Shapely geometries, and back.

Everything arriving here comes from untrusted clients (mobile apps used at
sea, CSV/GeoJSON imports), so the parsers check the JSON shape themselves
instead of handing it to ``shapely.geometry.shape``: that function accepts
NaN, out-of-range and string coordinates, and its errors say nothing about
*where* the problem is. Every rejection is a ``GeoError`` with a path into
the submitted document.

Coordinates are WGS 84 longitude/latitude as the RFC mandates; altitude is
accepted (GPS units send it) but dropped, so results are always 2D.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from geo.errors import GeoError, PathElement

__all__ = [
    "DEFAULT_MAX_POLYGON_VERTICES",
    "DEFAULT_MAX_TRACK_VERTICES",
    "parse_feature_collection_polygons",
    "parse_linestring",
    "parse_point",
    "parse_polygonal",
    "to_geojson",
]

Path = tuple[PathElement, ...]

# Limits keep validation (O(n log n) in GEOS) and storage bounded per request.
# A day-long track at one fix every 5 s is ~17k points; 200k polygon vertices
# covers detailed coastline-following fishing zones.
DEFAULT_MAX_TRACK_VERTICES = 20_000
DEFAULT_MAX_POLYGON_VERTICES = 200_000

_GEOJSON_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
    }
)

_POLYGONAL = "Polygon/MultiPolygon"

# GEOS reports the location of the problem as "<reason>[<x> <y>]".
_VALIDITY_RE = re.compile(r"^(?P<reason>.*?)\s*\[(?P<x>\S+) (?P<y>\S+)\]\s*$")
_SELF_INTERSECTION_REASONS = frozenset({"Self-intersection", "Ring Self-intersection"})


# --------------------------------------------------------------------------- helpers


def _json_type(value: object) -> str:
    """Name a value the way a JSON client would understand it."""
    if value is None:
        return "null"
    # bool before int/float: bool is an int subclass.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _require_object(obj: object, path: Path) -> Mapping[str, object]:
    if not isinstance(obj, Mapping):
        raise GeoError("not_an_object", {"got": _json_type(obj)}, path)
    return obj


def _geojson_type(obj: Mapping[str, object], path: Path) -> str:
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _GEOJSON_TYPES:
        # Truncated: the value is echoed back to the client and into logs.
        got = kind[:50] if isinstance(kind, str) else _json_type(kind)
        raise GeoError("unknown_geometry_type", {"got": got}, (*path, "type"))
    return kind


def _expect_type(obj: Mapping[str, object], expected: str, path: Path) -> None:
    kind = _geojson_type(obj, path)
    if kind != expected:
        raise GeoError("wrong_geometry_type", {"expected": expected, "got": kind}, (*path, "type"))


def _array(value: object, path: Path) -> Sequence[object]:
    # Strings are sequences too; never let "1,2" pass as a coordinate list.
    if not isinstance(value, list | tuple):
        raise GeoError("missing_coordinates", {}, path)
    return value


def _coordinates(obj: Mapping[str, object], path: Path) -> Sequence[object]:
    return _array(obj.get("coordinates"), (*path, "coordinates"))


def _number(value: object, path: Path) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeoError("not_a_number", {"got": _json_type(value)}, path)
    if isinstance(value, float) and not math.isfinite(value):
        # Spelled as JavaScript would, and as a string so the params stay
        # JSON-serialisable (orjson turns NaN into null).
        spelled = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        raise GeoError("not_finite", {"value": spelled}, path)
    return value


def _position(value: object, path: Path) -> tuple[float, float]:
    pos = _array(value, path)
    if len(pos) < 2:
        raise GeoError("missing_coordinates", {}, path)
    if len(pos) > 3:
        # RFC 7946 leaves a 4th element undefined; more often than not it is a
        # client mixing up pairs, so refuse rather than guess.
        raise GeoError("too_many_dimensions", {"got": len(pos)}, path)
    # Range checks run on the original value: ints compare exactly with floats,
    # and a huge int would overflow float() before we could report it.
    lon = _number(pos[0], (*path, 0))
    if not -180 <= lon <= 180:
        raise GeoError("longitude_out_of_range", {"value": lon}, (*path, 0))
    lat = _number(pos[1], (*path, 1))
    if not -90 <= lat <= 90:
        raise GeoError("latitude_out_of_range", {"value": lat}, (*path, 1))
    if len(pos) == 3:
        # Altitude is discarded, but garbage there still means a broken client.
        _number(pos[2], (*path, 2))
    return float(lon), float(lat)


def _validity_error(reason: str, path: Path) -> GeoError:
    match = _VALIDITY_RE.match(reason)
    location: dict[str, object] = {}
    if match is not None:
        try:
            location = {"x": float(match["x"]), "y": float(match["y"])}
        except ValueError:
            location = {}
    if match is not None and location and match["reason"] in _SELF_INTERSECTION_REASONS:
        return GeoError("self_intersection", location, path)
    return GeoError("invalid_geometry", {"reason": reason, **location}, path)


# --------------------------------------------------------------------------- points, lines


def parse_point(obj: object) -> Point:
    """Parse a GeoJSON Point into a 2D ``shapely.Point``."""
    geom = _require_object(obj, ())
    _expect_type(geom, "Point", ())
    coords = _coordinates(geom, ())
    if len(coords) == 0:
        # RFC 7946 §3.1: an empty "coordinates" array is how an empty geometry
        # is spelled, which is a different mistake from a truncated position.
        raise GeoError("empty_geometry", {}, ("coordinates",))
    lon, lat = _position(coords, ("coordinates",))
    return Point(lon, lat)


def parse_linestring(obj: object, *, max_vertices: int = DEFAULT_MAX_TRACK_VERTICES) -> LineString:
    """Parse a GeoJSON LineString (e.g. a GPS track) into a 2D ``shapely.LineString``.

    Self-crossing is allowed: boats circle while setting gear.
    """
    geom = _require_object(obj, ())
    _expect_type(geom, "LineString", ())
    coords = _coordinates(geom, ())
    path: Path = ("coordinates",)
    if len(coords) == 0:
        raise GeoError("empty_geometry", {}, path)
    # Checked before touching the positions so oversized payloads fail fast.
    if len(coords) > max_vertices:
        raise GeoError("too_many_vertices", {"max": max_vertices, "got": len(coords)}, path)
    if len(coords) < 2:
        raise GeoError("too_few_points", {"min": 2, "got": len(coords)}, path)
    return LineString([_position(p, (*path, i)) for i, p in enumerate(coords)])


# --------------------------------------------------------------------------- polygons

# Polygon parsing is two passes: first the nesting of arrays (cheap, and lets
# us count vertices before any per-coordinate work), then positions and
# validity.
_RawRing = tuple[Path, Sequence[object]]
_RawPolygon = tuple[Path, list[_RawRing]]


@dataclass(frozen=True, slots=True)
class _RawPolygonal:
    coords_path: Path
    polygons: list[_RawPolygon]

    @property
    def vertex_count(self) -> int:
        return sum(len(ring) for _, rings in self.polygons for _, ring in rings)


def _raw_polygon(value: object, path: Path) -> _RawPolygon:
    rings = _array(value, path)
    if len(rings) == 0:
        raise GeoError("empty_geometry", {}, path)
    raw: list[_RawRing] = []
    for r, ring_value in enumerate(rings):
        ring_path = (*path, r)
        ring = _array(ring_value, ring_path)
        if len(ring) < 4:
            raise GeoError("too_few_points", {"min": 4, "got": len(ring)}, ring_path)
        raw.append((ring_path, ring))
    return path, raw


def _raw_polygonal(obj: object, path: Path, *, allow_feature: bool = True) -> _RawPolygonal:
    geom = _require_object(obj, path)
    kind = _geojson_type(geom, path)
    if kind == "Feature" and allow_feature:
        geometry_path: Path = (*path, "geometry")
        geometry = geom.get("geometry")
        if geometry is None:
            # A null geometry is legal GeoJSON (an "unlocated" feature) but
            # meaningless for a zone.
            raise GeoError("empty_geometry", {}, geometry_path)
        return _raw_polygonal(geometry, geometry_path, allow_feature=False)
    coords_path: Path = (*path, "coordinates")
    if kind == "Polygon":
        return _RawPolygonal(coords_path, [_raw_polygon(_coordinates(geom, path), coords_path)])
    if kind == "MultiPolygon":
        polygons = _coordinates(geom, path)
        if len(polygons) == 0:
            raise GeoError("empty_geometry", {}, coords_path)
        return _RawPolygonal(
            coords_path, [_raw_polygon(p, (*coords_path, i)) for i, p in enumerate(polygons)]
        )
    raise GeoError("wrong_geometry_type", {"expected": _POLYGONAL, "got": kind}, (*path, "type"))


def _build_ring(raw: _RawRing) -> list[tuple[float, float]]:
    ring_path, positions = raw
    ring = [_position(p, (*ring_path, i)) for i, p in enumerate(positions)]
    if ring[0] != ring[-1]:
        raise GeoError("ring_not_closed", {}, ring_path)
    return ring


def _build_polygonal(raw: _RawPolygonal) -> MultiPolygon:
    built: list[tuple[_RawPolygon, list[list[tuple[float, float]]], Polygon]] = []
    for raw_polygon in raw.polygons:
        rings = [_build_ring(r) for r in raw_polygon[1]]
        built.append((raw_polygon, rings, Polygon(rings[0], rings[1:])))
    multi = MultiPolygon([poly for _, _, poly in built])
    if shapely.is_valid(multi):
        return multi
    # Narrow down to the smallest part that is invalid on its own, so the path
    # points at the ring or polygon the user has to fix. Only done on failure:
    # valid input pays for a single validity check.
    for (poly_path, raw_rings), rings, poly in built:
        if shapely.is_valid(poly):
            continue
        for (ring_path, _), ring in zip(raw_rings, rings, strict=True):
            alone = Polygon(ring)
            if not shapely.is_valid(alone):
                raise _validity_error(shapely.is_valid_reason(alone), ring_path)
        raise _validity_error(shapely.is_valid_reason(poly), poly_path)
    # Every polygon is valid by itself, so they overlap or share an edge.
    raise _validity_error(shapely.is_valid_reason(multi), raw.coords_path)


def parse_polygonal(
    obj: object, *, max_vertices: int = DEFAULT_MAX_POLYGON_VERTICES
) -> MultiPolygon:
    """Parse a Polygon, MultiPolygon, or a Feature holding one, into a valid ``MultiPolygon``.

    Always a MultiPolygon so callers (and the PostGIS column) handle one type.
    Ring orientation is not enforced: RFC 7946 tells parsers not to reject on it.
    """
    raw = _raw_polygonal(obj, ())
    count = raw.vertex_count
    if count > max_vertices:
        raise GeoError("too_many_vertices", {"max": max_vertices, "got": count}, raw.coords_path)
    return _build_polygonal(raw)


def parse_feature_collection_polygons(
    obj: object, *, max_vertices: int = DEFAULT_MAX_POLYGON_VERTICES
) -> list[tuple[dict[str, object], MultiPolygon]]:
    """Parse a FeatureCollection of polygonal features into ``(properties, geometry)`` pairs.

    ``max_vertices`` bounds the whole collection, not each feature: the limit
    exists to bound the work per request. Null properties become ``{}``.
    """
    collection = _require_object(obj, ())
    _expect_type(collection, "FeatureCollection", ())
    features = collection.get("features")
    if not isinstance(features, list | tuple):
        raise GeoError("missing_features", {}, ("features",))

    parsed: list[tuple[dict[str, object], _RawPolygonal]] = []
    for i, feature_value in enumerate(features):
        path: Path = ("features", i)
        feature = _require_object(feature_value, path)
        # A bare geometry inside "features" is a common mistake; name it.
        _expect_type(feature, "Feature", path)
        properties = feature.get("properties")
        if properties is None:
            properties = {}
        elif not isinstance(properties, Mapping):
            raise GeoError("not_an_object", {"got": _json_type(properties)}, (*path, "properties"))
        parsed.append((dict(properties), _raw_polygonal(feature, path)))

    count = sum(raw.vertex_count for _, raw in parsed)
    if count > max_vertices:
        raise GeoError("too_many_vertices", {"max": max_vertices, "got": count}, ("features",))
    return [(properties, _build_polygonal(raw)) for properties, raw in parsed]


# --------------------------------------------------------------------------- output


def _jsonable(value: Any) -> Any:
    # mapping() nests tuples; orjson handles them, but other encoders and
    # equality checks against parsed JSON expect lists.
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """Return the GeoJSON geometry object for ``geom``, using lists throughout."""
    result: dict[str, Any] = _jsonable(mapping(geom))
    return result
