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
    rt = jobs.runtime()
    closed = 0
    with rt.maker() as sess:
        # Batches of 100, each committed: one slow batch does not hold the others' results.
        while True:
            n = closing.close_due(sess)
            sess.commit()
            closed += n
            if n < 100:
                break
    return {"closed": closed}
