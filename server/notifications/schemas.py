"""Shapes of the notification feed."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate, validates_schema

from server.errors import invalid_field

MAX_ID = 2**63 - 1  # notification ids are bigint


class FeedQuery(Schema):
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID), metadata={
        "description": "Only notifications older than this id (the next page)."})


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "market.listing_matched, market.order_placed, "
                                                  "market.order_status, ..."})
    text = fields.String(metadata={"description": "In your language (Accept-Language)."})
    data = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class FeedSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()
    next_before = fields.Integer(allow_none=True)


class ReadInSchema(Schema):
    ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
                      load_default=None,
                      validate=validate.Length(min=1, max=500))
    up_to = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=MAX_ID),
                           metadata={"description": "Every notification up to this id."})

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("ids") is None and data.get("up_to") is None:
            raise invalid_field("ids", "required")


class ReadSchema(Schema):
    marked = fields.Integer()
