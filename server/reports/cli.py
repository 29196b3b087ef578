"""``cardumen reports ...`` and ``cardumen worker``: reports by hand, and the job worker."""

from __future__ import annotations

import logging
import sys
import uuid
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from server import jobs
from server.reports import generate, periods, scheduler, selection
from server.reports.models import Artifact, Run, Subscription, Trigger


def _maker() -> sessionmaker[Session]:
    maker: sessionmaker[Session] = current_app.extensions["cardumen.sessionmaker"]
    return maker


@click.command("worker")
@with_appcontext
@click.option("--concurrency", type=int, default=2, show_default=True,
              help="jobs run at once (threads for the synchronous report jobs)")
def worker(concurrency: int) -> None:
    """Run the job worker: scheduled reports, pushes and their retries."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # one line per file written
    cfg = dict(current_app.config)
    jobs.configure(cfg)
    app = jobs.make_app(cfg["DATABASE_URL"], cfg["SCHEDULER_CRON"])
    click.echo(f"worker: reports every '{cfg['SCHEDULER_CRON']}', concurrency {concurrency}")
    app.run_worker(concurrency=concurrency, install_signal_handlers=True)


@click.group("reports", cls=AppGroup)
def reports() -> None:
    """Government reports by hand: run, re-run, verify."""


@reports.command("subscriptions")
def list_subscriptions() -> None:
    """List subscriptions with their schedule and next run."""
    with _maker()() as sess:
        for s in sess.scalars(select(Subscription).order_by(Subscription.created_at)):
            click.echo(f"{s.id}  {s.format:22} {s.period:5} '{s.schedule}' {s.delivery:4} "
                       f"next {s.next_run_at:%Y-%m-%d %H:%M}  {s.name}"
                       if s.next_run_at else f"{s.id}  {s.format} (paused)  {s.name}")


@reports.command("run")
@click.argument("subscription_id", type=click.UUID)
@click.option("--period-start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="only this period (its first day); default: everything due")
def run(subscription_id: uuid.UUID, period_start: datetime | None) -> None:
    """Make what a subscription owes now (originals and amendments), with a progress bar.

    Running it again makes nothing new unless records changed: a period's
    report is made once, and later changes become amendments."""
    cfg = dict(current_app.config)
    store = jobs.artifact_store(cfg)
    maker = _maker()
    now = datetime.now(UTC)
    with maker() as sess:
        sub = sess.get(Subscription, subscription_id)
        if sub is None:
            raise click.ClickException(f"no subscription {subscription_id}")
        if period_start is not None:
            span = periods.span_of(sub.period, period_start.date())
            if span.start != period_start.date():
                raise click.ClickException(f"a {sub.period} period starts on {span.start}")
            work = [(o, span) for o in selection.orgs_owed(sess, sub, span)]
        else:
            work = list(generate.due_work(sess, sub, now))
    made: list[uuid.UUID] = []
    with tqdm(total=len(work), unit="run", desc="reports", file=sys.stderr,
              disable=None) as bar:
        for org, span in work:
            with maker() as sess:
                sub = sess.get(Subscription, subscription_id)
                assert sub is not None
                out = generate.generate(sess, store, sub, org, span, trigger=Trigger.cli, now=now)
                sess.commit()
                if out is not None:
                    made.append(out.run.id)
                    bar.set_postfix_str(f"{span.start} {out.run.purpose} {out.run.record_count} rec")
            bar.update(1)
    click.echo(f"{len(made)} run(s) made")
    for run_id in made:
        click.echo(str(run_id))


@reports.command("tick")
def tick() -> None:
    """Run every due subscription once, now, in this process (what the worker's tick defers)."""
    cfg = dict(current_app.config)
    store = jobs.artifact_store(cfg)
    now = datetime.now(UTC)
    with _maker()() as sess:
        due = scheduler.due_subscriptions(sess, now)
    for sub_id in tqdm(due, unit="subscription", file=sys.stderr, disable=None):
        out = scheduler.run_subscription(_maker(), store, sub_id, now=now, trigger=Trigger.cli)
        click.echo(f"{sub_id}: {len(out.runs)} run(s)")


@reports.command("verify")
@click.argument("run_id", type=click.UUID)
def verify(run_id: uuid.UUID) -> None:
    """Make a stored run's files again from its exact record versions and compare SHA-256."""
    with _maker()() as sess:
        r = sess.get(Run, run_id)
        if r is None:
            raise click.ClickException(f"no run {run_id}")
        stored = {a.name: a.sha256 for a in sess.scalars(
            select(Artifact).where(Artifact.run_id == run_id)) if a.name != generate.MANIFEST}
        again = generate.regenerate(sess, r)
        sess.rollback()
    bad = [n for n in sorted(stored) if again.get(n) != stored[n]]
    for name in sorted(stored):
        click.echo(f"{'ok ' if name not in bad else 'DIFF'} {name} {stored[name]}")
    if bad or set(again) != set(stored):
        raise click.ClickException("the run's files could not be reproduced byte for byte")
    click.echo("reproduced byte for byte")

