"""Marshmallow fields for GeoJSON geometries, validated by ``geo`` with its error codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from shapely.geometry.base import BaseGeometry

import geo
from server.errors import Coded, invalid_field


def geo_validation_error(err: geo.GeoError) -> ValidationError:
    """Nest the message under the geometry's inner path, e.g. ``coordinates.1``."""
    message: Any = [Coded(err.code, **err.params)]
    for key in reversed(err.path):
        message = {key: message}
    return ValidationError(message)


class _Geometry(fields.Field):
    parser: Callable[[object], BaseGeometry]

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> BaseGeometry:
        try:
            return type(self).parser(value)
        except geo.GeoError as err:
            raise geo_validation_error(err) from err

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, BaseGeometry):
            return geo.to_geojson(value)
        return value  # already GeoJSON (rendered by PostGIS)


class GeoPoint(_Geometry):
    parser = staticmethod(geo.parse_point)


class GeoLineString(_Geometry):
    parser = staticmethod(geo.parse_linestring)


class GeoPolygonal(_Geometry):
    """A Polygon or MultiPolygon (or a Feature holding one), always loaded as a MultiPolygon."""

    parser = staticmethod(geo.parse_polygonal)


MAX_RADIUS_KM = 1000.0  # about the width of Mexico's widest sea


class NearQuery(Schema):
    """Query parameters of a search near a point: ``lon`` and ``lat`` together, and a
    ``radius_km`` only with them. ``sort=distance``, where a schema has it, needs them too."""

    lon = fields.Float(load_default=None, allow_nan=False,
                       validate=validate.Range(min=-180, max=180))
    lat = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=-90, max=90))
    radius_km = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(
        min=0, min_inclusive=False, max=MAX_RADIUS_KM))

    @validates_schema
    def _point(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise invalid_field("lat" if data.get("lat") is None else "lon", "point_incomplete")
        if data.get("radius_km") is not None and data.get("lon") is None:
            raise invalid_field("radius_km", "radius_needs_point")
        if data.get("sort") == "distance" and data.get("lon") is None:
            raise invalid_field("sort", "distance_needs_point")
