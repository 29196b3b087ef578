"""A cooperative fisher with catches kept for sale, a buyer, and helpers to list and order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.catalog.models import Port
from server.members.models import Role
from tests.conftest import Coop, Factory, Person, catch_item, iso, trip_item
from tests.test_sync import push, statuses

LISTINGS = "/api/v1/market/listings"
ORDERS = "/api/v1/market/orders"
SPOT = {"type": "Point", "coordinates": [-106.55, 23.05]}  # off Mazatlán


@dataclass
class Market:
    coop: Coop
    buyer: Person
    port_id: str  # Mazatlán
    trip_id: str
    catches: list[str]  # the fisher's LJS catches kept for sale: 40, 30 and 20 kg

    @property
    def fisher(self) -> Person:
        return self.coop.fisher


def port_id(db: Session, code: str = "MX MZT") -> str:
    return str(db.scalars(select(Port.id).where(Port.code == code)).one())


def log_catches(fisher: Person, vessel: uuid.UUID, catches: list[dict[str, Any]]) -> tuple[str, list[str]]:
    now = datetime.now(UTC)
    t = trip_item(vessel, departed_at=iso(now - timedelta(hours=12)),
                  returned_at=iso(now - timedelta(hours=2)))
    items = [catch_item(t["id"], position=SPOT, disposition="kept", unit_price=None,
                        live_kg=None, caught_at=iso(now - timedelta(hours=6))) | c for c in catches]
    assert statuses(push(fisher.api, [t, *items])) == ["created"] * (1 + len(items))
    return t["id"], [c["id"] for c in items]


@pytest.fixture
def market(factory: Factory, db: Session) -> Market:
    coop = factory.coop()
    trip, catches = log_catches(coop.fisher, coop.vessel_id,
                                [{"landed_kg": 40.0}, {"landed_kg": 30.0}, {"landed_kg": 20.0}])
    buyer_org = factory.org(kind="company", name="Restaurante El Faro")
    buyer = factory.person(buyer_org, Role.buyer)
    return Market(coop, buyer, port_id(db), trip, catches)


def fish(m: Market, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "org_id": str(m.coop.org.id), "title": "Pargo lunarejo fresco del día",
        "species_code": "LJS", "presentation": "whole", "preservation": "fresh",
        "unit": "kg", "quantity": 50, "unit_price": 120.0, "port_id": m.port_id,
        "catch_ids": m.catches[:2]}
    body.update(over)
    return body


def create(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(LISTINGS, body)
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def order(api: Any, listing_id: str, quantity: float, key: str | None = None,
          **over: Any) -> Any:
    body = {"listing_id": listing_id, "quantity": quantity} | over
    return api.post(ORDERS, body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def step(api: Any, order_id: str, status: str, **kw: Any) -> Any:
    return api.post(f"{ORDERS}/{order_id}/status", {"status": status} | kw)


def stock(db: Session, listing_id: str) -> tuple[float, float, float]:
    row = db.execute(text("SELECT quantity, reserved, sold FROM listing WHERE id = :i"),
                     {"i": listing_id}).one()
    db.rollback()
    return float(row[0]), float(row[1]), float(row[2])
