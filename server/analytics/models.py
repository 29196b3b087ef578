"""The analytics rollup: per organization and month, at the grains the dashboards show.

Every row keeps its member and vessel, so a dashboard can leave out members who
did not consent and count distinct vessels for suppression, without ever
reading the logbook itself. Rows are rewritten per slice (organization, month)
by ``stats.write_slice``, driven by server/rollup/run.py.

``vessel_id`` is the nil UUID for a trip without a vessel (shore fishing) and
``gear_code`` '' when none was given: both are part of primary keys.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

NO_VESSEL = uuid.UUID(int=0)


class _Key:
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    vessel_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class SpeciesStat(_Key, Base):
    """Catch of one member's vessel, species and gear in a month (catch month)."""

    __tablename__ = "stat_species"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "month", "member_id", "vessel_id", "species_code",
                             "gear_code"),
        Index("ix_stat_species_member", "member_id", "month"),  # a fisher's own dashboard
    )

    species_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    gear_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    landed_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    live_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))  # landed where live was not given
    catches: Mapped[int] = mapped_column(Integer)
    value_mxn: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # landed kg x first-sale price
    priced_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))  # the kg that had an MXN price


class TripStat(_Key, Base):
    """Effort of one member's vessel and gear in a month (departure month)."""

    __tablename__ = "stat_trip"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "month", "member_id", "vessel_id", "gear_code"),
        Index("ix_stat_trip_member", "member_id", "month"),
    )

    gear_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    trips: Mapped[int] = mapped_column(Integer)
    zero_catch_trips: Mapped[int] = mapped_column(Integer)
    timed_trips: Mapped[int] = mapped_column(Integer)  # with a return time: hours count
    sea_hours: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    sea_days: Mapped[int] = mapped_column(Integer)  # distinct local days at sea
    costs_mxn: Mapped[Decimal] = mapped_column(Numeric(16, 2))


class CellStat(_Key, Base):
    """Catch of one member's vessel and species in an H3 cell (geo.hexgrid) in a month:
    the cooperative's heatmap and the fisher's own map. Catches without a position are
    not here (they are in ``stat_species``)."""

    __tablename__ = "stat_cell"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "month", "member_id", "vessel_id", "cell",
                             "species_code"),
        Index("ix_stat_cell_member", "member_id", "month"),
    )

    cell: Mapped[str] = mapped_column(String(15), primary_key=True)
    species_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    landed_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    catches: Mapped[int] = mapped_column(Integer)


class ZoneStat(_Key, Base):
    """Catch of one member's vessel in a zone (fishing zone, concession, refuge, protected
    area: the catch's ``zone_ids``) in a month. Zones may overlap, so a catch in two zones
    counts in both: zones do not add up to the month."""

    __tablename__ = "stat_zone"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "month", "member_id", "vessel_id", "zone_id"),
    )

    zone_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    landed_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    catches: Mapped[int] = mapped_column(Integer)


class SliceVersion(Base):
    """How many times each slice (organization, month) of the statistics was rewritten:
    what a dashboard derives from a month (its suppression) is kept until this moves."""

    __tablename__ = "stat_slice"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
