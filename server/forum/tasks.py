"""Background job of the forum: empty the tiers' vectors of threads gone quiet, daily, so
that each tier's index stays the size of its days (server/forum/models.py TIERS).
Searches are right without it (they read each tier with a cut-off); only their speed
drifts while it does not run."""

from __future__ import annotations

import procrastinate

from server import jobs
from server.forum import threads

CRON = "17 3 * * *"

bp = procrastinate.Blueprint()


@bp.task(name="cool", queue="forum", queueing_lock="forum-cool", pass_context=False)
def cool(timestamp: int = 0) -> dict[str, int]:
    # Fewer than a batch in all: fewer in every tier, so every tier is done.
    return {"cooled": jobs.in_batches(threads.cool, threads.COOL_BATCH)}
