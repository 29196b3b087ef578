"""Demo marketplace: each demo cooperative's fishers offer their latest catches kept for
sale, admins offer ice and repairs, and a demo restaurant has bought from them.

Everything goes through the marketplace's own services (server.market), so the demo
shows exactly what a user would get: lots traced to logged catches, their public
pages, orders in each state, a cooperative's pooled rating.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from server.db import new_id
from server.demo.generator import DEMO_PREFIX
from server.market import listings, orders, ratings
from server.market.models import OrderStatus
from server.market.schemas import ListingInSchema
from server.members.auth import Principal
from server.members.models import Member, Membership, MembershipStatus, Organization, OrgKind, Role

BUYER_ORG = DEMO_PREFIX + "Mariscos El Faro (restaurante, Mazatlán)"
BUYER_PHONE = "+526699100200"
PER_COOP = 6  # fish listings per cooperative
DEADLINES = orders.Deadlines(timedelta(hours=24), timedelta(days=7))

# A fisher's latest catches kept for sale, one species per fisher (the most kept kg).
_LATEST_KEPT = """
    WITH kept AS (
        SELECT c.org_id, c.member_id, c.species_code, c.id, c.caught_at, c.presentation,
               t.return_port_id, c.landed_kg - coalesce(
                   (SELECT sum(lc.quantity) FROM listing_catch lc
                    WHERE lc.org_id = c.org_id AND lc.catch_id = c.id), 0) AS left_kg,
               row_number() OVER (PARTITION BY c.org_id, c.member_id, c.species_code
                                  ORDER BY c.caught_at DESC) AS n
        FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
        WHERE c.org_id = :org AND c.superseded_at IS NULL AND c.status = 'active'
          AND c.disposition = 'kept'),
    best AS (
        SELECT org_id, member_id, species_code, sum(left_kg) AS kg,
               array_agg(id ORDER BY caught_at DESC) AS ids,
               max(return_port_id::text) AS port_id, min(presentation) AS presentation,
               row_number() OVER (PARTITION BY member_id ORDER BY sum(left_kg) DESC) AS r
        FROM kept WHERE n <= 5 AND left_kg > 0 GROUP BY 1, 2, 3)
    SELECT b.member_id, b.species_code, b.kg, b.ids, b.port_id, b.presentation,
           sp.name_es, m.role
    FROM best b JOIN species sp ON sp.code = b.species_code
    JOIN membership m ON m.org_id = b.org_id AND m.member_id = b.member_id AND m.status = 'active'
    WHERE b.r = 1 ORDER BY b.kg DESC LIMIT :n"""

PRICES = {"OCZ": 180, "SHR": 260, "PEN": 310, "LWP": 150, "SNR": 160}  # MXN/kg, else 110


def _principal(member_id: uuid.UUID, org_id: uuid.UUID, role: str) -> Principal:
    return Principal(member_id, new_id(), False, {org_id: role})


def _buyer(sess: Session, password_hash: str) -> tuple[Organization, Member]:
    org = Organization(id=new_id(), kind=OrgKind.company, name=BUYER_ORG, state="Sinaloa")
    member = sess.scalar(select(Member).where(Member.phone == BUYER_PHONE))
    if member is None:
        member = Member(id=new_id(), phone=BUYER_PHONE, name="Chef Rosario Lizárraga (compras)",
                        password_hash=password_hash, locale="es")
        sess.add(member)
    sess.add(org)
    sess.flush()
    sess.add(Membership(org_id=org.id, member_id=member.id, role=Role.buyer,
                        status=MembershipStatus.active))
    sess.flush()
    return org, member


def load(sess: Session, password_hash: str, progress: bool = True) -> dict[str, int]:
    """Create the demo market once (idempotent)."""
    if sess.scalar(select(Organization.id).where(Organization.name == BUYER_ORG)):
        return {"listing": 0, "market_order": 0}
    coops = list(sess.scalars(select(Organization).where(
        Organization.kind == OrgKind.cooperative, Organization.name.startswith(DEMO_PREFIX))
        .order_by(Organization.name)))
    buyer_org, buyer = _buyer(sess, password_hash)
    shopper = Principal(buyer.id, new_id(), False, {buyer_org.id: Role.buyer})
    schema = ListingInSchema()
    made: list[Any] = []
    n_orders = 0
    for coop in tqdm(coops, desc="Mercado de demostración", unit=" cooperativas",
                     disable=not progress):
        rows = sess.execute(text(_LATEST_KEPT), {"org": coop.id, "n": PER_COOP}).all()
        for r in rows:
            qty = min(Decimal(r.kg), Decimal(200)).quantize(Decimal("1"), ROUND_DOWN)
            if qty < 1:
                continue
            body: dict[str, Any] = {
                "org_id": str(coop.id), "title": f"{r.name_es} fresco de la cooperativa",
                "description": "Capturado por socios de la cooperativa; lote trazable a su "
                               "bitácora. Datos sintéticos de demostración.",
                "species_code": r.species_code, "presentation": r.presentation,
                "preservation": "fresh", "unit": "kg", "quantity": float(qty),
                "unit_price": float(PRICES.get(r.species_code, 110)),
                "catch_ids": [str(i) for i in r.ids]}
            if r.port_id:
                body["port_id"] = r.port_id
            else:
                continue
            made.append((coop, listings.create(sess, _principal(r.member_id, coop.id, r.role),
                                                schema.load(body))))
        admin = sess.scalar(select(Membership.member_id).where(
            Membership.org_id == coop.id, Membership.role == Role.admin,
            Membership.status == MembershipStatus.active))
        port = rows[0].port_id if rows and rows[0].port_id else None
        if admin is not None and port is not None:
            for body in ({"kind": "goods", "category": "ice", "title": "Hielo en barra para la pesca",
                          "unit": "piece", "quantity": 300, "unit_price": 45.0},
                         {"kind": "service", "category": "mechanics",
                          "title": "Reparación de motores fuera de borda",
                          "unit": "hour", "quantity": 60, "unit_price": 320.0}):
                listings.create(sess, _principal(admin, coop.id, Role.admin),
                                schema.load(body | {"org_id": str(coop.id), "port_id": port}))
    # The restaurant has bought from the first cooperatives: completed and rated (so one
    # cooperative shows a pooled rating), accepted, and just placed.
    for i, (_coop, listing) in enumerate(made[:8]):
        want = min(Decimal(5), Decimal(listing.quantity))
        order, _, _ = orders.place(sess, shopper, {"listing_id": listing.id, "quantity": want,
                                                "note": None, "buyer_org_id": buyer_org.id},
                                f"demo-{listing.id}", DEADLINES)
        n_orders += 1
        seller = _principal(listing.seller_id, listing.org_id, Role.fisher)
        steps = [OrderStatus.accepted, OrderStatus.ready, OrderStatus.completed] if i < 5 else \
            [OrderStatus.accepted] if i < 7 else []
        for s in steps:
            orders.transition(sess, seller, order.id, s, None, DEADLINES)
        if OrderStatus.completed in steps:
            ratings.rate(sess, shopper, order.id, 5 if i % 2 == 0 else 4)
    sess.flush()
    return {"listing": len(made), "market_order": n_orders}
