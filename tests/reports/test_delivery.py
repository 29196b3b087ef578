"""Push delivery to a real HTTP receiver on loopback that fails on purpose at first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import jobs
from server.reports import delivery
from server.reports.models import Delivery, DeliveryAttempt
from tests.conftest import Factory
from tests.exports.receiver import FlakyReceiver
from tests.reports.helpers import local_today, log_trip, run_now, setup, subscribe


@pytest.fixture
def loopback_push(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "ALLOW_LOOPBACK_HTTP", 1)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def _attempts(db: Session, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
    db.rollback()
    return list(db.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                           .order_by(DeliveryAttempt.attempt)))


def _push_subscription(factory: Factory, rx: FlakyReceiver) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    s = setup(factory)
    log_trip(s.coop, local_today() - timedelta(days=1), [{"landed_kg": 20}])
    sub = subscribe(s, days_back=1, delivery="push", push_url=rx.url)
    assert sub["push_secret"] and len(sub["push_secret"]) >= 32
    rx.secret = sub["push_secret"].encode()
    (run,) = run_now(s, sub["id"])
    assert run["delivery"]["method"] == "push" and run["delivery"]["status"] == "pending"
    return s, sub, run


@pytest.mark.usefixtures("loopback_push")
def test_retries_until_acknowledged_and_never_twice(app: Flask, factory: Factory, db: Session) -> None:
    with FlakyReceiver(b"unset", script=["timeout", "500", "reset"], hang_seconds=3) as rx:
        s, _, run = _push_subscription(factory, rx)
        rt = jobs.configure(dict(app.config))
        policy = delivery.PushPolicy(timeout=0.5, backoff_base=60, max_attempts=10)
        d_id = uuid.UUID(run["delivery"]["id"])
        now = datetime.now(UTC)
        outcomes = []
        for i in range(4):
            with rt.maker() as sess:
                outcomes.append(delivery.attempt_push(sess, rt.store, d_id, now=now + timedelta(minutes=i),
                                                      policy=policy))
        assert [o.status for o in outcomes] == ["retry", "retry", "retry", "acknowledged"]
        # Exponential backoff: 60 s, 120 s, 240 s after each failure.
        waits = [(o.next_attempt_at - (now + timedelta(minutes=i))).total_seconds()
                 for i, o in enumerate(outcomes[:3]) if o.next_attempt_at]
        assert waits == [60, 120, 240]
        # Acknowledged: a further attempt sends nothing.
        with rt.maker() as sess:
            assert delivery.attempt_push(sess, rt.store, d_id, now=now, policy=policy).status == "done"
        assert rx.outcomes == ["timeout", "500", "reset", "ok"]
        assert list(rx.accepted) == [run["delivery"]["id"]]
        # Every attempt sent the same signed bytes; the receiver got the run's files intact.
        assert len({r.body_sha256 for r in rx.requests}) == 1
        assert rx.requests[-1].verify_files() == []
        assert rx.requests[-1].manifest()["run_id"] == run["id"]

    attempts = _attempts(db, d_id)
    assert [(a.attempt, a.ok, a.error) for a in attempts] == [
        (1, False, "timeout"), (2, False, "http_500"), (3, False, attempts[2].error), (4, True, None)]
    assert attempts[2].error and attempts[2].error.startswith("connection_error")
    detail = s.staff.api.get(f"/api/v1/reports/runs/{run['id']}").get_json()
    assert detail["delivery"]["status"] == "acknowledged" and detail["delivery"]["attempts"] == 4
    assert [a["ok"] for a in detail["attempts"]] == [False, False, False, True]


@pytest.mark.usefixtures("loopback_push")
def test_a_receiver_that_stored_the_run_but_timed_out_sees_a_duplicate(
        app: Flask, factory: Factory) -> None:
    with FlakyReceiver(b"unset", script=["slow_ok"], hang_seconds=2) as rx:
        _, _, run = _push_subscription(factory, rx)
        rt = jobs.configure(dict(app.config))
        policy = delivery.PushPolicy(timeout=0.5, backoff_base=1, max_attempts=5)
        d_id = uuid.UUID(run["delivery"]["id"])
        with rt.maker() as sess:
            assert delivery.attempt_push(sess, rt.store, d_id, now=datetime.now(UTC),
                                         policy=policy).status == "retry"
        with rt.maker() as sess:
            assert delivery.attempt_push(sess, rt.store, d_id, now=datetime.now(UTC),
                                         policy=policy).status == "acknowledged"
        # Same Idempotency-Key: the receiver stores the run once.
        assert len(rx.accepted) == 1 and len(rx.duplicates) == 1


@pytest.mark.usefixtures("loopback_push")
def test_attempts_run_out_then_an_admin_retries(app: Flask, factory: Factory, db: Session) -> None:
    with FlakyReceiver(b"unset", script=["503", "503"]) as rx:
        s, _, run = _push_subscription(factory, rx)
        rt = jobs.configure(dict(app.config))
        policy = delivery.PushPolicy(timeout=2, backoff_base=1, max_attempts=2)
        d_id = uuid.UUID(run["delivery"]["id"])
        for _ in range(2):
            with rt.maker() as sess:
                last = delivery.attempt_push(sess, rt.store, d_id, now=datetime.now(UTC), policy=policy)
        assert last.status == "failed"
        detail = s.admin.api.get(f"/api/v1/reports/runs/{run['id']}").get_json()
        assert detail["delivery"]["status"] == "failed"
        assert detail["delivery"]["last_error"] == "http_503"

        r = s.admin.api.post(f"/api/v1/reports/deliveries/{d_id}/retry")
        assert r.status_code == 200 and r.get_json()["status"] == "pending"
        with rt.maker() as sess:
            assert d_id in delivery.due_pushes(sess, datetime.now(UTC) + timedelta(seconds=1))
            assert delivery.attempt_push(sess, rt.store, d_id, now=datetime.now(UTC),
                                         policy=policy).status == "acknowledged"
    db.rollback()
    d = db.get(Delivery, d_id)
    assert d is not None and d.status == "acknowledged"


@pytest.mark.usefixtures("loopback_push")
def test_two_workers_at_once_push_a_run_once(app: Flask, factory: Factory) -> None:
    import threading

    with FlakyReceiver(b"unset", script=["slow_ok"], hang_seconds=1) as rx:
        _, _, run = _push_subscription(factory, rx)
        rt = jobs.configure(dict(app.config))
        policy = delivery.PushPolicy(timeout=5, backoff_base=1, max_attempts=5)
        d_id = uuid.UUID(run["delivery"]["id"])
        results: list[str] = []

        def attempt() -> None:
            with rt.maker() as sess:
                results.append(delivery.attempt_push(sess, rt.store, d_id, now=datetime.now(UTC),
                                                     policy=policy).status)

        threads = [threading.Thread(target=attempt) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["acknowledged", "busy", "busy"] or \
            sorted(results) == ["acknowledged", "busy", "done"] or \
            sorted(results) == ["acknowledged", "done", "done"]
        assert len(rx.requests) == 1
