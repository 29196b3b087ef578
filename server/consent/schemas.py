"""Shapes of consents and their history."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.consent.models import Purpose

PURPOSES = [p.value for p in Purpose]


class ConsentInSchema(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    recipient_id = fields.UUID(required=True, metadata={
        "description": "The organization that would receive the pooled figures: for "
                       "cooperative_statistics, a cooperative you are an active member of."})
    granted = fields.Boolean(required=True, metadata={"description": "true: yes; false: revoke."})
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class ConsentSchema(Schema):
    purpose = fields.String()
    recipient_id = fields.UUID(attribute="recipient_org_id")
    recipient_name = fields.String()
    granted = fields.Boolean()
    changed_at = fields.DateTime()


class PurposeSchema(Schema):
    purpose = fields.String()
    title = fields.String()
    description = fields.String()
    consent_required = fields.Boolean()
    recipient_kinds = fields.List(fields.String())


class ConsentsSchema(Schema):
    purposes = fields.List(fields.Nested(PurposeSchema))
    consents = fields.List(fields.Nested(ConsentSchema))


class HistoryQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "Only events older than this event id (the next page)."})


class EventSchema(Schema):
    id = fields.Integer()
    purpose = fields.String()
    recipient_id = fields.UUID(attribute="recipient_org_id")
    granted = fields.Boolean()
    at = fields.DateTime()
    by_member_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True)


class HistorySchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    next_before = fields.Integer(allow_none=True)


class SummarySchema(Schema):
    members = fields.Integer()
    granted = fields.Integer()
    revoked = fields.Integer()
    unanswered = fields.Integer()
