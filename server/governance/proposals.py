"""Opening, cancelling, finding and showing proposals.

Who is who here: the *electorate* of a cooperative is its members with an active
membership as fisher or admin. They see its proposals and vote on them; its admins open
and cancel them. Platform admins may read (support, audit) but neither open, cancel nor
vote: they are not members. Anyone else gets 404, as everywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.consent.services import RECIPIENT_KINDS
from server.errors import ApiError, FieldError
from server.governance.models import (
    Proposal,
    ProposalOption,
    Result,
    Tally,
    Voter,
)
from server.members.auth import Principal
from server.members.models import Member, Membership, MembershipStatus, Organization, OrgKind, Role
from server.notifications.services import notify

ELECTORATE_ROLES = (Role.fisher.value, Role.admin.value)


@dataclass(frozen=True)
class Limits:
    min_window: timedelta = timedelta(hours=1)
    max_window: timedelta = timedelta(days=90)
    max_lead: timedelta = timedelta(days=90)  # how far ahead the voting may open
    skew: timedelta = timedelta(minutes=10)  # a phone's clock may be this far behind


def db_now(sess: Session) -> datetime:
    """The database's clock: votes and closes are ordered by this one clock, whichever
    process (web worker, job worker) looks at it."""
    now: datetime = sess.scalar(select(func.clock_timestamp()))  # type: ignore[assignment]
    return now


def electorate_ids(sess: Session, org_id: uuid.UUID) -> list[uuid.UUID]:
    return list(sess.scalars(select(Membership.member_id).where(
        Membership.org_id == org_id, Membership.status == MembershipStatus.active.value,
        Membership.role.in_(ELECTORATE_ROLES)).order_by(Membership.member_id)))


def can_see(p: Principal, org_id: uuid.UUID) -> bool:
    return p.is_platform_admin or p.role_in(org_id) in ELECTORATE_ROLES


def can_vote(p: Principal, org_id: uuid.UUID) -> bool:
    return p.role_in(org_id) in ELECTORATE_ROLES


def require_member(sess: Session, p: Principal, org_id: uuid.UUID) -> Organization:
    """The organization, for its electorate and platform admins; 404 to anyone else."""
    org = sess.get(Organization, org_id) if can_see(p, org_id) else None
    if org is None:
        raise ApiError(404, "not_found")
    return org


def require_admin(sess: Session, p: Principal, org_id: uuid.UUID) -> Organization:
    org = require_member(sess, p, org_id)
    if p.role_in(org_id) != Role.admin:
        raise ApiError(403, "gov_admins_only")
    return org


Lock = Literal["share", "update"] | None


def visible(sess: Session, p: Principal, proposal_id: uuid.UUID, lock: Lock = None) -> Proposal:
    q = select(Proposal).where(Proposal.id == proposal_id)
    if lock is not None:
        # populate_existing: after waiting for the lock, the row as it is now.
        q = q.with_for_update(read=lock == "share").execution_options(populate_existing=True)
    prop = sess.scalars(q).first()
    if prop is None or not can_see(p, prop.org_id):
        raise ApiError(404, "not_found")
    return prop


def status(prop: Proposal, now: datetime) -> str:
    if prop.cancelled_at is not None:
        return "cancelled"
    if prop.closed_at is not None or now >= prop.closes_at:
        return "closed"
    return "open" if now >= prop.opens_at else "scheduled"


def when(at: datetime) -> str:
    """A time as messages and notifications print it."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- opening --------------------------------------------------------------------------

def _window_errors(opens: datetime | None, closes: datetime, now: datetime,
                   limits: Limits) -> tuple[datetime, list[FieldError]]:
    errors = []
    start = now if opens is None else max(opens, now)
    if opens is not None and opens < now - limits.skew:
        errors.append(FieldError("opens_at", "gov_opens_in_past"))
    elif opens is not None and opens > now + limits.max_lead:
        errors.append(FieldError("opens_at", "gov_opens_too_far", {"days": limits.max_lead.days}))
    if closes <= now:
        errors.append(FieldError("closes_at", "gov_closes_in_past"))
    elif closes <= start:
        errors.append(FieldError("closes_at", "gov_window_inverted"))
    elif closes - start < limits.min_window:
        errors.append(FieldError("closes_at", "gov_window_too_short",
                                 {"minutes": int(limits.min_window.total_seconds() // 60)}))
    elif closes - start > limits.max_window:
        errors.append(FieldError("closes_at", "gov_window_too_long",
                                 {"days": limits.max_window.days}))
    return start, errors


def _effect_errors(sess: Session, org_id: uuid.UUID, options: list[dict[str, Any]]) -> list[FieldError]:
    from server.consent.models import Purpose

    errors = []
    for i, option in enumerate(options):
        effect = option.get("effect")
        if not effect or effect["type"] != "data_sharing":
            continue
        where = f"options.{i}.effect.recipient_org_id"
        recipient_id = uuid.UUID(effect["recipient_org_id"])
        recipient = sess.get(Organization, recipient_id)
        kinds = RECIPIENT_KINDS[Purpose(effect["purpose"])]
        if recipient is None:
            errors.append(FieldError(where, "gov_recipient_unknown", {"id": str(recipient_id)}))
        elif recipient.id == org_id:
            errors.append(FieldError(where, "gov_recipient_self"))
        elif recipient.kind not in kinds:
            errors.append(FieldError(where, "gov_recipient_kind", {"kinds": ", ".join(kinds)}))
    return errors


def create(sess: Session, p: Principal, org_id: uuid.UUID, data: dict[str, Any],
           limits: Limits) -> Proposal:
    """Open a proposal and tell the electorate. Flushes, does not commit."""
    org = require_admin(sess, p, org_id)
    if org.kind != OrgKind.cooperative:
        raise ApiError(409, "gov_not_a_cooperative", kind=org.kind)
    now = db_now(sess)
    opens, errors = _window_errors(data["opens_at"], data["closes_at"], now, limits)
    errors += _effect_errors(sess, org_id, data["options"])
    if errors:
        raise ApiError(422, "validation_error", errors=errors)
    prop = Proposal(org_id=org_id, title=data["title"], body=data["body"], quorum=data["quorum"],
                    opens_at=opens, closes_at=data["closes_at"], created_by=p.member_id)
    sess.add(prop)
    sess.flush()
    for i, option in enumerate(data["options"], start=1):
        sess.add(ProposalOption(org_id=org_id, proposal_id=prop.id, position=i,
                                label=option["label"], effect=option.get("effect")))
    for member_id in electorate_ids(sess, org_id):
        notify(sess, member_id, "governance.proposal_opened", proposal_id=prop.id, org_id=org_id,
               org_name=org.name, title=prop.title, opens_at=opens.isoformat(),
               closes_at=prop.closes_at.isoformat(), opens_on=when(opens),
               closes_on=when(prop.closes_at))
    sess.flush()
    return prop


def cancel(sess: Session, p: Principal, proposal_id: uuid.UUID) -> Proposal:
    """Withdraw a proposal nobody has voted on yet. The lock makes a vote arriving at the
    same time either come first (and the cancel is refused) or find it cancelled."""
    prop = visible(sess, p, proposal_id, lock="update")
    if p.role_in(prop.org_id) != Role.admin:
        raise ApiError(403, "gov_admins_only")
    now = db_now(sess)
    if prop.cancelled_at is not None:
        raise ApiError(409, "gov_proposal_cancelled")
    if prop.closed_at is not None or now >= prop.closes_at:
        raise ApiError(409, "gov_proposal_closed", at=when(prop.closes_at))
    if sess.scalar(select(Voter.member_id).where(Voter.org_id == prop.org_id,
                                                 Voter.proposal_id == prop.id).limit(1)):
        raise ApiError(409, "gov_proposal_has_votes")
    prop.cancelled_at = now
    prop.cancelled_by = p.member_id
    for member_id in electorate_ids(sess, prop.org_id):
        notify(sess, member_id, "governance.proposal_cancelled", proposal_id=prop.id,
               org_id=prop.org_id, title=prop.title)
    sess.flush()
    return prop


# --- showing --------------------------------------------------------------------------

def page(sess: Session, org_id: uuid.UUID, state: str | None, before: uuid.UUID | None,
         limit: int, now: datetime) -> list[Proposal]:
    """Newest first; ``limit + 1`` rows, so the caller knows whether there is more."""
    q = select(Proposal).where(Proposal.org_id == org_id)
    if before is not None:
        q = q.where(Proposal.id < before)
    live = Proposal.cancelled_at.is_(None) & Proposal.closed_at.is_(None)
    if state == "cancelled":
        q = q.where(Proposal.cancelled_at.is_not(None))
    elif state == "closed":
        q = q.where(Proposal.closed_at.is_not(None) | (live & (Proposal.closes_at <= now)))
    elif state == "open":
        q = q.where(live, Proposal.opens_at <= now, Proposal.closes_at > now)
    elif state == "scheduled":
        q = q.where(live, Proposal.opens_at > now)
    return list(sess.scalars(q.order_by(Proposal.id.desc()).limit(limit + 1)))


def _result(r: Result, tally: list[Tally]) -> dict[str, Any]:
    return {"closed_at": r.closed_at, "electorate": r.electorate, "turnout": r.turnout,
            "quorum": float(r.quorum), "quorum_votes": r.quorum_votes, "quorum_met": r.quorum_met,
            "outcome": r.outcome, "winner_option_id": r.winner_option_id,
            "effect_applied": r.effect_applied,
            "tally": [{"option_id": t.option_id, "votes": t.votes} for t in tally],
            "receipts_digest": r.receipts_digest.hex()}


def render(sess: Session, props: list[Proposal], p: Principal, now: datetime) -> list[dict[str, Any]]:
    """Proposals as the API shows them, in a fixed number of queries for a page. Counts
    only: how many voted so far and, once closed, the tally; never who chose what."""
    if not props:
        return []
    ids = [x.id for x in props]
    orgs = list({x.org_id for x in props})
    options: dict[uuid.UUID, list[ProposalOption]] = {i: [] for i in ids}
    for o in sess.scalars(select(ProposalOption).where(
            ProposalOption.org_id.in_(orgs), ProposalOption.proposal_id.in_(ids))
            .order_by(ProposalOption.proposal_id, ProposalOption.position)):
        options[o.proposal_id].append(o)
    voters = dict(sess.execute(select(Voter.proposal_id, func.count()).where(
        Voter.org_id.in_(orgs), Voter.proposal_id.in_(ids)).group_by(Voter.proposal_id)).all())
    mine = set(sess.scalars(select(Voter.proposal_id).where(
        Voter.org_id.in_(orgs), Voter.proposal_id.in_(ids), Voter.member_id == p.member_id)))
    results = {r.proposal_id: r for r in sess.scalars(select(Result).where(
        Result.org_id.in_(orgs), Result.proposal_id.in_(ids)))}
    tallies: dict[uuid.UUID, list[Tally]] = {i: [] for i in results}
    position = {o.id: o.position for opts in options.values() for o in opts}
    for t in sess.scalars(select(Tally).where(Tally.org_id.in_(orgs), Tally.proposal_id.in_(ids))):
        tallies[t.proposal_id].append(t)
    names = dict(sess.execute(select(Member.id, Member.name).where(
        Member.id.in_({x.created_by for x in props}))).all())
    out = []
    for x in props:
        state = status(x, now)
        out.append({
            "id": x.id, "org_id": x.org_id, "title": x.title, "body": x.body,
            "options": [{"id": o.id, "position": o.position, "label": o.label, "effect": o.effect}
                        for o in options[x.id]],
            "opens_at": x.opens_at, "closes_at": x.closes_at, "quorum": float(x.quorum),
            "status": state, "created_by": {"id": x.created_by, "name": names.get(x.created_by)},
            "created_at": x.created_at, "cancelled_at": x.cancelled_at,
            "voters": int(voters.get(x.id, 0)), "you_voted": x.id in mine,
            "you_can_vote": state == "open" and can_vote(p, x.org_id),
            "result": _result(results[x.id], sorted(tallies[x.id],
                                                    key=lambda t: position[t.option_id]))
            if x.id in results else None})
    return out
