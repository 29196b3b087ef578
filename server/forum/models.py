"""Threads, their posts, votes, follows, flags and the moderators' audit.

A thread is its opening post plus replies. Every post carries its own generated
search vector (the opening post also its thread's title, as ``heading``); the
thread keeps the lexemes of its visible posts (``match``) and its opening post's
vector (``summary``), written by the service: a search finds a thread whose posts
hold all its words between them, ranks it by its question, and shows the post
that matched best. Threads are visible to everyone on the platform or, when
``visible_org_id`` is set, only to that organization's members. (Not ``org_id``:
that name marks the tenant tables, and a platform-wide thread belongs to no
tenant.)

Search text: each post is indexed twice, by PostgreSQL's Spanish stemmer on the
text as written (weights A title, B body) and by ``cardumen_es``, the same
stemmer after unaccent (C, D). A query word typed with accents is looked for as
written only, so "cámara" is not "camarón"; one typed without accents (a phone)
is looked for in both, where the stemmer cannot tell "camaron" from "camara".
See server/forum/words.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, enum_check, new_id

# Spanish stemming after unaccent: created by migration 0013.
UNACCENTED_CONFIG = "cardumen_es"
UNACCENTED_MARK = "~"
PLATFORM_SCOPE = uuid.UUID(int=0)  # forum_lexeme.scope of platform-wide threads' words
# A thread with a post in the last ``days`` keeps its ``match`` again in ``column``,
# whose GIN index holds only those threads: a search finds its most recently active
# candidates tier by tier, without reading every thread a common word is in
# (server/forum/search.py). The forum-cool job empties a tier's vector once the thread
# has gone quiet for longer.
TIERS: tuple[tuple[str, int], ...] = (("recent_match", 30), ("season_match", 180))
# A thread's category, tags and solved state are lexemes of all its vectors too ("#c:safety",
# "#s:LJS", "#g:GNS", "#z:<zone id>", "#solved"), written by a trigger (migration
# 0015), so that a search's filters are part of what the GIN index answers.
FACET_MARK = "#"


def _vector(column: str, written: str, unaccented: str) -> str:
    """The text stemmed as written (weight ``written``) and without accents (weight
    ``unaccented``): a query word typed with accents is matched against the first
    only (server/forum/words.py), one typed without against both."""
    return (f"setweight(to_tsvector('spanish'::regconfig, {column}), '{written}') || "
            f"setweight(to_tsvector('{UNACCENTED_CONFIG}'::regconfig, {column}), '{unaccented}')")


class TextFormat(StrEnum):
    plain = "plain"
    markdown = "markdown"


class FlagReason(StrEnum):
    spam = "spam"
    abuse = "abuse"  # insults, harassment, threats
    illegal = "illegal"  # e.g. selling a protected species
    privacy = "privacy"  # someone's phone, home or fishing spot exposed
    other = "other"


class ModerationAction(StrEnum):
    hide = "hide"
    restore = "restore"
    lock = "lock"
    unlock = "unlock"
    dismiss_flags = "dismiss_flags"  # the flags were looked at; the post stays
    appoint = "appoint"
    remove = "remove"  # a moderator's appointment ended


class Category(Base):
    __tablename__ = "forum_category"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name_es: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(SmallInteger)


class Thread(Base):
    __tablename__ = "forum_thread"
    __table_args__ = (
        ForeignKeyConstraint(["solution_post_id"], ["forum_post.id"],
                             name="fk_forum_thread_solution_post_id_forum_post", use_alter=True),
        Index("ix_forum_thread_recent", "last_post_at", "id",
              postgresql_where=text("hidden_at IS NULL")),
        Index("ix_forum_thread_visible_org", "visible_org_id", "last_post_at",
              postgresql_where=text("hidden_at IS NULL")),
        Index("ix_forum_thread_location", "location", postgresql_using="gist",
              postgresql_where=text("hidden_at IS NULL AND location IS NOT NULL")),
        Index("ix_forum_thread_species", "species_codes", postgresql_using="gin"),
        Index("ix_forum_thread_gear", "gear_codes", postgresql_using="gin"),
        Index("ix_forum_thread_zones", "zone_ids", postgresql_using="gin"),
        Index("ix_forum_thread_author", "author_id", "created_at"),
        Index("ix_forum_thread_match", "match", postgresql_using="gin"),
        Index("ix_forum_thread_recent_match", "recent_match", postgresql_using="gin"),
        Index("ix_forum_thread_season_match", "season_match", postgresql_using="gin"),
        # What the forum-cool job looks for: a tier's vectors of threads gone quiet.
        Index("ix_forum_thread_cooling", "last_post_at",
              postgresql_where=text("recent_match <> ''::tsvector")),
        Index("ix_forum_thread_season_cooling", "last_post_at",
              postgresql_where=text("season_match <> ''::tsvector")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    category: Mapped[str] = mapped_column(String(30), ForeignKey("forum_category.code"))
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    # NULL: everyone on the platform; else only this organization's members.
    visible_org_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"))
    title: Mapped[str] = mapped_column(String(160))
    species_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(3)), server_default=text("'{}'"))
    gear_codes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), server_default=text("'{}'"))
    zone_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), server_default=text("'{}'"))
    location: Mapped[Any] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False), nullable=True)
    solution_post_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # What a search matches (threads.refresh_search): every lexeme of its visible posts,
    # without positions, and those of the unaccented half that the text as written lacks,
    # prefixed with "~" (UNACCENTED_MARK), so that a query's words may be in different
    # replies and a word typed with accents can ask for the text as written only. One
    # small vector: no positions, no weights.
    match: Mapped[Any] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    # ``match`` again while the thread has had a post in the tier's days (TIERS), else empty.
    recent_match: Mapped[Any] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    season_match: Mapped[Any] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    # The opening post's weighted vector: what relevance ranks (the question, its title
    # first), small enough to rank thousands of threads per search.
    summary: Mapped[Any] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    last_post_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Post(Base):
    __tablename__ = "forum_post"
    __table_args__ = (
        enum_check("format", TextFormat),
        CheckConstraint("(heading IS NOT NULL) = opening", name="heading_on_opening"),
        Index("ix_forum_post_thread", "thread_id", "created_at", "id"),
        Index("ix_forum_post_opening", "thread_id", unique=True,
              postgresql_where=text("opening")),
        Index("ix_forum_post_author", "author_id", "created_at"),
        Index("ix_forum_post_search", "search", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    thread_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("forum_thread.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    opening: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The thread's title, on its opening post only, so that one index searches both.
    heading: Mapped[str | None] = mapped_column(String(160))
    format: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)  # as the author wrote it
    html: Mapped[str] = mapped_column(Text)  # rendered and sanitized (server/forum/markup.py)
    excerpt: Mapped[str] = mapped_column(String(240))  # its start as plain text, for lists
    # Title as written A, body as written B, title without accents C, body without D.
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(
        _vector("coalesce(heading, '')", "A", "C") + " || " + _vector("body", "B", "D"),
        persisted=True))
    useful_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Lexeme(Base):
    """Every word (as its lexemes) the forum has seen, with its family's root: a query
    word also looks for the words of its family ("pescadores": 'pescador' and 'pesc'),
    and one that matches none for the words it nearly is (trigram similarity)."""

    __tablename__ = "forum_lexeme"
    __table_args__ = (
        Index("ix_forum_lexeme_trgm", "lexeme", postgresql_using="gin",
              postgresql_ops={"lexeme": "gin_trgm_ops"}),
        Index("ix_forum_lexeme_root", "root", "scope"),
    )

    # Whose words: an organization's (its cooperative-only threads) or the platform's
    # (PLATFORM_SCOPE). A search consults only the scopes its reader may read: the
    # vocabulary steers results, so another cooperative's words must not.
    scope: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    lexeme: Mapped[str] = mapped_column(Text, primary_key=True)
    # cardumen_family (migration 0013): the lexeme without a derivational ending.
    root: Mapped[str] = mapped_column(Text, Computed("cardumen_family(lexeme)", persisted=True))


class Vote(Base):
    """One member finds one post useful."""

    __tablename__ = "forum_vote"
    __table_args__ = (Index("ix_forum_vote_member", "member_id", "at"),)

    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("forum_post.id"),
                                               primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"),
                                                 primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Follow(Base):
    __tablename__ = "forum_follow"
    __table_args__ = (Index("ix_forum_follow_member", "member_id", "at"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("forum_thread.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"),
                                                 primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Flag(Base):
    """A member's report of a post; open until a moderator acts on the post."""

    __tablename__ = "forum_flag"
    __table_args__ = (
        enum_check("reason", FlagReason),
        UniqueConstraint("post_id", "member_id", name="uq_forum_flag_post_member"),
        Index("ix_forum_flag_open", "post_id", postgresql_where=text("resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("forum_post.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    reason: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The moderation action that resolved it.
    resolved_by_action_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("forum_moderation_action.id"))


class Moderator(Base):
    """A member appointed to moderate one organization's threads, or (no scope) the whole
    platform. Cooperative admins and platform admins moderate without appointment."""

    __tablename__ = "forum_moderator"
    __table_args__ = (
        # One appointment per member and scope, the platform (NULL) included.
        Index("uq_forum_moderator_scope", "member_id",
              text("coalesce(scope_org_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
              unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    scope_org_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"))
    appointed_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    appointed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())


class ModerationLog(Base):
    """What a moderator did, to what, and why (immutable: the audit)."""

    __tablename__ = "forum_moderation_action"
    __table_args__ = (
        enum_check("action", ModerationAction),
        Index("ix_forum_moderation_action_scope", "scope_org_id", "id"),
        Index("ix_forum_moderation_action_post", "post_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    moderator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("member.id"))
    action: Mapped[str] = mapped_column(String(15))
    # The scope the action was taken in: the thread's organization, or NULL (platform).
    scope_org_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id"))
    thread_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("forum_thread.id"))
    post_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("forum_post.id"))
    subject_member_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("member.id"))  # appoint / remove
    reason: Mapped[str | None] = mapped_column(String(500))
    # What the moderator acted on, as it was then: the post may be edited or restored
    # later, the audit keeps what was judged.
    thread_title: Mapped[str | None] = mapped_column(String(160))
    post_body: Mapped[str | None] = mapped_column(Text)
    # Who may undo it: "platform" when a platform moderator acted on a cooperative's thread.
    by_platform: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
