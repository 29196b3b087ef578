"""Closing a proposal: the count, written once, and what it changes.

A proposal closes when its window has passed, by whichever comes first: the periodic job
(every minute) or the first read after ``closes_at``. Both take the proposal row FOR
UPDATE, which waits for the votes in flight (they hold it FOR SHARE), and check again
under the lock that it is still open; the result's primary key is the last word. So the
result is written exactly once, after the last vote that was accepted.

In the same transaction the ballots become the published receipts (in receipt-hash order,
without their ballot keys, so neither their order nor a key links them to the voters
anymore) and the working ballots are deleted; the effect of the winning option, if any,
is applied; the electorate is told.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from server.governance import proposals, settings
from server.governance.models import (
    Ballot,
    Outcome,
    Proposal,
    ProposalOption,
    Result,
    Tally,
    Voter,
)
from server.members.auth import Principal
from server.notifications.services import notify

log = logging.getLogger(__name__)

_ELECTORATE = text("""
    SELECT count(*) FROM (
        SELECT member_id FROM membership
        WHERE org_id = :org AND status = 'active' AND role = ANY(:roles)
        UNION
        SELECT member_id FROM proposal_voter WHERE org_id = :org AND proposal_id = :p) e""")
_ARCHIVE = text("""
    INSERT INTO proposal_receipt (org_id, proposal_id, receipt_hash, option_id, counted)
    SELECT org_id, proposal_id, receipt_hash, option_id, current FROM proposal_ballot
    WHERE org_id = :org AND proposal_id = :p ORDER BY receipt_hash""")


class TallyMismatch(RuntimeError):
    """Counted ballots and voters differ: the data were changed outside the service."""


def is_due(prop: Proposal, now: datetime) -> bool:
    return prop.closed_at is None and prop.cancelled_at is None and now >= prop.closes_at


def quorum_votes(quorum: Decimal, electorate: int) -> int:
    return math.ceil(quorum * electorate)


def close(sess: Session, prop: Proposal, now: datetime) -> Result:
    """Count and record. The caller holds the row FOR UPDATE and has checked it is due."""
    org, pid = prop.org_id, prop.id
    electorate = int(sess.execute(_ELECTORATE, {"org": org, "p": pid,
                                                "roles": list(proposals.ELECTORATE_ROLES)})
                     .scalar_one())
    turnout = int(sess.scalar(select(func.count()).select_from(Voter).where(
        Voter.org_id == org, Voter.proposal_id == pid)) or 0)
    votes = dict(sess.execute(select(Ballot.option_id, func.count()).where(
        Ballot.org_id == org, Ballot.proposal_id == pid, Ballot.current.is_(True))
        .group_by(Ballot.option_id)).all())
    if sum(votes.values()) != turnout:
        raise TallyMismatch(f"proposal {pid}: {sum(votes.values())} ballots, {turnout} voters")
    options = list(sess.scalars(select(ProposalOption).where(
        ProposalOption.org_id == org, ProposalOption.proposal_id == pid)
        .order_by(ProposalOption.position)))
    needed = quorum_votes(prop.quorum, electorate)
    met = turnout >= needed
    top = max(votes.values(), default=0)
    leaders = [o for o in options if votes.get(o.id, 0) == top and top > 0]
    outcome = Outcome.none if turnout == 0 else Outcome.winner if len(leaders) == 1 else Outcome.tie
    winner = leaders[0] if outcome is Outcome.winner else None
    applies = met and winner is not None and winner.effect is not None
    counted = sorted(sess.scalars(select(Ballot.receipt_hash).where(
        Ballot.org_id == org, Ballot.proposal_id == pid, Ballot.current.is_(True))))
    result = Result(org_id=org, proposal_id=pid, closed_at=now, electorate=electorate,
                    turnout=turnout, quorum=prop.quorum, quorum_votes=needed, quorum_met=met,
                    outcome=outcome.value, winner_option_id=winner.id if winner else None,
                    effect_applied=applies,
                    receipts_digest=hashlib.sha256(b"".join(counted)).digest())
    sess.add(result)
    sess.flush()
    sess.add_all(Tally(org_id=org, proposal_id=pid, option_id=o.id, votes=votes.get(o.id, 0))
                 for o in options)
    sess.execute(_ARCHIVE, {"org": org, "p": pid})
    sess.execute(delete(Ballot).where(Ballot.org_id == org, Ballot.proposal_id == pid))
    prop.closed_at = now
    if applies and winner is not None and winner.effect is not None:
        settings.apply(sess, prop, winner.effect)
    _tell(sess, prop, result, winner, votes)
    sess.flush()
    return result


def _tell(sess: Session, prop: Proposal, r: Result, winner: ProposalOption | None,
          votes: dict[uuid.UUID, int]) -> None:
    base = {"proposal_id": prop.id, "org_id": prop.org_id, "title": prop.title,
            "turnout": r.turnout, "electorate": r.electorate}
    extra: dict[str, Any]
    if r.turnout == 0:
        kind, extra = "governance.proposal_no_votes", {}
    elif not r.quorum_met:
        kind, extra = "governance.proposal_no_quorum", {"needed": r.quorum_votes}
    elif winner is None:
        kind, extra = "governance.proposal_tied", {}
    else:
        kind, extra = "governance.proposal_decided", {"winner": winner.label,
                                                      "votes": votes.get(winner.id, 0)}
    for member_id in proposals.electorate_ids(sess, prop.org_id):
        notify(sess, member_id, kind, **base, **extra)


def close_if_due(sess: Session, prop: Proposal) -> Proposal:
    """On a read: close it first if its window has passed (waiting for a close or votes in
    progress elsewhere). Returns the proposal as it is now."""
    if not is_due(prop, proposals.db_now(sess)):
        return prop
    locked = sess.scalars(select(Proposal).where(
        Proposal.org_id == prop.org_id, Proposal.id == prop.id).with_for_update()
        .execution_options(populate_existing=True)).one()
    now = proposals.db_now(sess)
    if is_due(locked, now):
        close(sess, locked, now)
    return locked


def fresh(sess: Session, p: Principal, proposal_id: uuid.UUID) -> Proposal:
    """A proposal the caller may see, closed first if it is due."""
    return close_if_due(sess, proposals.visible(sess, p, proposal_id))


BATCH = 100


def close_due(sess: Session, org_id: uuid.UUID | None = None, *, wait: bool = False,
              limit: int = BATCH) -> int:
    """Close proposals whose window has passed. The job skips rows locked by a vote or a
    reader (it comes back a minute later); a reader listing a cooperative waits, so what
    it shows is closed. Flushes, does not commit."""
    q = select(Proposal).where(Proposal.closed_at.is_(None), Proposal.cancelled_at.is_(None),
                               Proposal.closes_at <= func.clock_timestamp())
    if org_id is not None:
        q = q.where(Proposal.org_id == org_id)
    q = q.order_by(Proposal.org_id, Proposal.id).limit(limit).execution_options(
        populate_existing=True)
    rows = list(sess.scalars(q.with_for_update(skip_locked=not wait)))
    n = 0
    for prop in rows:
        now = proposals.db_now(sess)
        if not is_due(prop, now):
            continue
        try:
            with sess.begin_nested():
                close(sess, prop, now)
            n += 1
        except TallyMismatch:
            # Loud, but the other proposals still close.
            log.exception("governance: proposal %s not closed", prop.id)
    return n
