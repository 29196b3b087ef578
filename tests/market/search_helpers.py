"""Helpers of the search and saved-search tests: sellers, listings at known points, and an
independent geodesy to check distances against."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.members.models import Organization, Role
from tests.conftest import Factory, Person
from tests.market.conftest import LISTINGS

SAVED = "/api/v1/me/saved-searches"
FEED = "/api/v1/me/notifications"

# PostGIS measures geography on a sphere of the WGS84 mean radius (2a + b) / 3.
R_MEAN = 6371008.7714

# Places along the Pacific coast (lon, lat).
MAZATLAN = (-106.4130, 23.1980)  # the port
ISLA_PIEDRA = (-106.3900, 23.1800)
CERRITOS = (-106.4800, 23.3100)
TEACAPAN = (-105.7400, 22.5400)
ALTATA = (-107.9200, 24.6300)
TOPOLOBAMPO = (-109.0500, 25.6000)
LA_PAZ = (-110.3183, 24.1628)


def point(lonlat: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lonlat[0], lonlat[1]]}


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def haversine(a: tuple[float, float], b: tuple[float, float], r: float = R_MEAN) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * r * math.asin(math.sqrt(h))


def destination(start: tuple[float, float], bearing_deg: float, metres: float,
                r: float = R_MEAN) -> tuple[float, float]:
    """The point ``metres`` from ``start`` along a great circle at this initial bearing."""
    lon1, lat1 = math.radians(start[0]), math.radians(start[1])
    b, d = math.radians(bearing_deg), metres / r
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(lat1),
                             math.cos(d) - math.sin(lat1) * math.sin(lat2))
    return math.degrees(lon2), math.degrees(lat2)


@dataclass
class Seller:
    org: Organization
    fisher: Person

    @property
    def org_id(self) -> str:
        return str(self.org.id)

    @property
    def api(self) -> Any:
        return self.fisher.api


def seller(factory: Factory, kind: str = "cooperative") -> Seller:
    org = factory.org(kind=kind)
    return Seller(org, factory.person(org, Role.fisher if kind == "cooperative" else Role.admin))


def body(s: Seller, *, kind: str = "fish", at: tuple[float, float] = MAZATLAN,
         **over: Any) -> dict[str, Any]:
    """A listing of this seller at a point: fish (LJS, whole, fresh), goods or a service."""
    b: dict[str, Any] = {"org_id": s.org_id, "kind": kind, "quantity": 10, "unit_price": 100.0,
                         "location": point(at)}
    if kind == "fish":
        b |= {"title": "Pargo lunarejo", "species_code": "LJS", "presentation": "whole",
              "preservation": "fresh", "unit": "kg"}
    elif kind == "goods":
        b |= {"title": "Artículo de prueba", "category": "other", "unit": "piece"}
    else:
        b |= {"title": "Servicio de prueba", "category": "mechanics", "unit": "job"}
    b.update(over)
    return b


def listing(s: Seller, **over: Any) -> dict[str, Any]:
    r = s.api.post(LISTINGS, body(s, **over))
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def search(api: Any, lang: str | None = None, **params: Any) -> dict[str, Any]:
    r = api.get(LISTINGS, query_string=params, lang=lang)
    assert r.status_code == 200, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


def walk(api: Any, limit: int = 2, max_pages: int = 200, **params: Any) -> list[dict[str, Any]]:
    """Every item, following next_cursor page by page."""
    items: list[dict[str, Any]] = []
    after = None
    for _ in range(max_pages):
        q = dict(params, limit=limit) | ({"after": after} if after else {})
        page = search(api, **q)
        assert len(page["items"]) <= limit
        items += page["items"]
        after = page["next_cursor"]
        if after is None:
            return items
        assert page["items"], "a cursor after an empty page"
    raise AssertionError("paging does not end")


def expire(db: Session, listing_id: str) -> None:
    """Make a listing's availability end a minute ago (as if its time ran out)."""
    db.execute(text("UPDATE listing SET available_from = now() - interval '2 days', "
                    "available_until = now() - interval '1 minute' WHERE id = :i"),
               {"i": listing_id})
    db.commit()


def feed(api: Any, lang: str | None = None) -> list[dict[str, Any]]:
    """Every notification of the member, newest first."""
    out: list[dict[str, Any]] = []
    before = None
    while True:
        q = {"limit": 200} | ({"before": before} if before else {})
        r = api.get(FEED, query_string=q, lang=lang)
        assert r.status_code == 200, r.get_json()
        out += r.get_json()["notifications"]
        before = r.get_json()["next_before"]
        if before is None:
            return out


def matched(api: Any, lang: str | None = None) -> list[dict[str, Any]]:
    return [n for n in feed(api, lang) if n["kind"] == "market.listing_matched"]


def save(api: Any, **criteria: Any) -> dict[str, Any]:
    criteria.setdefault("name", f"búsqueda {uuid.uuid4().hex[:6]}")
    r = api.post(SAVED, criteria)
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out
