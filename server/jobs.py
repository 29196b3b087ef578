"""The job queue: procrastinate on the same PostgreSQL, and what jobs run with.

Jobs need no Flask app: a ``Runtime`` holds a session factory, the artifact
store and the push policy, built from the same configuration the web app
reads (defaults, then ``CARDUMEN_*``). ``make_app`` binds every domain's task
blueprint and the periodic tick to one procrastinate ``App``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import procrastinate
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from exports.storage import ArtifactStore, store_from_env
from server.db import make_engine

PROJECT = Path(__file__).resolve().parent.parent


@dataclass
class Runtime:
    maker: sessionmaker[Session]
    store: ArtifactStore
    push_policy: Any  # server.reports.delivery.PushPolicy
    allow_loopback_http: bool
    market_deadlines: Any  # server.market.orders.Deadlines


_RUNTIME: Runtime | None = None


def libpq_url(sqlalchemy_url: str) -> str:
    """psycopg wants ``postgresql://``; SQLAlchemy's URL names the driver."""
    u = make_url(sqlalchemy_url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def artifact_store(cfg: dict[str, Any]) -> ArtifactStore:
    env = {"CARDUMEN_ARTIFACTS": cfg["ARTIFACTS"]} if cfg.get("ARTIFACTS") else {}
    return store_from_env(env, PROJECT / ".cardumen" / "artifacts")


def configure(cfg: dict[str, Any]) -> Runtime:
    """Set the process's job runtime from a loaded configuration."""
    from server.market.orders import deadlines
    from server.reports.delivery import PushPolicy

    global _RUNTIME
    engine = make_engine(cfg["DATABASE_URL"], pool_size=4)
    _RUNTIME = Runtime(
        maker=sessionmaker(engine, expire_on_commit=False),
        store=artifact_store(cfg),
        push_policy=PushPolicy(timeout=float(cfg["PUSH_TIMEOUT"]),
                               backoff_base=float(cfg["PUSH_BACKOFF_BASE"]),
                               max_attempts=int(cfg["PUSH_MAX_ATTEMPTS"])),
        allow_loopback_http=bool(cfg["ALLOW_LOOPBACK_HTTP"]),
        market_deadlines=deadlines(cfg),
    )
    return _RUNTIME


def runtime() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("job runtime not configured: call server.jobs.configure(cfg)")
    return _RUNTIME


def in_batches(step: Callable[[Session], int], batch: int) -> int:
    """Run ``step`` (it does up to ``batch`` rows' work and says how many) again and again,
    committing each, until it does fewer: one slow batch neither holds the others' work
    nor the rows it locked for long. How many rows in all."""
    done = 0
    with runtime().maker() as sess:
        while True:
            n = step(sess)
            sess.commit()
            done += n
            if n < batch:
                return done


def make_app(database_url: str, tick_cron: str = "* * * * *") -> procrastinate.App:
    from server.forum import tasks as forum_tasks
    from server.governance import tasks as governance_tasks
    from server.market import tasks as market_tasks
    from server.ogc import tasks as ogc_tasks
    from server.reports import tasks as report_tasks

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=4))
    app.add_tasks_from(report_tasks.bp, namespace="reports")
    app.periodic(cron=tick_cron, periodic_id="tick")(
        app.task(name="reports.tick", queue="reports", pass_context=False)(report_tasks.tick))
    app.add_tasks_from(ogc_tasks.bp, namespace="ogc")
    app.periodic(cron=ogc_tasks.CRON, periodic_id="ogc-refresh-cells")(ogc_tasks.refresh_cells)
    app.add_tasks_from(market_tasks.bp, namespace="market")
    app.periodic(cron=market_tasks.CRON, periodic_id="market-expire")(market_tasks.expire)
    app.add_tasks_from(governance_tasks.bp, namespace="governance")
    app.periodic(cron=governance_tasks.CRON, periodic_id="governance-close")(
        governance_tasks.close_due)
    app.add_tasks_from(forum_tasks.bp, namespace="forum")
    app.periodic(cron=forum_tasks.CRON, periodic_id="forum-cool")(forum_tasks.cool)
    return app
