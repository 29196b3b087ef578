"""Shapes of vessels and permits."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate, validates_schema

from server.catalog.schemas import species_code
from server.errors import invalid_field


class Number(fields.Decimal):
    """A decimal read exactly, written as a JSON number.

    ``as_string=False`` is not enough: Flask's JSON provider writes any
    ``Decimal`` as a string ("12.50").
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(as_string=False, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        num = super()._serialize(value, attr, obj, **kwargs)
        return None if num is None else float(num)


class VesselSchema(Schema):
    id = fields.UUID(dump_only=True)
    org_id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    registration = fields.String(required=True, validate=validate.Length(min=1, max=40),
                                 metadata={"description": "Matrícula."})
    rnp = fields.String(allow_none=True, validate=validate.Length(max=40),
                        metadata={"description": "Registro Nacional de Pesca."})
    owner_member_id = fields.UUID(allow_none=True)
    length_m = Number(allow_none=True, places=2, validate=validate.Range(min=1, max=100))
    engine_hp = Number(allow_none=True, places=1, validate=validate.Range(min=0, max=5000))
    active = fields.Boolean(load_default=True)


class VesselUpdateSchema(VesselSchema):
    """Only the fields sent change (load it with partial=True)."""


class PermitSchema(Schema):
    id = fields.UUID(dump_only=True)
    org_id = fields.UUID(dump_only=True)
    number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    kind = fields.String(load_default="commercial", validate=validate.OneOf(
        ["commercial", "concession", "development", "sport", "other"]))
    species_codes = fields.List(fields.String(validate=species_code),
                                load_default=list)
    gear_codes = fields.List(fields.String(validate=validate.Length(min=2, max=8)),
                             load_default=list)
    zone_id = fields.UUID(allow_none=True)
    vessel_id = fields.UUID(allow_none=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    issued_by = fields.String(allow_none=True, validate=validate.Length(max=200))
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("valid_from") and data.get("valid_until") and \
                data["valid_until"] < data["valid_from"]:
            raise invalid_field("valid_until", "date_order")


class PermitUpdateSchema(PermitSchema):
    """Only the fields sent change (load it with partial=True)."""
