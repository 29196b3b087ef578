"""Which catch versions a run must carry: the logbook compared with what was reported.

Per subscription, cooperative and period, the *net* state of a catch is the
last non-restated item that reported it in that period. A catch is pending
when its current version is in scope and active but the net is not that
version (never reported: an original or a late addition; an older version:
a correction), or when the net reported a version that is no longer in scope,
in the period or active (a cancellation). Everything here is one SQL query per
question; the logbook is never loaded into Python to be compared.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.reports.models import Authority, AuthorityCooperative, Subscription
from server.reports.periods import Span


@dataclass(frozen=True, slots=True)
class Scope:
    """The subscription's reach, as SQL over ``c`` (catch) and ``loc`` (where it landed)."""

    subscription_id: uuid.UUID
    period: str
    timezone: str
    listed_orgs: list[uuid.UUID]  # the authority's cooperatives
    sub_orgs: list[uuid.UUID]  # the subscription's narrowing; empty: all
    authority_region: bool
    sub_region: bool

    def predicate(self) -> str:
        # Where a record "is": the port it landed at, else where it was caught.
        juris = ["c.org_id = ANY(CAST(:listed_orgs AS uuid[]))"]
        if self.authority_region:
            juris.append("ST_Covers(a.region, coalesce(pt.geom, c.position))")
        parts = ["(" + " OR ".join(juris) + ")"]
        if self.sub_orgs:
            parts.append("c.org_id = ANY(CAST(:sub_orgs AS uuid[]))")
        if self.sub_region:
            parts.append("ST_Covers(s.region, coalesce(pt.geom, c.position))")
        return " AND ".join(parts)

    def params(self) -> dict[str, Any]:
        return {"sub": self.subscription_id, "listed_orgs": self.listed_orgs,
                "sub_orgs": self.sub_orgs, "period": self.period, "tz": self.timezone}

    def known_orgs(self) -> list[uuid.UUID]:
        """Cooperatives owed a report every period, even an empty one."""
        return list(self.sub_orgs) if self.sub_orgs else list(self.listed_orgs)


def scope_of(sess: Session, sub: Subscription) -> Scope:
    auth = sess.get(Authority, sub.authority_id)
    assert auth is not None
    listed = list(sess.scalars(
        AuthorityCooperative.__table__.select().with_only_columns(AuthorityCooperative.org_id)
        .where(AuthorityCooperative.authority_id == auth.id)))
    return Scope(sub.id, sub.period, sub.timezone, listed, list(sub.org_ids or []),
                 auth.region is not None, sub.region is not None)


# The joins every scope predicate needs: the trip, the port it landed at, the
# authority and the subscription (for their regions).
JOINS = """
    JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
    LEFT JOIN landing l ON l.org_id = t.org_id AND l.trip_id = t.id
    LEFT JOIN port pt ON pt.id = coalesce(l.port_id, t.return_port_id)
    JOIN report_subscription s ON s.id = :sub
    JOIN authority a ON a.id = s.authority_id
"""

PERIOD_OF = "date_trunc(:period, c.caught_at AT TIME ZONE :tz)::date"


def _pending_sql(scope: Scope, org_filter: bool) -> str:
    org = "AND c.org_id = :org" if org_filter else ""
    item_org = "AND i.org_id = :org" if org_filter else ""
    return f"""
    WITH cur AS (
        SELECT c.org_id, c.id, c.version, c.trip_id, {PERIOD_OF} AS p
        FROM catch c {JOINS}
        WHERE c.superseded_at IS NULL AND c.status = 'active'
          AND c.caught_at >= :t0 AND c.caught_at < :t1 {org}
          AND {scope.predicate()}
    ), net AS (
        SELECT DISTINCT ON (i.org_id, i.catch_id, r.period_start)
               i.org_id, i.catch_id, r.period_start AS p, i.catch_version, i.action, i.run_id
        FROM report_run_item i JOIN report_run r ON r.id = i.run_id
        WHERE i.subscription_id = :sub AND i.action <> 'restated'
          AND r.period_start >= :d0 AND r.period_start < :d1 {item_org}
        ORDER BY i.org_id, i.catch_id, r.period_start, r.sequence DESC
    )
    SELECT coalesce(cur.org_id, net.org_id) AS org_id,
           coalesce(cur.id, net.catch_id) AS catch_id,
           coalesce(cur.p, net.p) AS period_start,
           coalesce(cur.version, now_c.version) AS version,
           CASE WHEN cur.id IS NULL THEN 'cancellation'
                WHEN net.catch_id IS NULL THEN 'new'
                ELSE 'correction' END AS kind,
           net.run_id AS refers_to_run_id,
           net.catch_version AS net_version,
           coalesce(cur.trip_id, now_c.trip_id) AS trip_id
    FROM cur
    FULL JOIN net ON net.org_id = cur.org_id AND net.catch_id = cur.id AND net.p = cur.p
    LEFT JOIN catch now_c ON cur.id IS NULL AND now_c.org_id = net.org_id
         AND now_c.id = net.catch_id AND now_c.superseded_at IS NULL
    WHERE (cur.id IS NOT NULL AND (net.catch_id IS NULL OR net.catch_version <> cur.version
                                   OR net.action = 'cancellation'))
       OR (cur.id IS NULL AND net.action <> 'cancellation')
    """


@dataclass(frozen=True, slots=True)
class Pending:
    org_id: uuid.UUID
    catch_id: uuid.UUID
    period_start: date
    version: int
    kind: str  # new | correction | cancellation
    refers_to_run_id: uuid.UUID | None
    net_version: int | None
    trip_id: uuid.UUID


def pending(sess: Session, scope: Scope, span: Span, org_id: uuid.UUID | None = None) -> list[Pending]:
    """Pending catch versions of periods starting in ``span`` (optionally one cooperative)."""
    t0, t1 = span.utc_bounds(scope.timezone)
    params = scope.params() | {"t0": t0, "t1": t1, "d0": span.start, "d1": span.end,
                               "org": org_id}
    rows = sess.execute(text(_pending_sql(scope, org_id is not None)), params).all()
    return [Pending(*r) for r in rows]


def dirty_periods(sess: Session, scope: Scope, span: Span) -> list[tuple[uuid.UUID, date]]:
    """(cooperative, period start) pairs with anything pending, for the amendment pass."""
    t0, t1 = span.utc_bounds(scope.timezone)
    params = scope.params() | {"t0": t0, "t1": t1, "d0": span.start, "d1": span.end}
    sql = f"SELECT DISTINCT org_id, period_start FROM ({_pending_sql(scope, False)}) q ORDER BY 1, 2"
    return [(r[0], r[1]) for r in sess.execute(text(sql), params).all()]


def orgs_owed(sess: Session, sub: Subscription, span: Span) -> list[uuid.UUID]:
    """The cooperatives a run of this period may be owed to, for a run asked by hand: the
    jurisdiction's listed ones, and any with records pending in the period (a region's)."""
    scope = scope_of(sess, sub)
    orgs = set(scope.known_orgs()) | {o for o, _ in dirty_periods(sess, scope, span)}
    return sorted(orgs, key=str)


def restated(sess: Session, scope: Scope, span: Span, org_id: uuid.UUID, how: str,
             changed: list[Pending]) -> list[tuple[uuid.UUID, int, uuid.UUID | None]]:
    """Unchanged, already reported current versions that share a document with a change.

    ``how`` is the exporter's amendment scope: ``trip`` (a landing notice is
    re-issued whole) or ``stat_cell`` (a statistics cell is restated with its
    new total). Returns (catch id, version, run that reported it)."""
    if how == "record" or not changed:
        return []
    t0, t1 = span.utc_bounds(scope.timezone)
    ids = [p.catch_id for p in changed]
    # Both the current and the previously reported version of a change may sit
    # in a document: a correction can move a catch to another trip or cell.
    touched = """
        SELECT c.trip_id, c.species_code, coalesce(c.fao_area, ''), coalesce(c.gear_code, t.gear_code, ''),
               date_trunc('month', c.caught_at AT TIME ZONE :tz)
        FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
        WHERE c.org_id = :org AND c.id = ANY(CAST(:ids AS uuid[]))
          AND (c.superseded_at IS NULL OR (c.id, c.version) IN (
               SELECT i.catch_id, i.catch_version FROM report_run_item i
               WHERE i.subscription_id = :sub AND i.org_id = :org
                 AND i.catch_id = ANY(CAST(:ids AS uuid[]))))
    """
    if how == "trip":
        match = f"c.trip_id IN (SELECT trip_id FROM ({touched}) x(trip_id, sp, fa, g, m))"
    else:
        match = f"""(c.species_code, coalesce(c.fao_area, ''), coalesce(c.gear_code, t.gear_code, ''),
                     date_trunc('month', c.caught_at AT TIME ZONE :tz)) IN (
                     SELECT sp, fa, g, m FROM ({touched}) x(trip_id, sp, fa, g, m))"""
    sql = f"""
        SELECT c.id, c.version, (
            SELECT i.run_id FROM report_run_item i JOIN report_run r ON r.id = i.run_id
            WHERE i.subscription_id = :sub AND i.org_id = c.org_id AND i.catch_id = c.id
              AND i.catch_version = c.version AND i.action NOT IN ('restated', 'cancellation')
              AND r.period_start = :d0
            ORDER BY r.sequence DESC LIMIT 1) AS run_id
        FROM catch c {JOINS}
        WHERE c.org_id = :org AND c.superseded_at IS NULL AND c.status = 'active'
          AND c.caught_at >= :t0 AND c.caught_at < :t1
          AND c.id <> ALL(CAST(:ids AS uuid[]))
          AND {scope.predicate()} AND {match}
    """
    params = scope.params() | {"t0": t0, "t1": t1, "d0": span.start, "org": org_id, "ids": ids}
    return [(r[0], r[1], r[2]) for r in sess.execute(text(sql), params).all()]
