"""The job worker, for real: ``cardumen worker`` in a subprocess makes a due run on its
own schedule and pushes it to a loopback receiver, through its failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.reports.models import Delivery, DeliveryAttempt, Run
from tests.conftest import Factory
from tests.exports.receiver import FlakyReceiver
from tests.reports.helpers import local_today, log_trip, setup, subscribe

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_worker_generates_on_schedule_and_delivers_through_failures(
        app: Flask, factory: Factory, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "ALLOW_LOOPBACK_HTTP", 1)
    with FlakyReceiver(b"unset", script=["500", "timeout"], hang_seconds=3) as rx:
        s = setup(factory)
        log_trip(s.coop, local_today() - timedelta(days=1), [{"landed_kg": 31}])
        sub = subscribe(s, days_back=1, delivery="push", push_url=rx.url,
                        format="conapesca_aviso_csv")
        rx.secret = sub["push_secret"].encode()
        # Due now: nobody presses a button, the worker's tick finds it.
        db.execute(text("UPDATE report_subscription SET next_run_at = now() - interval '1 minute' "
                        "WHERE id = :id"), {"id": sub["id"]})
        # Other tests' subscriptions (the demo office's, say) wait: this worker is ours.
        db.execute(text("UPDATE report_subscription SET next_run_at = now() + interval '1 day' "
                        "WHERE next_run_at <= now() AND id <> :id"), {"id": sub["id"]})
        db.commit()
        env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"],
                   CARDUMEN_ARTIFACTS=app.config["ARTIFACTS"],
                   CARDUMEN_SCHEDULER_CRON="* * * * * */1",  # every second (6th field: seconds)
                   CARDUMEN_ALLOW_LOOPBACK_HTTP="1", CARDUMEN_PUSH_TIMEOUT="1",
                   CARDUMEN_PUSH_BACKOFF_BASE="1", NO_PROXY="127.0.0.1")
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            status = None
            while time.monotonic() < deadline:
                db.rollback()
                status = db.scalar(select(Delivery.status).join(Run, Run.id == Delivery.run_id)
                                   .where(Run.subscription_id == uuid.UUID(sub["id"])))
                if status == "acknowledged":
                    break
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
        assert status == "acknowledged", out[-4000:]
        assert rx.outcomes == ["500", "timeout", "ok"]

    db.rollback()
    run = db.scalar(select(Run).where(Run.subscription_id == uuid.UUID(sub["id"])))
    assert run is not None and run.trigger == "schedule" and run.job_id is not None
    d = db.scalar(select(Delivery).where(Delivery.run_id == run.id))
    assert d is not None
    attempts = list(db.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
                               .order_by(DeliveryAttempt.attempt)))
    assert [a.ok for a in attempts] == [False, False, True]
    assert all(a.job_id is not None for a in attempts)
    nxt = db.scalar(text("SELECT next_run_at > now() FROM report_subscription WHERE id = :id"),
                    {"id": sub["id"]})
    assert nxt is True  # the schedule moved on
