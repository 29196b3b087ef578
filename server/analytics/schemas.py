"""Query and answer shapes of the dashboards."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import Schema, fields

from server.catalog.schemas import species_code
from server.consent.models import Purpose
from server.errors import invalid
from server.governance.schemas import SHARING_PURPOSES

MAX_MONTHS = 60  # five years a request: enough for trends, bounded work
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class MonthField(fields.Field):
    """A month as ``YYYY-MM``, read as its first day."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        m = _MONTH.match(value) if isinstance(value, str) else None
        if m is None:
            raise invalid("invalid_month")
        year = int(m.group(1))
        if not 2000 <= year <= 2099:
            raise invalid("invalid_month")
        return date(year, int(m.group(2)), 1)


class WindowQuery(Schema):
    from_ = MonthField(data_key="from", load_default=None, metadata={
        "description": "First month, YYYY-MM (default: 11 months before `to`).",
        "type": "string", "example": "2026-01"})
    to = MonthField(load_default=None, metadata={
        "description": "Last month, YYYY-MM, included (default: this month).",
        "type": "string", "example": "2026-12"})


class FisherQuery(WindowQuery):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "Only this cooperative (default: every cooperative you fish in)."})


class MapQuery(Schema):
    month = MonthField(load_default=None, metadata={
        "description": "YYYY-MM (default: this month).", "type": "string", "example": "2026-11"})
    species = fields.String(load_default=None, validate=species_code, metadata={
        "description": "Only this species (ASFIS code); default: all species together."})


class MyMapQuery(MapQuery):
    org_id = fields.UUID(load_default=None)


def _shared_purpose(value: str) -> None:
    # The cooperative's own statistics have a code of their own: asking for them here is
    # not a typo but a request for what is never shared.
    if value == Purpose.cooperative_statistics:
        raise invalid("sharing_own_statistics", purposes=", ".join(SHARING_PURPOSES))
    if value not in SHARING_PURPOSES:
        raise invalid("one_of", choices=", ".join(SHARING_PURPOSES))


class _PurposeQuery(Schema):
    purpose = fields.String(required=True, validate=_shared_purpose, metadata={
        "description": "What the cooperative shares its figures for, as its vote named it.",
        "enum": SHARING_PURPOSES})


class SharedQuery(WindowQuery, _PurposeQuery):
    pass


class SharedMapQuery(MapQuery, _PurposeQuery):
    pass


class FisherDashboardSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    by_species_month = fields.List(fields.Dict())
    by_month = fields.List(fields.Dict(), metadata={
        "description": "landed_kg, trips, sea_days, sea_hours, first_sale_mxn (logged prices), "
                       "market_sales_mxn (completed marketplace orders), income_mxn (their "
                       "sum), costs_mxn, net_mxn, kg_per_trip per month"})
    by_gear = fields.List(fields.Dict(), metadata={
        "description": "catch per unit effort by gear: kg_per_trip, kg_per_hour"})
    best_months = fields.List(fields.String())
    best_species = fields.List(fields.String())
    totals = fields.Dict()
    compared = fields.List(fields.Dict(), metadata={
        "description": "your kg per trip beside your cooperative's median member "
                       "(withheld under 5 consenting members)"})


class CooperativeDashboardSchema(Schema):
    org_id = fields.UUID()
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    min_vessels = fields.Integer()
    members_included = fields.Integer(metadata={
        "description": "members who consent to the cooperative's statistics: only they count"})
    landings = fields.Dict(metadata={
        "description": "by_species_month, by_gear_month, by_month, by_species, by_gear, total; "
                       "an entry with suppressed: true has no figures"})
    effort = fields.Dict()
    cpue_by_month = fields.List(fields.Dict())
    prices = fields.List(fields.Dict())


class SharedDashboardSchema(CooperativeDashboardSchema):
    recipient_org_id = fields.UUID()
    purpose = fields.String()
    members_included = fields.Integer(metadata={
        "description": "the cooperative's active members who consent to this purpose for this "
                       "recipient: only they count"})


class StatementSchema(Schema):
    """A signed catch-history statement (returned as issued; the signature covers it all)."""

    class Meta:
        ordered = True

    kind = fields.String()
    version = fields.Integer()
    statement_id = fields.String()
    issued_at = fields.String()
    issuer = fields.String()
    member = fields.Dict()
    cooperatives = fields.List(fields.Dict())
    period = fields.Dict()
    trips = fields.Integer()
    days_at_sea = fields.Integer()
    landed_kg_by_species = fields.List(fields.Dict(), metadata={
        "description": "species_code, name, landed_kg and income_mxn as decimal strings"})
    landed_kg_total = fields.String()
    income_mxn = fields.String()
    basis = fields.String()
    signature = fields.Dict(metadata={"description": "alg Ed25519, key_id, value (base64url) "
                                                     "over the canonical JSON of the rest"})


class KeySetSchema(Schema):
    keys = fields.List(fields.Dict())


class VerificationSchema(Schema):
    valid = fields.Boolean()
    key_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
