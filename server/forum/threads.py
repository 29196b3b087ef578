"""Opening threads and replying; editing, votes, follows and accepted solutions.

Services take a Session and flush; the view commits. Every notification is
written in the same transaction as what it tells of.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from server.catalog.models import Gear, Species, Zone
from server.errors import ApiError, FieldError
from server.forum import access, markup, words
from server.forum.models import (
    TIERS,
    UNACCENTED_MARK,
    Category,
    Follow,
    Post,
    Thread,
    Vote,
)
from server.members.auth import Principal
from server.members.models import Member, Membership, MembershipStatus
from server.notifications import services as notifications


def _invalid(*errors: FieldError) -> ApiError:
    return ApiError(422, "validation_error", errors=list(errors))


def _tags(sess: Session, data: dict[str, Any]) -> list[FieldError]:
    """Tags must name the catalog's species, gear and zones."""
    errs: list[FieldError] = []
    checks: list[tuple[str, Any, str, str]] = [
        ("species", Species.code, "species_unknown", "species"),
        ("gear", Gear.code, "gear_unknown", "gear"),
        ("zones", Zone.id, "zone_unknown", "id")]
    for name, column, message, param in checks:
        values = data.get(name)
        if not values:
            continue
        known = set(sess.scalars(select(column).where(column.in_(values))))
        for i, v in enumerate(values):
            if v not in known:
                errs.append(FieldError(f"{name}.{i}", message, {param: str(v)}))
    return errs


def _mention_errors(sess: Session, thread_org: uuid.UUID | None,
                    mentions: list[uuid.UUID]) -> list[FieldError]:
    """Who is mentioned must exist and be able to read the thread."""
    if not mentions:
        return []
    alive = set(sess.scalars(select(Member.id).where(Member.id.in_(mentions),
                                                     Member.disabled_at.is_(None))))
    if thread_org is not None:
        alive &= set(sess.scalars(select(Membership.member_id).where(
            Membership.org_id == thread_org, Membership.member_id.in_(alive),
            Membership.status == MembershipStatus.active)))
    return [FieldError(f"mentions.{i}", "mention_cannot_read", {"id": str(m)})
            for i, m in enumerate(mentions) if m not in alive]


def readers(sess: Session, thread: Thread, members: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Those of ``members`` who may read the thread now: not disabled, and active members
    of its organization when it has one (or platform moderators)."""
    wanted = list(dict.fromkeys(members))
    if not wanted:
        return []
    rows = sess.scalars(text("""
        SELECT m.id FROM member m WHERE m.id = ANY(:ids) AND m.disabled_at IS NULL
          AND (CAST(:org AS uuid) IS NULL
               OR m.is_platform_admin
               OR EXISTS (SELECT 1 FROM membership ms WHERE ms.member_id = m.id
                          AND ms.org_id = :org AND ms.status = 'active')
               OR EXISTS (SELECT 1 FROM forum_moderator d WHERE d.member_id = m.id
                          AND d.scope_org_id IS NULL))"""),
        {"ids": wanted, "org": thread.visible_org_id})
    allowed = set(rows)
    return [m for m in wanted if m in allowed]


def _ewkt(point: Any) -> str | None:
    return None if point is None else f"SRID=4326;{point.wkt}"


def _follow(sess: Session, thread_id: uuid.UUID, member_id: uuid.UUID) -> None:
    sess.execute(insert(Follow).values(thread_id=thread_id, member_id=member_id)
                 .on_conflict_do_nothing())


def _notify_mentions(sess: Session, p: Principal, thread: Thread, post: Post,
                     mentions: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    told = set()
    for m in dict.fromkeys(mentions):
        if m != p.member_id:
            notifications.notify(sess, m, "forum.mention", thread_id=thread.id, post_id=post.id,
                                 title=thread.title, by=_name(sess, p.member_id))
            told.add(m)
    return told


# A thread's lexemes, the unaccented ones it lacks as written marked (models.Thread.match),
# kept again in each tier's vector while it is recent enough (models.TIERS), and its
# question.
# An unaccented twin of a lexeme as written ("~motor" of "motor") is dropped: the query
# asks for either (server/forum/words.py), and most words have no accent, so the vector
# and its index are half the size.
# A day's margin past the tier's days, as the job's (cool): a thread on the edge of a
# search's cut-off is in both tiers rather than in neither.
_TIER_COLUMNS = "".join(
    f"{column} = CASE WHEN t.last_post_at >= now() - interval '{days + 1} days' "
    "THEN m.match ELSE '' END, " for column, days in TIERS)
_REFRESH = text(f"""
    WITH v AS (
        SELECT coalesce(array_to_tsvector(array_agg(DISTINCT x)), '') AS lexemes FROM (
            SELECT unnest(tsvector_to_array(ts_filter(p.search, '{{a,b}}'))) AS x
            FROM forum_post p WHERE p.thread_id = :t AND p.hidden_at IS NULL
            UNION ALL
            SELECT '{UNACCENTED_MARK}' || unnest(tsvector_to_array(ts_filter(p.search, '{{c,d}}')))
            FROM forum_post p WHERE p.thread_id = :t AND p.hidden_at IS NULL) s),
    m AS (
        SELECT ts_delete(v.lexemes, ARRAY(
                   SELECT '{UNACCENTED_MARK}' || x FROM unnest(tsvector_to_array(v.lexemes)) x
                   WHERE left(x, 1) <> '{UNACCENTED_MARK}')) AS match
        FROM v)
    UPDATE forum_thread t SET
        match = m.match,
        {_TIER_COLUMNS}
        summary = coalesce((SELECT p.search FROM forum_post p
                            WHERE p.thread_id = t.id AND p.opening AND p.hidden_at IS NULL), '')
    FROM m
    WHERE t.id = :t""")


def refresh_search(sess: Session, thread_id: uuid.UUID) -> None:
    """The thread's search vectors again from its visible posts (after a post is written,
    edited, hidden or restored), so a hidden post's words leave it at once. A thread whose
    words no longer fit one tsvector (1 MB of distinct words: only an attack writes that)
    takes no more: 409, never a 500."""
    try:
        with sess.begin_nested():
            sess.execute(_REFRESH, {"t": thread_id})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "54000":  # program_limit_exceeded
            raise
        raise ApiError(409, "thread_full") from exc


def _name(sess: Session, member_id: uuid.UUID) -> str:
    return str(sess.scalar(select(Member.name).where(Member.id == member_id)))


def create(sess: Session, p: Principal, data: dict[str, Any]) -> Thread:
    errs: list[FieldError] = []
    if sess.get(Category, data["category"]) is None:
        errs.append(FieldError("category", "category_unknown", {"category": data["category"]}))
    org = data["visible_org_id"]
    if org is not None and org not in p.roles:
        errs.append(FieldError("visible_org_id", "visible_org_not_yours", {"id": str(org)}))
    errs += _tags(sess, data)
    if not errs:
        errs += _mention_errors(sess, org, data["mentions"])
    if errs:
        raise _invalid(*errs)
    thread = Thread(category=data["category"],
                    author_id=p.member_id, visible_org_id=org, title=data["title"].strip(),
                    species_codes=list(dict.fromkeys(data["species"])),
                    gear_codes=list(dict.fromkeys(data["gear"])),
                    zone_ids=list(dict.fromkeys(data["zones"])), location=_ewkt(data["location"]))
    sess.add(thread)
    sess.flush()
    post = Post(thread_id=thread.id, author_id=p.member_id, opening=True, heading=thread.title,
                format=data["format"], body=data["body"],
                **markup.rendered(data["body"], data["format"]))
    sess.add(post)
    sess.flush()
    words.remember(sess, [post.id])
    refresh_search(sess, thread.id)
    _follow(sess, thread.id, p.member_id)
    _notify_mentions(sess, p, thread, post, data["mentions"])
    return thread


def patch(sess: Session, p: Principal, thread_id: uuid.UUID, data: dict[str, Any]) -> Thread:
    thread = access.readable_thread(sess, p, thread_id, lock=True)
    if thread.author_id != p.member_id:
        raise ApiError(403, "not_thread_author")
    if thread.locked_at is not None:
        raise ApiError(409, "thread_locked")
    errs = _tags(sess, data)
    if "category" in data and sess.get(Category, data["category"]) is None:
        errs.append(FieldError("category", "category_unknown", {"category": data["category"]}))
    if errs:
        raise _invalid(*errs)
    if "category" in data:
        thread.category = data["category"]
    if "species" in data:
        thread.species_codes = list(dict.fromkeys(data["species"]))
    if "gear" in data:
        thread.gear_codes = list(dict.fromkeys(data["gear"]))
    if "zones" in data:
        thread.zone_ids = list(dict.fromkeys(data["zones"]))
    if "location" in data:
        thread.location = _ewkt(data["location"])
    if "title" in data:
        thread.title = data["title"].strip()
        sess.execute(update(Post).where(Post.thread_id == thread.id, Post.opening)
                     .values(heading=thread.title))
    thread.updated_at = func.now()
    sess.flush()
    opening = sess.scalars(select(Post.id).where(Post.thread_id == thread.id, Post.opening)).one()
    words.remember(sess, [opening])
    refresh_search(sess, thread.id)
    return thread


def reply(sess: Session, p: Principal, thread_id: uuid.UUID, data: dict[str, Any]) -> Post:
    # The thread's row lock orders replies and counts (reply_count, last_post_at).
    thread = access.readable_thread(sess, p, thread_id, lock=True)
    if thread.locked_at is not None:
        raise ApiError(409, "thread_locked")
    if errs := _mention_errors(sess, thread.visible_org_id, data["mentions"]):
        raise _invalid(*errs)
    post = Post(thread_id=thread.id, author_id=p.member_id, opening=False, heading=None,
                format=data["format"], body=data["body"],
                **markup.rendered(data["body"], data["format"]))
    sess.add(post)
    sess.flush()
    sess.execute(update(Thread).where(Thread.id == thread.id).values(
        reply_count=Thread.reply_count + 1, last_post_at=func.now()))
    words.remember(sess, [post.id])
    refresh_search(sess, thread.id)
    told = _notify_mentions(sess, p, thread, post, data["mentions"])
    # Everyone following (the author follows their own thread) hears of the reply, if they
    # may still read it (a member who left a cooperative hears nothing more of it).
    followers = readers(sess, thread, sess.scalars(select(Follow.member_id).where(
        Follow.thread_id == thread.id, Follow.member_id != p.member_id)))
    by = _name(sess, p.member_id)
    for member in followers:
        if member not in told:
            kind = "forum.reply_own" if member == thread.author_id else "forum.reply"
            notifications.notify(sess, member, kind, thread_id=thread.id, post_id=post.id,
                                 title=thread.title, by=by)
    _follow(sess, thread.id, p.member_id)  # who takes part hears what follows
    return post


def edit(sess: Session, p: Principal, post_id: uuid.UUID, data: dict[str, Any]) -> Post:
    _, thread = access.readable_post(sess, p, post_id, lock_thread=True)
    # Read again under the thread's lock: a moderator may have hidden it meanwhile.
    post = access.locked_post(sess, post_id)
    if post.author_id != p.member_id:
        raise ApiError(403, "not_post_author")
    if thread.locked_at is not None:
        raise ApiError(409, "thread_locked")
    fmt = data.get("format") or post.format
    if markup.shows_nothing(data["body"], fmt):  # Markdown kept from before, rendering nothing
        raise _invalid(FieldError("body", "text_blank"))
    post.body, post.format = data["body"], fmt
    r = markup.rendered(post.body, fmt)
    post.html, post.excerpt = r["html"], r["excerpt"]
    post.edited_at = func.now()
    sess.flush()
    words.remember(sess, [post.id])
    refresh_search(sess, thread.id)
    return post


def vote(sess: Session, p: Principal, post_id: uuid.UUID, useful: bool) -> int:
    """Find a post useful (or no longer); the post's count afterwards. Idempotent."""
    post, _ = access.readable_post(sess, p, post_id)
    if post.author_id == p.member_id:
        raise ApiError(409, "vote_own_post")
    if useful:
        done = sess.execute(insert(Vote).values(post_id=post.id, member_id=p.member_id)
                            .on_conflict_do_nothing().returning(Vote.post_id)).first()
        delta = 1 if done else 0
    else:
        gone = sess.execute(delete(Vote).where(Vote.post_id == post.id,
                                               Vote.member_id == p.member_id)
                            .returning(Vote.post_id)).first()
        delta = -1 if gone else 0
    # The count moves with the row that changed, so concurrent votes add up.
    count = sess.scalar(update(Post).where(Post.id == post.id)
                        .values(useful_count=Post.useful_count + delta)
                        .returning(Post.useful_count))
    return int(count or 0)


def follow(sess: Session, p: Principal, thread_id: uuid.UUID, on: bool) -> None:
    if not on:
        # Unfollowing needs no right to read: one who left a cooperative may still stop
        # hearing of its threads (and learns nothing: it answers alike for any id).
        sess.execute(delete(Follow).where(Follow.thread_id == thread_id,
                                          Follow.member_id == p.member_id))
        return
    thread = access.readable_thread(sess, p, thread_id)
    _follow(sess, thread.id, p.member_id)


def accept(sess: Session, p: Principal, thread_id: uuid.UUID,
           post_id: uuid.UUID | None) -> Thread:
    """Mark a reply as the thread's solution (None: no solution any more). The thread's
    author or a moderator of the thread."""
    thread = access.readable_thread(sess, p, thread_id, lock=True)
    moderator = access.moderates(sess, p, thread.visible_org_id)
    if thread.author_id != p.member_id and not moderator:
        raise ApiError(403, "not_thread_author")
    if thread.locked_at is not None and not moderator:
        raise ApiError(409, "thread_locked")
    if post_id is None:
        thread.solution_post_id, thread.solved_at = None, None
        sess.flush()
        return thread
    post = sess.get(Post, post_id)
    if post is None or post.thread_id != thread.id or post.hidden_at is not None:
        raise _invalid(FieldError("post_id", "solution_not_in_thread", {"id": str(post_id)}))
    if post.opening:
        raise _invalid(FieldError("post_id", "solution_not_reply"))
    if thread.solution_post_id == post.id:
        return thread
    thread.solution_post_id, thread.solved_at = post.id, func.now()
    sess.flush()
    by = _name(sess, p.member_id)
    if post.author_id != p.member_id and readers(sess, thread, [post.author_id]):
        notifications.notify(sess, post.author_id, "forum.solution_yours", thread_id=thread.id,
                             post_id=post.id, title=thread.title, by=by)
    for member in readers(sess, thread, sess.scalars(select(Follow.member_id).where(
            Follow.thread_id == thread.id, Follow.member_id.not_in([p.member_id, post.author_id])))):
        notifications.notify(sess, member, "forum.solution", thread_id=thread.id,
                             post_id=post.id, title=thread.title, by=by)
    return thread


# --- reading ----------------------------------------------------------------------------

POST_COLUMNS = """
    p.id, p.thread_id, p.author_id, m.name AS author_name, p.opening, p.format, p.body,
    p.html, p.useful_count, p.created_at, p.edited_at,
    EXISTS (SELECT 1 FROM forum_vote v WHERE v.post_id = p.id AND v.member_id = :me) AS voted"""


def post_dict(row: Any, solution_id: uuid.UUID | None) -> dict[str, Any]:
    return {"id": row.id, "thread_id": row.thread_id,
            "author": {"id": row.author_id, "name": row.author_name}, "opening": row.opening,
            "format": row.format, "body": row.body, "html": row.html,
            "useful_count": row.useful_count, "voted": row.voted,
            "solution": row.id == solution_id, "created_at": row.created_at,
            "edited_at": row.edited_at}


def post_out(sess: Session, p: Principal, post_id: uuid.UUID) -> dict[str, Any]:
    row = sess.execute(text(f"""
        SELECT {POST_COLUMNS}, t.solution_post_id FROM forum_post p
        JOIN member m ON m.id = p.author_id JOIN forum_thread t ON t.id = p.thread_id
        WHERE p.id = :id"""), {"id": post_id, "me": p.member_id}).one()
    return post_dict(row, row.solution_post_id)


def thread_out(sess: Session, p: Principal, thread: Thread) -> dict[str, Any]:
    row = sess.execute(text("""
        SELECT m.name AS author_name, ST_AsGeoJSON(t.location::geometry, 7)::json AS location,
               EXISTS (SELECT 1 FROM forum_follow f WHERE f.thread_id = t.id
                       AND f.member_id = :me) AS following
        FROM forum_thread t JOIN member m ON m.id = t.author_id WHERE t.id = :id"""),
        {"id": thread.id, "me": p.member_id}).one()
    posts = {r.id: r for r in sess.execute(text(f"""
        SELECT {POST_COLUMNS} FROM forum_post p JOIN member m ON m.id = p.author_id
        WHERE p.thread_id = :t AND p.hidden_at IS NULL
          AND (p.opening OR p.id = :solution)"""),
        {"t": thread.id, "solution": thread.solution_post_id, "me": p.member_id})}
    opening = next(r for r in posts.values() if r.opening)
    solution = posts.get(thread.solution_post_id) if thread.solution_post_id else None
    return {
        "id": thread.id, "category": thread.category, "title": thread.title,
        "author": {"id": thread.author_id, "name": row.author_name},
        "visible_org_id": thread.visible_org_id,
        "tags": {"species": thread.species_codes, "gear": thread.gear_codes,
                 "zones": thread.zone_ids},
        "location": row.location, "solved": thread.solution_post_id is not None,
        "solution_post_id": thread.solution_post_id, "locked": thread.locked_at is not None,
        "reply_count": thread.reply_count, "following": row.following,
        "created_at": thread.created_at, "last_post_at": thread.last_post_at,
        "opening": post_dict(opening, thread.solution_post_id),
        "solution": post_dict(solution, thread.solution_post_id) if solution else None,
    }


def replies(sess: Session, p: Principal, thread: Thread, after: tuple[datetime, uuid.UUID] | None,
            limit: int) -> tuple[list[dict[str, Any]], bool]:
    """A thread's visible replies, oldest first."""
    cond = "AND (p.created_at, p.id) > (:a0, :a1)" if after else ""
    rows = sess.execute(text(f"""
        SELECT {POST_COLUMNS} FROM forum_post p JOIN member m ON m.id = p.author_id
        WHERE p.thread_id = :t AND NOT p.opening AND p.hidden_at IS NULL {cond}
        ORDER BY p.created_at, p.id LIMIT :limit"""),
        {"t": thread.id, "me": p.member_id, "limit": limit + 1,
         "a0": after[0] if after else None, "a1": after[1] if after else None}).all()
    out = [post_dict(r, thread.solution_post_id) for r in rows[:limit]]
    return out, len(rows) > limit


COOL_BATCH = 1000
# A day past each tier's days, so that a search's cut-off (now minus those days) never
# reaches a thread this has emptied.
_COOL = [text(f"""
    UPDATE forum_thread SET {column} = ''
    WHERE id IN (SELECT id FROM forum_thread
                 WHERE {column} <> ''::tsvector
                   AND last_post_at < now() - interval '{days + 1} days'
                 ORDER BY last_post_at LIMIT {COOL_BATCH}
                 FOR UPDATE SKIP LOCKED)""") for column, days in TIERS]


def cool(sess: Session) -> int:
    """Empty a tier's vector of up to COOL_BATCH threads gone quiet, per tier; how many.
    Only the speed of a search waits for this: it reads each tier with a cut-off."""
    cooled = 0
    for statement in _COOL:
        cooled += int(sess.execute(statement).rowcount)  # type: ignore[attr-defined]
    return cooled
