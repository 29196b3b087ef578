"""``cardumen ogc ...``: the rollups by hand (the map's cells and the dashboards' statistics)."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from server.rollup import run as rollup


@click.group("ogc", cls=AppGroup)
def ogc() -> None:
    """The OGC API's aggregated catch per hexagon cell and month."""


@ogc.command("refresh")
@click.option("--all", "everything", is_flag=True,
              help="recompute every organization and month (after a change of resolution, "
                   "a restore, or to verify); default: only what changed since the last run")
@click.option("--month", "months", multiple=True, type=click.DateTime(formats=["%Y-%m"]),
              help="only this month (YYYY-MM; repeatable)")
@click.option("--org", "orgs", multiple=True, type=click.UUID,
              help="only this organization (repeatable)")
def refresh(everything: bool, months: tuple[datetime, ...], orgs: tuple[uuid.UUID, ...]) -> None:
    """Bring the rollups (the map's cells, the dashboards' statistics) up to date with the
    logbook, with a progress bar, then republish the map's views that the slices touch."""
    if everything and (months or orgs):
        raise click.UsageError("--all recomputes everything; leave out --month and --org")
    maker: sessionmaker[Session] = current_app.extensions["cardumen.sessionmaker"]
    with tqdm(total=0, unit="slice", desc="ogc cells", file=sys.stderr, disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with maker() as sess:
            if everything:
                stats = rollup.refresh(sess, progress=progress)
            elif months or orgs:
                stats = rollup.refresh(sess, months=[m.date() for m in months] or None,
                                       org_ids=list(orgs) or None, progress=progress)
            else:
                stats = rollup.refresh_changed(sess, progress=progress)
    where = f", watermark {stats.position.xid}:{stats.position.seq}" if stats.position else ""
    click.echo(f"{stats.slices} slice(s), {stats.catches} catch(es), {stats.rows} row(s), "
               f"{stats.audiences} audience(s) republished{where}")
