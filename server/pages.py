"""JSON responses with ETags, so a phone re-pulling unchanged data gets a 304."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from flask import Response, request

from server.errors import ApiError, FieldError

T = TypeVar("T")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default)


def conditional_json(obj: Any, *, etag: str | None = None, status: int = 200,
                     mimetype: str = "application/json") -> Response:
    body = dumps(obj)
    tag = etag or f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    # Weak comparison (RFC 9110 13.1.2): If-None-Match matches W/"x" and "x" alike.
    if request.if_none_match.contains_weak(tag.removeprefix("W/").strip('"')):
        resp = Response(status=304)
    else:
        resp = Response(body, status=status, mimetype=mimetype)
    resp.headers["ETag"] = tag
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def keyset_encode(*values: Any) -> str:
    """An opaque "next page" token from the sort key of the last row."""
    return base64.urlsafe_b64encode(dumps([str(v) for v in values])).decode().rstrip("=")


def keyset_decode(token: str, arity: int) -> list[str]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError(token)
        return [str(v) for v in values]
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_cursor",
                       errors=[FieldError("after", "invalid_cursor", location="query")]) from exc


def keyset_typed(token: str, *parsers: Callable[[str], Any]) -> list[Any]:
    """A "next page" token decoded and each value parsed (``datetime.fromisoformat``,
    ``uuid.UUID``, ...); a token that does not parse is a 400 on ``after``."""
    values = keyset_decode(token, len(parsers))
    try:
        return [parse(v) for parse, v in zip(parsers, values, strict=True)]
    except (ValueError, ArithmeticError) as exc:  # Decimal("abc") raises InvalidOperation
        raise ApiError(400, "invalid_cursor",
                       errors=[FieldError("after", "invalid_cursor", location="query")]) from exc


def split_page(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """Rows fetched with ``LIMIT limit + 1``: the page, and whether another follows."""
    return list(rows[:limit]), len(rows) > limit
