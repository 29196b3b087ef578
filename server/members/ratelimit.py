"""Fixed-window attempt counters in PostgreSQL, shared by every worker process.

Counted on a connection of its own, committed at once: a failed login rolls
back the request's transaction but must still count.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from server.errors import ApiError

_HIT = text("""
    INSERT INTO rate_limit AS r (key, window_start, hits) VALUES (:key, :start, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + 1
    RETURNING hits
""")
_PURGE = text("DELETE FROM rate_limit WHERE window_start < :before")


def check(engine: Engine, limits: list[tuple[str, int]], window: int) -> None:
    """Count one attempt under each key; 429 with Retry-After when any is over its limit."""
    now = time.time()
    start = math.floor(now / window) * window
    start_dt = datetime.fromtimestamp(start, UTC)
    over = False
    with engine.begin() as conn:
        for key, limit in limits:
            hits = conn.execute(_HIT, {"key": key, "start": start_dt}).scalar_one()
            over = over or hits > limit
        # Old windows are useless; dropping them here keeps the table tiny.
        if int(now) % 50 == 0:
            conn.execute(_PURGE, {"before": datetime.fromtimestamp(start - window, UTC)})
    if over:
        retry = max(1, int(start + window - now) + 1)
        raise ApiError(429, "rate_limited", headers={"Retry-After": str(retry)},
                       retry_after=retry)
