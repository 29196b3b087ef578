"""Hexagon cells (Uber's H3) for maps of aggregated catch.

Authorities see catch summed per cell and month, never a position: this is
the one place that decides which cell a position falls in, so the rollup
(server/ogc) and anything else that needs a cell agree on it.

Resolution 6 by default (average cell 36 km², edge ~3.7 km). A cooperative's
fishing grounds usually span a few of these cells, so several vessels share a
cell and suppression (fewer than 3 vessels) leaves a usable map; resolution 7
(5 km²) comes close to one boat's fishing spot, which is what suppression is
there to hide, and resolution 5 (250 km²) blurs bays, banks and the coastline
together.

Cell edges are great-circle arcs; ``cell_polygon`` joins the vertices with
straight lines in longitude/latitude, which is off by well under a metre at
this resolution outside the polar regions (the property tests bound it).
"""

from __future__ import annotations

import math
from functools import lru_cache

import h3
import orjson
from shapely.geometry import Polygon

RESOLUTION = 6
MIN_RESOLUTION = 0
MAX_RESOLUTION = 15
# ~0.1 m: far finer than a 3.7 km cell edge, a third of the bytes of full floats
GEOJSON_DECIMALS = 6


def _check_lonlat(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"not a finite position: {lon!r}, {lat!r}")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"outside WGS84 bounds: {lon!r}, {lat!r}")


def _check_resolution(resolution: int) -> None:
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"H3 resolution must be {MIN_RESOLUTION}..{MAX_RESOLUTION}: {resolution}")


def cell_of(lon: float, lat: float, resolution: int = RESOLUTION) -> str:
    """The H3 cell (hexadecimal string) holding the point, longitude first like GeoJSON."""
    _check_lonlat(lon, lat)
    _check_resolution(resolution)
    return str(h3.latlng_to_cell(lat, lon, resolution))


def is_cell(value: str, resolution: int | None = RESOLUTION) -> bool:
    """A valid H3 cell string (of ``resolution``, unless None); for untrusted input."""
    try:
        ok = bool(h3.is_valid_cell(value))
    except (TypeError, ValueError):
        return False
    return ok and (resolution is None or h3.get_resolution(value) == resolution) and \
        value == value.lower()


def _unwrapped(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Longitudes made continuous for a cell that crosses the antimeridian.

    Such a ring would otherwise jump from +179 to -179 and wrap the whole
    globe; shifted next to its first vertex it stays a small hexagon, with
    longitudes a little beyond ±180 (no such cell touches Mexico's waters)."""
    lons = [lon for lon, _ in ring]
    if max(lons) - min(lons) <= 180.0:
        return ring
    ref = lons[0]
    return [(lon + 360.0 if lon - ref < -180.0 else lon - 360.0 if lon - ref > 180.0 else lon, lat)
            for lon, lat in ring]


@lru_cache(maxsize=65536)
def cell_ring(cell: str) -> tuple[tuple[float, float], ...]:
    """The cell's boundary as (lon, lat) pairs, closed (first == last).

    Cached: the API draws the same few thousand cells on every page."""
    boundary = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
    ring = _unwrapped(boundary)
    return (*ring, ring[0])


def cell_polygon(cell: str) -> Polygon:
    """The cell as a Shapely polygon in lon/lat order, ring closed."""
    return Polygon(cell_ring(cell))


def cell_geojson(cell: str) -> str:
    """The cell as a GeoJSON Polygon, compact, coordinates rounded to GEOJSON_DECIMALS:
    the one spelling of a cell's hexagon in every document that shows it."""
    ring = [[round(x, GEOJSON_DECIMALS), round(y, GEOJSON_DECIMALS)] for x, y in cell_ring(cell)]
    return orjson.dumps({"type": "Polygon", "coordinates": [ring]}).decode()


def cell_center(cell: str) -> tuple[float, float]:
    """The cell's centre as (lon, lat)."""
    lat, lng = h3.cell_to_latlng(cell)
    return float(lng), float(lat)


def cell_resolution(cell: str) -> int:
    return int(h3.get_resolution(cell))
