"""Listings, what they come from, their prices, orders, ratings and saved searches.

``listing`` and ``market_order`` are tenant tables: ``org_id`` (the selling
organization) is in every key, as for the logbook (tests/test_schema_rules.py).

A listing's stock is three numbers kept by single conditional UPDATEs:
``quantity`` offered, ``reserved`` by open orders, ``sold`` by completed ones.
A CHECK holds ``reserved + sold <= quantity`` whatever the code does, so no
interleaving of orders can sell more than the listing holds.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
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
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, enum_check, new_id

TEXT_SEARCH_CONFIG = "spanish"


class ListingKind(StrEnum):
    fish = "fish"  # seafood, perhaps traced to logged catches
    goods = "goods"  # gear, boat parts, engines, ice...
    service = "service"  # mechanics, transport...


class Category(StrEnum):
    gear = "gear"
    boat_parts = "boat_parts"
    engines = "engines"
    electronics = "electronics"
    safety = "safety"
    ice = "ice"
    fuel = "fuel"
    mechanics = "mechanics"
    transport = "transport"
    processing = "processing"
    other = "other"


class Preservation(StrEnum):
    fresh = "fresh"
    frozen = "frozen"
    live = "live"
    dried = "dried"
    salted = "salted"
    smoked = "smoked"


class Unit(StrEnum):
    kg = "kg"
    piece = "piece"
    hour = "hour"  # services
    job = "job"  # services


class ListingStatus(StrEnum):
    active = "active"
    paused = "paused"  # the seller stopped orders for a while
    closed = "closed"  # withdrawn by the seller: for good
    expired = "expired"  # its available_until passed


class OrderStatus(StrEnum):
    placed = "placed"
    accepted = "accepted"
    ready = "ready"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"


OPEN_ORDER = (OrderStatus.placed, OrderStatus.accepted, OrderStatus.ready)


class Listing(Base):
    __tablename__ = "listing"
    __table_args__ = (
        enum_check("kind", ListingKind),
        enum_check("category", Category),
        enum_check("preservation", Preservation),
        enum_check("unit", Unit),
        enum_check("status", ListingStatus),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="price_positive"),
        CheckConstraint("reserved >= 0 AND sold >= 0 AND reserved + sold <= quantity",
                        name="never_oversold"),
        CheckConstraint("available_until > available_from", name="window"),
        CheckConstraint("kind <> 'fish' OR (species_code IS NOT NULL AND presentation IS NOT NULL "
                        "AND preservation IS NOT NULL AND category IS NULL)", name="fish_described"),
        CheckConstraint("kind = 'fish' OR category IS NOT NULL", name="goods_categorised"),
        UniqueConstraint("org_id", "short_code", name="uq_listing_short_code"),
        Index("ix_listing_id", "id"),
        Index("ix_listing_short_code", "short_code"),
        Index("ix_listing_seller", "seller_id", "created_at"),
        Index("ix_listing_live_location", "location", postgresql_using="gist",
              postgresql_where=text("status = 'active'")),
        Index("ix_listing_live_species", "species_code", "unit_price",
              postgresql_where=text("status = 'active'")),
        # One species near a point: the species and the radius' box in one index condition,
        # and nearest-first as a KNN scan (migration 0011 says why).
        Index("ix_listing_live_species_location", "species_code", "location",
              postgresql_using="gist", postgresql_where=text("status = 'active'")),
        Index("ix_listing_search", "search", postgresql_using="gin"),
        Index("ix_listing_plain", "plain", postgresql_using="gin",
              postgresql_ops={"plain": "gin_trgm_ops"}),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    short_code: Mapped[str] = mapped_column(String(12))  # the lot's public code (QR)
    seller_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(140))
    description: Mapped[str | None] = mapped_column(Text)
    species_code: Mapped[str | None] = mapped_column(String(3), ForeignKey("species.code"))
    presentation: Mapped[str | None] = mapped_column(String(20))
    preservation: Mapped[str | None] = mapped_column(String(10))
    unit: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    reserved: Mapped[Decimal] = mapped_column(Numeric(12, 3), server_default=text("0"))
    sold: Mapped[Decimal] = mapped_column(Numeric(12, 3), server_default=text("0"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    port_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("port.id"))
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    delivery_area: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)
    available_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    available_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fresh_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), server_default=ListingStatus.active.value)
    keywords: Mapped[str] = mapped_column(Text, server_default="")  # Spanish words
    other_names: Mapped[str] = mapped_column(Text, server_default="")  # English, scientific
    # Spanish stemming of the text as written: "camarones" and "Camarón" meet, and
    # "cámara" stays apart (stemming the text without accents would make all three 'cam').
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(
        f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}'::regconfig, title), 'A') || "
        f"to_tsvector('{TEXT_SEARCH_CONFIG}'::regconfig, coalesce(description, '') || ' ' || "
        "keywords)", persisted=True))
    # Lower case, no accents, every name: trigram matching of what a phone types
    # ("camaron", "guachinango", "snapper").
    plain: Mapped[str] = mapped_column(Text, Computed(
        "lower(cardumen_unaccent(title || ' ' || keywords || ' ' || other_names))",
        persisted=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ListingCatch(Base):
    """How much of a logged catch a listing offers (in the listing's unit). The
    allocations of one catch never add up to more than it landed."""

    __tablename__ = "listing_catch"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "listing_id"], ["listing.org_id", "listing.id"]),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_listing_catch_catch", "org_id", "catch_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    listing_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    catch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)  # the seller's order of the catches
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))


class ListingPrice(Base):
    """Every price a listing had; rows are never changed (a trigger refuses it)."""

    __tablename__ = "listing_price"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "listing_id"], ["listing.org_id", "listing.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    listing_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    set_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))


class ListingPhoto(Base):
    __tablename__ = "listing_photo"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "listing_id"], ["listing.org_id", "listing.id"]),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    listing_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Order(Base):
    __tablename__ = "market_order"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "listing_id"], ["listing.org_id", "listing.id"]),
        enum_check("status", OrderStatus),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # A retried POST finds its order by (buyer, key); see services.place_order.
        UniqueConstraint("org_id", "buyer_id", "idempotency_key", name="uq_market_order_key"),
        Index("ix_market_order_id", "id"),
        Index("ix_market_order_buyer", "buyer_id", "placed_at"),
        Index("ix_market_order_key", "buyer_id", "idempotency_key"),
        Index("ix_market_order_listing", "org_id", "listing_id"),
        Index("ix_market_order_seller", "seller_id", "placed_at"),
        Index("ix_market_order_org", "org_id", "placed_at"),
        Index("ix_market_order_due", "expires_at", postgresql_where=text("expires_at IS NOT NULL")),
        Index("ix_market_order_completed", "seller_id", "completed_at",
              postgresql_where=text("status = 'completed'")),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    listing_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    seller_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    buyer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    # No foreign key: organizations are distributed by their id, and a key to another
    # tenant's row cannot be enforced across shards. The service checks the buyer is an
    # active member of it.
    buyer_org_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(10))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # the price when ordered
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(10), server_default=OrderStatus.placed.value)
    note: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderEvent(Base):
    """Each step of an order; rows are never changed (a trigger refuses it)."""

    __tablename__ = "market_order_event"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "order_id"], ["market_order.org_id", "market_order.id"]),
        enum_check("status", OrderStatus),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    by_member_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"))  # None: the service (expiry)
    reason: Mapped[str | None] = mapped_column(String(500))


class Rating(Base):
    """A buyer's stars for the cooperative that sold, one per completed order."""

    __tablename__ = "coop_rating"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "order_id"], ["market_order.org_id", "market_order.id"]),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    buyer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    stars: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SavedSearch(Base):
    """A buyer's search, kept to be told when a new listing matches it. The criteria
    are columns, so one INSERT ... SELECT finds every search a new listing matches."""

    __tablename__ = "saved_search"
    __table_args__ = (
        enum_check("kind", ListingKind),
        enum_check("category", Category),
        enum_check("preservation", Preservation),
        Index("ix_saved_search_member", "member_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    name: Mapped[str] = mapped_column(String(100))
    q: Mapped[str | None] = mapped_column(String(200))
    q_words: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # search.words(q)
    kind: Mapped[str | None] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(20))
    species_code: Mapped[str | None] = mapped_column(String(3), ForeignKey("species.code"))
    presentation: Mapped[str | None] = mapped_column(String(20))
    preservation: Mapped[str | None] = mapped_column(String(10))
    min_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    max_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    near: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False),
                                      nullable=True)
    radius_m: Mapped[float | None] = mapped_column(Float)
    bbox: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False),
                                      nullable=True)
    seller_org_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
