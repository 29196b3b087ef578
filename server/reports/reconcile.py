"""Reconciliation: proof that every record of a period is reported exactly once, net.

For each cooperative and period of a subscription: how many current records
are in scope, how many of them the runs carry as their current version, and
what is still pending (new, corrected, cancelled since). A period reconciles
when nothing is pending. Versions reported twice are counted too; the unique
index on run items makes that zero, and the view shows it rather than assumes it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.reports import periods, selection
from server.reports.models import Delivery, Run, Subscription


def reconcile(sess: Session, sub: Subscription, start: date, end: date, *,
              org_id: uuid.UUID | None = None, pending_limit: int = 200) -> dict[str, Any]:
    first = periods.span_of(sub.period, start)
    spans = []
    span = first
    while span.start < end:
        spans.append(span)
        span = periods.span_of(sub.period, span.end)
    whole = periods.Span(first.start, spans[-1].end if spans else first.end)
    scope = selection.scope_of(sess, sub)
    t0, t1 = whole.utc_bounds(sub.timezone)
    org_sql = "AND c.org_id = :org" if org_id else ""
    counts_sql = f"""
        SELECT c.org_id, {selection.PERIOD_OF} AS p, count(*)
        FROM catch c {selection.JOINS}
        WHERE c.superseded_at IS NULL AND c.status = 'active'
          AND c.caught_at >= :t0 AND c.caught_at < :t1 {org_sql} AND {scope.predicate()}
        GROUP BY 1, 2
    """
    params = scope.params() | {"t0": t0, "t1": t1, "org": org_id}
    in_scope = {(r[0], r[1]): r[2] for r in sess.execute(text(counts_sql), params).all()}
    pend = selection.pending(sess, scope, whole, org_id)
    by_cell: dict[tuple[uuid.UUID, date], dict[str, int]] = defaultdict(
        lambda: {"new": 0, "corrections": 0, "cancellations": 0})
    for p in pend:
        key = {"new": "new", "correction": "corrections", "cancellation": "cancellations"}[p.kind]
        by_cell[(p.org_id, p.period_start)][key] += 1
    run_q = select(Run.id, Run.subject_org_id, Run.period_start, Run.sequence, Run.purpose,
                   Run.created_at, Run.record_count, Delivery.status).join(
        Delivery, Delivery.run_id == Run.id).where(
        Run.subscription_id == sub.id, Run.period_start >= whole.start,
        Run.period_start < whole.end).order_by(Run.period_start, Run.sequence)
    if org_id:
        run_q = run_q.where(Run.subject_org_id == org_id)
    runs: dict[tuple[uuid.UUID, date], list[dict[str, Any]]] = defaultdict(list)
    for r in sess.execute(run_q).all():
        runs[(r[1], r[2])].append({"id": r[0], "sequence": r[3], "purpose": r[4],
                                   "created_at": r[5], "records": r[6], "delivery_status": r[7]})
    dup_sql = """
        SELECT count(*) FROM (
            SELECT 1 FROM report_run_item i
            WHERE i.subscription_id = :sub AND i.action NOT IN ('restated', 'cancellation')
            GROUP BY i.org_id, i.catch_id, i.catch_version HAVING count(*) > 1) d
    """
    duplicates = int(sess.scalar(text(dup_sql), {"sub": sub.id}) or 0)
    cells = set(in_scope) | set(by_cell) | set(runs)
    out_periods = []
    for org, p_start in sorted(cells, key=lambda k: (k[1], str(k[0]))):
        span = periods.span_of(sub.period, p_start)
        if span.start < whole.start or span.start >= whole.end:
            continue
        pending_counts = by_cell[(org, p_start)]
        records = in_scope.get((org, p_start), 0)
        out_periods.append({
            "org_id": org, "period_start": span.start, "period_end": span.end,
            "records": records,
            "reported": records - pending_counts["new"] - pending_counts["corrections"],
            "pending": dict(pending_counts), "runs": runs.get((org, p_start), []),
            "reconciled": not any(pending_counts.values()) and bool(runs.get((org, p_start))),
        })
    return {
        "subscription_id": sub.id, "period_from": whole.start, "period_to": whole.end,
        "reconciled": duplicates == 0 and all(p["reconciled"] for p in out_periods),
        "duplicates": duplicates,
        "periods": out_periods,
        "pending": [{"org_id": p.org_id, "catch_id": p.catch_id, "version": p.version,
                     "kind": p.kind, "period_start": p.period_start,
                     "refers_to_run_id": p.refers_to_run_id} for p in pend[:pending_limit]],
        "pending_total": len(pend),
    }
