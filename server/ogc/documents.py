"""The JSON documents of OGC API - Features, Part 1 (Core, GeoJSON), and their OpenAPI paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from geo import hexgrid
from server.ogc import params
from server.ogc.models import ROLLUP_TZ
from server.ogc.queries import COLLECTIONS, Collection, Extent, Page

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
# Not claimed: oas30 (the service description is the API's OpenAPI 3.1
# document) and html (JSON only).
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
TAG = "OGC API - Features"
TAG_DESCRIPTION = ("Aggregated catch per hexagon cell and month for authorities (OGC API - "
                   "Features, Part 1: Core, GeoJSON), under /ogc.")

_TEXT = {
    "title": {"es": "Cardumen: captura agregada para autoridades",
              "en": "Cardumen: aggregated catch for authorities"},
    "description": {
        "es": "Captura de la pesca ribereña sumada por celda hexagonal y mes, en la jurisdicción "
              "de la autoridad. Nunca posiciones individuales: se omiten las celdas con menos de "
              "{min} barcos distintos.",
        "en": "Small-scale fisheries catch summed per hexagon cell and month over the authority's "
              "jurisdiction. Never individual positions: cells with fewer than {min} distinct "
              "vessels are left out."},
}
_TZ = ZoneInfo(ROLLUP_TZ)


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing(base: str, host: str, lang: str, min_vessels: int) -> dict[str, Any]:
    return {
        "title": _TEXT["title"][lang],
        "description": _TEXT["description"][lang].format(min=min_vessels),
        "links": [
            link(f"{base}/", "self", JSON, "This document"),
            link(f"{host}/api/openapi.json", "service-desc", OPENAPI, "The API definition"),
            link(f"{host}/api/docs", "service-doc", "text/html", "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "Collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _month_start_utc(d: date) -> str:
    local = datetime.combine(d.replace(day=1), time.min, _TZ)
    return local.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def collection(base: str, coll: Collection, lang: str, ext: Extent | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title[lang],
        "description": coll.description[lang],
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(f"{base}/collections/{coll.id}", "self", JSON),
            link(f"{base}/collections/{coll.id}/items", "items", GEOJSON),
        ],
    }
    if ext is not None:
        out["extent"] = {
            "spatial": {"bbox": [[round(v, hexgrid.GEOJSON_DECIMALS) for v in ext.bbox]], "crs": CRS84},
            # Months of the rollup's calendar (America/Mexico_City), as UTC instants.
            "temporal": {"interval": [[_month_start_utc(ext.first_month),
                                       _month_start_utc(_next_month(ext.last_month))]],
                         "trs": GREGORIAN},
        }
    return out


def collections(base: str, lang: str, ext: Extent | None) -> dict[str, Any]:
    return {"links": [link(f"{base}/collections", "self", JSON)],
            "collections": [collection(base, c, lang, ext) for c in COLLECTIONS.values()]}


def feature_collection(page: Page, links: list[dict[str, str]]) -> bytes:
    """The page's FeatureCollection: the published features spliced between members
    written here (what ``orjson.dumps`` of the whole would give)."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return b"".join((
        b'{"type":"FeatureCollection","timeStamp":', orjson.dumps(stamp),
        b',"numberReturned":', str(page.count).encode(), b',"features":[',
        page.features.encode(), b'],"links":', orjson.dumps(links), b"}"))


def feature(text: str, links: list[dict[str, str]]) -> bytes:
    """One published feature with its links added as its last member."""
    return b"".join((text[:-1].encode(), b',"links":', orjson.dumps(links), b"}"))


# --- the OpenAPI description of these paths ----------------------------------------------

def _param(name: str, description: str, schema: dict[str, Any], *, where: str = "query",
           required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema, **extra}


_COMMON = [
    _param("f", "Encoding: JSON (GeoJSON for features) is the only one.",
           {"type": "string", "enum": list(params.FORMATS)}),
    _param("authority", "For staff of several authorities (or a platform admin): whose "
           "jurisdiction to show. Default: the caller's first authority (platform admin: all).",
           {"type": "string", "format": "uuid"}),
]
# Named as in the Flask rules: flask-smorest's plugin derives the path
# parameters from the rules and merges these descriptions into them.
_COLLECTION_ID = _param("collectionId", "Collection id.",
                        {"type": "string", "enum": list(COLLECTIONS)}, where="path", required=True)
_FEATURE_ID = _param("featureId", "<cell>:<YYYY-MM>[:<species>]", {"type": "string"},
                     where="path", required=True)
_ITEMS = [
    _param("bbox", "Only cells intersecting this box: min lon, min lat, max lon, max lat (CRS84).",
           {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
           style="form", explode=False),
    _param("datetime", "RFC 3339 instant or interval (a/b, ../b, a/..): months overlapping it.",
           {"type": "string"}),
    _param("limit", "Features per page.", {"type": "integer", "minimum": 1,
                                            "maximum": params.MAX_LIMIT,
                                            "default": params.DEFAULT_LIMIT}),
    _param("next", "Opaque page token: follow the response's next link.", {"type": "string"}),
    _param("species", "catch-cells-species only: ASFIS codes, comma-separated.",
           {"type": "string"}),
]


def _op(summary: str, parameters: list[dict[str, Any]], media: str) -> dict[str, Any]:
    problem = {"description": "A problem document (RFC 9457).",
               "content": {"application/problem+json": {"schema": {"type": "object"}}}}
    return {"get": {
        "tags": [TAG], "summary": summary, "parameters": parameters,
        "security": [{"bearer": []}],
        "responses": {"200": {"description": summary,
                              "content": {media: {"schema": {"type": "object"}}}},
                      "400": problem, "401": problem, "404": problem}}}


def openapi_operations() -> dict[str, dict[str, Any]]:
    """OpenAPI operations of each view, by endpoint name."""
    landing_op = _op("Landing page", _COMMON, JSON)
    conformance_op = _op("Conformance classes", _COMMON, JSON)
    for op in (landing_op, conformance_op):
        op["get"].pop("security")  # public: they describe the service, not its data
    return {
        "landing": landing_op,
        "conformance": conformance_op,
        "collections": _op("Collections", _COMMON, JSON),
        "collection": _op("A collection", [_COLLECTION_ID, *_COMMON], JSON),
        "items": _op("Features: cell-months (-species) of the jurisdiction, suppressed below "
                     "the vessel threshold", [_COLLECTION_ID, *_COMMON, *_ITEMS], GEOJSON),
        "item": _op("One feature", [_COLLECTION_ID, _FEATURE_ID, *_COMMON], GEOJSON),
    }
