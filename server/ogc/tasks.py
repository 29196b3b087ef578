"""Background job of the rollups (map cells, dashboard statistics): catch up with the
logbook, every minute by default.

The job is cheap when nothing changed (two index probes on the change
positions), so it can run often; a queueing lock keeps at most one waiting,
so a slow run never piles up ticks behind it.
"""

from __future__ import annotations

import procrastinate

from server import jobs
from server.rollup import run as rollup

CRON = "* * * * *"

bp = procrastinate.Blueprint()


@bp.task(name="refresh_cells", queue="ogc", queueing_lock="ogc-refresh-cells", pass_context=False)
def refresh_cells(timestamp: int = 0) -> dict[str, int]:
    """Recompute the slices whose catches or trips changed since the last run, in both
    rollups.

    ``timestamp`` is the periodic tick's; the work does not depend on it."""
    with jobs.runtime().maker() as sess:
        stats = rollup.refresh_changed(sess)
    return {"slices": stats.slices, "catches": stats.catches, "rows": stats.rows,
            "audiences": stats.audiences}
