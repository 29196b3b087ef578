"""Background job of governance: close the proposals whose voting window has passed, every
minute. Correctness does not wait for it (the first read after the window closes the
proposal too); it writes the results and applies their effects even if nobody looks."""

from __future__ import annotations

import procrastinate

from server import jobs
from server.governance import closing

CRON = "* * * * *"

bp = procrastinate.Blueprint()


@bp.task(name="close_due", queue="governance", queueing_lock="governance-close",
         pass_context=False)
def close_due(timestamp: int = 0) -> dict[str, int]:
    return {"closed": jobs.in_batches(closing.close_due, closing.BATCH)}
