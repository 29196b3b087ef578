"""Shapes of proposals, ballots, receipts, results and a cooperative's settings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.catches.schemas import StrictDecimal
from server.consent.models import Purpose
from server.errors import Coded, invalid
from server.governance import ballots
from server.governance.models import BODY_MAX, LABEL_MAX, TITLE_MAX, Outcome

MIN_OPTIONS = 2
MAX_OPTIONS = 10
# The cooperative's own statistics are each member's consent (server/consent), never a vote.
SHARING_PURPOSES = [p.value for p in Purpose if p is not Purpose.cooperative_statistics]
STATUSES = ("scheduled", "open", "closed", "cancelled")


class Text(fields.String):
    """Text with its outer whitespace removed; only whitespace counts as empty."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        out = super()._deserialize(value, attr, data, **kwargs).strip()
        if not out:
            raise invalid("gov_blank_text")
        return out


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with its zone, in UTC. A year-1 or year-9999 time whose zone takes
    it past the calendar is refused here, before any comparison could overflow."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        out = super()._deserialize(value, attr, data, **kwargs)
        try:
            return out.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise invalid("gov_datetime_range") from exc


class Flag(fields.Boolean):
    """true or false, not "yes", 1 or "on": an effect is a decision, not a guess."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _quorum(value: Decimal) -> None:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise invalid("gov_quorum_precision")


def _sharing_purpose(value: str) -> None:
    if value not in SHARING_PURPOSES:
        raise invalid("gov_effect_purpose", purposes=", ".join(SHARING_PURPOSES))


class RatingsEffectSchema(Schema):
    type = fields.String(required=True, validate=validate.Equal("ratings"))
    enabled = Flag(required=True)


class SharingEffectSchema(Schema):
    type = fields.String(required=True, validate=validate.Equal("data_sharing"))
    purpose = fields.String(required=True, validate=_sharing_purpose)
    recipient_org_id = fields.UUID(required=True)
    enabled = Flag(required=True)


_EFFECTS: dict[str, type[Schema]] = {"ratings": RatingsEffectSchema,
                                     "data_sharing": SharingEffectSchema}


class Effect(fields.Field):
    """What an option does to the cooperative's settings when it wins with quorum."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise invalid("not_an_object")
        kind = value.get("type")
        schema = _EFFECTS.get(kind) if isinstance(kind, str) else None
        if schema is None:
            raise ValidationError({"type": [Coded("one_of", choices=", ".join(_EFFECTS))]})
        out: dict[str, Any] = schema().load(value)
        if "recipient_org_id" in out:
            out["recipient_org_id"] = str(out["recipient_org_id"])
        return out


_EFFECT_DOC = {
    "description": "Optional, on one option at most: `{\"type\": \"ratings\", \"enabled\": false}` "
                   "or `{\"type\": \"data_sharing\", \"purpose\": \"fishery_improvement\", "
                   "\"recipient_org_id\": \"…\", \"enabled\": true}` (purposes: "
                   + ", ".join(SHARING_PURPOSES) + "). Applied when the option wins with quorum."}


class OptionInSchema(Schema):
    label = Text(required=True, validate=validate.Length(max=LABEL_MAX))
    effect = Effect(load_default=None, allow_none=True, metadata=_EFFECT_DOC)


def _options_count(value: list[Any]) -> None:
    if not MIN_OPTIONS <= len(value) <= MAX_OPTIONS:
        raise invalid("gov_options_count", min=MIN_OPTIONS, max=MAX_OPTIONS)


class ProposalInSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=TITLE_MAX))
    body = Text(required=True, validate=validate.Length(max=BODY_MAX),
                metadata={"description": "Plain text: what is decided, and why."})
    options = fields.List(fields.Nested(OptionInSchema), required=True, validate=_options_count,
                          metadata={"description": f"{MIN_OPTIONS} to {MAX_OPTIONS} answers, "
                                                   "distinct labels (case and spaces ignored)."})
    opens_at = UtcDateTime(load_default=None, metadata={"description": "Default: now."})
    closes_at = UtcDateTime(required=True, metadata={
        "description": "At least an hour after the opening, at most 90 days."})
    quorum = StrictDecimal(load_default=Decimal("0.5"), as_string=False, allow_nan=False,
                           validate=[validate.Range(min=0, max=1), _quorum], metadata={
        "default": 0.5,  # a number in the spec, not the string a Decimal would render as
        "description": "The share of the electorate (active fishers and administrators at the "
                       "close) that must vote: 0.5 is half, 0 none; at most 4 decimals."})

    @validates_schema
    def _options(self, data: dict[str, Any], **_: Any) -> None:
        seen: dict[str, int] = {}
        errors: dict[int, dict[str, list[Coded]]] = {}
        with_effect = 0
        for i, option in enumerate(data.get("options") or []):
            label = " ".join(option["label"].split()).casefold()
            if label in seen:
                errors[i] = {"label": [Coded("gov_duplicate_option", label=option["label"])]}
            seen.setdefault(label, i)
            if option.get("effect") is not None:
                with_effect += 1
                if with_effect > 1:
                    errors.setdefault(i, {})["effect"] = [Coded("gov_one_effect")]
        if errors:
            raise ValidationError({"options": errors})


class VoteInSchema(Schema):
    option_id = fields.UUID(required=True, metadata={"description": "One of the proposal's options."})


class Receipt(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        normal = ballots.normalize_receipt(raw)
        if normal is None:
            raise invalid("gov_receipt_invalid")
        return normal


class ReceiptInSchema(Schema):
    receipt = Receipt(required=True, metadata={
        "description": "The receipt you were given when you voted (in the body, not the URL: "
                       "it is yours to keep)."})


class ListQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    before = fields.UUID(load_default=None, metadata={
        "description": "Only proposals older than this one (the next page)."})


# --- out ---------------------------------------------------------------------------------

class OptionSchema(Schema):
    id = fields.UUID()
    position = fields.Integer()
    label = fields.String()
    effect = fields.Dict(allow_none=True)


class TallySchema(Schema):
    option_id = fields.UUID()
    votes = fields.Integer()


class ResultSchema(Schema):
    closed_at = fields.DateTime()
    electorate = fields.Integer(metadata={
        "description": "Active fishers and administrators at the close, and whoever voted "
                       "while eligible and left since."})
    turnout = fields.Integer()
    quorum = fields.Float()
    quorum_votes = fields.Integer(metadata={"description": "Votes the quorum needed."})
    quorum_met = fields.Boolean()
    outcome = fields.String(metadata={"enum": [o.value for o in Outcome]})
    winner_option_id = fields.UUID(allow_none=True)
    effect_applied = fields.Boolean()
    tally = fields.List(fields.Nested(TallySchema))
    receipts_digest = fields.String(metadata={
        "description": "SHA-256 (hex) of the counted receipts' hashes, sorted and concatenated."})


class PersonSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class ProposalSchema(Schema):
    id = fields.UUID()
    org_id = fields.UUID()
    title = fields.String()
    body = fields.String()
    options = fields.List(fields.Nested(OptionSchema))
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    quorum = fields.Float()
    status = fields.String(metadata={"enum": list(STATUSES)})
    created_by = fields.Nested(PersonSchema)
    created_at = fields.DateTime()
    cancelled_at = fields.DateTime(allow_none=True)
    voters = fields.Integer(metadata={"description": "How many have voted so far (never how)."})
    you_voted = fields.Boolean()
    you_can_vote = fields.Boolean()
    result = fields.Nested(ResultSchema, allow_none=True)


class ProposalPageSchema(Schema):
    proposals = fields.List(fields.Nested(ProposalSchema))
    next_before = fields.UUID(allow_none=True)


class BallotSchema(Schema):
    proposal_id = fields.UUID()
    option_id = fields.UUID()
    receipt = fields.String(metadata={
        "description": "Keep it: it proves your ballot is counted (and shows your choice to "
                       "whoever you show it)."})
    receipt_hash = fields.String(metadata={"description": "SHA-256 (hex) of the receipt "
                                                          "without hyphens, as published."})
    replaced_earlier = fields.Boolean(metadata={"description": "true: your earlier ballot "
                                                               "no longer counts."})


class ReceiptCheckSchema(Schema):
    proposal_id = fields.UUID()
    state = fields.String(metadata={
        "enum": ["current", "superseded", "counted", "unknown"],
        "description": "Open: current (counts as things stand) or superseded (you voted again "
                       "since). Closed: counted or superseded. unknown: no such ballot."})
    option_id = fields.UUID(allow_none=True)
    in_tally = fields.Boolean(allow_none=True, metadata={"description": "Null until the close."})


class CountedSchema(Schema):
    hash = fields.String()
    option_id = fields.UUID()


class ReceiptListSchema(Schema):
    proposal_id = fields.UUID()
    count = fields.Integer()
    digest = fields.String()
    receipts = fields.List(fields.Nested(CountedSchema))


class RatingsSettingSchema(Schema):
    enabled = fields.Boolean()
    proposal_id = fields.UUID(allow_none=True)
    changed_at = fields.DateTime(allow_none=True)


class SharingSchema(Schema):
    purpose = fields.String()
    recipient_org_id = fields.UUID()
    recipient_name = fields.String(allow_none=True)
    enabled = fields.Boolean()
    proposal_id = fields.UUID()
    changed_at = fields.DateTime()


class SettingsSchema(Schema):
    org_id = fields.UUID()
    ratings = fields.Nested(RatingsSettingSchema)
    data_sharing = fields.List(fields.Nested(SharingSchema))


class SettingChangeSchema(Schema):
    id = fields.Integer()
    setting = fields.String()
    purpose = fields.String(allow_none=True)
    recipient_org_id = fields.UUID(allow_none=True)
    enabled = fields.Boolean()
    proposal_id = fields.UUID()
    proposal_title = fields.String()
    at = fields.DateTime()


class SettingHistorySchema(Schema):
    changes = fields.List(fields.Nested(SettingChangeSchema))
