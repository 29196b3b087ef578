"""Shapes of trips, catches and the sync protocol."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate, validates_schema

from server.catches.models import Disposition, Presentation
from server.errors import invalid_field
from server.geofields import GeoLineString, GeoPoint

COST_KINDS = ["fuel", "ice", "bait", "food", "crew", "maintenance", "other"]
CURRENCY = validate.Regexp(r"^[A-Z]{3}$")


class StrictDecimal(fields.Decimal):
    """A decimal that must be sent as a JSON number: "42.5" (a string) is refused.

    Phones send numbers; a string in a number's place is a client bug to
    surface, not to guess at (counts are strict integers for the same reason)."""

    def _validated(self, value: Any) -> Decimal:
        if isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def _money(**kw: Any) -> fields.Decimal:
    return StrictDecimal(as_string=False, places=2, allow_nan=False,
                         validate=validate.Range(min=0, min_inclusive=False, max=10_000_000), **kw)


def _kg(**kw: Any) -> fields.Decimal:
    # Upper bound checked in the service (configurable); here only the sign.
    return StrictDecimal(as_string=False, places=3, allow_nan=False,
                         validate=validate.Range(min=0, min_inclusive=False), **kw)


class CostSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(COST_KINDS))
    amount = _money(required=True)
    currency = fields.String(load_default="MXN", validate=CURRENCY)
    quantity = StrictDecimal(as_string=False, places=3, allow_nan=False, allow_none=True,
                             validate=validate.Range(min=0))
    unit = fields.String(allow_none=True, validate=validate.Length(max=10))


class TripBodySchema(Schema):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "Cooperative the trip is logged in; optional when you belong to one."})
    vessel_id = fields.UUID(allow_none=True, load_default=None)
    gear_code = fields.String(allow_none=True, load_default=None,
                              validate=validate.Length(max=8))
    departed_at = fields.AwareDateTime(required=True)
    returned_at = fields.AwareDateTime(allow_none=True, load_default=None)
    departure_port_id = fields.UUID(allow_none=True, load_default=None)
    return_port_id = fields.UUID(allow_none=True, load_default=None)
    zero_catch = fields.Boolean(load_default=False)
    costs = fields.List(fields.Nested(CostSchema), load_default=list,
                        validate=validate.Length(max=50))
    track = GeoLineString(allow_none=True, load_default=None,
                          metadata={"description": "GeoJSON LineString of the GPS track."})
    notes = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))

    @validates_schema
    def _times(self, data: dict[str, Any], **_: Any) -> None:
        dep, ret = data.get("departed_at"), data.get("returned_at")
        if dep and ret and ret <= dep:
            raise invalid_field("returned_at", "return_before_departure")


class CatchBodySchema(Schema):
    trip_id = fields.UUID(required=True)
    species_code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"),
                                 metadata={"description": "ASFIS 3-alpha code."})
    gear_code = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=8),
                              metadata={"description": "When different from the trip's gear."})
    landed_kg = _kg(required=True)
    live_kg = _kg(allow_none=True, load_default=None)
    count = fields.Integer(allow_none=True, load_default=None, strict=True,
                           validate=validate.Range(min=1))
    presentation = fields.String(load_default=Presentation.whole.value,
                                 validate=validate.OneOf([p.value for p in Presentation]))
    disposition = fields.String(required=True,
                                validate=validate.OneOf([d.value for d in Disposition]))
    unit_price = _money(allow_none=True, load_default=None,
                        metadata={"description": "Price per kg at first sale."})
    currency = fields.String(load_default="MXN", validate=CURRENCY)
    position = GeoPoint(allow_none=True, load_default=None,
                        metadata={"description": "GeoJSON Point [lon, lat] (WGS84)."})
    caught_at = fields.AwareDateTime(required=True)
    notes = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))

    @validates_schema
    def _weights(self, data: dict[str, Any], **_: Any) -> None:
        landed, live = data.get("landed_kg"), data.get("live_kg")
        if landed is not None and live is not None and live < landed:
            raise invalid_field("live_kg", "live_below_landed")


class ItemHead(Schema):
    """What every pushed item starts with; the rest depends on ``type``."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.OneOf(["trip", "catch"]))
    id = fields.UUID(required=True)
    version = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1))
    cancelled = fields.Boolean(load_default=False)


class PushSchema(Schema):
    device_id = fields.String(load_default=None, validate=validate.Length(max=100))
    items = fields.List(fields.Dict(), required=True, metadata={
        "description": "Trips and catches: each {type, id, version?, cancelled?, ...fields}."})


class ItemResultSchema(Schema):
    index = fields.Integer()
    type = fields.String()
    id = fields.String()
    version = fields.Integer()
    status = fields.String(metadata={"description": "created | duplicate | conflict | rejected"})
    errors = fields.List(fields.Dict())
    server = fields.Dict(metadata={"description": "The server's copy, on conflict."})


class PushResultSchema(Schema):
    received_at = fields.DateTime()
    results = fields.List(fields.Nested(ItemResultSchema))


class TripOutSchema(TripBodySchema):
    id = fields.UUID()
    member_id = fields.UUID()
    version = fields.Integer()
    status = fields.String()
    received_at = fields.DateTime()
    updated_at = fields.DateTime()


class CatchOutSchema(CatchBodySchema):
    id = fields.UUID()
    org_id = fields.UUID()
    member_id = fields.UUID()
    version = fields.Integer()
    status = fields.String()
    fao_area = fields.String(allow_none=True)
    zone_ids = fields.List(fields.UUID())
    quality_flags = fields.List(fields.String())
    superseded_at = fields.DateTime(allow_none=True)
    recorded_by = fields.UUID()
    received_at = fields.DateTime()


class CorrectionSchema(CatchBodySchema):
    """A correction: the fields that change; the rest is kept from the current version."""

    base_version = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1),
                                  metadata={"description": "The version you corrected "
                                            "(or send If-Match: \"v<n>\")."})


class CancelSchema(Schema):
    base_version = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))


class ListQuery(Schema):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "A cooperative you administer: its records instead of your own."})
    trip_id = fields.UUID(load_default=None)
    species_code = fields.String(load_default=None)
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)
    include_cancelled = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    after = fields.String(load_default=None, metadata={"description": "next_cursor of the last page."})
