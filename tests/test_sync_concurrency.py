"""The same pushes and corrections at once from several connections: each record stored once.

Every thread has its own test client (so its own request context, session and
database connection) and the same access token, and all start together at a
barrier.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.catches.models import Catch, Trip
from tests.conftest import Api, Coop, Factory, catch_item, trip_item
from tests.test_sync import PUSH, catch_rows, statuses, trip_rows

T = TypeVar("T")


def _clients(app: Flask, token: str | None, n: int) -> list[Api]:
    out = []
    for i in range(n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.250.{i}.{uuid.uuid4().int % 250 + 1}"
        out.append(Api(client, token))
    return out


def run_together(fns: list[Callable[[], T]]) -> list[T]:
    """Run the callables in threads released at once; re-raise any thread's error."""
    barrier = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)
    errors: list[BaseException] = []

    def worker(i: int, fn: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = fn()
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    if errors:
        raise errors[0]
    return results


def _push(api: Api, items: list[dict[str, Any]]) -> Callable[[], tuple[int, Any]]:
    def call() -> tuple[int, Any]:
        r = api.post(PUSH, {"device_id": "phone", "items": items})
        return r.status_code, r.get_json()
    return call


def _batch(c: Coop, trips: int = 2, per_trip: int = 3) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(trips):
        t = trip_item(c.vessel_id)
        items += [t, *(catch_item(t["id"], landed_kg=1 + i) for i in range(per_trip))]
    return items


def _per_item(outcomes: list[tuple[int, Any]], n_items: int) -> list[Counter[str]]:
    assert [code for code, _ in outcomes] == [200] * len(outcomes), outcomes
    per: list[Counter[str]] = [Counter() for _ in range(n_items)]
    for _, body in outcomes:
        results = body["results"]
        assert [r["index"] for r in results] == list(range(n_items))
        for i, r in enumerate(results):
            per[i][r["status"]] += 1
    return per


@pytest.mark.parametrize("threads", [2, 8])
def test_same_batch_at_once_is_stored_once(app: Flask, factory: Factory, db: Session,
                                           threads: int) -> None:
    c = factory.coop()
    items = _batch(c)
    apis = _clients(app, c.fisher.api.token, threads)
    outcomes = run_together([_push(a, items) for a in apis])
    for counts in _per_item(outcomes, len(items)):
        assert counts == Counter({"created": 1, "duplicate": threads - 1})
    trip_ids = [i["id"] for i in items if i["type"] == "trip"]
    catch_ids = [i["id"] for i in items if i["type"] == "catch"]
    assert trip_rows(db, *trip_ids) == 2
    assert catch_rows(db, *catch_ids) == 6
    # Once more, in order: everything a duplicate, nothing added.
    code, body = _push(c.fisher.api, items)()
    assert code == 200 and statuses(body["results"]) == ["duplicate"] * len(items)
    assert catch_rows(db, *catch_ids) == 6


def test_overlapping_batches_at_once(app: Flask, factory: Factory, db: Session) -> None:
    """Eight phones' retries of different slices of one log: each record still stored once."""
    c = factory.coop()
    items = _batch(c, trips=4, per_trip=2)  # 12 items: trip, catch, catch, trip, ...
    slices = [items[: 3 * (1 + i % 4)] for i in range(8)]
    apis = _clients(app, c.fisher.api.token, 8)
    outcomes = run_together([_push(a, s) for a, s in zip(apis, slices, strict=True)])
    assert [code for code, _ in outcomes] == [200] * 8
    created: Counter[str] = Counter()
    for (_, body), s in zip(outcomes, slices, strict=True):
        assert [r["id"] for r in body["results"]] == [i["id"] for i in s]
        for r in body["results"]:
            assert r["status"] in ("created", "duplicate"), r
            created[r["id"]] += r["status"] == "created"
    assert set(created.values()) == {1} and len(created) == len(items)
    assert trip_rows(db, *(i["id"] for i in items if i["type"] == "trip")) == 4
    assert catch_rows(db, *(i["id"] for i in items if i["type"] == "catch")) == 8


def _current_versions(db: Session, catch_id: str) -> list[tuple[int, Any]]:
    db.rollback()
    return [(r.version, r.landed_kg) for r in db.execute(
        select(Catch.version, Catch.landed_kg).where(
            Catch.id == uuid.UUID(catch_id), Catch.superseded_at.is_(None)))]


@pytest.mark.parametrize("round_", range(3))
def test_two_different_corrections_at_once(app: Flask, factory: Factory, db: Session,
                                           round_: int) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    code, _ = _push(c.fisher.api, [t, k])()
    assert code == 200
    a, b = _clients(app, c.fisher.api.token, 2)
    va = dict(k, version=2, landed_kg=10.0, live_kg=11.0)
    vb = dict(k, version=2, landed_kg=20.0, live_kg=21.0)
    outcomes = run_together([_push(a, [va]), _push(b, [vb])])
    assert [code for code, _ in outcomes] == [200, 200]
    (ra,), (rb,) = (body["results"] for _, body in outcomes)
    assert sorted([ra["status"], rb["status"]]) == ["conflict", "created"]
    winner, loser = (ra, rb) if ra["status"] == "created" else (rb, ra)
    winning_kg = Decimal("10.000") if winner is ra else Decimal("20.000")
    assert loser["server"]["version"] == 2
    assert Decimal(str(loser["server"]["landed_kg"])) == winning_kg
    assert _current_versions(db, k["id"]) == [(2, winning_kg)]
    assert catch_rows(db, k["id"]) == 2


@pytest.mark.parametrize("threads", [2, 8])
def test_same_correction_at_once_is_created_once(app: Flask, factory: Factory, db: Session,
                                                 threads: int) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    _push(c.fisher.api, [t, k])()
    v2 = dict(k, version=2, landed_kg=30.0, live_kg=None)
    tomb = {"type": "catch", "id": k["id"], "version": 3, "cancelled": True}
    apis = _clients(app, c.fisher.api.token, threads)
    outcomes = run_together([_push(a, [v2, tomb]) for a in apis])
    per = _per_item(outcomes, 2)
    assert per[0] == Counter({"created": 1, "duplicate": threads - 1})
    assert per[1] == Counter({"created": 1, "duplicate": threads - 1})
    db.rollback()
    rows = db.execute(select(Catch.version, Catch.status, Catch.superseded_at.is_(None)).where(
        Catch.id == uuid.UUID(k["id"])).order_by(Catch.version)).all()
    assert [tuple(r) for r in rows] == [(1, "active", False), (2, "active", False),
                                        (3, "cancelled", True)]


def test_two_patches_at_once(app: Flask, factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    _push(c.fisher.api, [t, k])()
    url = f"/api/v1/catches/{k['id']}"
    a, b = _clients(app, c.fisher.api.token, 2)

    def patch(api: Api, kg: float) -> Callable[[], tuple[int, Any]]:
        def call() -> tuple[int, Any]:
            r = api.patch(url, {"base_version": 1, "landed_kg": kg})
            return r.status_code, r.get_json()
        return call

    outcomes = run_together([patch(a, 11.0), patch(b, 12.0)])
    assert sorted(code for code, _ in outcomes) == [201, 412]
    (_, won), (_, lost) = sorted(outcomes, key=lambda o: o[0])
    assert won["version"] == 2
    assert lost["code"] == "precondition_failed"
    if "server" in lost:  # lost the race inside the lock: the winner's copy comes back
        assert lost["server"]["version"] == 2
        assert lost["server"]["landed_kg"] == won["landed_kg"]
    assert _current_versions(db, k["id"]) == [(2, Decimal(str(won["landed_kg"])).quantize(
        Decimal("0.001")))]


def test_admin_and_fisher_correct_at_once(app: Flask, factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    _push(c.fisher.api, [t, k])()
    (fisher,) = _clients(app, c.fisher.api.token, 1)
    (admin,) = _clients(app, c.admin.api.token, 1)

    def admin_patch() -> tuple[int, Any]:
        r = admin.patch(f"/api/v1/catches/{k['id']}", {"base_version": 1, "notes": "admin"})
        return r.status_code, r.get_json()

    outcomes = run_together([_push(fisher, [dict(k, version=2, notes="fisher")]), admin_patch])
    (push_code, push_body), (patch_code, _) = outcomes
    assert push_code == 200
    status = push_body["results"][0]["status"]
    assert (status, patch_code) in {("created", 412), ("conflict", 201)}
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Catch).where(
        Catch.id == uuid.UUID(k["id"]), Catch.superseded_at.is_(None))) == 1
    assert db.scalar(select(func.count()).select_from(Trip).where(
        Trip.id == uuid.UUID(t["id"]))) == 1


@pytest.mark.parametrize("round_", range(2))
def test_same_records_in_opposite_orders_at_once(app: Flask, factory: Factory, db: Session,
                                                 round_: int) -> None:
    """Two devices pushing the same records in other orders must not deadlock."""
    c = factory.coop()
    trips = [trip_item(c.vessel_id) for _ in range(100)]
    catches = [catch_item(t["id"]) for t in trips]
    forward = trips + catches
    backward = trips[::-1] + catches[::-1]
    apis = _clients(app, c.fisher.api.token, 4)
    outcomes = run_together([_push(a, batch) for a, batch in
                             zip(apis, [forward, backward, forward, backward], strict=True)])
    assert [code for code, _ in outcomes] == [200] * 4, [b.get("code") for _, b in outcomes]
    created: Counter[str] = Counter()
    for _, body in outcomes:
        for r in body["results"]:
            assert r["status"] in ("created", "duplicate"), r
            created[r["id"]] += r["status"] == "created"
    assert len(created) == 200 and set(created.values()) == {1}
    assert trip_rows(db, *(t["id"] for t in trips)) == 100
    assert catch_rows(db, *(k["id"] for k in catches)) == 100


def test_inserts_take_row_locks_in_key_order(app: Flask, factory: Factory) -> None:
    """Two writers holding records the other needs: sorted inserts cannot deadlock.

    A has inserted x (not committed). B inserts [y, x]: unsorted, B would take y and
    wait for x, then A inserting y waits for B: a deadlock, one of them a 500."""
    from datetime import UTC, datetime, timedelta

    from server.catches import services as svc

    c = factory.coop()
    maker = app.extensions["cardumen.sessionmaker"]
    now = datetime.now(UTC)
    x, y = sorted([uuid.uuid4(), uuid.uuid4()])

    def row(trip_id: uuid.UUID) -> dict[str, Any]:
        body = {"departed_at": now - timedelta(hours=3), "returned_at": now - timedelta(hours=1),
                "costs": []}
        return svc.trip_row(c.org.id, trip_id, 1, body, member_id=c.fisher.member.id,
                            recorded_by=c.fisher.member.id, device_id=None, cancelled=False,
                            digest=svc.content_hash(body))

    with maker() as a, maker() as b:
        assert svc.insert_trips(a, [row(x)]) == {x}
        b_result: list[set[uuid.UUID]] = []
        b_error: list[BaseException] = []

        def b_insert() -> None:
            try:
                b_result.append(svc.insert_trips(b, [row(y), row(x)]))
                b.commit()
            except BaseException as exc:
                b_error.append(exc)
                b.rollback()

        thread = threading.Thread(target=b_insert)
        thread.start()
        thread.join(timeout=1.0)  # B is now waiting for A's x
        assert thread.is_alive()
        a_got = svc.insert_trips(a, [row(y)])
        a.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert not b_error, b_error
        assert a_got == {y}
        assert b_result == [set()]


def test_corrections_lock_in_key_order(app: Flask, factory: Factory) -> None:
    """The same for corrections, which lock the current versions one by one."""
    from datetime import UTC, datetime, timedelta

    from server.catches import sync
    from server.members.auth import Principal
    from server.members.models import Role

    c = factory.coop()
    t = trip_item(c.vessel_id)
    p, q = sorted([catch_item(t["id"]), catch_item(t["id"])], key=lambda k: k["id"])
    code, _ = _push(c.fisher.api, [t, p, q])()
    assert code == 200
    who = Principal(c.fisher.member.id, uuid.uuid4(), False, {c.org.id: Role.fisher})
    limits = sync.Limits(20_000.0, 1_000_000, timedelta(minutes=10), 60)
    maker = app.extensions["cardumen.sessionmaker"]

    def run(sess: Session, items: list[dict[str, Any]]) -> list[str]:
        out = sync.push(sess, who, items, device_id=None, now=datetime.now(UTC), limits=limits)
        return [it.status or "" for it in out]

    with maker() as a, maker() as b:
        assert run(a, [dict(p, version=2, notes="A")]) == ["created"]  # A holds p
        b_result: list[list[str]] = []
        b_error: list[BaseException] = []

        def b_push() -> None:
            try:
                b_result.append(run(b, [dict(q, version=2, notes="B"), dict(p, version=2, notes="B")]))
                b.commit()
            except BaseException as exc:
                b_error.append(exc)
                b.rollback()

        thread = threading.Thread(target=b_push)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive()  # B waits for p
        assert run(a, [dict(q, version=2, notes="A")]) == ["created"]
        a.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert not b_error, b_error
        assert b_result == [["conflict", "conflict"]]
