"""Query parameters of the OGC API, parsed strictly.

OGC API - Features (Part 1, 7.15.x) says a server should answer 400 to a
parameter it does not know rather than silently ignore it: a client that
asked for a filter we do not apply would otherwise take unfiltered data for
filtered data. Every error is a problem document with one entry per
parameter at fault.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

import orjson
from werkzeug.datastructures import MultiDict

from geo import hexgrid
from server.errors import ApiError, FieldError
from server.ogc.models import ROLLUP_TZ

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
FORMATS = ("json", "geojson")
_TZ = ZoneInfo(ROLLUP_TZ)

# Accepted by every resource: GDAL repeats the dataset URL's own query
# (e.g. ?authority=...) on every request it makes.
COMMON = frozenset({"f", "authority"})
ITEMS = COMMON | {"bbox", "datetime", "limit", "next"}
SPECIES_ITEMS = ITEMS | {"species"}

_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = re.compile(_DATE + r"[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DATE_ONLY = re.compile(_DATE)
_SPECIES = re.compile(r"[A-Z]{3}")
_TOKEN_PREFIX = "k1."

T = TypeVar("T")


def _bad(*errors: FieldError) -> ApiError:
    return ApiError(400, "invalid_query", errors=errors)


def _err(param: str, code: str, **params: object) -> FieldError:
    return FieldError(param, code, dict(params), location="query")


def check_known(args: MultiDict[str, str], allowed: Collection[str]) -> None:
    """400 for any parameter this resource does not take, or any given twice."""
    errs = [_err(k, "unknown_parameter", name=k, allowed=", ".join(sorted(allowed)))
            for k in args if k not in allowed]
    errs += [_err(k, "repeated_parameter") for k in args if k in allowed and len(args.getlist(k)) > 1]
    if errs:
        raise _bad(*errs)
    f = args.get("f")
    if f is not None and f not in FORMATS:
        raise _bad(_err("f", "format_unsupported", choices="json"))


def authority(args: MultiDict[str, str]) -> uuid.UUID | None:
    raw = args.get("authority")
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise _bad(_err("authority", "not_a_uuid")) from exc


# --- bbox ------------------------------------------------------------------------------------

def bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
        raise _bad(_err("bbox", "bbox_invalid"))
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise _bad(_err("bbox", "bbox_out_of_range"))
    if x0 > x1 or y0 > y1:
        raise _bad(_err("bbox", "bbox_inverted"))
    return x0, y0, x1, y1


# --- datetime --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthRange:
    """Months (first days, in the rollup's calendar) a datetime filter overlaps; None: open."""

    first: date | None
    last: date | None


def _instant(raw: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (offset required) or a full-date, taken in the rollup's
    time zone as the start of the day (or its end, closing an interval)."""
    if _DATETIME.fullmatch(raw):
        try:
            return datetime.fromisoformat(raw.upper())
        except ValueError:
            pass
    elif _DATE_ONLY.fullmatch(raw):
        try:
            d = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return datetime.combine(d, time.max if end else time.min, _TZ)
    raise _bad(_err("datetime", "datetime_invalid"))


def _month(dt: datetime) -> date:
    return dt.astimezone(_TZ).date().replace(day=1)


def datetime_filter(raw: str | None) -> MonthRange | None:
    """Months overlapping an instant or interval.

    The month holding the interval's start is the first one whose end is
    after it, and the month holding its end the last one starting before
    it, so the overlap is [month(start), month(end)]."""
    if raw is None:
        return None
    if "/" not in raw:
        m = _month(_instant(raw, end=False))
        return MonthRange(m, m)
    a, _, b = raw.partition("/")
    if "/" in b:
        raise _bad(_err("datetime", "datetime_invalid"))
    open_a, open_b = a in ("", ".."), b in ("", "..")
    if open_a and open_b:
        raise _bad(_err("datetime", "datetime_invalid"))
    start = None if open_a else _instant(a, end=False)
    stop = None if open_b else _instant(b, end=True)
    if start and stop and start > stop:
        raise _bad(_err("datetime", "datetime_inverted"))
    return MonthRange(_month(start) if start else None, _month(stop) if stop else None)


# --- limit, species, paging ------------------------------------------------------------------

def limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\+?\d{1,9}", raw.strip()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise _bad(_err("limit", "limit_range", min=1, max=MAX_LIMIT))
    return int(raw)


def species(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    codes = [c.strip().upper() for c in raw.split(",")]
    if not codes or not all(_SPECIES.fullmatch(c) for c in codes):
        raise _bad(_err("species", "species_invalid"))
    return sorted(set(codes))


@dataclass(frozen=True)
class Key:
    """Where a page ends: the sort key of its last feature."""

    cell: str
    month: date
    species: str | None = None


def encode_key(collection: str, key: Key) -> str:
    raw = orjson.dumps([collection, key.cell, key.month.isoformat(), key.species])
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_key(collection: str, token: str | None, *, with_species: bool) -> Key | None:
    if token is None:
        return None
    try:
        if not token.startswith(_TOKEN_PREFIX):
            raise ValueError(token)
        body = token[len(_TOKEN_PREFIX):]
        coll, cell, month, sp = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        d = date.fromisoformat(month)
        if coll != collection or not hexgrid.is_cell(cell) or d.day != 1 or \
                (sp is None) == with_species or (sp is not None and not _SPECIES.fullmatch(sp)):
            raise ValueError(token)
        return Key(cell, d, sp)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise _bad(_err("next", "invalid_cursor")) from exc


@dataclass(frozen=True)
class ItemsQuery:
    bbox: tuple[float, float, float, float] | None
    months: MonthRange | None
    limit: int
    after: Key | None
    species: list[str] | None


def _collect(errors: list[FieldError], parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except ApiError as exc:
        errors.extend(exc.errors)
        return None


def items_query(collection: str, args: MultiDict[str, str], *, with_species: bool) -> ItemsQuery:
    """All of an items request's filters, every fault reported at once."""
    check_known(args, SPECIES_ITEMS if with_species else ITEMS)
    errors: list[FieldError] = []
    q = ItemsQuery(
        bbox=_collect(errors, lambda: bbox(args.get("bbox"))),
        months=_collect(errors, lambda: datetime_filter(args.get("datetime"))),
        limit=_collect(errors, lambda: limit(args.get("limit"))) or DEFAULT_LIMIT,
        after=_collect(errors, lambda: decode_key(collection, args.get("next"),
                                                  with_species=with_species)),
        species=_collect(errors, lambda: species(args.get("species"))),
    )
    if errors:
        raise _bad(*errors)
    return q


def feature_id(raw: str, *, with_species: bool) -> Key | None:
    """``<cell>:<YYYY-MM>[:<species>]``; None when it cannot name a feature (a 404)."""
    parts = raw.split(":")
    if len(parts) != (3 if with_species else 2):
        return None
    cell, month = parts[0], parts[1]
    if not hexgrid.is_cell(cell) or not re.fullmatch(r"\d{4}-\d{2}", month):
        return None
    try:
        d = date.fromisoformat(month + "-01")
    except ValueError:
        return None
    sp = parts[2] if with_species else None
    if sp is not None and not _SPECIES.fullmatch(sp):
        return None
    return Key(cell, d, sp)


def format_feature_id(key: Key) -> str:
    base = f"{key.cell}:{key.month:%Y-%m}"
    return f"{base}:{key.species}" if key.species else base
