"""A cooperative's vessels and fishing permits (tenant-scoped by ``org_id``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, ChangeTracked, new_id


class Vessel(ChangeTracked, Base):
    __tablename__ = "vessel"
    __table_args__ = (UniqueConstraint("org_id", "registration"),)

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    registration: Mapped[str] = mapped_column(String(40))  # matrícula
    rnp: Mapped[str | None] = mapped_column(String(40))  # Registro Nacional de Pesca
    owner_member_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"))
    length_m: Mapped[float | None] = mapped_column(Numeric(6, 2))
    engine_hp: Mapped[float | None] = mapped_column(Numeric(7, 1))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Permit(ChangeTracked, Base):
    __tablename__ = "permit"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        # Reports look up the permit covering each catch by its trip's vessel.
        Index("ix_permit_vessel", "org_id", "vessel_id"),
        ForeignKeyConstraint(["org_id", "vessel_id"], ["vessel.org_id", "vessel.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(40), server_default="commercial")
    species_codes: Mapped[list[str]] = mapped_column(ARRAY(String(3)), server_default="{}")
    gear_codes: Mapped[list[str]] = mapped_column(ARRAY(String(8)), server_default="{}")
    zone_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("zone.id"))
    vessel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
