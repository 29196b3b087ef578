"""Request and response shapes of people, organizations and auth."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from marshmallow import Schema, fields, validate, validates

from server.errors import invalid
from server.members.models import MembershipStatus, OrgKind, Role

MIN_PASSWORD = 8
_RNPA = re.compile(r"^[0-9A-Za-z-]{3,20}$")


def _rnpa(value: str) -> None:
    # Not validate.Regexp: its English message has no code to translate.
    if not _RNPA.match(value):
        raise invalid("invalid_code")


def normalize_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "MX")
    except phonenumbers.NumberParseException as exc:
        raise invalid("invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid("invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Phone(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        return normalize_phone(super()._deserialize(value, attr, data, **kw))


class RegisterSchema(Schema):
    phone = Phone(required=True, metadata={"example": "+526121234567"})
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(max=200))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    locale = fields.String(load_default="es", validate=validate.OneOf(["es", "en"]))

    @validates("password")
    def _strong(self, value: str, **_: Any) -> None:
        if len(value) < MIN_PASSWORD:
            raise invalid("weak_password", min=MIN_PASSWORD)


class LoginSchema(Schema):
    phone = Phone(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=100),
                              metadata={"description": "Stable id of the app install."})


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=10, max=200))


class MembershipSchema(Schema):
    org_id = fields.UUID()
    org_name = fields.String()
    role = fields.String()
    status = fields.String()


class MemberSchema(Schema):
    id = fields.UUID()
    phone = fields.String()
    name = fields.String()
    locale = fields.String()
    is_platform_admin = fields.Boolean()
    created_at = fields.DateTime()


class MeSchema(MemberSchema):
    memberships = fields.List(fields.Nested(MembershipSchema))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    refresh_token = fields.String()
    refresh_expires_in = fields.Integer()
    member = fields.Nested(MemberSchema)


class OrganizationSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = fields.String(load_default=OrgKind.cooperative.value,
                         validate=validate.OneOf([k.value for k in OrgKind]))
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    rnpa = fields.String(allow_none=True, validate=_rnpa)
    state = fields.String(allow_none=True, validate=validate.Length(max=60))
    office_key = fields.String(allow_none=True, validate=validate.Length(max=20))
    created_at = fields.DateTime(dump_only=True)


class OrgCreateSchema(OrganizationSchema):
    admin_member_id = fields.UUID(
        load_default=None,
        metadata={"description": "Member who becomes the first administrator."})


class JoinSchema(Schema):
    role = fields.String(load_default=Role.fisher.value,
                         validate=validate.OneOf([Role.fisher.value, Role.buyer.value]))


class MemberOfOrgSchema(Schema):
    member_id = fields.UUID()
    name = fields.String()
    phone = fields.String()
    role = fields.String()
    status = fields.String()
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class MembershipUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf([r.value for r in Role]))
    status = fields.String(validate=validate.OneOf(
        [MembershipStatus.active.value, MembershipStatus.rejected.value,
         MembershipStatus.removed.value]))


class MemberListQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in MembershipStatus]))
