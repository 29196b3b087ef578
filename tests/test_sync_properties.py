"""Property tests of push: any valid catch is stored as sent and a re-push is a duplicate;
any invalid coordinate or weight is rejected with its code and writes nothing."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from geoalchemy2.shape import to_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.conftest import Coop, Factory, catch_item, iso, trip_item
from tests.test_sync import catch_rows, codes, push, statuses, stored_catch

SETTINGS = settings(max_examples=30, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
MAX_KG = Decimal("20000")  # the default MAX_CATCH_KG
DATA = Path(__file__).resolve().parent.parent / "server" / "catalog" / "data"
with open(DATA / "species.csv", newline="", encoding="utf-8") as fh:
    SPECIES = sorted(r["code"] for r in csv.DictReader(fh))
PRESENTATIONS = ["whole", "gutted", "headed", "gutted_headed", "fillet", "tail", "shucked",
                 "alive", "other"]
DISPOSITIONS = ["kept", "sold", "own_use", "discarded"]


def kg(min_value: Decimal, max_value: Decimal) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=min_value, max_value=max_value, places=3,
                       allow_nan=False, allow_infinity=False)


def _num(d: Decimal) -> float:
    """As a phone sends it: a JSON number that reads back as the same decimal."""
    f = float(d)
    assert Decimal(repr(f)) == d
    return f


@pytest.fixture
def trip(factory: Factory) -> tuple[Coop, dict[str, Any]]:
    c = factory.coop()
    now = datetime.now(UTC)
    t = trip_item(c.vessel_id, departed_at=iso(now - timedelta(days=2)),
                  returned_at=iso(now - timedelta(hours=1)))
    assert statuses(push(c.fisher.api, [t])) == ["created"]
    return c, t


valid_catches = st.fixed_dictionaries({
    "species_code": st.sampled_from(SPECIES),
    "landed": kg(Decimal("0.001"), MAX_KG),
    "extra": st.one_of(st.none(), kg(Decimal("0"), Decimal("5000"))),
    "count": st.one_of(st.none(), st.integers(1, 1_000_000)),
    "price": st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"),
                                              max_value=Decimal("100000"), places=2)),
    "presentation": st.sampled_from(PRESENTATIONS),
    "disposition": st.sampled_from(DISPOSITIONS),
    "position": st.one_of(st.none(), st.tuples(
        st.floats(-180, 180, allow_nan=False, allow_infinity=False),
        st.floats(-90, 90, allow_nan=False, allow_infinity=False))),
    "minutes": st.integers(0, 46 * 60),  # into a trip of 47 hours
    "notes": st.one_of(st.none(), st.text(max_size=200).filter(lambda s: "\x00" not in s)),
})


@SETTINGS
@given(v=valid_catches)
def test_valid_catch_is_created_then_duplicate(trip: tuple[Coop, dict[str, Any]], db: Session,
                                               v: dict[str, Any]) -> None:
    c, t = trip
    live = None if v["extra"] is None else min(v["landed"] + v["extra"], MAX_KG)
    caught = datetime.fromisoformat(t["departed_at"]) + timedelta(minutes=v["minutes"])
    k = catch_item(
        t["id"], species_code=v["species_code"], landed_kg=_num(v["landed"]),
        live_kg=None if live is None else _num(live), count=v["count"],
        unit_price=None if v["price"] is None else _num(v["price"]),
        presentation=v["presentation"], disposition=v["disposition"],
        position=None if v["position"] is None else {
            "type": "Point", "coordinates": list(v["position"])},
        caught_at=iso(caught), notes=v["notes"])
    (r,) = push(c.fisher.api, [k])
    assert r["status"] == "created", r
    (r,) = push(c.fisher.api, [k])
    assert r["status"] == "duplicate", r
    assert catch_rows(db, k["id"]) == 1
    row = stored_catch(db, k["id"])
    assert row.landed_kg == v["landed"]
    assert row.live_kg == live
    assert row.count == v["count"]
    assert row.unit_price == v["price"]
    assert row.species_code == v["species_code"]
    assert row.caught_at == caught
    assert row.notes == v["notes"]
    if v["position"] is None:
        assert row.position is None and "no_position" in row.quality_flags
    else:
        assert to_shape(row.position).coords[0] == pytest.approx(v["position"])
        assert "no_position" not in row.quality_flags


finite = st.floats(allow_nan=False, allow_infinity=False)
bad_lat = st.one_of(st.floats(90, 1e12, exclude_min=True), st.floats(-1e12, -90, exclude_max=True))
bad_lon = st.one_of(st.floats(180, 1e12, exclude_min=True), st.floats(-1e12, -180, exclude_max=True))
# (overrides of a valid catch, the (field, code) it must be rejected with)
invalid_catches = st.one_of(
    st.tuples(bad_lat, st.floats(-180, 180)).map(lambda p: (
        {"position": {"type": "Point", "coordinates": [p[1], p[0]]}},
        ("position.coordinates.1", "latitude_out_of_range"))),
    st.tuples(bad_lon, st.floats(-90, 90)).map(lambda p: (
        {"position": {"type": "Point", "coordinates": [p[0], p[1]]}},
        ("position.coordinates.0", "longitude_out_of_range"))),
    kg(Decimal("-1000000"), Decimal("0")).map(lambda w: (
        {"landed_kg": float(w), "live_kg": None}, ("landed_kg", "must_be_positive"))),
    kg(MAX_KG + Decimal("0.001"), Decimal("1000000000")).map(lambda w: (
        {"landed_kg": float(w), "live_kg": None}, ("landed_kg", "weight_too_large"))),
    st.tuples(kg(Decimal("0.002"), MAX_KG), st.integers(1, 10**6)).map(lambda p: (
        {"landed_kg": float(p[0]),
         "live_kg": float(max(p[0] - Decimal(p[1]) / 1000, Decimal("0.001")))},
        ("live_kg", "live_below_landed"))),
)


@SETTINGS
@given(case=invalid_catches)
def test_invalid_catch_is_rejected_and_not_written(trip: tuple[Coop, dict[str, Any]],
                                                   db: Session,
                                                   case: tuple[dict[str, Any], tuple[str, str]]) -> None:
    c, t = trip
    over, expected = case
    k = catch_item(t["id"], caught_at=iso(datetime.fromisoformat(t["departed_at"])
                                          + timedelta(hours=1)), **over)
    (r,) = push(c.fisher.api, [k])
    assert r["status"] == "rejected", (over, r)
    assert codes(r) == {expected}
    assert catch_rows(db, k["id"]) == 0
