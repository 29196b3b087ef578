"""Change feeds with an opaque cursor that never skips a row committed out of order.

Every synced row carries ``(change_xid, change_seq)``: the id of the
transaction that last wrote it and a global sequence value, both set on
INSERT (column defaults) and UPDATE (trigger). A reader returns only rows
whose ``change_xid`` is below the *xmin* of its snapshot: every transaction
older than xmin has finished, so no row with a smaller ``change_xid`` can
appear later. Rows of transactions still running wait for the next pull
instead of being skipped, which is what a plain sequence or timestamp cursor
gets wrong (a transaction that took seq 10 may commit after one that took
seq 11 was already read).

The cursor is the ``(xid, seq)`` of the last row returned, base64url-encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, text, tuple_
from sqlalchemy.orm import Session

from server.errors import ApiError, FieldError

_HORIZON = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
_PREFIX = "c1."
_MAX = 2**63 - 1  # both parts are bigint columns


@dataclass(frozen=True)
class Position:
    xid: int
    seq: int


START = Position(0, 0)


def encode(pos: Position) -> str:
    raw = f"{pos.xid}:{pos.seq}".encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> Position:
    if not cursor:
        return START
    try:
        if not cursor.startswith(_PREFIX):
            raise ValueError(cursor)
        body = cursor[len(_PREFIX):]
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        xid, seq = (int(part) for part in raw.split(":"))
        if not (0 <= xid <= _MAX and 0 <= seq <= _MAX):
            raise ValueError(cursor)
        return Position(xid, seq)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ApiError(400, "invalid_cursor",
                       errors=[FieldError("cursor", "invalid_cursor", location="query")]) from exc


@dataclass
class Source:
    """One table in a feed: a select of ORM rows and how to turn a row into a change."""

    kind: str
    query: Select[Any]  # already filtered to what the reader may see
    model: Any  # the mapped class, for its change_xid / change_seq columns
    render: Callable[[Any], dict[str, Any]]


@dataclass
class Page:
    changes: list[dict[str, Any]]
    cursor: str
    has_more: bool

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.cursor}|{self.has_more}".encode()).hexdigest()[:32]
        return f'W/"{digest}"'


def read(sess: Session, sources: Sequence[Source], cursor: str | None, limit: int) -> Page:
    pos = decode(cursor)
    horizon = int(sess.execute(_HORIZON).scalar_one())
    merged: list[tuple[int, int, dict[str, Any]]] = []
    full = False
    for src in sources:
        m = src.model
        q = (src.query
             .where(tuple_(m.change_xid, m.change_seq) > tuple_(pos.xid, pos.seq))
             .where(m.change_xid < horizon)
             .order_by(m.change_xid, m.change_seq)
             .limit(limit))
        rows = sess.execute(q).all()
        full = full or len(rows) == limit
        for row in rows:
            obj = row[0] if len(row) == 1 else row
            head = row[0]
            change = src.render(obj)
            change["kind"] = src.kind
            merged.append((head.change_xid, head.change_seq, change))
    merged.sort(key=lambda item: (item[0], item[1]))
    page = merged[:limit]
    has_more = full or len(merged) > limit
    last = Position(page[-1][0], page[-1][1]) if page else pos
    return Page([c for _, _, c in page], encode(last), has_more)
