"""Listings and orders as the API shows them."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from server.market.models import Order, OrderEvent


def base_url() -> str:
    """Where the service is reached: PUBLIC_URL if set (behind a proxy, for QR codes
    printed to last), else the request's own host."""
    configured = current_app.config.get("PUBLIC_URL")
    return (configured or request.host_url).rstrip("/")


def lot_urls(code: str, base: str | None = None) -> dict[str, str]:
    base = base or base_url()
    return {"provenance_url": f"{base}/api/v1/market/lots/{code}", "short_url": f"{base}/p/{code}"}


def listing(row: dict[str, Any], ratings: dict[Any, Any], base: str | None = None) -> dict[str, Any]:
    """A listing's card; ``base`` (base_url()) once for a page of them."""
    base = base or base_url()
    out: dict[str, Any] = {
        "id": row["id"], "short_code": row["short_code"], "kind": row["kind"],
        "category": row["category"], "title": row["title"], "description": row["description"],
        "species": ({"code": row["species_code"], "name_es": row["species_es"],
                     "name_en": row["species_en"], "scientific_name": row["scientific_name"]}
                    if row["species_code"] else None),
        "presentation": row["presentation"], "preservation": row["preservation"],
        "unit": row["unit"], "available": row["available"], "quantity": row["quantity"],
        "sold": row["sold"], "unit_price": row["unit_price"], "currency": row["currency"],
        "port": {"id": row["port_id"], "name": row["port_name"]} if row["port_id"] else None,
        "location": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "delivers": row["delivers"],
        "available_from": row["available_from"], "available_until": row["available_until"],
        "fresh_at": row["fresh_at"], "status": row["status"],
        "seller": {"org_id": row["org_id"], "name": row["org_name"],
                   "rating": ratings.get(row["org_id"])},
        "traced": row["traced"],
        "photos": [f"{base}/api/v1/market/listings/{row['id']}/photos/{p}" for p in row["photos"]],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
        **lot_urls(row["short_code"], base),
    }
    if "distance_m" in row:
        out["distance_m"] = round(float(row["distance_m"]), 1)
        out["delivers_here"] = row["delivers_here"]
    return out


def order(o: Order, events: list[OrderEvent] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": o.id, "org_id": o.org_id, "listing_id": o.listing_id, "seller_id": o.seller_id,
        "buyer_id": o.buyer_id, "buyer_org_id": o.buyer_org_id, "quantity": o.quantity,
        "unit": o.unit, "unit_price": o.unit_price, "currency": o.currency, "total": o.total,
        "status": o.status, "note": o.note, "placed_at": o.placed_at, "expires_at": o.expires_at,
        "completed_at": o.completed_at, "updated_at": o.updated_at,
    }
    if events is not None:
        out["events"] = [{"seq": e.seq, "status": e.status, "at": e.at,
                          "by_member_id": e.by_member_id, "reason": e.reason} for e in events]
    return out
