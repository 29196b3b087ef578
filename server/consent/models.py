"""Members' consent to pooled uses of their data, and its audit trail.

Consent is opt-in: a member who never said yes is left out of every pooled
output that needs consent. Each (member, purpose, recipient) has one current
state in ``consent``; every change is also appended to ``consent_event``,
which refuses UPDATE and DELETE (the audit cannot be rewritten).

Mandatory government reporting (server/reports) is not a purpose here: the law
requires it, so it needs no consent and a revocation does not stop it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, enum_check


class Purpose(StrEnum):
    cooperative_statistics = "cooperative_statistics"  # the cooperative's pooled figures
    research = "research"
    fishery_improvement = "fishery_improvement"  # a fishery improvement project (FIP)
    buyer = "buyer"  # a named buyer's view of the origin of what it buys


class Consent(Base):
    """A member's current answer for one purpose and recipient organization."""

    __tablename__ = "consent"
    __table_args__ = (
        enum_check("purpose", Purpose),
        # Pooled outputs ask: who consents to this purpose for this recipient?
        Index("ix_consent_recipient", "recipient_org_id", "purpose"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30), primary_key=True)
    recipient_org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConsentEvent(Base):
    """One change of a consent, as it happened (immutable)."""

    __tablename__ = "consent_event"
    __table_args__ = (
        enum_check("purpose", Purpose),
        Index("ix_consent_event_member", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    purpose: Mapped[str] = mapped_column(String(30))
    recipient_org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"))
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Who made the change: the member themselves (the API allows nobody else), or the
    # demo loader / a migration (NULL).
    by_member_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"))
    note: Mapped[str | None] = mapped_column(String(500))
