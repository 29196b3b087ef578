"""Spatial logic for Cardumen on Shapely values.

Pure library code: no Flask, no database, no imports from ``server`` or
``exports``, so it can be used from the API, batch imports and tests alike.
"""

from geo.errors import ERROR_CODES, ErrorCode, GeoError
from geo.geojson import (
    DEFAULT_MAX_POLYGON_VERTICES,
    DEFAULT_MAX_TRACK_VERTICES,
    parse_feature_collection_polygons,
    parse_linestring,
    parse_point,
    parse_polygonal,
    to_geojson,
)
from geo.messages import MESSAGES, render

__all__ = [
    "DEFAULT_MAX_POLYGON_VERTICES",
    "DEFAULT_MAX_TRACK_VERTICES",
    "ERROR_CODES",
    "MESSAGES",
    "ErrorCode",
    "GeoError",
    "parse_feature_collection_polygons",
    "parse_linestring",
    "parse_point",
    "parse_polygonal",
    "render",
    "to_geojson",
]
