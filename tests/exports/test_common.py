"""Number, time and text formatting shared by the formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports.formats._common import Q2, Q3, dec, memo_fixed, representable, utc_iso
from exports.formats._notices import base_folio, folio


@pytest.mark.parametrize(("value", "exp", "text"), [
    (Decimal("12.5"), Q3, "12.500"),
    (Decimal("0.0005"), Q3, "0.001"),  # half up, not half even
    (Decimal("1E+7"), Q3, "10000000.000"),  # never an exponent
    (Decimal("1E-9"), Q3, "0.000"),
    (Decimal("-0.0001"), Q3, "0.000"),  # never "-0.000"
    (Decimal("1187.495"), Q2, "1187.50"),
    (None, Q2, None),
])
def test_fixed_point_text(value: Decimal | None, exp: Decimal, text: str | None) -> None:
    assert dec(value, exp) == text


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False))
def test_memo_fixed_agrees_with_dec(value: Decimal) -> None:
    assert memo_fixed(Q3)(value) == dec(value, Q3) == memo_fixed(Q3)(value)


@given(st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("America/Mazatlan"),
                                               timezone(timedelta(hours=-6)), ZoneInfo("UTC")])))
def test_utc_iso_matches_isoformat(dt: datetime) -> None:
    expected = dt.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    assert utc_iso(dt) == expected


def test_utc_iso_takes_naive_times_as_utc() -> None:
    assert utc_iso(datetime(2024, 5, 1, 6, 7, 8)) == "2024-05-01T06:07:08Z"
    assert utc_iso(None) is None


@pytest.mark.parametrize(("text", "latin1"), [
    ("Peña ñandú", "Peña ñandú"),
    ("“Łódź” – 5 €", '"Lódz" - 5 EUR'),
    ("Œuvre ﬁlete", "OEuvre filete"),
    ("鱼 🐟", "? ?"),
])
def test_transliteration_to_latin1(text: str, latin1: str) -> None:
    assert representable(text, "latin-1") == latin1


def test_folios_are_stable_and_differ_for_trips_made_the_same_millisecond() -> None:
    a = "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"
    b = "0190a1b2-c3d4-7111-9222-333344445555"  # same UUIDv7 time prefix
    assert base_folio(a) == "CAR-8A6B1C2D3E4F5A6B" and base_folio(a) != base_folio(b)
    assert folio(a, 0) == base_folio(a) and folio(a, 2) == "CAR-8A6B1C2D3E4F5A6B-R2"
    assert base_folio("trip-7") == base_folio("trip-7") != base_folio("trip-8")
