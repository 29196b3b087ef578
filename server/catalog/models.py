"""Reference data shared by every organization: species, gear, ports, zones."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, ChangeTracked, enum_check, new_id


class Species(ChangeTracked, Base):
    __tablename__ = "species"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # ASFIS 3-alpha
    scientific_name: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    isscaap_group: Mapped[str | None] = mapped_column(String(4))
    conapesca_key: Mapped[str | None] = mapped_column(String(20))
    coasts: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Gear(ChangeTracked, Base):
    __tablename__ = "gear"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISSCFG abbreviation
    isscfg_code: Mapped[str] = mapped_column(String(10), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Port(ChangeTracked, Base):
    __tablename__ = "port"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    code: Mapped[str | None] = mapped_column(String(10), unique=True)  # UN/LOCODE, "MX MZT"
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(60))
    coast: Mapped[str | None] = mapped_column(String(20))
    conapesca_key: Mapped[str | None] = mapped_column(String(20))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class ZoneKind(StrEnum):
    fao_area = "fao_area"
    fishing_zone = "fishing_zone"
    concession = "concession"
    no_take = "no_take"  # refuge / no-take: catches inside are flagged
    protected_area = "protected_area"
    inland_water = "inland_water"  # lakes, lagoons, reservoirs: not "on land"
    land = "land"  # coastline layer used to flag positions on land


class Zone(ChangeTracked, Base):
    __tablename__ = "zone"
    __table_args__ = (
        enum_check("kind", ZoneKind),
        Index("ix_zone_kind_code", "kind", "code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    source: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ZonePiece(Base):
    """A zone cut into pieces of at most 128 vertices (kept by a trigger on zone).

    Coastline-shaped zones (land, FAO areas) have tens of thousands of vertices;
    a point test against the whole polygon costs about a millisecond. Against
    the pieces the GiST index finds one or two small polygons, and one probe
    per position answers every zone at once."""

    __tablename__ = "zone_piece"
    __table_args__ = (Index("ix_zone_piece_geom", "geom", postgresql_using="gist"),)

    zone_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("zone.id", ondelete="CASCADE"), primary_key=True)
    piece: Mapped[int] = mapped_column(Integer, primary_key=True)
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False))
