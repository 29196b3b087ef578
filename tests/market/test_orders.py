"""Orders: the state machine, stock that is never oversold (also under concurrency),
Idempotency-Key, refused input, who sees what, notifications and the expiry job.

Everything runs against the real database: orders are placed and moved on through
the API, and what the API claims is checked against the rows it stored.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.market import listings as listings_svc
from server.market import orders as orders_svc
from server.market.messages import STATE
from server.members.models import Role
from tests.conftest import PROBLEM, Api, Factory, Person, errors_of, iso, problem
from tests.market.conftest import (
    LISTINGS,
    ORDERS,
    Market,
    create,
    fish,
    log_catches,
    order,
    step,
    stock,
)
from tests.test_sync_concurrency import run_together

SALES = "/api/v1/organizations/{org}/market/sales"
FEED = "/api/v1/me/notifications"
Q = 10.0  # what the state-machine orders ask for

# --- helpers ---------------------------------------------------------------------------------


def sql(db: Session, stmt: str, **params: Any) -> None:
    db.execute(text(stmt), params)
    db.commit()


def scalar(db: Session, stmt: str, **params: Any) -> Any:
    out = db.execute(text(stmt), params).scalar()
    db.rollback()
    return out


def order_row(db: Session, oid: str) -> dict[str, Any]:
    row = db.execute(text("SELECT status, expires_at, completed_at, quantity FROM market_order "
                          "WHERE id = :i"), {"i": oid}).mappings().one()
    db.rollback()
    return dict(row)


def events(db: Session, oid: str) -> list[tuple[str, Any, Any]]:
    rows = db.execute(text("SELECT status, by_member_id, reason FROM market_order_event "
                           "WHERE order_id = :i ORDER BY seq"), {"i": oid}).all()
    db.rollback()
    return [(r[0], r[1], r[2]) for r in rows]


def links(db: Session, listing_id: str) -> list[float]:
    rows = db.execute(text("SELECT quantity FROM listing_catch WHERE listing_id = :l "
                           "ORDER BY position"), {"l": listing_id}).scalars().all()
    db.rollback()
    return [float(r) for r in rows]


def orders_of_listing(db: Session, listing_id: str) -> list[tuple[str, float]]:
    rows = db.execute(text("SELECT status, quantity FROM market_order WHERE listing_id = :l"),
                      {"l": listing_id}).all()
    db.rollback()
    return [(r[0], float(r[1])) for r in rows]


def notes(db: Session, member_id: Any, kind: str | None = None) -> list[dict[str, Any]]:
    rows = db.execute(text("SELECT id, kind, data, read_at FROM notification WHERE member_id = :m "
                           "AND (CAST(:k AS text) IS NULL OR kind = :k) ORDER BY id"),
                      {"m": member_id, "k": kind}).mappings().all()
    db.rollback()
    return [dict(r) for r in rows]


def snapshot(db: Session, m: Market, oid: str, listing_id: str) -> tuple[Any, ...]:
    """Everything a refused step must leave as it was."""
    return (order_row(db, oid), events(db, oid), stock(db, listing_id), links(db, listing_id),
            len(notes(db, m.buyer.member.id)), len(notes(db, m.fisher.member.id)))


def run_order_job(app: Flask) -> int:
    with app.extensions["cardumen.sessionmaker"]() as sess:
        n = orders_svc.expire_due(sess, orders_svc.deadlines(app.config))
        sess.commit()
    return n


def run_listing_job(app: Flask) -> int:
    with app.extensions["cardumen.sessionmaker"]() as sess:
        n = listings_svc.expire_due(sess)
        sess.commit()
    return n


def past_deadline(db: Session, oid: str) -> None:
    sql(db, "UPDATE market_order SET expires_at = now() - interval '1 second' WHERE id = :i", i=oid)


def end_listing(db: Session, listing_id: str) -> None:
    sql(db, "UPDATE listing SET available_from = now() - interval '2 days', "
            "available_until = now() - interval '1 minute' WHERE id = :i", i=listing_id)


def when(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def near(t: datetime | None, expected: datetime, slack: timedelta = timedelta(minutes=2)) -> bool:
    return t is not None and abs(t - expected) < slack


def outsider(factory: Factory) -> Person:
    return factory.person(factory.org(kind="company", name="Pescadería Otra"), Role.buyer)


def clients(app: Flask, token: str | None, n: int) -> list[Api]:
    out = []
    for i in range(n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.251.{i}.{uuid.uuid4().int % 250 + 1}"
        out.append(Api(client, token))
    return out


def order_en(api: Api, listing_id: str, quantity: Any) -> Any:
    """An order asked in English (``order()`` puts its keywords in the body)."""
    return api.post(ORDERS, {"listing_id": listing_id, "quantity": quantity}, lang="en",
                    headers={"Idempotency-Key": uuid.uuid4().hex})


def placed(m: Market, listing_id: str, quantity: float = Q, api: Api | None = None) -> dict[str, Any]:
    r = order(api or m.buyer.api, listing_id, quantity)
    assert r.status_code == 201, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


# --- 1. the state machine --------------------------------------------------------------------

STEPS: dict[tuple[str, str], set[str]] = {
    ("placed", "accepted"): {"seller"},
    ("placed", "rejected"): {"seller"},
    ("placed", "cancelled"): {"buyer"},
    ("accepted", "ready"): {"seller"},
    ("accepted", "cancelled"): {"buyer", "seller"},
    ("ready", "completed"): {"buyer", "seller"},
    ("ready", "cancelled"): {"seller"},
}
PATHS: dict[str, list[tuple[str, str]] | None] = {
    "placed": [],
    "accepted": [("seller", "accepted")],
    "ready": [("seller", "accepted"), ("seller", "ready")],
    "completed": [("seller", "accepted"), ("seller", "ready"), ("buyer", "completed")],
    "rejected": [("seller", "rejected")],
    "cancelled": [("buyer", "cancelled")],
    "expired": None,  # by the job
}
TARGETS = ["accepted", "rejected", "ready", "completed", "cancelled"]
HOLDING = {"placed", "accepted", "ready"}
RELEASED = {"rejected", "cancelled", "expired"}


def expected_stock(status: str, quantity: float = 50.0) -> tuple[float, float, float]:
    if status in HOLDING:
        return (quantity, Q, 0.0)
    if status == "completed":
        return (quantity, 0.0, Q)
    assert status in RELEASED
    return (quantity, 0.0, 0.0)


def _cases() -> list[Any]:
    out = []
    for frm in PATHS:
        for to in TARGETS:
            who = STEPS.get((frm, to))
            if who is None:
                out.append(pytest.param(frm, to, None, id=f"{frm}-{to}-illegal"))
            else:
                out += [pytest.param(frm, to, party, id=f"{frm}-{to}-by-{party}")
                        for party in sorted(who)]
    return out


def test_the_cases_cover_every_pair() -> None:
    pairs = {(p.values[0], p.values[1]) for p in _cases()}
    assert len(pairs) == 7 * 5
    assert {(f, t) for f, t, party in (p.values for p in _cases()) if party} == set(STEPS)


def reach(m: Market, app: Flask, db: Session, frm: str) -> tuple[str, str]:
    """A 50 kg listing and a 10 kg order of it in state ``frm``."""
    listing = create(m.fisher.api, fish(m))
    o = placed(m, listing["id"])
    assert o["status"] == "placed" and o["quantity"] == Q
    assert near(when(o["expires_at"]), datetime.now(UTC) + timedelta(hours=24))
    actors = {"buyer": m.buyer.api, "seller": m.fisher.api}
    path = PATHS[frm]
    if path is None:
        past_deadline(db, o["id"])
        assert run_order_job(app) >= 1
    else:
        for party, to in path:
            r = step(actors[party], o["id"], to)
            assert r.status_code == 200, r.get_json()
    assert order_row(db, o["id"])["status"] == frm
    assert stock(db, listing["id"]) == expected_stock(frm)
    return listing["id"], o["id"]


@pytest.mark.parametrize("frm,to,party", _cases())
def test_state_machine(market: Market, factory: Factory, app: Flask, db: Session,
                       frm: str, to: str, party: str | None) -> None:
    m = market
    listing_id, oid = reach(m, app, db, frm)
    actors = {"buyer": m.buyer, "seller": m.fisher}
    before = snapshot(db, m, oid, listing_id)

    # Neither a stranger nor a fellow fisher of the cooperative sees the order at all.
    for stranger in (outsider(factory), factory.person(m.coop.org, Role.fisher)):
        problem(step(stranger.api, oid, to), 404, "not_found")
        problem(stranger.api.get(f"{ORDERS}/{oid}"), 404, "not_found")
    assert snapshot(db, m, oid, listing_id) == before

    if party is None:
        for who in actors.values():
            body = problem(step(who.api, oid, to), 409, "illegal_transition")
            detail = body["detail"]
            assert STATE[frm]["es"] in detail and STATE[to]["es"] in detail, body
        assert snapshot(db, m, oid, listing_id) == before
        return

    allowed = STEPS[(frm, to)]
    for other in {"buyer", "seller"} - allowed:
        body = problem(step(actors[other].api, oid, to), 403, "not_your_step")
        assert snapshot(db, m, oid, listing_id) == before, body

    accepted_deadline = order_row(db, oid)["expires_at"]
    actor = actors[party]
    r = step(actor.api, oid, to, reason="motivo de prueba")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == to and body["id"] == oid
    assert [e["status"] for e in body["events"]] == [e[0] for e in before[1]] + [to]
    assert body["events"][-1]["by_member_id"] == str(actor.member.id)
    assert body["events"][-1]["reason"] == "motivo de prueba"

    row = order_row(db, oid)
    assert row["status"] == to
    assert events(db, oid)[-1] == (to, actor.member.id, "motivo de prueba")
    assert len(events(db, oid)) == len(before[1]) + 1
    assert stock(db, listing_id) == expected_stock(to)
    if to == "accepted":
        assert near(row["expires_at"], datetime.now(UTC) + timedelta(days=7))
    elif to == "ready":
        assert row["expires_at"] == accepted_deadline  # the acceptance's deadline stands
    else:
        assert row["expires_at"] is None and body["expires_at"] is None
    if to == "completed":
        assert row["completed_at"] is not None and body["completed_at"] is not None
    else:
        assert row["completed_at"] is None

    # The other party is told.
    counterpart = m.fisher if party == "buyer" else m.buyer
    told = notes(db, counterpart.member.id, "market.order_status")
    assert told and told[-1]["data"]["order_id"] == oid and told[-1]["data"]["status"] == to
    # The same step again is no longer legal (or a no-op): the state moved on.
    again = step(actor.api, oid, to)
    assert again.status_code == 409 and again.get_json()["code"] == "illegal_transition"
    assert stock(db, listing_id) == expected_stock(to)


@pytest.mark.parametrize("frm,to,party", [
    ("placed", "accepted", "seller"), ("placed", "rejected", "seller"),
    ("placed", "cancelled", "buyer"), ("accepted", "ready", "seller"),
    ("accepted", "cancelled", "buyer"), ("ready", "completed", "buyer"),
    ("ready", "cancelled", "seller")])
def test_a_step_past_the_deadline_is_refused_before_the_job_runs(
        market: Market, app: Flask, db: Session, frm: str, to: str, party: str) -> None:
    m = market
    listing_id, oid = reach(m, app, db, frm)
    past_deadline(db, oid)
    before = snapshot(db, m, oid, listing_id)
    api = m.buyer.api if party == "buyer" else m.fisher.api
    body = problem(step(api, oid, to), 409, "order_expired")
    assert body["detail"].startswith("Este pedido venció el ")
    assert snapshot(db, m, oid, listing_id) == before
    assert stock(db, listing_id) == expected_stock(frm)  # still held until the job runs
    assert run_order_job(app) >= 1
    assert order_row(db, oid)["status"] == "expired"
    assert stock(db, listing_id) == expected_stock("expired")
    assert events(db, oid)[-1] == ("expired", None, None)
    problem(step(api, oid, to), 409, "illegal_transition")


@pytest.mark.parametrize("bad", ["placed", "expired", "shipped", "", None, 3])
def test_unknown_target_status_is_422(market: Market, app: Flask, db: Session, bad: Any) -> None:
    listing_id, oid = reach(market, app, db, "placed")
    before = snapshot(db, market, oid, listing_id)
    body = problem(market.fisher.api.post(f"{ORDERS}/{oid}/status", {"status": bad}), 422,
                   "validation_error")
    assert "status" in errors_of(body)
    assert snapshot(db, market, oid, listing_id) == before


def test_missing_order_is_404(market: Market) -> None:
    problem(step(market.fisher.api, str(uuid.uuid4()), "accepted"), 404, "not_found")
    problem(market.buyer.api.get(f"{ORDERS}/{uuid.uuid4()}"), 404, "not_found")


def test_not_your_step_speaks_the_callers_language(market: Market, app: Flask, db: Session) -> None:
    _, oid = reach(market, app, db, "placed")
    es = problem(step(market.buyer.api, oid, "accepted"), 403, "not_your_step")
    en = problem(market.buyer.api.post(f"{ORDERS}/{oid}/status", {"status": "accepted"}, lang="en"),
                 403, "not_your_step")
    assert en["detail"] == "Only the seller can make this order accepted."
    # market/messages.py defines PARTY = {"seller": {"es": "quien vende", ...}} for this
    # message, but nothing uses it: Spanish readers get the English party name.
    assert "quien vende" in es["detail"], es["detail"]


@pytest.mark.parametrize("msg", ["illegal_transition", "listing_not_available"])
def test_spanish_details_do_not_show_english_names(market: Market, app: Flask, db: Session,
                                                   msg: str) -> None:
    """Spanish is the default language: the detail must not name the party or the state
    in English (the notification feed translates states: aceptado, cancelado...)."""
    listing_id, oid = reach(market, app, db, "completed")
    if msg == "illegal_transition":
        body = problem(step(market.fisher.api, oid, "cancelled"), 409, msg)
        english = ["completed", "cancelled"]
    else:
        assert market.fisher.api.patch(f"{LISTINGS}/{listing_id}",
                                       {"status": "paused"}).status_code == 200
        body = problem(order(market.buyer.api, listing_id, 1), 409, msg)
        english = ["paused"]
    assert not [w for w in english if w in body["detail"]], body["detail"]


# --- 2. no oversell under concurrency --------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_concurrent_buyers_never_oversell(market: Market, factory: Factory, db: Session,
                                         seed: int) -> None:
    m = market
    _, (big,) = log_catches(m.fisher, m.coop.vessel_id, [{"landed_kg": 100.0}])
    listing = create(m.fisher.api, fish(m, quantity=100, catch_ids=[big]))
    assert links(db, listing["id"]) == [100.0]
    buyer_org = factory.org(kind="company", name="Mercado del Mar")
    buyers = [factory.person(buyer_org, Role.buyer) for _ in range(36)]
    rng = random.Random(seed)
    wants = [rng.choice([1.0, 2.5, 3.0, 4.75, 6.0, 8.0, 10.0, 12.5]) for _ in buyers]
    assert sum(wants) > 100  # they cannot all be served

    def buy(p: Person, q: float) -> Callable[[], tuple[int, Any, float]]:
        def call() -> tuple[int, Any, float]:
            r = order(p.api, listing["id"], q)
            return r.status_code, r.get_json(), q
        return call

    outcomes = run_together([buy(p, q) for p, q in zip(buyers, wants, strict=True)])
    codes = Counter(code for code, _, _ in outcomes)
    assert set(codes) <= {201, 409}, codes
    ok = [q for code, _, q in outcomes if code == 201]
    refused = [(body, q) for code, body, q in outcomes if code == 409]
    for body, q in refused:
        assert body["code"] == "insufficient_stock", body
        assert body["available"] < q
    quantity, reserved, sold = stock(db, listing["id"])
    assert quantity == 100.0 and sold == 0.0
    assert sum(ok) <= 100.0
    assert reserved + sold == pytest.approx(sum(ok))
    rows = orders_of_listing(db, listing["id"])
    assert len(rows) == len(ok) and sum(q for _, q in rows) == pytest.approx(sum(ok))
    # Stock only went down, so no buyer was refused while their quantity was still there.
    left = quantity - reserved - sold
    assert all(left < q for _, q in refused), (left, sorted(q for _, q in refused))
    assert len(notes(db, m.fisher.member.id, "market.order_placed")) == len(ok)


@pytest.mark.parametrize("traced", [True, False])
def test_seller_lowers_quantity_while_orders_arrive(market: Market, factory: Factory,
                                                   db: Session, traced: bool) -> None:
    m = market
    body = fish(m, quantity=90, catch_ids=m.catches) if traced else fish(m, quantity=90, catch_ids=[])
    listing = create(m.fisher.api, body)
    url = f"{LISTINGS}/{listing['id']}"
    buyer_org = factory.org(kind="company", name="Cocina Económica")
    buyers = [factory.person(buyer_org, Role.buyer) for _ in range(24)]
    rng = random.Random(7)
    plans = [[rng.choice([1.0, 2.0, 3.5, 5.0]) for _ in range(2)] for _ in buyers]
    targets = [float(q) for q in range(88, 18, -2)]

    def buy(p: Person, qs: list[float]) -> Callable[[], list[tuple[int, Any, float]]]:
        def call() -> list[tuple[int, Any, float]]:
            out = []
            for q in qs:
                r = order(p.api, listing["id"], q)
                out.append((r.status_code, r.get_json(), q))
            return out
        return call

    (seller_api,) = clients(factory.app, m.fisher.api.token, 1)

    def lower() -> list[tuple[int, Any, float]]:
        out = []
        for q in targets:
            r = seller_api.patch(url, {"quantity": q})
            out.append((r.status_code, r.get_json(), q))
        return out

    results = run_together([lower, *(buy(p, qs) for p, qs in zip(buyers, plans, strict=True))])
    patches, bought = results[0], [x for rs in results[1:] for x in rs]
    assert {c for c, _, _ in patches} <= {200, 422}, [(c, b) for c, b, _ in patches if c >= 500]
    assert {c for c, _, _ in bought} <= {201, 409}, [(c, b) for c, b, _ in bought if c >= 500]
    for code, b, q in patches:
        if code == 200:
            assert b["quantity"] == q
        else:
            assert errors_of(b) == {"quantity": "quantity_below_committed"}, b
    for code, b, _ in bought:
        if code == 409:
            assert b["code"] == "insufficient_stock", b
    ok = sum(q for c, _, q in bought if c == 201)
    quantity, reserved, sold = stock(db, listing["id"])
    assert reserved + sold <= quantity
    assert reserved == pytest.approx(ok) and sold == 0.0
    last_ok = [q for c, _, q in patches if c == 200]
    assert quantity == (last_ok[-1] if last_ok else 90.0)
    for c, _, q in patches:
        if c == 422:  # refused: what was committed then (never less than now) exceeded it
            assert q < reserved
    if traced:
        assert sum(links(db, listing["id"])) == pytest.approx(quantity)


def test_reject_and_cancel_at_once_release_the_stock_once(market: Market, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    placed(m, listing["id"], 5.0)  # stays reserved throughout
    for _ in range(4):
        o = placed(m, listing["id"])

        def seller_rejects(oid: str = o["id"]) -> Any:
            r = step(m.fisher.api, oid, "rejected")
            return r.status_code, r.get_json()

        def buyer_cancels(oid: str = o["id"]) -> Any:
            r = step(m.buyer.api, oid, "cancelled")
            return r.status_code, r.get_json()

        (c1, b1), (c2, b2) = run_together([seller_rejects, buyer_cancels])
        assert sorted([c1, c2]) == [200, 409], (b1, b2)
        loser = b1 if c1 == 409 else b2
        assert loser["code"] == "illegal_transition"
        assert stock(db, listing["id"]) == (50.0, 5.0, 0.0)
        assert len(events(db, o["id"])) == 2


def taker(api: Api, oid: str, to: str) -> Callable[[], int]:
    def call() -> int:
        code: int = step(api, oid, to).status_code
        return code
    return call


def test_accept_and_cancel_at_once_end_cancelled(market: Market, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    for _ in range(4):
        o = placed(m, listing["id"])
        outcomes = run_together([taker(m.fisher.api, o["id"], "accepted"),
                                 taker(m.buyer.api, o["id"], "cancelled")])
        assert outcomes in ([200, 200], [409, 200]), outcomes
        assert order_row(db, o["id"])["status"] == "cancelled"
        assert stock(db, listing["id"]) == (50.0, 0.0, 0.0)


# --- 3. Idempotency-Key ----------------------------------------------------------------------

def test_key_missing(market: Market, db: Session) -> None:
    listing = create(market.fisher.api, fish(market))
    r = market.buyer.api.post(ORDERS, {"listing_id": listing["id"], "quantity": 5})
    body = problem(r, 400, "idempotency_key_missing")
    assert body["errors"] == [{"field": "Idempotency-Key", "in": "headers", "code": "required",
                               "message": body["errors"][0]["message"]}]
    assert orders_of_listing(db, listing["id"]) == []
    assert stock(db, listing["id"]) == (50.0, 0.0, 0.0)


@pytest.mark.parametrize("key", ["", "a" * 256, "llavé", "con espacio", "κλειδί", "tab\tkey"],
                         ids=["empty", "256", "latin1", "space", "greek", "tab"])
def test_key_invalid(market: Market, db: Session, key: str) -> None:
    listing = create(market.fisher.api, fish(market))
    body = problem(order(market.buyer.api, listing["id"], 5, key=key) if key else
                   market.buyer.api.post(ORDERS, {"listing_id": listing["id"], "quantity": 5},
                                         headers={"Idempotency-Key": ""}),
                   400, "idempotency_key_invalid")
    assert errors_of(body) == {"Idempotency-Key": "idempotency_key_invalid"}
    assert body["errors"][0]["in"] == "headers"
    assert orders_of_listing(db, listing["id"]) == []
    assert stock(db, listing["id"]) == (50.0, 0.0, 0.0)


@pytest.mark.parametrize("key", ["a" * 255, "!", "~x-Y_1.2:3/4"])
def test_key_edges_are_valid(market: Market, key: str) -> None:
    listing = create(market.fisher.api, fish(market))
    r = order(market.buyer.api, listing["id"], 5, key=key)
    assert r.status_code == 201, r.get_json()


def test_same_key_same_body_replays(market: Market, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    key = uuid.uuid4().hex
    first = order(m.buyer.api, listing["id"], 7.5, key=key, note="sin hielo")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    for _ in range(2):
        again = order(m.buyer.api, listing["id"], 7.5, key=key, note="sin hielo")
        assert again.status_code == 200, again.get_json()
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.get_json()["id"] == first.get_json()["id"]
        assert again.get_json()["quantity"] == 7.5
    # The same number written differently is the same body.
    assert order(m.buyer.api, listing["id"], 7.50, key=key, note="sin hielo").status_code == 200
    assert orders_of_listing(db, listing["id"]) == [("placed", 7.5)]
    assert stock(db, listing["id"]) == (50.0, 7.5, 0.0)
    assert len(notes(db, m.fisher.member.id, "market.order_placed")) == 1
    # After the order moved on, a retry still answers with it (and reserves nothing).
    assert step(m.fisher.api, first.get_json()["id"], "accepted").status_code == 200
    late = order(m.buyer.api, listing["id"], 7.5, key=key, note="sin hielo")
    assert late.status_code == 200 and late.get_json()["status"] == "accepted"
    assert stock(db, listing["id"]) == (50.0, 7.5, 0.0)


@pytest.mark.parametrize("change", ["quantity", "listing", "note", "buyer_org"])
def test_same_key_other_body_is_422(market: Market, factory: Factory, db: Session,
                                    change: str) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    other = create(m.fisher.api, fish(m, quantity=20, catch_ids=[m.catches[2]]))
    key = "retry-" + uuid.uuid4().hex
    assert order(m.buyer.api, listing["id"], 5, key=key).status_code == 201
    over: dict[str, Any] = {"listing_id": listing["id"], "quantity": 5}
    if change == "quantity":
        over["quantity"] = 6
    elif change == "listing":
        over["listing_id"] = other["id"]
    elif change == "note":
        over["note"] = "otra cosa"
    else:
        buyer_org = scalar(db, "SELECT org_id FROM membership WHERE member_id = :m",
                           m=m.buyer.member.id)
        over["buyer_org_id"] = str(buyer_org)
    listing_id, q = over.pop("listing_id"), over.pop("quantity")
    body = problem(order(m.buyer.api, listing_id, q, key=key, **over), 422, "idempotency_key_reused")
    assert errors_of(body) == {"Idempotency-Key": "idempotency_key_reused"}
    assert orders_of_listing(db, listing["id"]) == [("placed", 5.0)]
    assert orders_of_listing(db, other["id"]) == []
    assert stock(db, listing["id"]) == (50.0, 5.0, 0.0)
    assert stock(db, other["id"]) == (20.0, 0.0, 0.0)


def test_keys_are_per_buyer(market: Market, factory: Factory, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    second = outsider(factory)
    a = order(m.buyer.api, listing["id"], 5, key="pedido-1")
    b = order(second.api, listing["id"], 6, key="pedido-1")
    assert a.status_code == 201 and b.status_code == 201, (a.get_json(), b.get_json())
    assert a.get_json()["id"] != b.get_json()["id"]
    assert b.get_json()["buyer_id"] == str(second.member.id)
    assert sorted(orders_of_listing(db, listing["id"])) == [("placed", 5.0), ("placed", 6.0)]
    assert stock(db, listing["id"]) == (50.0, 11.0, 0.0)


@pytest.mark.parametrize("threads", [2, 8])
def test_same_key_at_once_makes_one_order(market: Market, app: Flask, db: Session,
                                          threads: int) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    key = uuid.uuid4().hex
    apis = clients(app, m.buyer.api.token, threads)

    def call(api: Api) -> Callable[[], tuple[int, Any, str | None]]:
        def go() -> tuple[int, Any, str | None]:
            r = order(api, listing["id"], 4, key=key)
            return r.status_code, r.get_json(), r.headers.get("Idempotent-Replayed")
        return go

    outcomes = run_together([call(a) for a in apis])
    assert sorted(c for c, _, _ in outcomes) == [200] * (threads - 1) + [201], outcomes
    assert len({b["id"] for _, b, _ in outcomes}) == 1
    assert [h for c, _, h in outcomes if c == 200] == ["true"] * (threads - 1)
    assert orders_of_listing(db, listing["id"]) == [("placed", 4.0)]
    assert stock(db, listing["id"]) == (50.0, 4.0, 0.0)


def test_same_key_other_bodies_at_once(market: Market, app: Flask, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    key = uuid.uuid4().hex
    apis = clients(app, m.buyer.api.token, 6)
    qs = [3.0, 3.0, 3.0, 4.0, 4.0, 4.0]

    def call(api: Api, q: float) -> Callable[[], tuple[int, Any, float]]:
        def go() -> tuple[int, Any, float]:
            r = order(api, listing["id"], q, key=key)
            return r.status_code, r.get_json(), q
        return go

    results = run_together([call(a, q) for a, q in zip(apis, qs, strict=True)])
    (won,) = [(b, q) for c, b, q in results if c == 201]
    for c, b, q in results:
        if c == 201:
            continue
        if q == won[1]:
            assert c == 200 and b["id"] == won[0]["id"]
        else:
            assert c == 422 and b["code"] == "idempotency_key_reused", b
    assert orders_of_listing(db, listing["id"]) == [("placed", won[1])]
    assert stock(db, listing["id"]) == (50.0, won[1], 0.0)


# --- 4. bad input ----------------------------------------------------------------------------

def nothing_written(db: Session, m: Market, listing_id: str, stock_before: Any,
                    notes_before: int) -> None:
    assert orders_of_listing(db, listing_id) == []
    assert stock(db, listing_id) == stock_before
    assert len(notes(db, m.fisher.member.id)) == notes_before


@pytest.mark.parametrize("q", [0, -1, -0.5, "10", None, 1_000_001, "abc", True])
def test_bad_quantity(market: Market, db: Session, q: Any) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    body = problem(order(m.buyer.api, listing["id"], q), 422, "validation_error")
    assert list(errors_of(body)) == ["quantity"], body
    nothing_written(db, m, listing["id"], before, n)


def test_missing_quantity_and_bad_listing_id(market: Market, db: Session) -> None:
    m = market
    r = m.buyer.api.post(ORDERS, {"listing_id": "nope"}, headers={"Idempotency-Key": "k1"})
    body = problem(r, 422, "validation_error")
    assert set(errors_of(body)) == {"listing_id", "quantity"}


def test_above_stock(market: Market, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    body = problem(order(m.buyer.api, listing["id"], 50.001), 409, "insufficient_stock")
    assert body["available"] == 50
    assert body["detail"] == "Solo hay 50 kg disponibles."  # Spanish by default
    assert body.get("errors") is None or body["errors"]
    nothing_written(db, m, listing["id"], before, n)
    placed(m, listing["id"], 20)
    r = order_en(m.buyer.api, listing["id"], 30.5)
    body = problem(r, 409, "insufficient_stock")
    assert r.headers["Content-Language"] == "en"
    assert body["available"] == 30 and body["detail"] == "Only 30 kg are available."
    assert stock(db, listing["id"]) == (50.0, 20.0, 0.0)
    assert order(m.buyer.api, listing["id"], 30).status_code == 201  # exactly what is left
    assert stock(db, listing["id"]) == (50.0, 50.0, 0.0)
    body = problem(order(m.buyer.api, listing["id"], 0.001), 409, "insufficient_stock")
    assert body["available"] == 0


@pytest.mark.parametrize("q", [1.5, 0.001, 0.9999, 2.0004])
def test_fraction_of_a_piece(market: Market, db: Session, q: float) -> None:
    """0.9999 and 2.0004 are not whole numbers either: the schema's 3 decimal places must
    not round them into whole pieces the buyer did not ask for."""
    m = market
    listing = create(m.fisher.api, fish(m, unit="piece", quantity=12, catch_ids=[]))
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    body = problem(order(m.buyer.api, listing["id"], q), 422, "validation_error")
    assert errors_of(body) == {"quantity": "whole_units"}
    nothing_written(db, m, listing["id"], before, n)
    assert order(m.buyer.api, listing["id"], 2).status_code == 201


def test_own_listing(market: Market, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    body = problem(order(m.fisher.api, listing["id"], 5), 422, "validation_error")
    assert errors_of(body) == {"listing_id": "own_listing"}
    assert body["errors"][0]["message"] == "No puede pedir de su propio anuncio."
    body = problem(order_en(m.fisher.api, listing["id"], 5), 422, "validation_error")
    assert body["errors"][0]["message"] == "You cannot order from your own listing."
    nothing_written(db, m, listing["id"], before, n)


@pytest.mark.parametrize("how", ["closed", "paused", "expired_by_time", "expired_by_job"])
def test_listing_not_taking_orders(market: Market, app: Flask, db: Session, how: str) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    url = f"{LISTINGS}/{listing['id']}"
    if how in ("closed", "paused"):
        assert m.fisher.api.patch(url, {"status": how}).status_code == 200
    else:
        end_listing(db, listing["id"])
        if how == "expired_by_job":
            assert run_listing_job(app) >= 1
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    body = problem(order_en(m.buyer.api, listing["id"], 5), 409, "listing_not_available")
    state = how if how in ("closed", "paused") else "expired"
    assert body["detail"] == f"This listing is {state}: it takes no orders."
    nothing_written(db, m, listing["id"], before, n)
    if how == "paused":  # active again: it takes orders again
        assert m.fisher.api.patch(url, {"status": "active"}).status_code == 200
        assert order(m.buyer.api, listing["id"], 5).status_code == 201


def test_listing_not_yet_available(market: Market, db: Session) -> None:
    m = market
    start = datetime.now(UTC) + timedelta(days=1)
    listing = create(m.fisher.api, fish(m, available_from=iso(start)))
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    problem(order(m.buyer.api, listing["id"], 5), 409, "listing_not_yet_available")
    nothing_written(db, m, listing["id"], before, n)


def test_unknown_listing(market: Market, db: Session) -> None:
    missing = str(uuid.uuid4())
    body = problem(order(market.buyer.api, missing, 5), 422, "validation_error")
    assert errors_of(body) == {"listing_id": "listing_unknown"}
    assert missing in body["errors"][0]["message"]
    assert scalar(db, "SELECT count(*) FROM market_order WHERE buyer_id = :b",
                  b=market.buyer.member.id) == 0


def test_buyer_org_must_be_yours(market: Market, factory: Factory, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    before, n = stock(db, listing["id"]), len(notes(db, m.fisher.member.id))
    for org_id in (factory.org(kind="company").id, m.coop.org.id, uuid.uuid4()):
        body = problem(order(m.buyer.api, listing["id"], 5, buyer_org_id=str(org_id)), 422,
                       "validation_error")
        assert errors_of(body) == {"buyer_org_id": "buyer_org_not_yours"}
    nothing_written(db, m, listing["id"], before, n)
    mine = scalar(db, "SELECT org_id FROM membership WHERE member_id = :m", m=m.buyer.member.id)
    r = order(m.buyer.api, listing["id"], 5, buyer_org_id=str(mine))
    assert r.status_code == 201 and r.get_json()["buyer_org_id"] == str(mine)


def test_errors_are_problem_json(market: Market) -> None:
    r = order(market.buyer.api, str(uuid.uuid4()), 5)
    assert r.status_code == 422 and r.mimetype == PROBLEM
    assert r.headers["Content-Language"] == "es"


# --- 5. who sees what ------------------------------------------------------------------------

def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.get_json()
    return [o["id"] for o in r.get_json()["orders"]]


def test_visibility(market: Market, factory: Factory, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    buyer2 = outsider(factory)
    o1 = placed(m, listing["id"], 10)
    o2 = placed(m, listing["id"], 4, api=buyer2.api)
    admin = m.coop.admin
    colleague = factory.person(m.coop.org, Role.fisher)
    other_admin = factory.coop().admin

    assert ids(m.buyer.api.get(ORDERS)) == [o1["id"]]
    assert ids(buyer2.api.get(ORDERS)) == [o2["id"]]
    assert ids(m.buyer.api.get(ORDERS, query_string={"role": "seller"})) == []
    assert ids(m.fisher.api.get(ORDERS, query_string={"role": "seller"})) == [o2["id"], o1["id"]]
    assert ids(m.fisher.api.get(ORDERS)) == []
    assert ids(admin.api.get(ORDERS, query_string={"role": "seller"})) == []
    assert ids(colleague.api.get(ORDERS, query_string={"role": "seller"})) == []
    page = m.fisher.api.get(ORDERS, query_string={"role": "seller", "limit": 1}).get_json()
    assert [o["id"] for o in page["orders"]] == [o2["id"]] and page["next_cursor"]
    page2 = m.fisher.api.get(ORDERS, query_string={"role": "seller", "limit": 1,
                                                   "after": page["next_cursor"]}).get_json()
    assert [o["id"] for o in page2["orders"]] == [o1["id"]] and page2["next_cursor"] is None

    for who in (m.buyer, m.fisher, admin):
        r = who.api.get(f"{ORDERS}/{o1['id']}")
        assert r.status_code == 200 and r.get_json()["events"][0]["status"] == "placed"
    for who in (buyer2, colleague, other_admin):
        problem(who.api.get(f"{ORDERS}/{o1['id']}"), 404, "not_found")

    # The cooperative's admin sees it but does not move it on.
    before = snapshot(db, m, o1["id"], listing["id"])
    for to in TARGETS:
        r = step(admin.api, o1["id"], to)
        assert r.status_code in (403, 409), r.get_json()
        if (("placed", to)) in STEPS:
            problem(r, 403, "not_your_step")
        problem(step(other_admin.api, o1["id"], to), 404, "not_found")
    assert snapshot(db, m, o1["id"], listing["id"]) == before

    for to in ("accepted", "ready", "completed"):
        assert step(m.fisher.api, o1["id"], to).status_code == 200
    assert ids(m.fisher.api.get(ORDERS, query_string={"role": "seller", "status": "completed"})) \
        == [o1["id"]]
    assert ids(m.buyer.api.get(ORDERS, query_string={"status": "placed"})) == []

    sales = SALES.format(org=m.coop.org.id)
    r = admin.api.get(sales)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert [o["id"] for o in body["orders"]] == [o2["id"], o1["id"]]
    month = datetime.now(ZoneInfo("America/Mexico_City")).strftime("%Y-%m")
    assert body["by_month"] == [{"month": month, "currency": "MXN", "orders": 1,
                                 "total": 1200.0}]
    assert ids(admin.api.get(sales, query_string={"status": "placed"})) == [o2["id"]]
    problem(other_admin.api.get(sales), 404, "not_found")
    problem(m.buyer.api.get(sales), 404, "not_found")
    problem(buyer2.api.get(sales), 404, "not_found")
    problem(colleague.api.get(sales), 403, "forbidden")
    problem(m.fisher.api.get(sales), 403, "forbidden")


# --- 7. notifications ------------------------------------------------------------------------

def feed(api: Api, **q: Any) -> dict[str, Any]:
    r = api.get(FEED, query_string=q)
    assert r.status_code == 200, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def test_notifications(market: Market, factory: Factory, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    start_seller = feed(m.fisher.api)["unread"]
    start_buyer = feed(m.buyer.api)["unread"]
    o = placed(m, listing["id"], 10)

    f = feed(m.fisher.api)
    assert f["unread"] == start_seller + 1
    new = f["notifications"][0]
    assert new["kind"] == "market.order_placed" and new["read_at"] is None
    assert new["data"]["order_id"] == o["id"] and new["data"]["listing_id"] == listing["id"]
    assert "Pargo lunarejo" in new["text"] and new["text"].startswith("Nuevo pedido")
    en = m.fisher.api.get(FEED, lang="en").get_json()
    assert en["notifications"][0]["text"].startswith("New order of 10")
    assert feed(m.buyer.api)["unread"] == start_buyer  # the buyer is not told of their own order

    assert step(m.fisher.api, o["id"], "accepted").status_code == 200
    fb = feed(m.buyer.api)
    assert fb["unread"] == start_buyer + 1
    told = fb["notifications"][0]
    assert told["kind"] == "market.order_status"
    assert told["data"] == {"order_id": o["id"], "status": "accepted", "reason": None}
    assert told["text"] == "Su pedido pasó a aceptado."
    assert feed(m.fisher.api)["unread"] == start_seller + 1  # not told of their own step

    # Someone else cannot mark the seller's notification read.
    stranger = outsider(factory)
    for attempt in ({"ids": [new["id"]]}, {"up_to": new["id"] + 1000}):
        r = stranger.api.post(f"{FEED}/read", attempt)
        assert r.status_code == 200 and r.get_json() == {"marked": 0}, r.get_json()
    r = m.buyer.api.post(f"{FEED}/read", {"ids": [new["id"]]})
    assert r.status_code == 200 and r.get_json() == {"marked": 0}
    assert notes(db, m.fisher.member.id, "market.order_placed")[-1]["read_at"] is None
    assert feed(m.fisher.api)["unread"] == start_seller + 1
    assert feed(m.buyer.api)["unread"] == start_buyer + 1

    r = m.fisher.api.post(f"{FEED}/read", {"ids": [new["id"]]})
    assert r.status_code == 200 and r.get_json() == {"marked": 1}
    assert feed(m.fisher.api)["unread"] == start_seller
    assert new["id"] not in [n["id"] for n in feed(m.fisher.api, unread="true")["notifications"]]
    again = m.fisher.api.post(f"{FEED}/read", {"ids": [new["id"]]})
    assert again.get_json() == {"marked": 0}
    r = m.buyer.api.post(f"{FEED}/read", {"up_to": told["id"]})
    assert r.get_json() == {"marked": start_buyer + 1}
    assert feed(m.buyer.api)["unread"] == 0
    problem(m.buyer.api.post(f"{FEED}/read", {}), 422, "validation_error")


@pytest.mark.parametrize("how", ["before", "ids", "up_to"])
def test_feed_ids_beyond_bigint_are_refused_not_500(market: Market, how: str) -> None:
    """Notification ids are bigint: 2**63 cannot be one, and must be a 422, not a crash."""
    big = 2**63
    if how == "before":
        r = market.buyer.api.get(FEED, query_string={"before": big})
    else:
        r = market.buyer.api.post(f"{FEED}/read", {how: [big] if how == "ids" else big})
    body = problem(r, 422, "validation_error")
    assert set(errors_of(body)) <= {how, f"{how}.0"}, body


def test_buyer_cancelling_tells_the_seller(market: Market, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    o = placed(m, listing["id"])
    assert step(m.buyer.api, o["id"], "cancelled", reason="ya no").status_code == 200
    told = notes(db, m.fisher.member.id, "market.order_status")
    assert [n["data"] for n in told] == [{"order_id": o["id"], "status": "cancelled",
                                          "reason": "ya no"}]
    assert notes(db, m.buyer.member.id, "market.order_status") == []


# --- 8. the expiry job -----------------------------------------------------------------------

def test_job_expires_orders_past_their_deadline(market: Market, app: Flask, db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m))
    late = placed(m, listing["id"], 10)
    fresh = placed(m, listing["id"], 5)
    accepted = placed(m, listing["id"], 3)
    assert step(m.fisher.api, accepted["id"], "accepted").status_code == 200
    done = placed(m, listing["id"], 2)
    for to in ("accepted", "ready", "completed"):
        assert step(m.fisher.api, done["id"], to).status_code == 200
    assert stock(db, listing["id"]) == (50.0, 18.0, 2.0)
    past_deadline(db, late["id"])
    sql(db, "UPDATE market_order SET expires_at = now() - interval '1 second' WHERE id = :i",
        i=done["id"])  # a completed order is never expired
    assert run_order_job(app) >= 1
    assert order_row(db, late["id"])["status"] == "expired"
    assert order_row(db, late["id"])["expires_at"] is None
    assert order_row(db, fresh["id"])["status"] == "placed"
    assert order_row(db, accepted["id"])["status"] == "accepted"
    assert order_row(db, done["id"])["status"] == "completed"
    assert stock(db, listing["id"]) == (50.0, 8.0, 2.0)
    assert events(db, late["id"])[-1] == ("expired", None, None)
    for who in (m.buyer, m.fisher):
        told = notes(db, who.member.id, "market.order_status")
        assert {"order_id": late["id"], "status": "expired", "reason": None} in \
            [n["data"] for n in told]
    # Running again changes nothing.
    n_events = len(events(db, late["id"]))
    run_order_job(app)
    assert stock(db, listing["id"]) == (50.0, 8.0, 2.0)
    assert len(events(db, late["id"])) == n_events
    # An accepted order past its (longer) deadline expires too.
    past_deadline(db, accepted["id"])
    run_order_job(app)
    assert order_row(db, accepted["id"])["status"] == "expired"
    assert stock(db, listing["id"]) == (50.0, 5.0, 2.0)
    r = m.buyer.api.get(f"{ORDERS}/{late['id']}")
    assert r.get_json()["status"] == "expired"


def test_job_expires_listings_and_frees_their_catches(market: Market, app: Flask,
                                                     db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m, quantity=70))  # catches 40 + 30
    assert links(db, listing["id"]) == [40.0, 30.0]
    sold = placed(m, listing["id"], 12)
    held = placed(m, listing["id"], 33)
    for to in ("accepted", "ready", "completed"):
        assert step(m.fisher.api, sold["id"], to).status_code == 200
    # All of the first two catches are taken: nothing more to list from them.
    problem(m.fisher.api.post(LISTINGS, fish(m, quantity=1)), 422, "validation_error")

    end_listing(db, listing["id"])
    assert run_listing_job(app) >= 1
    card = m.fisher.api.get(f"{LISTINGS}/{listing['id']}").get_json()
    assert card["status"] == "expired"
    assert stock(db, listing["id"]) == (70.0, 33.0, 12.0)
    assert links(db, listing["id"]) == [40.0, 5.0]  # what is sold or held: 45
    r = m.buyer.api.get(LISTINGS, query_string={"org_id": str(m.coop.org.id)})
    assert listing["id"] not in [i["id"] for i in r.get_json()["items"]]
    problem(m.fisher.api.patch(f"{LISTINGS}/{listing['id']}", {"unit_price": 99.0}), 409,
            "listing_final")

    # The rest of those catches can be listed again: 25 kg of the second one.
    again = create(m.fisher.api, fish(m, quantity=25))
    assert links(db, again["id"]) == [0.0, 25.0]
    problem(m.fisher.api.post(LISTINGS, fish(m, quantity=0.5)), 422, "validation_error")

    # The held order is cancelled: its 33 kg return to the catches too.
    assert step(m.buyer.api, held["id"], "cancelled").status_code == 200
    assert stock(db, listing["id"]) == (70.0, 0.0, 12.0)
    assert links(db, listing["id"]) == [12.0, 0.0]
    more = create(m.fisher.api, fish(m, quantity=28))
    assert links(db, more["id"]) == [28.0, 0.0]
    # Per catch, the links never add up to more than it landed: 40 = 12 + 0 + 28, 25 of 30.
    for cid, landed in zip(m.catches[:2], (40.0, 25.0), strict=True):
        total = scalar(db, "SELECT sum(quantity) FROM listing_catch WHERE catch_id = :c", c=cid)
        assert float(total) == landed


def test_expired_order_on_an_expired_listing_returns_the_catch(market: Market, app: Flask,
                                                               db: Session) -> None:
    m = market
    listing = create(m.fisher.api, fish(m, quantity=20, catch_ids=[m.catches[2]]))
    o = placed(m, listing["id"], 8)
    end_listing(db, listing["id"])
    run_listing_job(app)
    assert links(db, listing["id"]) == [8.0]
    past_deadline(db, o["id"])
    run_order_job(app)
    assert order_row(db, o["id"])["status"] == "expired"
    assert stock(db, listing["id"]) == (20.0, 0.0, 0.0)
    assert links(db, listing["id"]) == [0.0]
    again = create(m.fisher.api, fish(m, quantity=20, catch_ids=[m.catches[2]]))
    assert links(db, again["id"]) == [20.0]
