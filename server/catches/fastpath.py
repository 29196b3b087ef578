"""Fast paths for the common, well-formed pushed item.

Marshmallow is most of the CPU a push costs: each field of each item goes
through a Field object, its validators and error bookkeeping. A phone's
items are nearly always well-formed, so these functions read the usual shape
directly and return exactly what the schema's ``load`` would (same keys,
defaults, types and values), or ``None`` as soon as anything is unusual. On
``None`` the caller loads with marshmallow, which either accepts something
less usual (a UUID in braces, ``"ABC\\n"`` that ``$`` lets through) or gives
the field errors: the error messages live in one place only.

So a fast path may refuse anything, but must never accept what the schema
refuses, nor read a value differently (``tests/test_sync_fastpath.py``).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import geo
from server.catches.models import Disposition, Presentation

_CODE = re.compile(r"[A-Z]{3}")  # fullmatch: stricter than the schema's "^...$"
_PRESENTATIONS = frozenset(p.value for p in Presentation)
_DISPOSITIONS = frozenset(d.value for d in Disposition)
# fields.Decimal(places=n) quantizes to this exponent, with the context's rounding.
_KG_PLACES = Decimal((0, (1,), -3))
_MONEY_PLACES = Decimal((0, (1,), -2))
_MAX_MONEY = 10_000_000

_CATCH_KEYS = frozenset({
    "trip_id", "species_code", "gear_code", "landed_kg", "live_kg", "count", "presentation",
    "disposition", "unit_price", "currency", "position", "caught_at", "notes"})
_HEAD_TYPES = frozenset({"trip", "catch"})


class _Unusual(Exception):
    """Leave this item to marshmallow."""


def _uuid(value: Any) -> uuid.UUID:
    # type() and not isinstance(): a str subclass or a bool is not what JSON gives.
    if type(value) is not str:
        raise _Unusual
    return uuid.UUID(value)  # ValueError -> caught by the caller; same call as fields.UUID


def _decimal(value: Any, places: Decimal) -> Decimal:
    """StrictDecimal(places=..., allow_nan=False) with Range(min=0, exclusive): a JSON number."""
    if type(value) is int:
        num = Decimal(value)  # same value and exponent as Decimal(str(value))
    elif type(value) is float and math.isfinite(value):
        num = Decimal(str(value))  # as fields.Decimal reads floats: by their repr
    else:
        raise _Unusual  # strings, bools, NaN/inf, None where not allowed...
    num = num.quantize(places)  # may raise InvalidOperation (too many digits)
    if not num > 0:
        raise _Unusual
    return num


def _aware(value: Any) -> datetime:
    if type(value) is not str:
        raise _Unusual
    when = datetime.fromisoformat(value)  # what fields.DateTime uses for "iso"
    if when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
        raise _Unusual  # naive: AwareDateTime refuses it
    return when


def _text(value: Any, max_len: int) -> str | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > max_len:
        raise _Unusual
    return value


def _code(value: Any) -> str:
    if type(value) is not str or _CODE.fullmatch(value) is None:
        raise _Unusual
    return value


def fast_catch_body(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """``CatchBodySchema(unknown=RAISE).load(raw)`` for a well-formed body, else None."""
    if not raw.keys() <= _CATCH_KEYS:
        return None  # an unknown key: marshmallow reports it
    try:
        landed = _decimal(raw["landed_kg"], _KG_PLACES)
        live = raw.get("live_kg")
        live = None if live is None else _decimal(live, _KG_PLACES)
        if live is not None and live < landed:
            return None  # the schema's _weights check
        count = raw.get("count")
        if count is not None and (type(count) is not int or count < 1):
            return None
        price = raw.get("unit_price")
        price = None if price is None else _decimal(price, _MONEY_PLACES)
        if price is not None and price > _MAX_MONEY:
            return None
        presentation = raw.get("presentation", Presentation.whole.value)
        if type(presentation) is not str or presentation not in _PRESENTATIONS:
            return None
        disposition = raw["disposition"]
        if type(disposition) is not str or disposition not in _DISPOSITIONS:
            return None
        position = raw.get("position")
        return {
            "trip_id": _uuid(raw["trip_id"]),
            "species_code": _code(raw["species_code"]),
            "gear_code": _text(raw.get("gear_code"), 8),
            "landed_kg": landed,
            "live_kg": live,
            "count": count,
            "presentation": presentation,
            "disposition": disposition,
            "unit_price": price,
            "currency": _code(raw.get("currency", "MXN")),
            "position": None if position is None else geo.parse_point(position),
            "caught_at": _aware(raw["caught_at"]),
            "notes": _text(raw.get("notes"), 2000),
        }
    except (_Unusual, KeyError, ValueError, InvalidOperation, geo.GeoError):
        # KeyError: a required field is missing. ValueError: a bad UUID or date.
        return None


def fast_item_head(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """``ItemHead().load(...)`` of an item's type/id/version/cancelled, else None."""
    kind, ident = raw.get("type"), raw.get("id")
    version = raw.get("version", 1)
    cancelled = raw.get("cancelled", False)
    if (type(kind) is not str or kind not in _HEAD_TYPES or type(ident) is not str
            or type(version) is not int or version < 1 or type(cancelled) is not bool):
        return None
    try:
        return {"type": kind, "id": uuid.UUID(ident), "version": version,
                "cancelled": cancelled}
    except ValueError:
        return None
