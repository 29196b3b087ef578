"""Shapes of the shared catalog."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.catalog.models import ZoneKind
from server.errors import Coded, invalid

UPLOADABLE_KINDS = [k.value for k in ZoneKind if k not in (ZoneKind.land,)]
_SPECIES_CODE = re.compile(r"^[A-Z]{3}$")


def species_code(value: str) -> None:
    """An ASFIS 3-alpha code, as every schema that takes one checks it. Not
    validate.Regexp: its English message has no code, so it would reach Spanish-speaking
    users untranslated."""
    if not _SPECIES_CODE.match(value):
        raise invalid("invalid_code")


class SpeciesSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    scientific_name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    name_es = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=200))
    isscaap_group = fields.String(allow_none=True, validate=validate.Length(max=4))
    conapesca_key = fields.String(allow_none=True, validate=validate.Length(max=20))
    coasts = fields.String(allow_none=True, validate=validate.OneOf(
        ["pacific", "atlantic", "both", "inland"]))
    active = fields.Boolean(load_default=True)


class SpeciesBatchSchema(Schema):
    species = fields.List(fields.Nested(SpeciesSchema), required=True,
                          validate=validate.Length(min=1, max=5000))

    @validates_schema
    def _unique_codes(self, data: dict[str, Any], **_: Any) -> None:
        # One upsert statement cannot touch a row twice: name the repeats.
        seen: set[str] = set()
        repeats: dict[Any, Any] = {}
        for i, row in enumerate(data.get("species") or []):
            if row["code"] in seen:
                repeats[i] = {"code": [Coded("duplicate_code")]}
            seen.add(row["code"])
        if repeats:
            raise ValidationError({"species": repeats})


class GearSchema(Schema):
    code = fields.String()
    isscfg_code = fields.String()
    name_en = fields.String()
    name_es = fields.String()
    active = fields.Boolean()


class PortSchema(Schema):
    id = fields.UUID()
    code = fields.String(allow_none=True)
    name = fields.String()
    state = fields.String(allow_none=True)
    coast = fields.String(allow_none=True)
    conapesca_key = fields.String(allow_none=True)
    location = fields.Dict(metadata={"description": "GeoJSON Point"})


class ZoneSchema(Schema):
    id = fields.UUID()
    kind = fields.String()
    code = fields.String(allow_none=True)
    name = fields.String()
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    source = fields.String(allow_none=True)


class ZoneUploadQuery(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(UPLOADABLE_KINDS))
    source = fields.String(load_default=None, validate=validate.Length(max=500))


class ZoneListQuery(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in ZoneKind]))


class FeedQuery(Schema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2000))


class ChangePageSchema(Schema):
    changes = fields.List(fields.Dict())
    cursor = fields.String(metadata={"description": "Send it back as ?cursor= on the next pull."})
    has_more = fields.Boolean()
