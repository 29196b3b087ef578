"""Making one run: select the versions, write the files, store them, record it all.

One run = one subscription x one cooperative x one period. The first run of a
period is its original (made even when empty: a nil return is a report too);
later runs are amendments carrying only what changed, plus what a re-issued
document must restate. The run row, its artifacts, its items and its delivery
are written in the caller's transaction, so a run exists completely or not at
all; files are published to storage before that commit, under the run's own
id, and an aborted run leaves only unreferenced files behind.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any, BinaryIO

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from exports import base as registry
from exports.manifest import ManifestFile, build_manifest
from exports.records import ExportContext
from exports.storage import ArtifactStore
from server.db import new_id
from server.members.models import Organization
from server.reports import records, selection
from server.reports.models import (
    Artifact,
    Authority,
    Delivery,
    DeliveryMethod,
    DeliveryStatus,
    ItemAction,
    Purpose,
    Run,
    Subscription,
)
from server.reports.periods import Span

MANIFEST = "manifest.json"


def generator_version() -> str:
    try:
        return f"cardumen {metadata.version('cardumen')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "cardumen dev"


class StoreSink:
    """An exporter's files, streamed straight into artifact storage."""

    def __init__(self, store: ArtifactStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self.files: list[tuple[str, str, Any]] = []  # (name, media type, StoredArtifact)
        self._open: list[AbstractContextManager[Any]] = []

    def open(self, name: str, media_type: str) -> BinaryIO:
        cm = self.store.writer(f"{self.prefix}/{name}")
        writer = cm.__enter__()
        self._open.append(cm)
        sink = self

        class _Stream:
            # The exporter closes the stream; closing publishes the file.
            def __getattr__(self, attr: str) -> Any:
                return getattr(writer, attr)

            def write(self, data: bytes) -> int:
                return int(writer.write(data))

            def writable(self) -> bool:
                return True

            @property
            def closed(self) -> bool:
                return cm not in sink._open

            def close(self) -> None:
                if cm in sink._open:
                    sink._open.remove(cm)
                    cm.__exit__(None, None, None)
                    sink.files.append((name, media_type, writer.result))

            def __enter__(self) -> _Stream:
                return self

            def __exit__(self, *exc: object) -> None:
                self.close()

        return _Stream()  # type: ignore[return-value]

    def abort(self, exc: BaseException) -> None:
        for cm in reversed(self._open):
            with contextlib.suppress(Exception):
                cm.__exit__(type(exc), exc, exc.__traceback__)
        self._open.clear()


@dataclass
class Outcome:
    run: Run
    delivery: Delivery
    files: list[Artifact] = field(default_factory=list)


_ACTION = {"correction": ItemAction.correction, "cancellation": ItemAction.cancellation}


def _lock(sess: Session, sub_id: uuid.UUID, org_id: uuid.UUID, span: Span) -> None:
    # Two workers (or a worker and the CLI) never make the same period's run at once.
    key = f"report:{sub_id}:{org_id}:{span.start.isoformat()}"
    sess.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


def generate(sess: Session, store: ArtifactStore, sub: Subscription, org_id: uuid.UUID,
             span: Span, *, trigger: str, now: datetime, member_id: uuid.UUID | None = None,
             job_id: int | None = None) -> Outcome | None:
    """The next run of ``sub`` for ``org_id`` and ``span``, or None when nothing is owed."""
    _lock(sess, sub.id, org_id, span)
    last_seq = sess.scalar(select(func.max(Run.sequence)).where(
        Run.subscription_id == sub.id, Run.subject_org_id == org_id,
        Run.period_start == span.start)) or 0
    scope = selection.scope_of(sess, sub)
    pend = [p for p in selection.pending(sess, scope, span, org_id) if p.period_start == span.start]
    if last_seq and not pend:
        return None
    purpose = Purpose.original if not last_seq else Purpose.amendment
    exporter_cls = registry.get(sub.format)
    rows: list[tuple[uuid.UUID, int, int, str, uuid.UUID | None]] = []
    for p in pend:
        if p.kind == "new":
            action = ItemAction.original if purpose == Purpose.original else ItemAction.late_addition
        else:
            action = _ACTION[p.kind]
        # A cancellation shows what is being withdrawn: the version that was reported.
        data_version = p.net_version if action == ItemAction.cancellation and p.net_version else p.version
        rows.append((p.catch_id, p.version, data_version, action.value, p.refers_to_run_id))
    if purpose == Purpose.amendment:
        for catch_id, version, run_id in selection.restated(
                sess, scope, span, org_id, exporter_cls.amendment_scope.value, pend):
            rows.append((catch_id, version, version, ItemAction.restated.value, run_id))

    run_id = new_id()
    authority = sess.get(Authority, sub.authority_id)
    assert authority is not None
    auth_org = sess.get(Organization, authority.id)
    assert auth_org is not None
    options = exporter_cls.validate_options(sub.options or {})
    ctx = ExportContext(
        run_id=str(run_id), subscription_id=str(sub.id), format_name=sub.format,
        authority_name=auth_org.name, authority_office_key=auth_org.office_key,
        period_start=span.start, period_end=span.end, timezone=sub.timezone,
        purpose=purpose.value, sequence=last_seq + 1, generator_version=generator_version(),
        options=options)
    records.fill_selection(sess, rows)
    prefix = f"runs/{sub.authority_id}/{sub.id}/{span.start.isoformat()}/{run_id}"
    sink = StoreSink(store, prefix)
    try:
        stats = exporter_cls().write(
            records.stream(sess, subscription_id=sub.id, org_id=org_id, timezone=sub.timezone,
                           amendment=purpose == Purpose.amendment, as_of=now), sink, ctx)
    except BaseException as exc:
        sink.abort(exc)
        raise
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[3]] = counts.get(r[3], 0) + 1
    amends = sorted({r[4] for r in rows if r[4] is not None and r[3] != ItemAction.restated})
    manifest_files = [ManifestFile(name=n, media_type=mt, size=a.size, sha256=a.sha256,
                                   rows=stats.rows.get(n)) for n, mt, a in sink.files]
    manifest = build_manifest(
        run_id=str(run_id), subscription_id=str(sub.id), format_name=sub.format,
        period_start=span.start, period_end=span.end, purpose=purpose.value,
        sequence=last_seq + 1, amends=[str(a) for a in amends], record_count=len(rows),
        files=manifest_files, generator_version=ctx.generator_version, counts=counts)
    with store.writer(f"{prefix}/{MANIFEST}") as w:
        w.write(manifest)
    stored_manifest = w.result

    run = Run(id=run_id, subscription_id=sub.id, authority_id=sub.authority_id,
              subject_org_id=org_id, format=sub.format, options=options,
              period_start=span.start, period_end=span.end, timezone=sub.timezone,
              purpose=purpose.value, sequence=last_seq + 1, amends=amends,
              record_count=len(rows), counts=counts, manifest_sha256=stored_manifest.sha256,
              generator_version=ctx.generator_version, trigger=trigger, created_by=member_id,
              job_id=job_id, created_at=now)
    sess.add(run)
    sess.flush()
    arts = [Artifact(run_id=run_id, name=n, media_type=mt, size=a.size, sha256=a.sha256,
                     rows=stats.rows.get(n), storage_key=a.key) for n, mt, a in sink.files]
    arts.append(Artifact(run_id=run_id, name=MANIFEST, media_type="application/json",
                         size=stored_manifest.size, sha256=stored_manifest.sha256, rows=None,
                         storage_key=stored_manifest.key))
    sess.add_all(arts)
    sess.execute(text(f"""
        INSERT INTO report_run_item (run_id, org_id, catch_id, catch_version, subscription_id,
                                     action, refers_to_run_id)
        SELECT :run, :org, catch_id, version, :sub, action, refers_to
        FROM {records.SELECTION_TABLE}
    """), {"run": run_id, "org": org_id, "sub": sub.id})
    push = sub.delivery == DeliveryMethod.push
    delivery = Delivery(id=new_id(), run_id=run_id, method=sub.delivery,
                        url=sub.push_url if push else None, status=DeliveryStatus.pending,
                        next_attempt_at=now if push else None, created_at=now)
    sess.add(delivery)
    sess.flush()
    return Outcome(run, delivery, arts)


def due_work(sess: Session, sub: Subscription, now: datetime) -> Iterator[tuple[uuid.UUID, Span]]:
    """(cooperative, period) pairs owed a run at ``now``: originals of every closed
    period without one, and amendments of every period with something pending."""
    from server.reports.periods import Span as _Span
    from server.reports.periods import closed_spans

    spans = list(closed_spans(sub.period, sub.timezone, sub.starts_on, now))
    if not spans:
        return
    whole = _Span(spans[0].start, spans[-1].end)
    scope = selection.scope_of(sess, sub)
    have = {(o, d) for o, d in sess.execute(
        select(Run.subject_org_id, Run.period_start).where(
            Run.subscription_id == sub.id, Run.sequence == 1,
            Run.period_start >= whole.start, Run.period_start < whole.end)).all()}
    # Cooperatives named in the scope are owed a report every period, even an
    # empty one; any other cooperative with records in scope shows up as dirty.
    owed = {(org, span.start) for org in scope.known_orgs() for span in spans} - have
    owed |= set(selection.dirty_periods(sess, scope, whole))
    by_start = {s.start: s for s in spans}
    for org, start in sorted(owed, key=lambda x: (x[1], str(x[0]))):
        if start in by_start:
            yield org, by_start[start]



class _HashSink:
    """Hashes each file as it is written, keeping none of it (runs can be large)."""

    def __init__(self) -> None:
        self.hashes: dict[str, str] = {}

    def open(self, name: str, media_type: str) -> BinaryIO:
        import hashlib
        import io

        digest = hashlib.sha256()
        hashes = self.hashes

        class _Writer(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, data: Any) -> int:
                digest.update(data)
                return len(data)

            def close(self) -> None:
                if not self.closed:
                    hashes[name] = digest.hexdigest()
                super().close()

        return _Writer()  # type: ignore[return-value]


def regenerate(sess: Session, run: Run) -> dict[str, str]:
    """Write a stored run's files again from its exact record versions; returns
    {file name: SHA-256} of what was written (nothing is stored).

    Equal hashes prove the run is reproducible; a difference means the catalog
    or the fleet data the files cite (a vessel's name, a species' key) changed
    since, or the generator did."""
    sub = sess.get(Subscription, run.subscription_id)
    authority = sess.get(Authority, run.authority_id)
    auth_org = sess.get(Organization, run.authority_id)
    assert sub is not None and authority is not None and auth_org is not None
    ctx = ExportContext(
        run_id=str(run.id), subscription_id=str(sub.id), format_name=run.format,
        authority_name=auth_org.name, authority_office_key=auth_org.office_key,
        period_start=run.period_start, period_end=run.period_end, timezone=run.timezone,
        purpose=run.purpose, sequence=run.sequence, generator_version=run.generator_version,
        options=dict(run.options or {}))
    records.fill_selection(sess, records.selection_of_run(sess, run.id))
    sink = _HashSink()
    registry.get(run.format)().write(
        records.stream(sess, subscription_id=sub.id, org_id=run.subject_org_id,
                       timezone=run.timezone, amendment=run.purpose == Purpose.amendment,
                       as_of=run.created_at), sink, ctx)
    return sink.hashes
