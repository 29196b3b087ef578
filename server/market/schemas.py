"""Shapes of listings, searches, orders and ratings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pycountry
from marshmallow import Schema, fields, validate, validates_schema

from server.catalog.schemas import species_code
from server.catches.models import Presentation
from server.catches.schemas import StrictDecimal
from server.errors import invalid, invalid_field
from server.geofields import GeoPoint, GeoPolygonal, NearQuery
from server.market.models import Category, ListingKind, ListingStatus, OrderStatus, Preservation, Unit

# Funds, metals and test codes are in ISO 4217 but no one is paid in them.
_NOT_MONEY = {"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR",
              "XSU", "XUA"}
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies) - _NOT_MONEY
MAX_PRICE = Decimal("10000000")
MAX_QUANTITY = Decimal("1000000")


def currency(value: str) -> None:
    if value not in CURRENCIES:
        raise invalid("currency_unknown")


def _price(**kw: Any) -> fields.Decimal:
    return StrictDecimal(as_string=False, places=2, allow_nan=False,
                         validate=validate.Range(min=0, min_inclusive=False, max=MAX_PRICE), **kw)


def _quantity(**kw: Any) -> fields.Decimal:
    # Every digit kept (no places=): the service refuses fractions of a piece and more
    # than 3 decimals rather than rounding them (server.market.listings.quantity_errors).
    return StrictDecimal(as_string=False, allow_nan=False,
                         validate=validate.Range(min=0, min_inclusive=False, max=MAX_QUANTITY), **kw)


def _one_of(enum: Any) -> validate.OneOf:
    return validate.OneOf([e.value for e in enum])


class ListingInSchema(Schema):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "The organization that sells; optional when you belong to one."})
    kind = fields.String(load_default=ListingKind.fish.value, validate=_one_of(ListingKind))
    category = fields.String(load_default=None, validate=_one_of(Category), metadata={
        "description": "Goods and services only: gear, boat_parts, engines, ice, mechanics..."})
    title = fields.String(required=True, validate=validate.Length(min=3, max=140))
    description = fields.String(load_default=None, validate=validate.Length(max=4000))
    species_code = fields.String(load_default=None, validate=species_code,
                                 metadata={"description": "Fish: ASFIS 3-alpha code."})
    presentation = fields.String(load_default=None, validate=_one_of(Presentation))
    preservation = fields.String(load_default=None, validate=_one_of(Preservation))
    unit = fields.String(load_default=Unit.kg.value, validate=_one_of(Unit), metadata={
        "description": "Fish and goods: kg or piece; services: hour or job."})
    quantity = _quantity(required=True)
    unit_price = _price(required=True)
    currency = fields.String(load_default="MXN", validate=currency)
    port_id = fields.UUID(load_default=None, metadata={"description": "Pickup port."})
    location = GeoPoint(load_default=None, metadata={
        "description": "Pickup point (GeoJSON Point); defaults to the port's position."})
    delivery_area = GeoPolygonal(load_default=None, metadata={
        "description": "Where the seller delivers (GeoJSON Polygon or MultiPolygon)."})
    available_from = fields.AwareDateTime(load_default=None)
    available_until = fields.AwareDateTime(load_default=None, metadata={
        "description": "Default: 3 days after available_from for fish, 30 for the rest."})
    catch_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=100),
                            metadata={"description": "Your logged catches (kept for sale) this "
                                      "lot comes from, in the order to draw on them."})

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("available_from"), data.get("available_until")
        if start and end and end <= start:
            raise invalid_field("available_until", "until_before_from")


class ListingPatchSchema(Schema):
    title = fields.String(validate=validate.Length(min=3, max=140))
    description = fields.String(allow_none=True, validate=validate.Length(max=4000))
    quantity = _quantity()
    unit_price = _price()
    currency = fields.String(validate=currency)
    available_until = fields.AwareDateTime()
    status = fields.String(validate=validate.OneOf(
        [ListingStatus.active.value, ListingStatus.paused.value, ListingStatus.closed.value]),
        metadata={"description": "paused stops orders for a while; closed withdraws for good."})


class CriteriaSchema(NearQuery):
    """What a search (or a saved search) looks for; every field optional."""

    q = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "Words, in Spanish or English; accents and plurals do not matter."})
    kind = fields.String(load_default=None, validate=_one_of(ListingKind))
    category = fields.String(load_default=None, validate=_one_of(Category))
    species_code = fields.String(load_default=None, validate=species_code)
    presentation = fields.String(load_default=None, validate=_one_of(Presentation))
    preservation = fields.String(load_default=None, validate=_one_of(Preservation))
    # Query strings are text: here a price may be written "120.50".
    min_price = fields.Decimal(load_default=None, places=2, allow_nan=False, as_string=False,
                               validate=validate.Range(min=0, min_inclusive=False, max=MAX_PRICE))
    max_price = fields.Decimal(load_default=None, places=2, allow_nan=False, as_string=False,
                               validate=validate.Range(min=0, min_inclusive=False, max=MAX_PRICE))
    currency = fields.String(load_default="MXN", validate=currency, metadata={
        "description": "Prices are compared, filtered and sorted in this currency only."})
    org_id = fields.UUID(load_default=None, metadata={"description": "One selling organization."})

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_: Any) -> None:
        lo, hi = data.get("min_price"), data.get("max_price")
        if lo is not None and hi is not None and lo > hi:
            raise invalid_field("min_price", "price_range")
        if data.get("bbox") is not None:
            data["bbox"] = parse_bbox(data["bbox"])


def parse_bbox(raw: str | list[float]) -> list[float]:
    try:
        parts = [float(p) for p in (raw.split(",") if isinstance(raw, str) else raw)]
    except (TypeError, ValueError):
        parts = []
    ok = (len(parts) == 4 and all(p == p for p in parts)
          and -180 <= parts[0] < parts[2] <= 180 and -90 <= parts[1] < parts[3] <= 90)
    if not ok:
        raise invalid_field("bbox", "search_bbox_invalid")
    return parts


SORTS = ["distance", "price", "-price", "freshness"]


class SearchQuery(CriteriaSchema):
    bbox = fields.String(load_default=None, metadata={
        "description": "minLon,minLat,maxLon,maxLat: listings inside it."})
    sort = fields.String(load_default=None, validate=validate.OneOf(SORTS), metadata={
        "description": "distance (needs lon, lat; the default then), price (lowest first), "
                       "-price, freshness (newest catch first; the default otherwise)."})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    after = fields.String(load_default=None, metadata={"description": "next_cursor of the last page."})



class SavedSearchInSchema(CriteriaSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    min_price = _price(load_default=None)  # a JSON body: numbers as numbers
    max_price = _price(load_default=None)
    bbox = fields.List(fields.Float(allow_nan=False), load_default=None, metadata={
        "description": "[minLon, minLat, maxLon, maxLat]"})


class OrderInSchema(Schema):
    listing_id = fields.UUID(required=True)
    quantity = _quantity(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=500))
    buyer_org_id = fields.UUID(load_default=None, metadata={
        "description": "The organization you buy for (a restaurant, a company), if any."})


class TransitionInSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(
        [s.value for s in OrderStatus if s not in (OrderStatus.placed, OrderStatus.expired)]),
        metadata={"description": "accepted, rejected or ready (the seller); cancelled (either, "
                                 "as the state allows); completed (either, once ready)."})
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class RatingInSchema(Schema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))


class OrderListQuery(Schema):
    role = fields.String(load_default="buyer", validate=validate.OneOf(["buyer", "seller"]))
    status = fields.String(load_default=None, validate=_one_of(OrderStatus))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None)


class OrgOrderQuery(Schema):
    status = fields.String(load_default=None, validate=_one_of(OrderStatus))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None)


class MyListingsQuery(Schema):
    status = fields.String(load_default=None, validate=_one_of(ListingStatus))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None)


# --- what the API answers -------------------------------------------------------------------

class SpeciesRefSchema(Schema):
    code = fields.String()
    name_es = fields.String()
    name_en = fields.String()
    scientific_name = fields.String()


class RatingSummarySchema(Schema):
    count = fields.Integer()
    average = fields.Float()
    stars = fields.Dict(keys=fields.String(), values=fields.Integer())


class SellerSchema(Schema):
    org_id = fields.UUID()
    name = fields.String()
    rating = fields.Nested(RatingSummarySchema, allow_none=True, metadata={
        "description": "Pooled buyers' stars; null until the cooperative has at least 3."})


class PortRefSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class ListingOutSchema(Schema):
    id = fields.UUID()
    short_code = fields.String(metadata={"description": "The lot's public code (for a QR)."})
    kind = fields.String()
    category = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String(allow_none=True)
    species = fields.Nested(SpeciesRefSchema, allow_none=True)
    presentation = fields.String(allow_none=True)
    preservation = fields.String(allow_none=True)
    unit = fields.String()
    available = fields.Float(metadata={"description": "Left to order now."})
    quantity = fields.Float()
    sold = fields.Float()
    unit_price = fields.Float()
    currency = fields.String()
    port = fields.Nested(PortRefSchema, allow_none=True)
    location = fields.Dict(metadata={"description": "Pickup point (GeoJSON)."})
    delivers = fields.Boolean()
    available_from = fields.DateTime()
    available_until = fields.DateTime()
    fresh_at = fields.DateTime(metadata={
        "description": "When the newest linked catch was caught (else when listed)."})
    status = fields.String()
    seller = fields.Nested(SellerSchema)
    traced = fields.Boolean(metadata={"description": "Comes from logged catches."})
    photos = fields.List(fields.String())
    provenance_url = fields.String()
    short_url = fields.String()
    distance_m = fields.Float(metadata={"description": "From lon/lat, when given."})
    delivers_here = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ListingPageSchema(Schema):
    items = fields.List(fields.Nested(ListingOutSchema))
    sort = fields.String()
    next_cursor = fields.String(allow_none=True)


class PriceSchema(Schema):
    seq = fields.Integer()
    unit_price = fields.Float()
    currency = fields.String()
    set_at = fields.DateTime()


class PricesSchema(Schema):
    prices = fields.List(fields.Nested(PriceSchema))


class OrderEventSchema(Schema):
    seq = fields.Integer()
    status = fields.String()
    at = fields.DateTime()
    by_member_id = fields.UUID(allow_none=True)
    reason = fields.String(allow_none=True)


class OrderOutSchema(Schema):
    id = fields.UUID()
    org_id = fields.UUID(metadata={"description": "The selling organization."})
    listing_id = fields.UUID()
    seller_id = fields.UUID()
    buyer_id = fields.UUID()
    buyer_org_id = fields.UUID(allow_none=True)
    quantity = fields.Float()
    unit = fields.String()
    unit_price = fields.Float(metadata={"description": "The listing's price when ordered."})
    currency = fields.String()
    total = fields.Float()
    status = fields.String()
    note = fields.String(allow_none=True)
    placed_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "An open order not moved on by then expires (its stock returns)."})
    completed_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    events = fields.List(fields.Nested(OrderEventSchema))


class OrderPageSchema(Schema):
    orders = fields.List(fields.Nested(OrderOutSchema))
    next_cursor = fields.String(allow_none=True)


class CoopRatingSchema(Schema):
    org_id = fields.UUID()
    name = fields.String()
    min_ratings = fields.Integer()
    rating = fields.Nested(RatingSummarySchema, allow_none=True)


class LotCatchSchema(Schema):
    quantity = fields.Float(metadata={"description": "How much of the lot this catch is."})
    species = fields.Nested(SpeciesRefSchema)
    caught_on = fields.Date()
    fao_area = fields.String(allow_none=True)
    zones = fields.List(fields.String())
    presentation = fields.String()
    gear = fields.Dict(allow_none=True)
    vessel = fields.Dict(allow_none=True)
    landing = fields.Dict(allow_none=True)


class LotSchema(Schema):
    code = fields.String()
    listing = fields.Nested(ListingOutSchema)
    cooperative = fields.Dict()
    catches = fields.List(fields.Nested(LotCatchSchema))
    statement = fields.String(metadata={"description": "The story in one sentence."})


class SavedSearchOutSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    criteria = fields.Dict()
    created_at = fields.DateTime()


class SavedSearchesSchema(Schema):
    saved_searches = fields.List(fields.Nested(SavedSearchOutSchema))


class SalesMonthSchema(Schema):
    month = fields.String()
    currency = fields.String()
    orders = fields.Integer()
    total = fields.Float()


class SalesSchema(Schema):
    orders = fields.List(fields.Nested(OrderOutSchema))
    next_cursor = fields.String(allow_none=True)
    by_month = fields.List(fields.Nested(SalesMonthSchema))
