"""Delivering runs: one push attempt at a time, every attempt kept; pull downloads and acks.

A push holds its delivery row locked (``FOR UPDATE SKIP LOCKED``) from before
the POST until its outcome is recorded, so two workers never push the same run
at once, and a delivery that reached ``acknowledged`` is never pushed again.
The receiver's 2xx is the acknowledgement; retries send the same bytes with the
same ``Idempotency-Key``, so a receiver that timed out on us after storing the
run can drop the repeat.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports import push as push_mod
from exports.storage import ArtifactStore
from server.reports.generate import MANIFEST
from server.reports.models import (
    Artifact,
    Delivery,
    DeliveryAttempt,
    DeliveryMethod,
    DeliveryStatus,
    Run,
    Subscription,
)


@dataclass(frozen=True, slots=True)
class PushPolicy:
    timeout: float = 30.0
    backoff_base: float = 30.0
    backoff_cap: float = 6 * 3600.0
    max_attempts: int = 12


@dataclass(frozen=True, slots=True)
class PushOutcome:
    status: str  # "acknowledged", "retry", "failed", "busy", "done"
    next_attempt_at: datetime | None = None
    attempt: int | None = None


def _files(sess: Session, run_id: uuid.UUID) -> tuple[Artifact, list[Artifact]]:
    arts = list(sess.scalars(select(Artifact).where(Artifact.run_id == run_id)
                             .order_by(Artifact.name)))
    manifest = next(a for a in arts if a.name == MANIFEST)
    return manifest, [a for a in arts if a.name != MANIFEST]


def _reference(excerpt: str) -> str | None:
    """An authority's receipt number, if its answer names one."""
    try:
        body = orjson.loads(excerpt)
    except orjson.JSONDecodeError:
        return None
    if isinstance(body, dict):
        for key in ("reference", "receipt", "folio", "id"):
            if isinstance(body.get(key), str | int):
                return str(body[key])[:200]
    return None


def attempt_push(sess: Session, store: ArtifactStore, delivery_id: uuid.UUID, *, now: datetime,
                 policy: PushPolicy, job_id: int | None = None) -> PushOutcome:
    """One push attempt of one delivery; commits its outcome."""
    d = sess.scalar(select(Delivery).where(Delivery.id == delivery_id)
                    .with_for_update(skip_locked=True))
    if d is None:
        sess.rollback()
        return PushOutcome("busy")
    if d.method != DeliveryMethod.push or d.status != DeliveryStatus.pending:
        sess.rollback()
        return PushOutcome("done")
    run = sess.get(Run, d.run_id)
    assert run is not None
    sub = sess.get(Subscription, run.subscription_id)
    assert sub is not None and sub.push_secret and d.url
    manifest, files = _files(sess, run.id)
    with store.open(manifest.storage_key) as fh:
        manifest_bytes = fh.read()
    attempt_no = d.attempts + 1
    with tempfile.TemporaryDirectory(prefix="cardumen-push-") as tmp:
        body = Path(tmp) / "body"
        with open(body, "wb") as out:
            content_type = push_mod.build_body(
                manifest_bytes,
                [(a.name, a.media_type, _opener(store, a.storage_key)) for a in files], out)
        result = push_mod.push(d.url, body, content_type, secret=sub.push_secret.encode(),
                               delivery_id=str(d.id), run_id=str(run.id), timeout=policy.timeout)
    sess.add(DeliveryAttempt(delivery_id=d.id, attempt=attempt_no, started_at=now,
                             duration_ms=result.duration_ms, ok=result.ok,
                             status_code=result.status_code, error=result.error,
                             response_excerpt=result.response_excerpt, job_id=job_id))
    d.attempts = attempt_no
    if result.ok:
        d.status = DeliveryStatus.acknowledged
        d.delivered_at = d.acknowledged_at = now
        d.ack_reference = _reference(result.response_excerpt)
        d.next_attempt_at = None
        d.last_error = None
        outcome = PushOutcome("acknowledged", attempt=attempt_no)
    elif attempt_no >= policy.max_attempts:
        d.status = DeliveryStatus.failed
        d.next_attempt_at = None
        d.last_error = result.error
        outcome = PushOutcome("failed", attempt=attempt_no)
    else:
        wait = push_mod.backoff_seconds(attempt_no, base=policy.backoff_base, cap=policy.backoff_cap)
        d.next_attempt_at = now + timedelta(seconds=wait)
        d.last_error = result.error
        outcome = PushOutcome("retry", d.next_attempt_at, attempt_no)
    sess.commit()
    return outcome


def _opener(store: ArtifactStore, key: str):  # type: ignore[no-untyped-def]
    return lambda: store.open(key)


def retry_failed(sess: Session, delivery: Delivery, now: datetime) -> None:
    """An admin's second chance for a push whose attempts ran out."""
    delivery.status = DeliveryStatus.pending
    delivery.next_attempt_at = now
    delivery.attempts = 0 if delivery.attempts is None else delivery.attempts
    sess.flush()


def due_pushes(sess: Session, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    return list(sess.scalars(select(Delivery.id).where(
        Delivery.method == DeliveryMethod.push, Delivery.status == DeliveryStatus.pending,
        Delivery.next_attempt_at <= now).order_by(Delivery.next_attempt_at).limit(limit)))


def mark_downloaded(sess: Session, delivery: Delivery, now: datetime) -> None:
    if delivery.method == DeliveryMethod.pull and delivery.status == DeliveryStatus.pending:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = now
        sess.flush()


def acknowledge(sess: Session, delivery: Delivery, member_id: uuid.UUID, reference: str | None,
                now: datetime) -> bool:
    """Record the authority's acknowledgement; False if it was already acknowledged."""
    if delivery.status == DeliveryStatus.acknowledged:
        return False
    delivery.status = DeliveryStatus.acknowledged
    delivery.delivered_at = delivery.delivered_at or now
    delivery.acknowledged_at = now
    delivery.acknowledged_by = member_id
    delivery.ack_reference = reference
    delivery.next_attempt_at = None
    sess.flush()
    return True
