"""Where the logbook has changed since a rollup last looked: change positions and slices.

The unit of rollup work is a *slice*: one organization and one month (of
``caught_at``, in America/Mexico_City time, for catches; of ``departed_at``
for trips). Rollups find the slices touched since their watermark through the
logbook's change positions ``(change_xid, change_seq)`` and read them the way
the change feed does (server/feed.py): only rows whose ``change_xid`` is
below the xmin of the current snapshot, so a transaction still running when we
look is picked up by a later run instead of being skipped. A correction
inserts a new version and stamps the old one (an UPDATE, which moves its
change position too), so both the old and the new month are found. Trip
changes count as well: moving a trip to another vessel changes vessel counts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.ogc.models import ROLLUP_TZ

Slice = tuple[uuid.UUID, date]

WATERMARK = "catch"  # the logbook's change position the rollups have caught up to
MONTH_OF = "date_trunc('month', {col} AT TIME ZONE :tz)::date"


@dataclass(frozen=True, order=True)
class Position:
    xid: int
    seq: int


def month_start(d: date) -> date:
    return d.replace(day=1)


_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
_RANGE = "(x.change_xid, x.change_seq) > (:xid, :seq) AND x.change_xid < :horizon"


def watermark(sess: Session) -> Position:
    row = sess.execute(text("SELECT change_xid, change_seq FROM ogc_watermark WHERE name = :n"),
                       {"n": WATERMARK}).first()
    return Position(int(row[0]), int(row[1])) if row else Position(0, 0)


def save_watermark(sess: Session, pos: Position) -> Position:
    # Never backwards: two runs that overlap both end at the further position.
    sess.execute(text("""
        INSERT INTO ogc_watermark (name, change_xid, change_seq) VALUES (:n, :xid, :seq)
        ON CONFLICT (name) DO UPDATE SET change_xid = EXCLUDED.change_xid,
               change_seq = EXCLUDED.change_seq, updated_at = now()
        WHERE (ogc_watermark.change_xid, ogc_watermark.change_seq)
              < (EXCLUDED.change_xid, EXCLUDED.change_seq)
    """), {"n": WATERMARK, "xid": pos.xid, "seq": pos.seq})
    return max(pos, watermark(sess))


def _last_position(sess: Session, table: str, params: dict[str, Any]) -> Position | None:
    row = sess.execute(text(f"""
        SELECT x.change_xid, x.change_seq FROM {table} x WHERE {_RANGE}
        ORDER BY x.change_xid DESC, x.change_seq DESC LIMIT 1"""), params).first()
    return Position(int(row[0]), int(row[1])) if row else None


def horizon_position(sess: Session) -> Position:
    """The furthest position below the current horizon: every change up to it has committed."""
    horizon = int(sess.execute(text(_HORIZON)).scalar_one())
    params = {"xid": 0, "seq": 0, "horizon": horizon}
    found = [p for p in (_last_position(sess, t, params) for t in ("catch", "trip")) if p]
    return max(found, default=Position(0, 0))


def changed_slices(sess: Session, since: Position) -> tuple[list[Slice], Position]:
    """Slices touched by changes after ``since`` that are safe to read, and the
    position the watermark may move to once they are recomputed."""
    horizon = int(sess.execute(text(_HORIZON)).scalar_one())
    params: dict[str, Any] = {"xid": since.xid, "seq": since.seq, "horizon": horizon, "tz": ROLLUP_TZ}
    rows = sess.execute(text(f"""
        SELECT x.org_id, {MONTH_OF.format(col="x.caught_at")} FROM catch x WHERE {_RANGE}
        UNION
        SELECT c.org_id, {MONTH_OF.format(col="c.caught_at")}
        FROM trip x JOIN catch c ON c.org_id = x.org_id AND c.trip_id = x.id
        WHERE {_RANGE} AND c.superseded_at IS NULL
        UNION
        SELECT x.org_id, {MONTH_OF.format(col="x.departed_at")} FROM trip x WHERE {_RANGE}
        ORDER BY 2, 1
    """), params).all()
    found = [p for p in (_last_position(sess, t, params) for t in ("catch", "trip")) if p]
    return [(r[0], r[1]) for r in rows], max([since, *found])
