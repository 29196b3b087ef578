"""Shapes of authorities, subscriptions, runs and their deliveries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.geofields import GeoPolygonal
from server.reports.models import DeliveryMethod, DeliveryStatus, Period, Purpose
from server.reports.periods import FIRST_DAY, LAST_DAY

# Periods of real landings only (and no date arithmetic at the calendar's ends).
DAY_RANGE = validate.Range(min=FIRST_DAY, max=LAST_DAY)
TZ_NAME = validate.Length(min=1, max=64)


class AuthorityInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    office_key = fields.String(load_default=None, validate=validate.Length(max=20), metadata={
        "description": "CONAPESCA office key printed on the landing notices it receives."})
    state = fields.String(load_default=None, validate=validate.Length(max=60))
    rnpa = fields.String(load_default=None, validate=validate.Length(max=20))
    timezone = fields.String(load_default=None, validate=TZ_NAME)
    contact_email = fields.Email(load_default=None)
    cooperative_ids = fields.List(fields.UUID(), load_default=list,
                                  validate=validate.Length(max=5000))
    region = GeoPolygonal(load_default=None, metadata={
        "description": "GeoJSON (Multi)Polygon: records landed (or, with no port, caught) "
                       "inside it are in the jurisdiction."})


class AuthoritySchema(Schema):
    id = fields.UUID()
    name = fields.String()
    office_key = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    timezone = fields.String()
    contact_email = fields.String(allow_none=True)
    cooperative_ids = fields.List(fields.UUID())
    region = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class StaffInSchema(Schema):
    member_id = fields.UUID(required=True)


class SubscriptionInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    format = fields.String(required=True, validate=validate.Length(max=60), metadata={
        "description": "A report format name: GET /api/v1/reports/formats lists them."})
    options = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                          values=fields.String(validate=validate.Length(max=100)),
                          load_default=dict)
    org_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=5000),
                          metadata={"description": "Narrow to these cooperatives (default: all "
                                                   "of the jurisdiction)."})
    region = GeoPolygonal(load_default=None)
    schedule = fields.String(required=True, validate=validate.Length(max=100), metadata={
        "description": "Five-field cron expression in the subscription's time zone, e.g. "
                       "\"0 6 * * *\"; each firing reports every period closed by then."})
    period = fields.String(required=True, validate=validate.OneOf([p.value for p in Period]))
    timezone = fields.String(load_default=None, validate=TZ_NAME)
    delivery = fields.String(required=True,
                             validate=validate.OneOf([d.value for d in DeliveryMethod]))
    push_url = fields.String(load_default=None, validate=validate.Length(max=2000))
    starts_on = fields.Date(load_default=None, validate=DAY_RANGE, metadata={
        "description": "First period to report (default: the current one); moved back to "
                       "the start of its period."})


class SubscriptionPatchSchema(Schema):
    active = fields.Boolean(required=True)


class SubscriptionSchema(Schema):
    id = fields.UUID()
    authority_id = fields.UUID()
    name = fields.String()
    format = fields.String()
    options = fields.Dict()
    org_ids = fields.List(fields.UUID())
    region = fields.Dict(allow_none=True)
    schedule = fields.String()
    period = fields.String()
    timezone = fields.String()
    delivery = fields.String()
    push_url = fields.String(allow_none=True)
    push_secret = fields.String(allow_none=True, metadata={
        "description": "HMAC-SHA256 key of push deliveries: returned once, at creation."})
    active = fields.Boolean()
    starts_on = fields.Date()
    next_run_at = fields.DateTime(allow_none=True)
    last_run_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class RunNowSchema(Schema):
    period_start = fields.Date(load_default=None, validate=DAY_RANGE, metadata={
        "description": "Make (or amend) the period starting on this day only; default: "
                       "everything due."})
    period_end = fields.Date(load_default=None, validate=DAY_RANGE, metadata={
        "description": "With period_start: every whole period in [period_start, period_end)."})


class RunListQuery(Schema):
    authority_id = fields.UUID(load_default=None)
    org_id = fields.UUID(load_default=None, metadata={"description": "The cooperative reported on."})
    subscription_id = fields.UUID(load_default=None)
    purpose = fields.String(load_default=None, validate=validate.OneOf([p.value for p in Purpose]))
    period_from = fields.Date(load_default=None, validate=DAY_RANGE)
    period_to = fields.Date(load_default=None, validate=DAY_RANGE)
    status = fields.String(load_default=None,
                           validate=validate.OneOf([s.value for s in DeliveryStatus]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = fields.String(load_default=None, validate=validate.Length(max=200))


class AckSchema(Schema):
    reference = fields.String(load_default=None, validate=validate.Length(max=200), metadata={
        "description": "The authority's own receipt or folio number, if any."})


class ReconcileQuery(Schema):
    subscription_id = fields.UUID(required=True)
    period_from = fields.Date(required=True, validate=DAY_RANGE)
    period_to = fields.Date(required=True, validate=DAY_RANGE, metadata={"description": "Exclusive."})
    org_id = fields.UUID(load_default=None)
    pending_limit = fields.Integer(load_default=200, validate=validate.Range(min=0, max=5000))


class ReportedQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    after = fields.String(load_default=None, validate=validate.Length(max=200))
