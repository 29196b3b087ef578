"""Authorities, their subscriptions, and the immutable report runs made for them.

A run is made for one subscription, one period and one cooperative (the
economic unit a landing notice is about), so a cooperative admin can download
exactly the file that was sent about the cooperative and nothing about
another. ``report_run``, ``report_artifact`` and ``report_run_item`` refuse
UPDATE and DELETE (a trigger): what was reported stays as it was, and a change
is a new, amending run. Deliveries and their attempts are the mutable part.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, enum_check, new_id


class Period(StrEnum):
    day = "day"
    week = "week"  # ISO weeks, Monday first
    month = "month"


class DeliveryMethod(StrEnum):
    pull = "pull"  # the authority lists, downloads and acknowledges through the API
    push = "push"  # HTTPS POST to the authority's endpoint, HMAC-signed, retried


class Purpose(StrEnum):
    original = "original"
    amendment = "amendment"


class Trigger(StrEnum):
    schedule = "schedule"
    manual = "manual"  # POST /reports/subscriptions/{id}/runs
    cli = "cli"


class DeliveryStatus(StrEnum):
    pending = "pending"  # pull: waiting to be downloaded; push: waiting for its next attempt
    delivered = "delivered"  # pull: downloaded; push: the endpoint answered 2xx
    acknowledged = "acknowledged"  # the authority acknowledged it (push: the 2xx is the ack)
    failed = "failed"  # push: attempts exhausted; an admin may retry


class ItemAction(StrEnum):
    original = "original"
    late_addition = "late_addition"
    correction = "correction"
    cancellation = "cancellation"
    restated = "restated"


class Authority(Base):
    """A government recipient: an organization of kind ``authority`` and its jurisdiction.

    The jurisdiction is a list of cooperatives, a region, or both: a record is
    in it when its cooperative is listed or where it landed lies in the region."""

    __tablename__ = "authority"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    region: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), server_default="America/Mexico_City")
    contact_email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))


class AuthorityCooperative(Base):
    __tablename__ = "authority_cooperative"

    authority_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("authority.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)


class Subscription(Base):
    __tablename__ = "report_subscription"
    __table_args__ = (
        enum_check("period", Period),
        enum_check("delivery", DeliveryMethod),
        Index("ix_report_subscription_due", "next_run_at", postgresql_where=text("active")),
        Index("ix_report_subscription_authority", "authority_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    authority_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("authority.id"))
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(60))
    options: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # Scope within the authority's jurisdiction: empty org_ids means all of it.
    org_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), server_default="{}")
    region: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    schedule: Mapped[str] = mapped_column(String(100))  # cron, in ``timezone``
    period: Mapped[str] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64))
    delivery: Mapped[str] = mapped_column(String(10))
    push_url: Mapped[str | None] = mapped_column(Text)
    push_secret: Mapped[str | None] = mapped_column(Text)  # HMAC key; shown once, at creation
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    starts_on: Mapped[date] = mapped_column(Date)  # the first period reported
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))


class Run(Base):
    __tablename__ = "report_run"
    __table_args__ = (
        enum_check("purpose", Purpose),
        enum_check("trigger", Trigger),
        UniqueConstraint("subscription_id", "subject_org_id", "period_start", "sequence"),
        Index("ix_report_run_authority", "authority_id", "created_at"),
        Index("ix_report_run_subject", "subject_org_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("report_subscription.id"))
    authority_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("authority.id"))
    # The cooperative the run is about (named subject_, not org_, because the
    # run belongs to the authority: it is not a tenant row of the cooperative).
    subject_org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"))
    format: Mapped[str] = mapped_column(String(60))
    options: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    timezone: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(12))
    sequence: Mapped[int] = mapped_column(Integer)  # 1 = the period's original
    amends: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), server_default="{}")
    record_count: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB)  # items by action
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    generator_version: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    job_id: Mapped[int | None] = mapped_column(BigInteger)  # the procrastinate job that made it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Artifact(Base):
    __tablename__ = "report_artifact"

    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("report_run.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(Text)


class RunItem(Base):
    """The exact catch versions a run carries, and why (``action``)."""

    __tablename__ = "report_run_item"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "catch_id", "catch_version"],
                             ["catch.org_id", "catch.id", "catch.version"]),
        enum_check("action", ItemAction),
        # A version is reported once per subscription. Restatements repeat it by
        # design; a cancellation withdraws it from one period (it may then be
        # reported again in the period a correction moved it to).
        Index("uq_report_item_once", "subscription_id", "org_id", "catch_id", "catch_version",
              unique=True, postgresql_where=text("action NOT IN ('restated', 'cancellation')")),
        Index("ix_report_item_catch", "org_id", "catch_id"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("report_run.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    catch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    catch_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(16))
    refers_to_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Delivery(Base):
    __tablename__ = "report_delivery"
    __table_args__ = (
        enum_check("method", DeliveryMethod),
        enum_check("status", DeliveryStatus),
        Index("ix_report_delivery_due", "next_attempt_at",
              postgresql_where=text("status = 'pending' AND method = 'push'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("report_run.id"), unique=True)
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(14), server_default=DeliveryStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"))
    ack_reference: Mapped[str | None] = mapped_column(String(200))  # the authority's receipt
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeliveryAttempt(Base):
    """Every push attempt, kept: when, how long, what the endpoint said."""

    __tablename__ = "report_delivery_attempt"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("report_delivery.id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
