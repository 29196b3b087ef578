"""Flags, moderators' actions and their audit, and appointing moderators.

A hidden post or thread is gone for readers (reads, search, counts) but its row
stays, and every action is logged in ``forum_moderation_action`` (which refuses
UPDATE and DELETE) with the moderator, the target and the reason.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.errors import ApiError, FieldError
from server.forum import access
from server.forum.models import Flag, ModerationAction, ModerationLog, Moderator, Post, Thread
from server.forum.threads import post_dict, refresh_search
from server.members.auth import Principal
from server.members.models import Member, Membership, MembershipStatus, Role

A = ModerationAction


def flag(sess: Session, p: Principal, post_id: uuid.UUID, reason: str, note: str | None) -> Flag:
    post = sess.get(Post, post_id)
    if post is not None and post.hidden_at is not None:
        # Readable before it was hidden: say so rather than pretend it never existed.
        thread = sess.get(Thread, post.thread_id)
        if thread is not None and access.can_read(p, thread):
            raise ApiError(409, "post_hidden")
    post, _ = access.readable_post(sess, p, post_id)
    if post.author_id == p.member_id:
        raise ApiError(409, "flag_own_post")
    # One statement: two taps of the same member at once make one flag and one 409.
    fid = sess.scalar(insert(Flag).values(post_id=post.id, member_id=p.member_id, reason=reason,
                                          note=note)
                      .on_conflict_do_nothing(constraint="uq_forum_flag_post_member")
                      .returning(Flag.id))
    if fid is None:
        raise ApiError(409, "already_flagged")
    f = sess.get(Flag, fid)
    assert f is not None
    return f


def _log(sess: Session, p: Principal, action: A, thread: Thread | None, post: Post | None,
         reason: str | None, scope: uuid.UUID | None, subject: uuid.UUID | None = None,
         quoted: Post | None = None) -> ModerationLog:
    """The audit's row, with what was acted on as it is now (it may change later):
    ``post`` the post acted on, or ``quoted`` the opening post of a thread acted on."""
    by_platform = scope is not None and access.platform_moderator(sess, p)
    shown = post or quoted
    entry = ModerationLog(moderator_id=p.member_id, action=action.value, scope_org_id=scope,
                          thread_id=thread.id if thread else None,
                          post_id=post.id if post else None, subject_member_id=subject,
                          reason=reason, thread_title=thread.title if thread else None,
                          post_body=shown.body if shown else None, by_platform=by_platform)
    sess.add(entry)
    sess.flush()
    return entry


def _resolve_flags(sess: Session, entry: ModerationLog, post_id: uuid.UUID | None = None,
                   thread_id: uuid.UUID | None = None) -> None:
    """Close the open flags of a post (or of every post of a thread) with this action."""
    target = (Flag.post_id == post_id if post_id is not None else
              Flag.post_id.in_(select(Post.id).where(Post.thread_id == thread_id)))
    sess.execute(update(Flag).where(target, Flag.resolved_at.is_(None))
                 .values(resolved_at=func.now(), resolved_by_action_id=entry.id))


def _guard_restore(sess: Session, p: Principal, thread: Thread, post_id: uuid.UUID | None,
                   ) -> None:
    """What a platform moderator hid in a cooperative, only a platform moderator restores:
    a cooperative's own moderators cannot undo it."""
    last = sess.scalars(select(ModerationLog).where(
        ModerationLog.thread_id == thread.id, ModerationLog.action == A.hide.value,
        ModerationLog.post_id == post_id if post_id is not None
        else ModerationLog.post_id.is_(None)).order_by(ModerationLog.id.desc()).limit(1)).first()
    if last is not None and last.by_platform and not access.platform_moderator(sess, p):
        raise ApiError(403, "restore_by_platform")


_LAST_POST = text("""
    UPDATE forum_thread t SET last_post_at = coalesce(
        (SELECT max(p.created_at) FROM forum_post p WHERE p.thread_id = t.id AND p.hidden_at IS NULL),
        t.created_at)
    WHERE t.id = :t""")


def on_thread(sess: Session, p: Principal, thread_id: uuid.UUID, action: str,
              reason: str) -> ModerationLog:
    thread = access.moderated_thread(sess, p, thread_id)
    a = A(action)
    state = {A.hide: thread.hidden_at, A.restore: thread.hidden_at,
             A.lock: thread.locked_at, A.unlock: thread.locked_at}[a]
    if a in (A.hide, A.lock) and state is not None:
        raise ApiError(409, "already_" + ("hidden" if a == A.hide else "locked"))
    if a in (A.restore, A.unlock) and state is None:
        raise ApiError(409, "not_" + ("hidden" if a == A.restore else "locked"))
    if a == A.restore:
        _guard_restore(sess, p, thread, None)
    now = func.now()
    if a == A.hide:
        thread.hidden_at = now
    elif a == A.restore:
        thread.hidden_at = None
    elif a == A.lock:
        thread.locked_at = now
    else:
        thread.locked_at = None
    sess.flush()
    opening = sess.scalars(select(Post).where(Post.thread_id == thread.id, Post.opening)).one()
    # The audit keeps the question as it was (the thread's title and opening post).
    entry = _log(sess, p, a, thread, None, reason, thread.visible_org_id, quoted=opening)
    if a == A.hide:
        _resolve_flags(sess, entry, thread_id=thread.id)
    return entry


def on_post(sess: Session, p: Principal, post_id: uuid.UUID, action: str,
            reason: str) -> ModerationLog:
    """Hide or restore a post, or dismiss its flags. The opening post stands for its
    thread: hiding it hides the thread."""
    found = sess.get(Post, post_id)
    if found is None:
        raise ApiError(404, "not_found")
    thread = access.moderated_thread(sess, p, found.thread_id)
    # Read again under the thread's lock: two moderators acting at once see each other.
    post = sess.scalars(select(Post).where(Post.id == post_id).with_for_update()
                        .execution_options(populate_existing=True)).one()
    a = A(action)
    if post.opening and a in (A.hide, A.restore):
        entry = on_thread(sess, p, thread.id, action, reason)
        return entry
    if a == A.restore and post.hidden_at is not None:
        _guard_restore(sess, p, thread, post.id)
    if a == A.hide:
        if post.hidden_at is not None:
            raise ApiError(409, "already_hidden")
        post.hidden_at = func.now()
        delta = -1
        if thread.solution_post_id == post.id:
            # A hidden post cannot stand as the solution readers are pointed to.
            thread.solution_post_id, thread.solved_at = None, None
    elif a == A.restore:
        if post.hidden_at is None:
            raise ApiError(409, "not_hidden")
        post.hidden_at = None
        delta = 1
    else:
        delta = 0
    if delta:
        thread.reply_count = Thread.reply_count + delta
    sess.flush()
    if delta:
        # A hidden reply's bump must not keep the thread on top of "recent"; and first,
        # so that the refresh puts the thread in the tiers of its last visible post.
        sess.execute(_LAST_POST, {"t": thread.id})
        refresh_search(sess, thread.id)
    entry = _log(sess, p, a, thread, post, reason, thread.visible_org_id)
    if a in (A.hide, A.dismiss_flags):
        _resolve_flags(sess, entry, post_id=post.id)
    return entry


def _scope(sess: Session, p: Principal, org_id: uuid.UUID | None) -> None:
    if not access.moderates(sess, p, org_id):
        raise ApiError(403, "not_moderator")


def audit(sess: Session, p: Principal, org_id: uuid.UUID | None, before: int | None,
          limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """The actions taken in a scope (a cooperative, or the platform), newest first, with
    each post as it was written."""
    _scope(sess, p, org_id)
    scope = "a.scope_org_id = :org" if org_id is not None else "a.scope_org_id IS NULL"
    before_cond = "AND a.id < :before" if before is not None else ""
    rows = sess.execute(text(f"""
        SELECT a.id, a.moderator_id, a.action, a.scope_org_id, a.thread_id, a.post_id,
               a.subject_member_id, a.reason, a.at, a.thread_title, a.post_body
        FROM forum_moderation_action a
        WHERE {scope} {before_cond} ORDER BY a.id DESC LIMIT :limit"""),
        {"org": org_id, "before": before, "limit": limit + 1}).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)


def flag_queue(sess: Session, p: Principal, org_id: uuid.UUID | None,
               limit: int) -> list[dict[str, Any]]:
    """Posts with open flags in a scope, most flagged first, hidden or not."""
    _scope(sess, p, org_id)
    scope = "t.visible_org_id = :org" if org_id is not None else "t.visible_org_id IS NULL"
    posts = sess.execute(text(f"""
        SELECT p.id, p.thread_id, p.author_id, m.name AS author_name, p.opening, p.format,
               p.body, p.html, p.useful_count, p.created_at, p.edited_at, false AS voted,
               t.title AS thread_title, t.solution_post_id, p.hidden_at IS NOT NULL AS hidden,
               count(f.id) AS n, min(f.created_at) AS first
        FROM forum_flag f JOIN forum_post p ON p.id = f.post_id
        JOIN forum_thread t ON t.id = p.thread_id JOIN member m ON m.id = p.author_id
        WHERE f.resolved_at IS NULL AND {scope}
        GROUP BY p.id, m.name, t.title, t.solution_post_id
        ORDER BY count(f.id) DESC, min(f.created_at), p.id LIMIT :limit"""),
        {"org": org_id, "limit": limit}).all()
    if not posts:
        return []
    flags: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for f in sess.scalars(select(Flag).where(Flag.post_id.in_([r.id for r in posts]),
                                             Flag.resolved_at.is_(None)).order_by(Flag.id)):
        flags.setdefault(f.post_id, []).append(
            {"id": f.id, "post_id": f.post_id, "reason": f.reason, "note": f.note,
             "created_at": f.created_at})
    return [{"post": post_dict(r, r.solution_post_id), "thread_id": r.thread_id,
             "thread_title": r.thread_title, "hidden": r.hidden, "flags": flags.get(r.id, [])}
            for r in posts]


def appoint(sess: Session, p: Principal, member_id: uuid.UUID,
            org_id: uuid.UUID | None) -> Moderator:
    """A cooperative's admin appoints moderators of its threads among its members; a
    platform admin appoints platform moderators (and any cooperative's)."""
    if not (p.is_platform_admin or (org_id is not None and p.roles.get(org_id) == Role.admin)):
        raise ApiError(403, "forbidden")
    member = sess.get(Member, member_id)
    if member is None or member.disabled_at is not None:
        raise ApiError(422, "validation_error", errors=[
            FieldError("member_id", "member_unknown", {"id": str(member_id)})])
    if org_id is not None and sess.scalar(select(Membership.member_id).where(
            Membership.org_id == org_id, Membership.member_id == member_id,
            Membership.status == MembershipStatus.active)) is None:
        raise ApiError(422, "validation_error", errors=[
            FieldError("member_id", "moderator_not_member")])
    # One statement against the unique index: two admins appointing at once make one.
    made = sess.scalar(text("""
        INSERT INTO forum_moderator (member_id, scope_org_id, appointed_by)
        VALUES (:m, :org, :by) ON CONFLICT DO NOTHING RETURNING id"""),
        {"m": member_id, "org": org_id, "by": p.member_id})
    m = sess.scalars(select(Moderator).where(
        Moderator.member_id == member_id, Moderator.scope_org_id.is_(None) if org_id is None
        else Moderator.scope_org_id == org_id)).one()
    if made is not None:
        _log(sess, p, A.appoint, None, None, None, org_id, subject=member_id)
    return m


def remove(sess: Session, p: Principal, member_id: uuid.UUID, org_id: uuid.UUID | None) -> None:
    if not (p.is_platform_admin or (org_id is not None and p.roles.get(org_id) == Role.admin)):
        raise ApiError(403, "forbidden")
    m = sess.scalars(select(Moderator).where(
        Moderator.member_id == member_id, Moderator.scope_org_id.is_(None) if org_id is None
        else Moderator.scope_org_id == org_id)).first()
    if m is None:
        raise ApiError(404, "not_found")
    sess.delete(m)
    sess.flush()
    _log(sess, p, A.remove, None, None, None, org_id, subject=member_id)


def moderators(sess: Session, p: Principal, org_id: uuid.UUID | None) -> list[dict[str, Any]]:
    _scope(sess, p, org_id)
    scope = "d.scope_org_id = :org" if org_id is not None else "d.scope_org_id IS NULL"
    rows = sess.execute(text(f"""
        SELECT d.member_id, m.name, d.scope_org_id AS org_id, d.appointed_by, d.appointed_at
        FROM forum_moderator d JOIN member m ON m.id = d.member_id
        WHERE {scope} ORDER BY d.appointed_at, d.id"""),
        {"org": org_id}).mappings().all()
    return [dict(r) for r in rows]
