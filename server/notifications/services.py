"""Writing and reading a member's notifications."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from server.notifications.models import Notification


def notify(sess: Session, member_id: uuid.UUID, kind: str, **data: Any) -> None:
    """Queue one notification in the caller's transaction: it exists if and only if
    what it tells of was committed."""
    sess.add(Notification(member_id=member_id, kind=kind, data=_jsonable(data)))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        out[k] = str(v) if isinstance(v, uuid.UUID) else v
    return out


def page(sess: Session, member_id: uuid.UUID, *, unread: bool, before: int | None,
         limit: int) -> tuple[list[Notification], int]:
    q = select(Notification).where(Notification.member_id == member_id)
    if unread:
        q = q.where(Notification.read_at.is_(None))
    if before is not None:
        q = q.where(Notification.id < before)
    rows = list(sess.scalars(q.order_by(Notification.id.desc()).limit(limit + 1)))
    count = sess.scalar(select(func.count()).select_from(Notification).where(
        Notification.member_id == member_id, Notification.read_at.is_(None)))
    return rows, int(count or 0)


def mark_read(sess: Session, member_id: uuid.UUID, ids: list[int] | None,
              up_to: int | None) -> int:
    """Mark the given notifications (or all up to an id) read; only the member's own."""
    q = update(Notification).where(Notification.member_id == member_id,
                                   Notification.read_at.is_(None))
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    if up_to is not None:
        q = q.where(Notification.id <= up_to)
    result = sess.execute(q.values(read_at=text("now()")))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
