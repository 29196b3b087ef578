"""Shapes of threads, posts, searches, flags and moderation."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate, validates_schema

from server.catalog.schemas import species_code
from server.errors import invalid, invalid_field
from server.forum import markup, words
from server.forum.models import FlagReason, ModerationAction, TextFormat
from server.geofields import GeoPoint, NearQuery

MAX_TITLE = 160
MAX_BODY = 20_000
MAX_TAGS = 10
MAX_MENTIONS = 10


def _one_of(enum: Any) -> validate.OneOf:
    return validate.OneOf([e.value for e in enum])


# Control characters other than line breaks and tabs have no place in a post.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Text(fields.String):
    """Text stripped of surrounding spaces, then measured; not only invisible characters;
    no control characters (a title not even line breaks)."""

    def __init__(self, *, max_len: int, min_len: int = 1, one_line: bool = False,
                 **kw: Any) -> None:
        self.one_line = one_line
        super().__init__(validate=validate.Length(min=min_len, max=max_len), **kw)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kw)).strip()
        if markup.shows_nothing(text):
            raise invalid("text_blank")
        if _CONTROL.search(text) or (self.one_line and re.search(r"[\r\n\t]", text)):
            raise invalid("text_control")
        return text


def _shows_something(data: dict[str, Any], fmt_default: str) -> None:
    """A Markdown body that renders to nothing (only a link definition) is empty too."""
    body = data.get("body")
    if body is not None and markup.shows_nothing(body, data.get("format") or fmt_default):
        raise invalid_field("body", "text_blank")


_CODE = re.compile(r"^[A-Za-z0-9_]+$")


def _code(max_len: int) -> Any:
    """A catalog or category code: letters, digits, "_". Searches put it in a tsquery's
    facet lexeme (server/forum/search.py), and a NUL byte would reach psycopg."""
    def check(value: str) -> None:
        if not (1 <= len(value) <= max_len and _CODE.match(value)):
            raise invalid("invalid_code")
    return check


def _tags(inner: fields.Field, **kw: Any) -> fields.List:
    return fields.List(inner, validate=validate.Length(max=MAX_TAGS), **kw)


class ThreadInSchema(Schema):
    category = fields.String(required=True, validate=_code(30), metadata={
        "description": "A code of GET /forum/categories (gear_boats, safety, ...)."})
    title = _Text(required=True, min_len=3, max_len=MAX_TITLE, one_line=True)
    body = _Text(required=True, max_len=MAX_BODY)
    format = fields.String(load_default=TextFormat.plain.value, validate=_one_of(TextFormat),
                           metadata={"description": "plain (the default) or markdown; raw "
                                                    "HTML is shown as text either way."})
    visible_org_id = fields.UUID(load_default=None, metadata={
        "description": "Only this organization's members see the thread (you must belong "
                       "to it); omitted: everyone on the platform."})
    species = _tags(fields.String(validate=species_code), load_default=list,
                    metadata={"description": "ASFIS codes."})
    gear = _tags(fields.String(validate=_code(10)), load_default=list,
                 metadata={"description": "Gear codes of GET /catalog/gear."})
    zones = _tags(fields.UUID(), load_default=list, metadata={"description": "Zone ids."})
    location = GeoPoint(load_default=None, metadata={
        "description": "Where the problem is (GeoJSON Point): a broken ice machine, ghost nets."})
    mentions = fields.List(fields.UUID(), load_default=list,
                           validate=validate.Length(max=MAX_MENTIONS), metadata={
                               "description": "Members to notify (they must be able to read "
                                              "the thread)."})

    @validates_schema
    def _body_shows(self, data: dict[str, Any], **_: Any) -> None:
        _shows_something(data, TextFormat.plain.value)


class ThreadPatchSchema(Schema):
    category = fields.String(validate=_code(30))
    title = _Text(min_len=3, max_len=MAX_TITLE, one_line=True)
    species = _tags(fields.String(validate=species_code))
    gear = _tags(fields.String(validate=_code(10)))
    zones = _tags(fields.UUID())
    location = GeoPoint(allow_none=True)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise invalid("patch_empty")


class PostInSchema(Schema):
    body = _Text(required=True, max_len=MAX_BODY)
    format = fields.String(load_default=TextFormat.plain.value, validate=_one_of(TextFormat))
    mentions = fields.List(fields.UUID(), load_default=list,
                           validate=validate.Length(max=MAX_MENTIONS))

    @validates_schema
    def _body_shows(self, data: dict[str, Any], **_: Any) -> None:
        _shows_something(data, TextFormat.plain.value)


class PostPatchSchema(Schema):
    body = _Text(required=True, max_len=MAX_BODY)
    format = fields.String(load_default=None, validate=_one_of(TextFormat), metadata={
        "description": "Omitted: the post's own."})

    @validates_schema
    def _body_shows(self, data: dict[str, Any], **_: Any) -> None:
        # Without a format the service keeps the post's, and checks the body in it
        # (threads.edit).
        _shows_something(data, TextFormat.plain.value)


class SolutionInSchema(Schema):
    post_id = fields.UUID(required=True, metadata={"description": "A reply of this thread."})


class FlagInSchema(Schema):
    reason = fields.String(required=True, validate=_one_of(FlagReason))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


THREAD_ACTIONS = [ModerationAction.hide.value, ModerationAction.restore.value,
                  ModerationAction.lock.value, ModerationAction.unlock.value]
POST_ACTIONS = [ModerationAction.hide.value, ModerationAction.restore.value,
                ModerationAction.dismiss_flags.value]


class ThreadModerationSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(THREAD_ACTIONS))
    reason = _Text(required=True, max_len=500)


class PostModerationSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(POST_ACTIONS))
    reason = _Text(required=True, max_len=500)


class ModeratorInSchema(Schema):
    member_id = fields.UUID(required=True)
    org_id = fields.UUID(load_default=None, metadata={
        "description": "The cooperative to moderate; omitted: the whole platform "
                       "(platform admins only)."})


class ThreadQuery(NearQuery):
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "Words, in Spanish: accents, plurals and word families do not "
                       "matter (pescadores finds pesca), near misses are forgiven."})
    category = fields.String(load_default=None, validate=_code(30))
    species = fields.String(load_default=None, validate=species_code)
    gear = fields.String(load_default=None, validate=_code(10))
    zone = fields.UUID(load_default=None)
    solved = fields.Boolean(load_default=None)
    org_id = fields.UUID(load_default=None, metadata={
        "description": "Only the threads of this organization (you must belong to it)."})
    author_id = fields.UUID(load_default=None)
    sort = fields.String(load_default=None, validate=validate.OneOf(
        ["relevance", "recent", "distance"]), metadata={
        "description": "relevance (with q: the default; newer posts rank higher), recent "
                       "(last reply first; the default without q), distance (needs lon, lat)."})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    after = fields.String(load_default=None, metadata={"description": "next_cursor."})

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("q") is not None and not words.words(data["q"]):
            raise invalid_field("q", "q_no_words")
        if data.get("sort") == "relevance" and not data.get("q"):
            raise invalid_field("sort", "relevance_needs_q")


class PostsQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None)


class AuditQuery(Schema):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "The cooperative's audit; omitted: the platform's (platform moderators)."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))


class FlagQueueQuery(Schema):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "The cooperative's queue; omitted: the platform's (platform moderators)."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ScopeQuery(Schema):
    org_id = fields.UUID(load_default=None, metadata={
        "description": "The cooperative; omitted: the platform."})


# --- out ---------------------------------------------------------------------------------

class CategorySchema(Schema):
    code = fields.String()
    name_es = fields.String()
    name_en = fields.String()


class CategoriesSchema(Schema):
    categories = fields.List(fields.Nested(CategorySchema))


class AuthorSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class PostOutSchema(Schema):
    id = fields.UUID()
    thread_id = fields.UUID()
    author = fields.Nested(AuthorSchema)
    opening = fields.Boolean()
    format = fields.String()
    body = fields.String(metadata={"description": "As written."})
    html = fields.String(metadata={"description": "Rendered and sanitized: safe to show."})
    useful_count = fields.Integer()
    voted = fields.Boolean(metadata={"description": "You found it useful."})
    solution = fields.Boolean(metadata={"description": "The thread's accepted solution."})
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)


class TagsSchema(Schema):
    species = fields.List(fields.String())
    gear = fields.List(fields.String())
    zones = fields.List(fields.UUID())


class ThreadOutSchema(Schema):
    id = fields.UUID()
    category = fields.String()
    title = fields.String()
    author = fields.Nested(AuthorSchema)
    visible_org_id = fields.UUID(allow_none=True)
    tags = fields.Nested(TagsSchema)
    location = fields.Dict(allow_none=True)
    solved = fields.Boolean()
    solution_post_id = fields.UUID(allow_none=True)
    locked = fields.Boolean()
    reply_count = fields.Integer()
    following = fields.Boolean()
    created_at = fields.DateTime()
    last_post_at = fields.DateTime()
    opening = fields.Nested(PostOutSchema)
    solution = fields.Nested(PostOutSchema, allow_none=True)


class ThreadCardSchema(Schema):
    id = fields.UUID()
    category = fields.String()
    title = fields.String()
    author = fields.Nested(AuthorSchema)
    visible_org_id = fields.UUID(allow_none=True)
    tags = fields.Nested(TagsSchema)
    location = fields.Dict(allow_none=True)
    solved = fields.Boolean()
    locked = fields.Boolean()
    reply_count = fields.Integer()
    created_at = fields.DateTime()
    last_post_at = fields.DateTime()
    excerpt = fields.String(metadata={"description": "The start of the opening post, or "
                                                     "of the best matching post."})
    matched_post_id = fields.UUID(allow_none=True, metadata={
        "description": "With q: the post that matched best."})
    distance_m = fields.Float()


class ThreadPageSchema(Schema):
    items = fields.List(fields.Nested(ThreadCardSchema))
    sort = fields.String()
    next_cursor = fields.String(allow_none=True)


class PostPageSchema(Schema):
    items = fields.List(fields.Nested(PostOutSchema))
    next_cursor = fields.String(allow_none=True)


class FlagOutSchema(Schema):
    id = fields.Integer()
    post_id = fields.UUID()
    reason = fields.String()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class FlaggedPostSchema(Schema):
    post = fields.Nested(PostOutSchema)
    thread_id = fields.UUID()
    thread_title = fields.String()
    hidden = fields.Boolean()
    flags = fields.List(fields.Nested(FlagOutSchema))


class FlagQueueSchema(Schema):
    items = fields.List(fields.Nested(FlaggedPostSchema))


class ActionOutSchema(Schema):
    id = fields.Integer()
    moderator_id = fields.UUID()
    action = fields.String()
    scope_org_id = fields.UUID(allow_none=True)
    thread_id = fields.UUID(allow_none=True)
    post_id = fields.UUID(allow_none=True)
    subject_member_id = fields.UUID(allow_none=True)
    reason = fields.String(allow_none=True)
    at = fields.DateTime()
    thread_title = fields.String(allow_none=True, metadata={
        "description": "The thread's title when the action was taken."})
    post_body = fields.String(allow_none=True, metadata={
        "description": "The post acted on (or a thread's opening post) as it was when the "
                       "action was taken: later edits do not change it."})


class AuditSchema(Schema):
    items = fields.List(fields.Nested(ActionOutSchema))
    next_before = fields.Integer(allow_none=True)


class ModeratorOutSchema(Schema):
    member_id = fields.UUID()
    name = fields.String()
    org_id = fields.UUID(allow_none=True)
    appointed_by = fields.UUID()
    appointed_at = fields.DateTime()


class ModeratorsSchema(Schema):
    items = fields.List(fields.Nested(ModeratorOutSchema))
