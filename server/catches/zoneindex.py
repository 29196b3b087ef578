"""Which zones contain a position, answered in the worker's memory.

A push used to ask PostgreSQL (one GiST probe into ``zone_piece`` per
position, ~30 µs each: a third of the database's work for a batch). The
pieces are small (≤128 vertices) and few (thousands), so each worker keeps
them in a shapely STRtree and runs the same GEOS ``intersects`` predicate
PostGIS runs, on the same WKB, so the answers are the same.

Freshness: every change to ``zone`` (insert, retirement, new shape) draws a
new ``change_seq`` (column default and trigger), and pieces are recut by a
trigger in the same transaction; so ``(count, max(change_seq))`` of ``zone``
names the state. Each batch reads that key (one tiny query) and reloads when
it moved.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

_KEY = text("SELECT count(*), coalesce(max(change_seq), 0) FROM zone")
_PIECES = text("""
    SELECT z.id, z.kind, z.code, z.valid_from, z.valid_until, ST_AsBinary(zp.geom) AS wkb
      FROM zone_piece zp JOIN zone z ON z.id = zp.zone_id
     WHERE z.retired_at IS NULL
""")


@dataclass(frozen=True)
class ZoneHit:
    id: uuid.UUID
    kind: str
    code: str | None
    valid_from: date | None
    valid_until: date | None


class _Index:
    def __init__(self, key: tuple[int, int], hits: list[ZoneHit], geoms: Any) -> None:
        self.key = key
        self.hits = hits
        self.tree = shapely.STRtree(geoms)


_lock = threading.Lock()
_current: _Index | None = None


def _load(sess: Session, key: tuple[int, int]) -> _Index:
    hits: list[ZoneHit] = []
    wkbs: list[bytes] = []
    for r in sess.execute(_PIECES):
        hits.append(ZoneHit(r.id, r.kind, r.code, r.valid_from, r.valid_until))
        wkbs.append(bytes(r.wkb))
    geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.array([])
    return _Index(key, hits, geoms)


def containing(sess: Session, xs: list[float], ys: list[float]) -> list[list[ZoneHit]]:
    """For each (x, y), the live zones whose shape contains or touches it."""
    global _current
    row = sess.execute(_KEY).one()
    key = (int(row[0]), int(row[1]))
    index = _current
    if index is None or index.key != key:
        with _lock:
            index = _current
            if index is None or index.key != key:
                index = _current = _load(sess, key)
    out: list[list[ZoneHit]] = [[] for _ in xs]
    if not xs or not index.hits:
        return out
    points = shapely.points(np.array(xs), np.array(ys))
    point_idx, piece_idx = index.tree.query(points, predicate="intersects")
    seen: set[tuple[int, uuid.UUID]] = set()
    for p, g in zip(point_idx.tolist(), piece_idx.tolist(), strict=True):
        hit = index.hits[g]
        if (p, hit.id) not in seen:  # a point on a seam touches two pieces of one zone
            seen.add((p, hit.id))
            out[p].append(hit)
    return out
