"""A cooperative's settings that its members decide by vote, and their history.

- ``ratings``: whether buyers may rate the cooperative and its stars are shown (default
  on; server/market/ratings.py asks here).
- ``data_sharing``: whether the cooperative shares its pooled figures for a purpose with a
  named recipient (default off). While on, the recipient's admins may read them
  (server/analytics: ``/organizations/{id}/shared/{recipient}/…``), over only the members
  who consent to that purpose for that recipient (server/consent).

Only a closed result changes them (server/governance/closing.py), in its own transaction,
each change also written to the immutable ``coop_setting_change``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.governance.models import CoopSetting, CoopSharing, Proposal, Setting, SettingChange
from server.members.models import Organization
from server.notifications.services import notify


def ratings_enabled(sess: Session, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
    off = set(sess.scalars(select(CoopSetting.org_id).where(
        CoopSetting.org_id.in_(list(set(org_ids))), CoopSetting.ratings_enabled.is_(False))))
    return {o: o not in off for o in org_ids}


def sharing_enabled(sess: Session, org_id: uuid.UUID, purpose: str,
                    recipient_id: uuid.UUID) -> bool:
    """Whether the cooperative's last result on this purpose and recipient turned sharing
    on. No row (never voted) is off: sharing is opt-in, like the consent under it."""
    return bool(sess.scalar(select(CoopSharing.enabled).where(
        CoopSharing.org_id == org_id, CoopSharing.purpose == purpose,
        CoopSharing.recipient_org_id == recipient_id)))


def apply(sess: Session, prop: Proposal, effect: dict[str, Any]) -> None:
    """Apply a winning option's effect (the caller checked quorum and winner)."""
    from server.governance import proposals

    org, enabled = prop.org_id, bool(effect["enabled"])
    if effect["type"] == Setting.ratings:
        sess.execute(insert(CoopSetting).values(
            org_id=org, ratings_enabled=enabled, ratings_proposal_id=prop.id,
            ratings_changed_at=func.now()).on_conflict_do_update(
            index_elements=["org_id"], set_={"ratings_enabled": enabled,
                                             "ratings_proposal_id": prop.id,
                                             "ratings_changed_at": func.now()}))
        sess.add(SettingChange(org_id=org, proposal_id=prop.id, setting=Setting.ratings.value,
                               enabled=enabled))
        kind = "governance.ratings_enabled" if enabled else "governance.ratings_disabled"
        extra: dict[str, Any] = {}
    else:
        recipient = uuid.UUID(str(effect["recipient_org_id"]))
        purpose = str(effect["purpose"])
        sess.execute(insert(CoopSharing).values(
            org_id=org, purpose=purpose, recipient_org_id=recipient, enabled=enabled,
            proposal_id=prop.id).on_conflict_do_update(
            index_elements=["org_id", "purpose", "recipient_org_id"],
            set_={"enabled": enabled, "proposal_id": prop.id, "changed_at": func.now()}))
        sess.add(SettingChange(org_id=org, proposal_id=prop.id,
                               setting=Setting.data_sharing.value, purpose=purpose,
                               recipient_org_id=recipient, enabled=enabled))
        kind = "governance.sharing_enabled" if enabled else "governance.sharing_disabled"
        name = sess.scalar(select(Organization.name).where(Organization.id == recipient))
        extra = {"purpose": purpose, "recipient_org_id": recipient, "recipient": name or ""}
    for member_id in proposals.electorate_ids(sess, org):
        notify(sess, member_id, kind, proposal_id=prop.id, org_id=org, title=prop.title, **extra)
    sess.flush()


def read(sess: Session, org_id: uuid.UUID) -> dict[str, Any]:
    row = sess.get(CoopSetting, org_id)
    sharing = sess.execute(select(CoopSharing, Organization.name).outerjoin(
        Organization, Organization.id == CoopSharing.recipient_org_id)
        .where(CoopSharing.org_id == org_id)
        .order_by(CoopSharing.purpose, Organization.name, CoopSharing.recipient_org_id)).all()
    return {"org_id": org_id,
            "ratings": {"enabled": row.ratings_enabled if row else True,
                        "proposal_id": row.ratings_proposal_id if row else None,
                        "changed_at": row.ratings_changed_at if row else None},
            "data_sharing": [{"purpose": s.purpose, "recipient_org_id": s.recipient_org_id,
                              "recipient_name": name, "enabled": s.enabled,
                              "proposal_id": s.proposal_id, "changed_at": s.changed_at}
                             for s, name in sharing]}


def history(sess: Session, org_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = sess.execute(select(SettingChange, Proposal.title).join(
        Proposal, (Proposal.org_id == SettingChange.org_id)
        & (Proposal.id == SettingChange.proposal_id))
        .where(SettingChange.org_id == org_id).order_by(SettingChange.id.desc())).all()
    return [{"id": c.id, "setting": c.setting, "purpose": c.purpose,
             "recipient_org_id": c.recipient_org_id, "enabled": c.enabled,
             "proposal_id": c.proposal_id, "proposal_title": title, "at": c.at}
            for c, title in rows]
