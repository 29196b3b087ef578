"""Background job of the forum: empty the recent vector of threads gone quiet, daily, so
that the recent index stays the size of the last RECENT_DAYS (server/forum/models.py).
Searches are right without it (they read that vector with a cut-off); only their speed
drifts while it does not run."""

from __future__ import annotations

import procrastinate

from server import jobs
from server.forum import threads

CRON = "17 3 * * *"

bp = procrastinate.Blueprint()


@bp.task(name="cool", queue="forum", queueing_lock="forum-cool", pass_context=False)
def cool(timestamp: int = 0) -> dict[str, int]:
    rt = jobs.runtime()
    cooled = 0
    with rt.maker() as sess:
        # Batches, each committed: a thread replied to meanwhile is not held for long.
        while True:
            n = threads.cool(sess)
            sess.commit()
            cooled += n
            if n < threads.COOL_BATCH:
                break
    return {"cooled": cooled}
