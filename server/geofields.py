"""Marshmallow fields for GeoJSON geometries, validated by ``geo`` with its error codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError, fields
from shapely.geometry.base import BaseGeometry

import geo
from server.errors import Coded


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
