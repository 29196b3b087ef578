"""Formatting shared by the built-in formats: numbers, times, text encodings.

Every exporter must write the same bytes for the same records, so numbers are
formatted from ``Decimal`` with a fixed number of places (never through
``float``), times from the records (never the wall clock), and characters a
legacy encoding cannot hold are replaced by a fixed rule instead of raising.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO, overload
from zoneinfo import ZoneInfo

from exports.records import Action, CatchRecord, ExportContext

Q3 = Decimal("0.001")
Q2 = Decimal("0.01")
ZERO = Decimal(0)


@overload
def dec(value: Decimal, exp: Decimal) -> str: ...
@overload
def dec(value: Decimal | None, exp: Decimal) -> str | None: ...
def dec(value: Decimal | None, exp: Decimal) -> str | None:
    """Fixed-point text with ``exp``'s places (``Q3``: ``12.500``), None for None."""
    if value is None:
        return None
    # str() of a Decimal quantized to 2 or 3 places never uses an exponent,
    # and is several times faster than format(value, "f").
    q = value.quantize(exp, rounding=ROUND_HALF_UP)
    return str(q) if q else str(q.copy_abs())  # "0.000", never "-0.000"


def memo_fixed(exp: Decimal) -> Callable[[Decimal], str]:
    """``dec(value, exp)`` remembering recent answers: weights and prices repeat a lot."""
    cache: dict[Decimal, str] = {}
    get = cache.get

    def fixed(value: Decimal) -> str:
        text = get(value)
        if text is None:
            if len(cache) >= 2048:  # bounded: memory must not grow with the export
                cache.clear()
            # Equal Decimals (12.5, 12.50) share an entry and quantize alike.
            text = cache[value] = dec(value, exp)
        return text

    return fixed


def kg(value: Decimal) -> str:
    """A weight with 3 decimals, as a plain number (``12.500``)."""
    return dec(value, Q3)


def money(value: Decimal | None) -> str | None:
    """An amount with 2 decimals (``1234.50``), None for None."""
    return dec(value, Q2)


def aware(dt: datetime) -> datetime:
    # Records carry aware times; a naive one is taken as UTC rather than as the
    # machine's local time, which would make the output depend on the host.
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# utc_iso() runs once or more per exported row; datetime.isoformat() on an
# aware time costs about three times what these table look-ups do.
_DAYS: dict[int, str] = {}
_HOUR_MINUTES = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SECONDS = [f"{s:02d}" for s in range(60)]


def utc_iso(dt: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with a ``Z`` (``2024-05-01T13:45:00Z``)."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = aware(dt).astimezone(UTC)
    day = dt.toordinal()
    prefix = _DAYS.get(day)
    if prefix is None:
        if len(_DAYS) >= 4096:
            _DAYS.clear()
        prefix = _DAYS[day] = dt.date().isoformat() + "T"
    text = prefix + _HOUR_MINUTES[dt.hour * 60 + dt.minute] + _SECONDS[dt.second]
    us = dt.microsecond
    return text + "Z" if not us else f"{text}.{us:06d}Z"


def local_date(dt: datetime | None, tz: ZoneInfo) -> date | None:
    return None if dt is None else aware(dt).astimezone(tz).date()


def iso_date(d: date | None) -> str:
    return "" if d is None else d.isoformat()


def zone(context: ExportContext) -> ZoneInfo:
    return ZoneInfo(context.timezone)


def is_cancelled(record: CatchRecord) -> bool:
    """Whether a record counts for nothing (it is reported only to withdraw it)."""
    return record.cancelled or record.action is Action.cancellation


def vessel(record: CatchRecord) -> str | None:
    """The vessel as authorities know it: its RNP, else its registration."""
    return record.vessel_rnp or record.vessel_registration


# Characters latin-1 lacks that show up in names and notes typed on phones.
_SPECIAL = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u20ac": "EUR",
    "\u0152": "OE", "\u0153": "oe", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d",
}

TRANSLIT_ERRORS = "cardumen-translit"


def transliterate(char: str, encoding: str) -> str:
    """A stand-in for ``char`` that ``encoding`` can hold: its accent-less base, else ``?``."""
    if char in _SPECIAL:
        return _SPECIAL[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        base.encode(encoding)
    except UnicodeEncodeError:
        return "?"
    return base or "?"


def _translit_handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    chunk = exc.object[exc.start:exc.end]
    return "".join(transliterate(c, exc.encoding) for c in chunk), exc.end


codecs.register_error(TRANSLIT_ERRORS, _translit_handler)


def representable(text: str, encoding: str) -> str:
    """``text`` with what ``encoding`` cannot hold transliterated, still as ``str``.

    Writers that quote or escape (CSV) must transliterate before quoting:
    left to the encoder, a curly quote would become a bare ``"`` after the
    quoting decision was made."""
    return text.encode(encoding, TRANSLIT_ERRORS).decode(encoding)


class TextOut:
    """Text written to a sink stream as ``encoding``, in chunks of about 64 KiB.

    Unlike ``io.TextIOWrapper`` it asks nothing of the stream but ``write``
    and ``close`` (the server's sink streams into storage), and it buffers,
    so row-at-a-time writers do not turn into one storage write per row.
    ``close`` (or leaving a ``with`` block normally) flushes and closes the
    stream; leaving it with an exception does neither, as ``finishing``."""

    CHUNK = 1 << 16

    def __init__(self, stream: BinaryIO, encoding: str = "utf-8") -> None:
        self._stream = stream
        # Incremental: utf-8-sig writes its BOM once, not once per chunk.
        self._encode = codecs.getincrementalencoder(encoding)(TRANSLIT_ERRORS).encode
        self._pending: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        self._size += len(text)
        if self._size >= self.CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._encode("".join(self._pending)))
            self._pending.clear()
            self._size = 0

    def close(self) -> None:
        self.flush()
        tail = self._encode("", final=True)
        if tail:
            self._stream.write(tail)
        self._stream.close()

    def __enter__(self) -> TextOut:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:  # see finishing()
            self.close()


@contextmanager
def finishing(stream: BinaryIO) -> Iterator[BinaryIO]:
    """``stream``, closed when the block ends normally and left open when it raises.

    Closing a sink stream publishes the file; a file whose export failed is
    left open for the sink to abort (the server's sink discards it)."""
    yield stream
    stream.close()
