"""Keeping the rollups equal to the logbook: which slices, and rewriting them.

Two rollups share each slice (organization, month): the OGC map's cells
(server/ogc/cells.py) and the dashboards' statistics (server/analytics/stats.py).
A slice is recomputed whole, so recomputing is idempotent and a correction
that moves a catch to another cell, species or month is right without
bookkeeping of what the old version had contributed.

Every slice is committed on its own: a full rebuild holds no long
transaction (which would hold back every change feed's horizon), and an
advisory lock per slice keeps a CLI run and the worker from colliding. After
the slices, the map's audiences that see them are republished.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.analytics import stats
from server.ogc import cells, publish
from server.ogc.models import ROLLUP_TZ
from server.rollup.changes import (
    MONTH_OF,
    Position,
    Slice,
    changed_slices,
    horizon_position,
    month_start,
    save_watermark,
    watermark,
)

Progress = Callable[[int, int], None]  # (slices done, slices in all)
_LOCK_NAMESPACE = zlib.crc32(b"cardumen.ogc.slice") & 0x7FFFFFFF
_CURRENT = "c.superseded_at IS NULL AND c.status = 'active'"


@dataclass
class RefreshStats:
    slices: int = 0
    catches: int = 0
    rows: int = 0  # rollup rows written, every table
    audiences: int = 0  # map audiences republished
    position: Position | None = None  # the watermark saved, when one was


def slices(sess: Session, *, months: Iterable[date] | None = None,
           org_ids: Iterable[uuid.UUID] | None = None) -> list[Slice]:
    """Slices with catches or trips to roll up, or with rollup rows (which may have to go)."""
    params: dict[str, Any] = {"tz": ROLLUP_TZ}
    month_c = MONTH_OF.format(col="c.caught_at")
    month_t = MONTH_OF.format(col="t.departed_at")
    where_c, where_t, where_r = [_CURRENT], ["t.status = 'active'"], ["true"]
    if months is not None:
        params["months"] = sorted({month_start(m) for m in months})
        where_c.append(f"{month_c} = ANY(CAST(:months AS date[]))")
        where_t.append(f"{month_t} = ANY(CAST(:months AS date[]))")
        where_r.append("r.month = ANY(CAST(:months AS date[]))")
    if org_ids is not None:
        params["orgs"] = list(org_ids)
        for where, alias in ((where_c, "c"), (where_t, "t"), (where_r, "r")):
            where.append(f"{alias}.org_id = ANY(CAST(:orgs AS uuid[]))")
    rollup_rows = " UNION ".join(
        f"SELECT r.org_id, r.month FROM {table} r WHERE {' AND '.join(where_r)}"
        for table in ("ogc_cell", "stat_species", "stat_trip", "stat_cell", "stat_zone"))
    sql = f"""
        SELECT c.org_id, {month_c} FROM catch c WHERE {" AND ".join(where_c)}
        UNION SELECT t.org_id, {month_t} FROM trip t WHERE {" AND ".join(where_t)}
        UNION {rollup_rows}
        ORDER BY 2, 1
    """
    return [(r[0], r[1]) for r in sess.execute(text(sql), params)]


def _lock_slice(sess: Session, org_id: uuid.UUID, month: date) -> None:
    key = zlib.crc32(f"{org_id}:{month.isoformat()}".encode()) & 0x7FFFFFFF
    sess.execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"), {"ns": _LOCK_NAMESPACE, "k": key})


def refresh_slice(sess: Session, org_id: uuid.UUID, month: date) -> tuple[int, int]:
    """Recompute one slice in every rollup (flushes, does not commit). Returns (catches
    read, rows written)."""
    month = month_start(month)
    _lock_slice(sess, org_id, month)
    catches, rows = cells.write_slice(sess, org_id, month)
    rows += stats.write_slice(sess, org_id, month)
    return catches, rows


def refresh_slices(sess: Session, todo: list[Slice], progress: Progress | None = None) -> RefreshStats:
    """Recompute these slices, committing after each one, then republish the map's
    audiences that see them (server/ogc/publish.py)."""
    out = RefreshStats()
    if progress:
        progress(0, len(todo))
    for i, (org_id, month) in enumerate(todo, 1):
        catches, rows = refresh_slice(sess, org_id, month)
        sess.commit()
        out.slices += 1
        out.catches += catches
        out.rows += rows
        if progress:
            progress(i, len(todo))
    out.audiences = publish.pending(sess)
    return out


def refresh(sess: Session, *, months: list[date] | None = None,
            org_ids: list[uuid.UUID] | None = None, progress: Progress | None = None) -> RefreshStats:
    """Recompute the slices of these months and organizations (all of them when both are None).

    A full refresh also moves the watermark to where the logbook stood before
    it started, so the next ``refresh_changed`` does not redo everything.
    Commits (per slice)."""
    full = months is None and org_ids is None
    start = horizon_position(sess) if full else None
    todo = slices(sess, months=months, org_ids=org_ids)
    sess.commit()  # nothing held open while the slices run
    out = refresh_slices(sess, todo, progress)
    if start is not None:
        out.position = save_watermark(sess, start)
        sess.commit()
    return out


def refresh_changed(sess: Session, progress: Progress | None = None) -> RefreshStats:
    """Recompute every slice changed since the watermark, then move the watermark. Commits."""
    todo, pos = changed_slices(sess, watermark(sess))
    sess.commit()
    out = refresh_slices(sess, todo, progress)
    out.position = save_watermark(sess, pos)
    sess.commit()
    return out
