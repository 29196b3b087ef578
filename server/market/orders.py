"""Orders: placing them without ever overselling, and their state machine.

Stock is reserved by one conditional UPDATE of the listing row (``quantity -
reserved - sold >= wanted``). PostgreSQL re-checks that condition on the newest
row version when concurrent orders queue on the row lock, so however many buyers
press at once, the sum reserved never exceeds what is left; the table's CHECK
holds the same line should any code path forget it.

Idempotency: a phone retrying on a weak signal sends the same Idempotency-Key
(draft-ietf-httpapi-idempotency-key-header). Requests with one buyer's key are
serialised by a transaction advisory lock; a key already used returns its order
(same body) or is refused (different body). The key lives on the order row, keyed
with the seller's org_id as every tenant key is, and found by (buyer, key).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from server.db import new_id
from server.errors import ApiError, FieldError
from server.market import listings
from server.market import messages as msg
from server.market.models import (
    OPEN_ORDER,
    Listing,
    ListingStatus,
    Order,
    OrderEvent,
    OrderStatus,
)
from server.members.auth import Principal
from server.notifications import services as notifications

S = OrderStatus
# (from, to) -> who may take the step.
STEPS: dict[tuple[OrderStatus, OrderStatus], frozenset[str]] = {
    (S.placed, S.accepted): frozenset({"seller"}),
    (S.placed, S.rejected): frozenset({"seller"}),
    (S.placed, S.cancelled): frozenset({"buyer"}),
    (S.accepted, S.ready): frozenset({"seller"}),
    (S.accepted, S.cancelled): frozenset({"buyer", "seller"}),
    (S.ready, S.completed): frozenset({"buyer", "seller"}),
    (S.ready, S.cancelled): frozenset({"seller"}),
}
RELEASES = (S.rejected, S.cancelled, S.expired)


@dataclass(frozen=True)
class Deadlines:
    accept: timedelta  # a placed order not accepted by then expires
    complete: timedelta  # an accepted order not completed by then expires


def deadlines(cfg: dict[str, Any]) -> Deadlines:
    return Deadlines(timedelta(hours=float(cfg["MARKET_ACCEPT_HOURS"])),
                     timedelta(days=float(cfg["MARKET_COMPLETE_DAYS"])))


def _now() -> datetime:
    return datetime.now(UTC)


def request_hash(data: dict[str, Any]) -> bytes:
    canon = {k: (str(v) if v is not None else None) for k, v in sorted(data.items())}
    return hashlib.sha256(orjson.dumps(canon)).digest()


def _num(d: Decimal) -> str:
    return f"{d.normalize():f}"


def place(sess: Session, p: Principal, data: dict[str, Any], key: str,
          dl: Deadlines) -> tuple[Order, bool, list[OrderEvent]]:
    """The order, whether it is a replay of an earlier request with this key, and its
    history."""
    h = request_hash(data)
    sess.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 7))"),
                 {"k": f"order:{p.member_id}:{key}"})
    earlier = sess.scalars(select(Order).where(Order.buyer_id == p.member_id,
                                               Order.idempotency_key == key)).first()
    if earlier is not None:
        if earlier.request_hash != h:
            raise ApiError(422, "idempotency_key_reused",
                           errors=[FieldError("Idempotency-Key", "idempotency_key_reused",
                                              location="headers")])
        return earlier, True, history(sess, earlier)
    if data["buyer_org_id"] is not None and not p.role_in(data["buyer_org_id"]):
        raise ApiError(422, "validation_error",
                       errors=[FieldError("buyer_org_id", "buyer_org_not_yours")])
    # Only what an order needs: the whole row carries the search vectors.
    listing = sess.execute(select(Listing.org_id, Listing.id, Listing.seller_id, Listing.unit,
                                  Listing.title).where(Listing.id == data["listing_id"])).first()
    if listing is None:
        raise ApiError(422, "validation_error", errors=[FieldError(
            "listing_id", "listing_unknown", {"id": str(data["listing_id"])})])
    if listing.seller_id == p.member_id:
        raise ApiError(422, "validation_error", errors=[FieldError("listing_id", "own_listing")])
    q: Decimal = data["quantity"]
    if errs := listings.quantity_errors(q, listing.unit):
        raise ApiError(422, "validation_error", errors=errs)
    row = sess.execute(text("""
        UPDATE listing SET reserved = reserved + :q, updated_at = now()
        WHERE org_id = :org AND id = :id AND status = 'active'
          AND available_from <= statement_timestamp() AND available_until > statement_timestamp()
          AND quantity - reserved - sold >= :q
        RETURNING unit_price, currency, unit"""),
        {"q": q, "org": listing.org_id, "id": listing.id}).first()
    if row is None:
        _refuse(sess, listing.org_id, listing.id)
        # Enough stock when we looked, none when we tried: another order took it.
        left = sess.scalar(select(Listing.quantity - Listing.reserved - Listing.sold).where(
            Listing.org_id == listing.org_id, Listing.id == listing.id))
        raise ApiError(409, "insufficient_stock", available=_num(Decimal(left or 0)),
                       unit=msg.unit(listing.unit), extra={"available": float(left or 0)})
    price, cur, unit = row
    order = Order(org_id=listing.org_id, listing_id=listing.id, seller_id=listing.seller_id,
                  buyer_id=p.member_id, buyer_org_id=data["buyer_org_id"], quantity=q, unit=unit,
                  unit_price=price, currency=cur,
                  total=(q * price).quantize(Decimal("0.01"), ROUND_HALF_UP),
                  note=data["note"], idempotency_key=key, request_hash=h,
                  expires_at=_now() + dl.accept, id=new_id())
    sess.add(order)
    sess.flush()
    placed = _event(sess, order, S.placed, p.member_id, None, seq=1)
    notifications.notify(sess, listing.seller_id, "market.order_placed", order_id=order.id,
                         listing_id=listing.id, title=listing.title, quantity=float(q),
                         unit=unit)
    return order, False, [placed]


def _refuse(sess: Session, org_id: uuid.UUID, listing_id: uuid.UUID) -> None:
    """Why a listing took no order (other than its stock)."""
    listing = sess.execute(select(Listing.status, Listing.available_from, Listing.available_until)
                           .where(Listing.org_id == org_id, Listing.id == listing_id)).one()
    now = _now()
    if listing.status != ListingStatus.active:
        raise ApiError(409, "listing_not_available", state=msg.state(listing.status))
    if listing.available_until <= now:
        raise ApiError(409, "listing_not_available", state=msg.state(ListingStatus.expired.value))
    if listing.available_from > now:
        raise ApiError(409, "listing_not_yet_available", at=listing.available_from.isoformat())


def _event(sess: Session, order: Order, status: OrderStatus, by: uuid.UUID | None,
           reason: str | None, seq: int | None = None) -> OrderEvent:
    """The order's next event (``seq`` when the caller knows it: 1 for a new order)."""
    if seq is None:
        last = sess.scalar(select(func.coalesce(func.max(OrderEvent.seq), 0)).where(
            OrderEvent.org_id == order.org_id, OrderEvent.order_id == order.id))
        seq = int(last or 0) + 1
    event = OrderEvent(org_id=order.org_id, order_id=order.id, seq=seq,
                       status=status.value, by_member_id=by, reason=reason)
    sess.add(event)
    return event


def parties(order: Order, member_id: uuid.UUID) -> set[str]:
    out = set()
    if order.buyer_id == member_id:
        out.add("buyer")
    if order.seller_id == member_id:
        out.add("seller")
    return out


def visible(sess: Session, p: Principal, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    """An order its buyer, its seller or an admin of the selling organization may see."""
    q = select(Order).where(Order.id == order_id)
    if lock:
        q = q.with_for_update()
    order = sess.scalars(q).first()
    if order is None or not (parties(order, p.member_id) or p.is_admin_of(order.org_id)):
        raise ApiError(404, "not_found")
    return order


def transition(sess: Session, p: Principal, order_id: uuid.UUID, to: OrderStatus,
               reason: str | None, dl: Deadlines) -> Order:
    order = visible(sess, p, order_id, lock=True)
    frm = OrderStatus(order.status)
    who = STEPS.get((frm, to))
    if who is None:
        raise ApiError(409, "illegal_transition", from_status=msg.state(frm.value),
                       to_status=msg.state(to.value))
    mine = parties(order, p.member_id) & who
    if not mine:
        raise ApiError(403, "not_your_step", party=msg.party("seller" if "seller" in who else "buyer"),
                       to_status=msg.state(to.value))
    if order.expires_at is not None and order.expires_at <= _now():
        # The expiry job has not reached it yet; it is expired all the same.
        raise ApiError(409, "order_expired", at=order.expires_at.isoformat())
    _apply(sess, order, to, p.member_id, reason, dl)
    other = order.seller_id if "buyer" in mine else order.buyer_id
    notifications.notify(sess, other, "market.order_status", order_id=order.id,
                         status=to.value, reason=reason)
    return order


def _apply(sess: Session, order: Order, to: OrderStatus, by: uuid.UUID | None,
           reason: str | None, dl: Deadlines) -> None:
    now = _now()
    if to in RELEASES:
        sess.execute(text("UPDATE listing SET reserved = reserved - :q, updated_at = now() "
                          "WHERE org_id = :org AND id = :id"),
                     {"q": order.quantity, "org": order.org_id, "id": order.listing_id})
        listing = sess.get(Listing, (order.org_id, order.listing_id), populate_existing=True)
        if listing is not None and listing.status in listings.FINAL:
            listings.trim(sess, listing)
    elif to is S.completed:
        sess.execute(text("UPDATE listing SET reserved = reserved - :q, sold = sold + :q, "
                          "updated_at = now() WHERE org_id = :org AND id = :id"),
                     {"q": order.quantity, "org": order.org_id, "id": order.listing_id})
        order.completed_at = now
    if to is S.accepted:
        order.expires_at = now + dl.complete
    elif to not in OPEN_ORDER:
        order.expires_at = None
    order.status = to.value
    order.updated_at = now
    _event(sess, order, to, by, reason)
    sess.flush()


def expire_due(sess: Session, dl: Deadlines, limit: int = 500) -> int:
    """Expire open orders past their deadline, releasing what they reserved."""
    due = list(sess.scalars(select(Order).where(
        Order.expires_at <= _now(), Order.status.in_([s.value for s in OPEN_ORDER]))
        .order_by(Order.expires_at).limit(limit).with_for_update(skip_locked=True)))
    for order in due:
        _apply(sess, order, S.expired, None, None, dl)
        for member in (order.buyer_id, order.seller_id):
            notifications.notify(sess, member, "market.order_status", order_id=order.id,
                                 status=S.expired.value, reason=None)
    return len(due)


def history(sess: Session, order: Order) -> list[OrderEvent]:
    return list(sess.scalars(select(OrderEvent).where(
        OrderEvent.org_id == order.org_id, OrderEvent.order_id == order.id)
        .order_by(OrderEvent.seq)))
