"""The catch rollup the OGC API serves: per organization, hexagon cell and month.

Two grains, both keyed by ``org_id`` first (tenant tables, distributable by
it like the logbook):

- ``ogc_cell_species``: (org, cell, month, species) with kilograms, catches,
  trips and the vessels that caught that species there;
- ``ogc_cell``: (org, cell, month), all species together. Its own table
  because distinct vessels cannot be added up across species (one boat
  catching three species would count three times).

A vessel belongs to one cooperative, so summing ``vessels`` over
organizations is exact: the API adds organizations up, then suppresses.

``month`` is the first day of the month the catch was caught in, in
America/Mexico_City time (``date_trunc('month', caught_at AT TIME ZONE
'America/Mexico_City')``): one calendar for the whole country's map, so a
cell-month means the same thing to every authority whatever its own zone.

``h3_cell`` holds each cell's hexagon (and centre) once, with GiST indexes,
for bbox filters and region jurisdictions. ``ogc_watermark`` remembers how far
into the logbook's change positions the rollup has caught up.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.catches.models import Catch, Trip
from server.db import Base

ROLLUP_TZ = "America/Mexico_City"
CELL_LENGTH = 15  # an H3 cell index in hexadecimal


class H3Cell(Base):
    """Every cell the rollup has used: reference data, shared by all organizations."""

    __tablename__ = "h3_cell"
    __table_args__ = (
        Index("ix_h3_cell_geom", "geom", postgresql_using="gist"),
        Index("ix_h3_cell_center", "center", postgresql_using="gist"),
    )

    cell: Mapped[str] = mapped_column(String(CELL_LENGTH), primary_key=True)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))
    center: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    # The hexagon as the API writes it (geo.hexgrid.cell_geojson), so published features
    # are whole JSON text; filled in Python, since it must be that spelling exactly.
    geojson: Mapped[str | None] = mapped_column(Text)


class _Measures:
    landed_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    live_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3))  # landed where live was not given
    catches: Mapped[int] = mapped_column(Integer)
    trips: Mapped[int] = mapped_column(Integer)  # distinct
    vessels: Mapped[int] = mapped_column(Integer)  # distinct, within the organization


class CellSpeciesMonth(_Measures, Base):
    __tablename__ = "ogc_cell_species"
    __table_args__ = (
        # Serves bbox, single-feature and keyset reads across organizations in
        # key order (the primary key leads with org_id and cannot).
        Index("ix_ogc_cell_species_cell", "cell", "month", "species_code"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    cell: Mapped[str] = mapped_column(String(CELL_LENGTH), ForeignKey("h3_cell.cell"),
                                      primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    species_code: Mapped[str] = mapped_column(String(3), ForeignKey("species.code"),
                                              primary_key=True)


class CellMonth(_Measures, Base):
    __tablename__ = "ogc_cell"
    __table_args__ = (Index("ix_ogc_cell_cell", "cell", "month"),)

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    cell: Mapped[str] = mapped_column(String(CELL_LENGTH), ForeignKey("h3_cell.cell"),
                                      primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)


class Watermark(Base):
    """Named positions of the rollup.

    ``catch``: the (change_xid, change_seq) up to which catch and trip changes
    are rolled up."""

    __tablename__ = "ogc_watermark"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# The rollup finds what changed by change position across all organizations;
# the logbook's own feed indexes lead with (org_id, member_id) and cannot
# answer that without scanning the tables every minute. Declared here, on the
# logbook's tables, because only the rollup reads them this way.
Index("ix_catch_change", Catch.change_xid, Catch.change_seq)
Index("ix_trip_change", Trip.change_xid, Trip.change_seq)


# --- what each audience is shown ---------------------------------------------------------------

PLATFORM_AUDIENCE = uuid.UUID(int=0)  # a platform admin's view: every organization


class Audience(Base):
    """One view of the map: an authority's jurisdiction, or the whole platform.

    Its features are summed over the jurisdiction and suppressed once, when the
    rollup changes (server/ogc/publish.py), not on every request: the API then
    pages through finished answers. ``min_vessels`` is the threshold they were
    suppressed with (a change of configuration republishes); ``version`` counts
    publications, so readers can cache what they derive (the extent)."""

    __tablename__ = "ogc_audience"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # NULL for the platform's view; an authority's view goes with the authority.
    authority_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("authority.id", ondelete="CASCADE"), unique=True)
    min_vessels: Mapped[int] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Feature(Base):
    """A published feature: what the audience sees, the whole GeoJSON Feature written
    once, so a page is the database joining a range of them with commas.

    ``collection`` is 0 for catch-cells, 1 for catch-cells-species;
    ``species_code`` is '' in catch-cells, so both collections page on one key."""

    __tablename__ = "ogc_feature"

    audience_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ogc_audience.id", ondelete="CASCADE"), primary_key=True)
    collection: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cell: Mapped[str] = mapped_column(String(CELL_LENGTH), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    species_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    feature: Mapped[str] = mapped_column(Text)  # a GeoJSON Feature, compact


class PublishQueue(Base):
    """Slices of the rollup rewritten since their audiences were last published.

    Written in the slice's own transaction, so a crash between the rollup and
    the publication leaves the work queued rather than lost."""

    __tablename__ = "ogc_publish_queue"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
