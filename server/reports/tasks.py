"""Background jobs of the reports domain, on procrastinate (jobs live in PostgreSQL).

``tick`` runs periodically (every minute by default, ``CARDUMEN_SCHEDULER_CRON``)
and only looks: due subscriptions get a ``run_subscription`` job, due pushes a
``push`` job. Queueing locks keep one waiting job per subscription and per
delivery, so a slow worker or two workers never stack duplicates. A push that
fails schedules its own next attempt with exponential backoff; the tick is the
safety net that re-defers anything a crash left behind.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import UTC, datetime

import procrastinate
from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued

from server import jobs
from server.reports import delivery, scheduler
from server.reports.models import Trigger

log = logging.getLogger(__name__)

bp = procrastinate.Blueprint()


def _defer_quietly(task: procrastinate.tasks.Task, lock: str, **kwargs: object) -> None:
    when = kwargs.pop("schedule_at", None)
    # AlreadyEnqueued: one is already waiting, and that one will do.
    with contextlib.suppress(AlreadyEnqueued):
        task.configure(queueing_lock=lock, schedule_at=when).defer(**kwargs)  # type: ignore[arg-type]


def tick(timestamp: int) -> dict[str, int]:
    rt = jobs.runtime()
    now = datetime.fromtimestamp(timestamp, UTC) if timestamp else datetime.now(UTC)
    now = max(now, datetime.now(UTC))
    with rt.maker() as sess:
        subs = scheduler.due_subscriptions(sess, now)
        pushes = delivery.due_pushes(sess, now)
    for sub_id in subs:
        _defer_quietly(run_subscription_task, f"reports-sub:{sub_id}", subscription_id=str(sub_id))
    for d_id in pushes:
        _defer_quietly(push_task, f"reports-push:{d_id}", delivery_id=str(d_id))
    return {"subscriptions": len(subs), "pushes": len(pushes)}


@bp.task(name="run_subscription", queue="reports", pass_context=True)
def run_subscription_task(context: JobContext, subscription_id: str) -> dict[str, int]:
    rt = jobs.runtime()
    job_id = context.job.id if context.job else None
    result = scheduler.run_subscription(
        rt.maker, rt.store, uuid.UUID(subscription_id), now=datetime.now(UTC),
        trigger=Trigger.schedule, job_id=job_id)
    for d_id in result.pushes:
        _defer_quietly(push_task, f"reports-push:{d_id}", delivery_id=str(d_id))
    return {"runs": len(result.runs), "pushes": len(result.pushes)}


@bp.task(name="push", queue="reports", pass_context=True)
def push_task(context: JobContext, delivery_id: str) -> str:
    rt = jobs.runtime()
    job_id = context.job.id if context.job else None
    with rt.maker() as sess:
        out = delivery.attempt_push(sess, rt.store, uuid.UUID(delivery_id), now=datetime.now(UTC),
                                    policy=rt.push_policy, job_id=job_id)
    if out.status == "retry" and out.next_attempt_at is not None:
        log.info("push %s attempt %s failed; next at %s", delivery_id, out.attempt,
                 out.next_attempt_at.isoformat())
        _defer_quietly(push_task, f"reports-push:{delivery_id}", delivery_id=delivery_id,
                       schedule_at=out.next_attempt_at)
    return out.status
