"""Who may read a thread and who moderates it.

A platform-wide thread is read by every member; a cooperative's thread by its
active members only (anyone else gets 404, as if it did not exist). Moderators of
a cooperative's threads are its admins and the members they appoint; moderators
of everything are platform admins and the members they appoint.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.forum.models import Moderator, Post, Thread
from server.members.auth import Principal
from server.members.models import Role

# An appointed moderator of the whole platform (platform admins moderate it anyway).
PLATFORM_MODERATOR = ("EXISTS (SELECT 1 FROM forum_moderator m "
                      "WHERE m.member_id = :member AND m.scope_org_id IS NULL)")
_PLATFORM_MODERATOR = text(f"SELECT {PLATFORM_MODERATOR}")


def platform_moderator(sess: Session, p: Principal) -> bool:
    if p.is_platform_admin:
        return True
    return bool(sess.scalar(_PLATFORM_MODERATOR, {"member": p.member_id}))


def moderates(sess: Session, p: Principal, scope_org_id: uuid.UUID | None) -> bool:
    if platform_moderator(sess, p):
        return True
    if scope_org_id is None:
        return False
    if p.roles.get(scope_org_id) == Role.admin:
        return True
    return scope_org_id in p.roles and bool(sess.scalar(select(exists().where(
        Moderator.member_id == p.member_id, Moderator.scope_org_id == scope_org_id))))


def can_read(p: Principal, thread: Thread, platform_mod: bool = False) -> bool:
    return thread.visible_org_id is None or thread.visible_org_id in p.roles or platform_mod


def readable_thread(sess: Session, p: Principal, thread_id: uuid.UUID, *,
                    lock: bool = False) -> Thread:
    """The thread if this member may read it (and it is not hidden), else 404."""
    q = select(Thread).where(Thread.id == thread_id)
    if lock:
        q = q.with_for_update()
    thread = sess.scalars(q).first()
    if thread is None or thread.hidden_at is not None:
        raise ApiError(404, "not_found")
    if not can_read(p, thread) and not platform_moderator(sess, p):
        raise ApiError(404, "not_found")
    return thread


def readable_post(sess: Session, p: Principal, post_id: uuid.UUID, *,
                  lock_thread: bool = False) -> tuple[Post, Thread]:
    post = sess.get(Post, post_id)
    if post is None or post.hidden_at is not None:
        raise ApiError(404, "not_found")
    return post, readable_thread(sess, p, post.thread_id, lock=lock_thread)


def locked_post(sess: Session, post_id: uuid.UUID) -> Post:
    """The post read afresh and locked, after its thread's lock was taken: what another
    transaction committed meanwhile (a hide) is seen. 404 if it is gone or hidden."""
    post = sess.scalars(select(Post).where(Post.id == post_id).with_for_update()
                        .execution_options(populate_existing=True)).first()
    if post is None or post.hidden_at is not None:
        raise ApiError(404, "not_found")
    return post


def moderated_thread(sess: Session, p: Principal, thread_id: uuid.UUID) -> Thread:
    """The thread (hidden or not, locked for update) if this member moderates it: 404 if
    they cannot read it, 403 if they can but do not moderate it."""
    thread = sess.scalars(select(Thread).where(Thread.id == thread_id).with_for_update()).first()
    if thread is None:
        raise ApiError(404, "not_found")
    if moderates(sess, p, thread.visible_org_id):
        return thread
    if thread.hidden_at is None and can_read(p, thread):
        raise ApiError(403, "not_moderator")
    raise ApiError(404, "not_found")
