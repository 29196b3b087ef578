"""Landing notices (avisos de arribo): one per trip, one line per species.

Shared by the CSV and PDF notice formats so both print the same folios,
notice types and totals. Records arrive ordered by ``(org_id, trip_id,
catch_id)``, so a trip's records are consecutive: a notice is complete as soon
as the next trip starts, and memory never holds more than one trip.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import groupby
from operator import attrgetter
from zoneinfo import ZoneInfo

from exports.formats._common import Q2, ZERO, is_cancelled, local_date
from exports.records import Action, CatchRecord, ExportContext


class NoticeType(StrEnum):
    original = "ORIGINAL"
    late = "EXTEMPORANEO"  # first filed in a later run of its period
    correction = "CORRECCION"  # re-issues a notice filed before
    cancellation = "CANCELACION"  # withdraws a notice filed before


@dataclass(slots=True)
class SpeciesLine:
    """One species of a notice: what was landed and what it sold for."""

    species_key: str  # CONAPESCA key when known, else ASFIS 3-alpha
    species_code: str  # ASFIS
    name_es: str
    scientific_name: str
    landed_kg: Decimal = ZERO
    live_kg: Decimal = ZERO
    value: Decimal | None = None  # None: no record of the line has a price
    priced_kg: Decimal = ZERO  # landed weight of the records that have a price
    catch_place_key: str | None = None
    catch_place_name: str | None = None
    gear_code: str | None = None
    isscfg_code: str | None = None

    @property
    def price(self) -> Decimal | None:
        """Average first-sale price per kg, over the records that have one."""
        if self.value is None or not self.priced_kg:
            return None
        return (self.value / self.priced_kg).quantize(Q2, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Notice:
    folio: str
    original_folio: str | None  # set when the notice re-issues an earlier one
    type: NoticeType
    revision: int
    trip: CatchRecord  # any record of the trip: trip, vessel and org fields are shared
    office_key: str | None
    notice_date: date  # landing date, else return date, else departure date (local)
    period_start: date
    period_end: date | None
    lines: list[SpeciesLine] = field(default_factory=list)

    @property
    def total_landed_kg(self) -> Decimal:
        return sum((line.landed_kg for line in self.lines), ZERO)

    @property
    def total_live_kg(self) -> Decimal:
        return sum((line.live_kg for line in self.lines), ZERO)

    @property
    def total_value(self) -> Decimal | None:
        values = [line.value for line in self.lines if line.value is not None]
        return sum(values, ZERO) if values else None


def base_folio(trip_id: str) -> str:
    """``CAR-`` and 16 hex digits that only this trip id produces.

    Trip ids are UUIDv7, whose first 12 hex digits are the creation
    millisecond: trips synced together from one phone would share them. The
    last 16 digits are random bits, so those name the folio; a non-UUID id is
    hashed instead.
    """
    try:
        digits = uuid.UUID(trip_id).hex[-16:]
    except ValueError:
        digits = hashlib.sha1(trip_id.encode()).hexdigest()[:16]
    return "CAR-" + digits.upper()


def folio(trip_id: str, revision: int) -> str:
    return base_folio(trip_id) + (f"-R{revision}" if revision > 0 else "")


def notice_type(records: list[CatchRecord], revision: int) -> NoticeType:
    cancelled = [is_cancelled(r) for r in records]
    if all(cancelled):
        return NoticeType.cancellation
    if revision > 0 or any(cancelled) or any(
            r.action in (Action.correction, Action.restated) for r in records):
        return NoticeType.correction
    if all(r.action is Action.late_addition for r in records):
        return NoticeType.late
    return NoticeType.original


def _line_key(record: CatchRecord) -> str:
    return record.species_key or record.species_code


def build_notice(records: list[CatchRecord], context: ExportContext, tz: ZoneInfo) -> Notice:
    """The notice of one trip from all of the trip's records in this run."""
    first = records[0]
    revision = max(r.notice_revision for r in records)
    lines: dict[str, SpeciesLine] = {}
    # Descriptive fields come from active records first: a cancelled catch
    # may have been the only one fished elsewhere.
    fallback: dict[str, CatchRecord] = {}
    for r in records:
        key = _line_key(r)
        line = lines.get(key)
        if line is None:
            line = lines[key] = SpeciesLine(key, r.species_code, r.species_name_es, r.scientific_name)
        if is_cancelled(r):
            fallback.setdefault(key, r)
            continue
        line.landed_kg += r.landed_kg
        line.live_kg += r.landed_kg if r.live_kg is None else r.live_kg
        value = r.value
        if value is not None:
            line.value = (line.value or ZERO) + value
            line.priced_kg += r.landed_kg
        line.catch_place_key = line.catch_place_key or r.catch_place_key
        line.catch_place_name = line.catch_place_name or r.catch_place_name
        line.gear_code = line.gear_code or r.gear_code
        line.isscfg_code = line.isscfg_code or r.isscfg_code
    for key, r in fallback.items():
        line = lines[key]
        line.catch_place_key = line.catch_place_key or r.catch_place_key
        line.catch_place_name = line.catch_place_name or r.catch_place_name
        line.gear_code = line.gear_code or r.gear_code
        line.isscfg_code = line.isscfg_code or r.isscfg_code

    departed = local_date(first.departed_at, tz)
    assert departed is not None
    returned = local_date(first.returned_at, tz)
    landed = local_date(first.landed_at, tz)
    return Notice(
        folio=folio(first.trip_id, revision),
        original_folio=base_folio(first.trip_id) if revision > 0 else None,
        type=notice_type(records, revision),
        revision=revision,
        trip=first,
        office_key=first.office_key or context.authority_office_key,
        notice_date=landed or returned or departed,
        period_start=departed,
        period_end=returned,
        lines=[lines[k] for k in sorted(lines)],
    )


class NoticeReader:
    """Iterates the notices of ``records``; ``records_read`` counts the records consumed."""

    def __init__(self, records: Iterable[CatchRecord], context: ExportContext, tz: ZoneInfo) -> None:
        self._records = records
        self._context = context
        self._tz = tz
        self.records_read = 0

    def __iter__(self) -> Iterator[Notice]:
        for _, group in groupby(self._records, key=attrgetter("org_id", "trip_id")):
            trip = list(group)
            self.records_read += len(trip)
            yield build_notice(trip, self._context, self._tz)
