"""Recording consent and answering who consents, for the API and for pooled outputs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.consent.models import Consent, ConsentEvent, Purpose
from server.errors import ApiError, FieldError
from server.members.models import Membership, MembershipStatus, Organization, OrgKind

# Who may receive each purpose's data: a member's own cooperative for its pooled
# statistics; a company for a named buyer; anyone but a government office for
# research and improvement projects (what the law makes an authority receive goes
# through the mandatory reports, and needs no consent).
RECIPIENT_KINDS: dict[Purpose, tuple[OrgKind, ...]] = {
    Purpose.cooperative_statistics: (OrgKind.cooperative,),
    Purpose.research: (OrgKind.ngo, OrgKind.company, OrgKind.cooperative),
    Purpose.fishery_improvement: (OrgKind.ngo, OrgKind.company, OrgKind.cooperative),
    Purpose.buyer: (OrgKind.company, OrgKind.cooperative),
}


@dataclass(frozen=True)
class State:
    purpose: str
    recipient_org_id: uuid.UUID
    recipient_name: str
    granted: bool
    changed_at: datetime


def _check_recipient(sess: Session, member_id: uuid.UUID, purpose: Purpose,
                     recipient_id: uuid.UUID) -> Organization:
    org = sess.get(Organization, recipient_id)
    if org is None:
        raise ApiError(422, "validation_error", errors=[
            FieldError("recipient_id", "recipient_unknown", {"id": str(recipient_id)})])
    kinds = RECIPIENT_KINDS[purpose]
    if org.kind not in kinds:
        raise ApiError(422, "validation_error", errors=[FieldError(
            "recipient_id", "recipient_kind", {"kinds": ", ".join(kinds)})])
    if purpose is Purpose.cooperative_statistics:
        member_of = sess.scalar(select(Membership.org_id).where(
            Membership.member_id == member_id, Membership.org_id == recipient_id,
            Membership.status == MembershipStatus.active))
        if member_of is None:
            raise ApiError(422, "validation_error", errors=[
                FieldError("recipient_id", "recipient_not_your_cooperative")])
    return org


def set_consent(sess: Session, member_id: uuid.UUID, purpose: Purpose, recipient_id: uuid.UUID,
                granted: bool, *, by: uuid.UUID | None, note: str | None = None) -> State:
    """Grant or revoke; records an audit event only when the answer changes (saying
    the same twice is not a change). Flushes, does not commit."""
    org = _check_recipient(sess, member_id, purpose, recipient_id)
    current = sess.get(Consent, (member_id, purpose.value, recipient_id), with_for_update=True)
    if current is None or current.granted != granted:
        row = sess.execute(insert(Consent).values(
            member_id=member_id, purpose=purpose.value, recipient_org_id=recipient_id,
            granted=granted).on_conflict_do_update(
            index_elements=["member_id", "purpose", "recipient_org_id"],
            set_={"granted": granted, "changed_at": func.now()})
            .returning(Consent.changed_at)).one()
        sess.add(ConsentEvent(member_id=member_id, purpose=purpose.value,
                              recipient_org_id=recipient_id, granted=granted, by_member_id=by,
                              note=note))
        sess.flush()
        changed_at = row[0]
    else:
        changed_at = current.changed_at
    return State(purpose.value, recipient_id, org.name, granted, changed_at)


def states(sess: Session, member_id: uuid.UUID) -> list[State]:
    rows = sess.execute(
        select(Consent, Organization.name).join(Organization,
                                                Organization.id == Consent.recipient_org_id)
        .where(Consent.member_id == member_id)
        .order_by(Consent.purpose, Organization.name, Consent.recipient_org_id)).all()
    return [State(c.purpose, c.recipient_org_id, name, c.granted, c.changed_at) for c, name in rows]


def consenting(sess: Session, purpose: Purpose, recipient_id: uuid.UUID,
               among: Iterable[uuid.UUID] | None = None) -> set[uuid.UUID]:
    """Members whose data may go into this recipient's pooled output for this purpose
    now: those whose current answer is yes."""
    q = select(Consent.member_id).where(Consent.purpose == purpose.value,
                                        Consent.recipient_org_id == recipient_id,
                                        Consent.granted.is_(True))
    if among is not None:
        q = q.where(Consent.member_id.in_(list(among)))
    return set(sess.scalars(q))


def summary(sess: Session, org_id: uuid.UUID) -> dict[str, int]:
    """For a cooperative's admins: how many active members consent to its pooled
    statistics, how many said no, how many never answered (left out too)."""
    active = select(Membership.member_id).where(
        Membership.org_id == org_id, Membership.status == MembershipStatus.active)
    members = set(sess.scalars(active))
    rows = sess.execute(select(Consent.member_id, Consent.granted).where(
        Consent.purpose == Purpose.cooperative_statistics.value,
        Consent.recipient_org_id == org_id, Consent.member_id.in_(active))).all()
    yes = sum(1 for _, g in rows if g)
    no = sum(1 for _, g in rows if not g)
    return {"members": len(members), "granted": yes, "revoked": no,
            "unanswered": len(members) - yes - no}
