"""Tables of governance: proposals and their options, who voted, secret ballots, results,
and the cooperative settings that results may change.

Every table is a tenant table keyed by the cooperative's ``org_id`` (the Citus rule of
tests/test_schema_rules.py), so a proposal's rows live with its cooperative.

Secrecy is a matter of which columns sit together:
- ``proposal_voter`` says *who* voted (one row per member: one member, one vote, and the
  turnout), never how;
- ``proposal_ballot`` holds the choices of an open proposal with no member id: a ballot is
  found again (to replace it when the member changes their vote) by ``ballot_key``, an HMAC
  of (proposal, member) under a server key (server/governance/ballots.py), and carries no
  time;
- when the proposal closes, the ballots are copied into ``proposal_receipt`` in receipt-hash
  order, without their keys, and deleted; ``proposal_result`` and ``proposal_tally`` record
  the count. Results, tallies, receipts, options and the settings' history refuse UPDATE
  and DELETE (``cardumen_refuse_change``, migration 0002).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.consent.models import Purpose
from server.db import Base, enum_check, new_id

TITLE_MAX = 200
BODY_MAX = 10_000
LABEL_MAX = 200


class Outcome(StrEnum):
    winner = "winner"  # one option has more votes than any other
    tie = "tie"  # two or more options share the most votes
    none = "none"  # nobody voted


class Setting(StrEnum):
    ratings = "ratings"  # whether buyers may rate the cooperative (and its stars are shown)
    data_sharing = "data_sharing"  # the cooperative shares pooled figures with a named recipient


class Proposal(Base):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="window"),
        CheckConstraint("quorum >= 0 AND quorum <= 1", name="quorum_fraction"),
        CheckConstraint(f"char_length(title) BETWEEN 1 AND {TITLE_MAX}", name="title_length"),
        CheckConstraint(f"char_length(body) BETWEEN 1 AND {BODY_MAX}", name="body_length"),
        CheckConstraint("cancelled_at IS NULL OR closed_at IS NULL", name="cancelled_or_closed"),
        Index("ix_proposal_id", "id"),
        # What the periodic job looks at: only proposals still to close.
        Index("ix_proposal_due", "closes_at",
              postgresql_where=text("closed_at IS NULL AND cancelled_at IS NULL")),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    # The share of the electorate (counted at the close) that must vote: 0.5 is half.
    quorum: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"))
    # Set in the transaction that writes the result (proposal_result says the rest).
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProposalOption(Base):
    """One answer of a proposal; at most one option of a proposal carries an effect."""

    __tablename__ = "proposal_option"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "proposal_id"], ["proposal.org_id", "proposal.id"]),
        UniqueConstraint("org_id", "proposal_id", "position", name="uq_proposal_option_position"),
        CheckConstraint("position BETWEEN 1 AND 10", name="position_range"),
        CheckConstraint(f"char_length(label) BETWEEN 1 AND {LABEL_MAX}", name="label_length"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    position: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(LABEL_MAX))
    # {"type": "ratings", "enabled": bool} or {"type": "data_sharing", "purpose": ...,
    # "recipient_org_id": ..., "enabled": bool}: applied when this option wins with quorum.
    effect: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Voter(Base):
    """That a member voted on a proposal (once: the key), and when first. Never how."""

    __tablename__ = "proposal_voter"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "proposal_id"], ["proposal.org_id", "proposal.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"), primary_key=True)
    voted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Ballot(Base):
    """A choice on an open proposal: no member id, no time. ``current`` is the one that
    counts; a change of vote leaves the earlier ballot, not current, so its receipt can
    be told superseded."""

    __tablename__ = "proposal_ballot"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "proposal_id", "option_id"],
                             ["proposal_option.org_id", "proposal_option.proposal_id",
                              "proposal_option.id"]),
        # One counted ballot per voter, whatever the code does.
        Index("uq_proposal_ballot_current", "org_id", "proposal_id", "ballot_key", unique=True,
              postgresql_where=text("current")),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    ballot_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    option_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    current: Mapped[bool] = mapped_column(Boolean)


class Result(Base):
    """The count of a closed proposal, written once."""

    __tablename__ = "proposal_result"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "proposal_id"], ["proposal.org_id", "proposal.id"]),
        ForeignKeyConstraint(["org_id", "proposal_id", "winner_option_id"],
                             ["proposal_option.org_id", "proposal_option.proposal_id",
                              "proposal_option.id"]),
        enum_check("outcome", Outcome),
        CheckConstraint("turnout >= 0 AND turnout <= electorate", name="turnout_range"),
        CheckConstraint("quorum_votes >= 0", name="quorum_votes_positive"),
        CheckConstraint("(outcome = 'winner') = (winner_option_id IS NOT NULL)",
                        name="winner_named"),
        CheckConstraint("NOT effect_applied OR (quorum_met AND outcome = 'winner')",
                        name="effect_needs_quorum_and_winner"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Active fishers and admins at the close, and anyone who voted while eligible.
    electorate: Mapped[int] = mapped_column(Integer)
    turnout: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    quorum_votes: Mapped[int] = mapped_column(Integer)  # ceil(quorum x electorate)
    quorum_met: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(10))
    winner_option_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    effect_applied: Mapped[bool] = mapped_column(Boolean)
    # sha256 of the counted receipts' hashes (32 bytes each), sorted and concatenated.
    receipts_digest: Mapped[bytes] = mapped_column(LargeBinary(32))


class Tally(Base):
    """Votes per option of a closed proposal (every option, zeros included)."""

    __tablename__ = "proposal_tally"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "proposal_id"],
                             ["proposal_result.org_id", "proposal_result.proposal_id"]),
        ForeignKeyConstraint(["org_id", "proposal_id", "option_id"],
                             ["proposal_option.org_id", "proposal_option.proposal_id",
                              "proposal_option.id"]),
        CheckConstraint("votes >= 0", name="votes_positive"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    option_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    votes: Mapped[int] = mapped_column(Integer)


class Receipt(Base):
    """Every ballot of a closed proposal by its receipt's hash: counted (the voter's last
    choice) or superseded. No ballot key, no time, written in hash order."""

    __tablename__ = "proposal_receipt"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "proposal_id"],
                             ["proposal_result.org_id", "proposal_result.proposal_id"]),
        ForeignKeyConstraint(["org_id", "proposal_id", "option_id"],
                             ["proposal_option.org_id", "proposal_option.proposal_id",
                              "proposal_option.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    option_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    counted: Mapped[bool] = mapped_column(Boolean)


class CoopSetting(Base):
    """A cooperative's settings that its members decide by vote (no row: the defaults)."""

    __tablename__ = "coop_setting"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "ratings_proposal_id"], ["proposal.org_id", "proposal.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    ratings_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    ratings_proposal_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    ratings_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CoopSharing(Base):
    """Whether the cooperative shares its pooled figures for a purpose with a recipient.

    ``recipient_org_id`` has no foreign key: ``organization`` is distributed by its own id,
    so a key to it can only be ``org_id`` (as for market_order.buyer_org_id); the service
    checks that the recipient exists when the proposal is opened."""

    __tablename__ = "coop_sharing"
    __table_args__ = (
        enum_check("purpose", Purpose),
        CheckConstraint("purpose <> 'cooperative_statistics'", name="not_own_statistics"),
        ForeignKeyConstraint(["org_id", "proposal_id"], ["proposal.org_id", "proposal.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30), primary_key=True)
    recipient_org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SettingChange(Base):
    """Each change a result made to a setting, as it happened (immutable)."""

    __tablename__ = "coop_setting_change"
    __table_args__ = (
        enum_check("setting", Setting),
        enum_check("purpose", Purpose),
        CheckConstraint("(setting = 'data_sharing') = (purpose IS NOT NULL AND "
                        "recipient_org_id IS NOT NULL)", name="sharing_named"),
        ForeignKeyConstraint(["org_id", "proposal_id"], ["proposal.org_id", "proposal.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    proposal_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    setting: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(30))
    recipient_org_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    enabled: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
