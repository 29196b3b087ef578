"""What the worker does on each tick: due subscriptions make their runs, due pushes go out.

Each run commits on its own, so a subscription that owes a year of periods
(a backfill) makes progress run by run and a failure costs one run, not all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exports.storage import ArtifactStore
from server.reports import generate, periods
from server.reports.models import DeliveryMethod, Subscription

Progress = Callable[[int, int], None]  # (done, total)


class TooMuchWork(Exception):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} runs owed, limit {limit}")
        self.count = count
        self.limit = limit


@dataclass
class SubscriptionResult:
    subscription_id: uuid.UUID
    runs: list[uuid.UUID] = field(default_factory=list)
    pushes: list[uuid.UUID] = field(default_factory=list)  # deliveries to push now


def due_subscriptions(sess: Session, now: datetime) -> list[uuid.UUID]:
    return list(sess.scalars(select(Subscription.id).where(
        Subscription.active, Subscription.next_run_at <= now).order_by(Subscription.next_run_at)))


def run_subscription(maker: sessionmaker[Session], store: ArtifactStore, sub_id: uuid.UUID, *,
                     now: datetime, trigger: str, member_id: uuid.UUID | None = None,
                     job_id: int | None = None, progress: Progress | None = None,
                     advance_schedule: bool = True, limit: int | None = None) -> SubscriptionResult:
    """Make every run ``sub_id`` owes at ``now``, one transaction each; ``limit`` refuses
    (TooMuchWork) a backlog larger than a caller such as an HTTP request should take on."""
    out = SubscriptionResult(sub_id)
    with maker() as sess:
        sub = sess.get(Subscription, sub_id)
        if sub is None:
            return out
        work = list(generate.due_work(sess, sub, now))
    if limit is not None and len(work) > limit:
        raise TooMuchWork(len(work), limit)
    for i, (org_id, span) in enumerate(work):
        with maker() as sess:
            sub = sess.get(Subscription, sub_id)
            assert sub is not None
            made = generate.generate(sess, store, sub, org_id, span, trigger=trigger, now=now,
                                     member_id=member_id, job_id=job_id)
            sess.commit()
            if made is not None:
                out.runs.append(made.run.id)
                if made.delivery.method == DeliveryMethod.push:
                    out.pushes.append(made.delivery.id)
        if progress:
            progress(i + 1, len(work))
    if advance_schedule:
        with maker() as sess:
            sub = sess.get(Subscription, sub_id)
            assert sub is not None
            sub.last_run_at = now
            sub.next_run_at = periods.next_fire(sub.schedule, sub.timezone, now)
            sess.commit()
    return out
