"""Trips, catches and landings: the logbook, tenant-scoped by ``org_id``.

Every primary and unique key includes ``org_id`` so the tables can be
distributed by it (Citus) without changing a key; tests/test_schema_rules.py
enforces that.

A catch is versioned: ``(org_id, id, version)`` is its key, a correction
inserts the next version and stamps the old one ``superseded_at``; a
cancellation is a version with ``status = 'cancelled'`` (a tombstone). The
regulatory columns of a version are never updated, so every report made from
a version can be made again byte for byte.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, ChangeTracked, enum_check


class RecordStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"


class Presentation(StrEnum):
    whole = "whole"
    gutted = "gutted"
    headed = "headed"  # e.g. shrimp tails, headless fish
    gutted_headed = "gutted_headed"
    fillet = "fillet"
    tail = "tail"  # lobster tails
    shucked = "shucked"  # bivalve meat
    alive = "alive"
    other = "other"


class Disposition(StrEnum):
    kept = "kept"
    sold = "sold"
    own_use = "own_use"
    discarded = "discarded"


class QualityFlag(StrEnum):
    on_land = "on_land"
    in_no_take_zone = "in_no_take_zone"
    outside_fao_areas = "outside_fao_areas"
    no_position = "no_position"
    received_late = "received_late"  # logged more than 30 days after the catch


class Trip(ChangeTracked, Base):
    __tablename__ = "trip"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "vessel_id"], ["vessel.org_id", "vessel.id"]),
        enum_check("status", RecordStatus),
        Index("ix_trip_feed", "org_id", "member_id", "change_xid", "change_seq"),
        Index("ix_trip_org_departed", "org_id", "departed_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # from the phone
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    vessel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    gear_code: Mapped[str | None] = mapped_column(String(8), ForeignKey("gear.code"))
    departed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    departure_port_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("port.id"))
    return_port_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("port.id"))
    zero_catch: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    costs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    track: Mapped[Any] = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False),
                                       nullable=True)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(12), server_default=RecordStatus.active.value)
    recorded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    device_id: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TripRevision(Base):
    """The state a trip had before each correction (trips change in place)."""

    __tablename__ = "trip_revision"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "trip_id"], ["trip.org_id", "trip.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trip_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    replaced_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))


class Catch(ChangeTracked, Base):
    __tablename__ = "catch"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "trip_id"], ["trip.org_id", "trip.id"]),
        enum_check("status", RecordStatus),
        enum_check("presentation", Presentation),
        enum_check("disposition", Disposition),
        # One current version per catch.
        Index("uq_catch_current", "org_id", "id", unique=True,
              postgresql_where=text("superseded_at IS NULL")),
        Index("ix_catch_feed", "org_id", "member_id", "change_xid", "change_seq"),
        Index("ix_catch_trip", "org_id", "trip_id"),
        Index("ix_catch_org_caught", "org_id", "caught_at"),
        Index("ix_catch_position", "position", postgresql_using="gist"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # from the phone
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    trip_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    species_code: Mapped[str] = mapped_column(String(3), ForeignKey("species.code"))
    gear_code: Mapped[str | None] = mapped_column(String(8), ForeignKey("gear.code"))
    landed_kg: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    live_kg: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    count: Mapped[int | None] = mapped_column(Integer)
    presentation: Mapped[str] = mapped_column(String(20))
    disposition: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # per kg, at first sale
    currency: Mapped[str] = mapped_column(String(3), server_default="MXN")
    position: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False),
                                          nullable=True)
    caught_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fao_area: Mapped[str | None] = mapped_column(String(4))
    zone_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), server_default="{}")
    quality_flags: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), server_default=RecordStatus.active.value)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    device_id: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Landing(ChangeTracked, Base):
    """Where and when a trip's catch came ashore (what a landing notice reports)."""

    __tablename__ = "landing"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "trip_id"], ["trip.org_id", "trip.id"]),
        UniqueConstraint("org_id", "trip_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trip_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    port_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("port.id"))
    landed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
