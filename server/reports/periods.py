"""Reporting periods and schedules, in the subscription's time zone.

A period is a half-open range of local dates ``[start, end)``: a day, an ISO
week (Monday first) or a calendar month. A schedule is a cron expression read
in the same zone; each time it fires, every period that has closed by then is
due (its original if it has none, an amendment if something changed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from server.reports.models import Period


@dataclass(frozen=True, slots=True)
class Span:
    start: date  # inclusive
    end: date  # exclusive

    def utc_bounds(self, tz: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(tz)
        return (datetime.combine(self.start, time(), zone).astimezone(UTC),
                datetime.combine(self.end, time(), zone).astimezone(UTC))


def valid_timezone(name: str) -> bool:
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# Standard cron only: numbers, *, ranges, steps, lists, and English month/day
# names. croniter's extensions (R for random, H for hashed, L, #) are refused:
# an office's schedule must read the same in any cron.
_CRON_FIELD = re.compile(r"^(\*|\d+|[A-Za-z]{3})(-(\d+|[A-Za-z]{3}))?(/\d+)?"
                         r"(,(\*|\d+|[A-Za-z]{3})(-(\d+|[A-Za-z]{3}))?(/\d+)?)*$")
_NEVER = (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, ValueError, KeyError)


def valid_cron(expr: str) -> bool:
    """Five standard fields that fire at least once (``0 6 31 2 *`` never does)."""
    fields = expr.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        return False
    try:
        croniter(expr, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except _NEVER:
        return False
    return True


def next_fire(expr: str, tz: str, after: datetime) -> datetime:
    """The first time the schedule fires strictly after ``after`` (returned in UTC)."""
    local = after.astimezone(ZoneInfo(tz))
    nxt: datetime = croniter(expr, local).get_next(datetime)
    return nxt.astimezone(UTC)


# Reports are about real landings: periods outside these years are refused at
# the API (and cannot overflow date arithmetic at the calendar's ends).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 1, 1)


def span_of(period: str, day: date) -> Span:
    if period == Period.day:
        return Span(day, day + timedelta(days=1))
    if period == Period.week:
        start = day - timedelta(days=day.weekday())
        return Span(start, start + timedelta(days=7))
    if period == Period.month:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return Span(start, end)
    raise ValueError(period)


def closed_spans(period: str, tz: str, first_day: date, now: datetime) -> Iterator[Span]:
    """Every period from the one holding ``first_day`` that has ended by ``now``."""
    today = now.astimezone(ZoneInfo(tz)).date()
    span = span_of(period, first_day)
    while span.end <= today:
        yield span
        span = span_of(period, span.end)


def month_floor(day: date) -> date:
    return day.replace(day=1)
