"""The push fast paths read exactly what marshmallow reads, and never accept what it refuses;
the content hash is byte for byte the one stored hashes were made with."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import RAISE, ValidationError
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

import geo
from server.catches import services as svc
from server.catches.fastpath import fast_catch_body, fast_item_head
from server.catches.schemas import CatchBodySchema, ItemHead

SCHEMA = CatchBodySchema(unknown=RAISE)
HEAD = ItemHead()
SETTINGS = settings(max_examples=400, deadline=None)
PRESENTATIONS = ["whole", "gutted", "headed", "gutted_headed", "fillet", "tail", "shucked",
                 "alive", "other"]
DISPOSITIONS = ["kept", "sold", "own_use", "discarded"]
ZONES = [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]


def marshmallow_load(body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return SCHEMA.load(body)
    except ValidationError:
        return None


def assert_same(fast: dict[str, Any], slow: dict[str, Any]) -> None:
    assert fast.keys() == slow.keys()
    for key, want in slow.items():
        got = fast[key]
        assert type(got) is type(want), key
        if isinstance(want, Point):
            assert got.equals(want), key
        elif isinstance(want, Decimal):
            assert str(got) == str(want), key  # same value and same exponent
        elif isinstance(want, datetime):
            assert got == want and got.utcoffset() == want.utcoffset(), key
        else:
            assert got == want, key


def kg(lo: str, hi: str, places: int = 3) -> st.SearchStrategy[float]:
    # As a phone sends it: a JSON number (float or int), sometimes with extra digits.
    dec = st.decimals(min_value=Decimal(lo), max_value=Decimal(hi), places=places,
                      allow_nan=False, allow_infinity=False)
    return st.one_of(dec.map(float), st.integers(1, 10_000),
                     st.floats(float(lo), float(hi)))


def when() -> st.SearchStrategy[str]:
    return st.builds(lambda d, tz, spec: d.replace(tzinfo=tz).isoformat(timespec=spec),
                     st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
                     st.sampled_from(ZONES),
                     st.sampled_from(["auto", "seconds", "milliseconds"]))


point = st.builds(lambda x, y: {"type": "Point", "coordinates": [x, y]},
                  st.floats(-180, 180), st.floats(-90, 90))


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    landed = draw(kg("0.001", "20000"))
    body: dict[str, Any] = {
        "trip_id": str(draw(st.uuids())), "species_code": draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
        "landed_kg": landed, "disposition": draw(st.sampled_from(DISPOSITIONS)),
        "caught_at": draw(when()),
    }
    optional = {
        "gear_code": st.one_of(st.none(), st.text(max_size=8)),
        "live_kg": st.one_of(st.none(), st.floats(0, 5000).map(lambda x: landed + x)),
        "count": st.one_of(st.none(), st.integers(1, 10**9)),
        "presentation": st.sampled_from(PRESENTATIONS),
        "unit_price": st.one_of(st.none(), kg("0.01", "10000000", places=2)),
        "currency": st.from_regex(r"[A-Z]{3}", fullmatch=True),
        "position": st.one_of(st.none(), point),
        "notes": st.one_of(st.none(), st.text(max_size=300)),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            body[key] = draw(values)
    return body


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
# Values that have fooled hand-written validators before.
tricky = st.one_of(
    json_values, st.sampled_from([
        math.nan, math.inf, -math.inf, -0.0, 0, 0.0, 0.0004, 1e-9, 1e30, 10**40, True, False,
        "42.5", "1", "", "abc", "ABC\n", "abc ", "MX", "MXNN", "mxn", "NaN", "Infinity",
        "2024-05-01T06:30:00", "2024-05-01", "2024-05-01T06:30:00Z", "not a date",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}",
        "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", "x" * 2001,
        {"type": "Point", "coordinates": [10, 91]}, {"type": "Point", "coordinates": [181, 0]},
        {"type": "Point", "coordinates": [math.nan, 0]}, {"type": "Point", "coordinates": []},
        {"type": "Point", "coordinates": [1, 2, 3, 4]}, {"type": "LineString", "coordinates": []},
        {"type": "Point", "coordinates": ["1", 2]}, {"type": "Point", "coordinates": [True, 2]},
        10_000_000.01, 10_000_000, 123456789.1234, "whole", "sold"]))
FIELDS = ["trip_id", "species_code", "gear_code", "landed_kg", "live_kg", "count",
          "presentation", "disposition", "unit_price", "currency", "position", "caught_at",
          "notes"]


@st.composite
def perturbed_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(valid_bodies())
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["set", "drop", "extra"]))
        if action == "set":
            body[draw(st.sampled_from(FIELDS))] = draw(tricky)
        elif action == "drop" and body:
            body.pop(draw(st.sampled_from(sorted(body))))
        else:
            body[draw(st.sampled_from(["type", "id", "version", "extra", "landed"]))] = draw(tricky)
    return body


@SETTINGS
@given(body=valid_bodies())
def test_valid_body_reads_as_marshmallow_reads_it(body: dict[str, Any]) -> None:
    slow = marshmallow_load(body)
    fast = fast_catch_body(body)
    assert slow is not None
    assert fast is not None  # what a phone usually sends takes the fast path
    assert_same(fast, slow)


@SETTINGS
@given(body=perturbed_bodies())
def test_fast_path_never_accepts_what_marshmallow_refuses(body: dict[str, Any]) -> None:
    fast = fast_catch_body(body)
    if fast is not None:
        slow = marshmallow_load(body)
        assert slow is not None, body
        assert_same(fast, slow)


BODY = {"trip_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "species_code": "LJS",
        "landed_kg": 42.5, "live_kg": 45.0, "presentation": "whole", "disposition": "sold",
        "unit_price": 95.0, "position": {"type": "Point", "coordinates": [-106.55, 23.05]},
        "caught_at": "2024-05-01T06:30:00-07:00"}


def test_typical_body() -> None:
    fast = fast_catch_body(BODY)
    assert fast is not None
    assert_same(fast, SCHEMA.load(BODY))
    assert fast["landed_kg"] == Decimal("42.500") and fast["unit_price"] == Decimal("95.00")
    assert fast["currency"] == "MXN" and fast["gear_code"] is None and fast["count"] is None


@pytest.mark.parametrize("over", [
    {"landed_kg": "42.5"}, {"landed_kg": True}, {"landed_kg": math.nan}, {"landed_kg": 0.0004},
    {"landed_kg": -1}, {"landed_kg": None}, {"live_kg": 40.0}, {"count": 0}, {"count": True},
    {"count": 2.0}, {"unit_price": 10_000_000.01}, {"caught_at": "2024-05-01T06:30:00"},
    {"trip_id": "nope"}, {"trip_id": 5}, {"species_code": "ljs"}, {"species_code": "ABC\n"},
    {"currency": "MX"}, {"presentation": None}, {"presentation": "raw"}, {"notes": "x" * 2001},
    {"position": {"type": "Point", "coordinates": [-106.55, 91]}}, {"gear_code": "TOOLONGXX"},
    {"extra": 1}, {"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
])
def test_unusual_bodies_go_to_marshmallow(over: dict[str, Any]) -> None:
    assert fast_catch_body({**BODY, **over}) is None


@pytest.mark.parametrize("drop", ["trip_id", "species_code", "landed_kg", "disposition",
                                  "caught_at"])
def test_missing_required_goes_to_marshmallow(drop: str) -> None:
    assert fast_catch_body({k: v for k, v in BODY.items() if k != drop}) is None


heads = st.fixed_dictionaries({}, optional={
    "type": st.one_of(st.sampled_from(["trip", "catch"]), tricky),
    "id": st.one_of(st.uuids().map(str), tricky),
    "version": st.one_of(st.integers(-2, 10**12), tricky),
    "cancelled": st.one_of(st.booleans(), tricky)})


@SETTINGS
@given(head=heads)
def test_item_head_reads_as_marshmallow_reads_it(head: dict[str, Any]) -> None:
    fast = fast_item_head(head)
    if fast is None:
        return
    assert fast == HEAD.load(head)
    assert type(fast["version"]) is int and type(fast["cancelled"]) is bool


def test_usual_head_takes_the_fast_path() -> None:
    head = {"type": "catch", "id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}
    assert fast_item_head(head) == HEAD.load(head) == {
        "type": "catch", "id": uuid.UUID(head["id"]), "version": 1, "cancelled": False}


# --- content hash ----------------------------------------------------------------------

def _canon(value: Any) -> Any:
    """The canonical form as first written: a recursive walk, then orjson."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, BaseGeometry):
        return geo.to_geojson(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


def reference_hash(fields: dict[str, Any]) -> bytes:
    """content_hash as it was when the stored hashes were made."""
    return hashlib.sha256(orjson.dumps(_canon(fields), option=orjson.OPT_SORT_KEYS)).digest()


CATCH = {"trip_id": uuid.UUID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "species_code": "LJS",
         "gear_code": None, "landed_kg": Decimal("42.500"), "live_kg": Decimal("45.000"),
         "count": 3, "presentation": "whole", "disposition": "sold",
         "unit_price": Decimal("95.00"), "currency": "MXN", "position": Point(-106.55, 23.05),
         "caught_at": datetime(2024, 5, 1, 6, 30, 15, 250000,
                               tzinfo=timezone(timedelta(hours=-7))),
         "notes": "jurel, ñ"}
TRIP = {"org_id": uuid.UUID("11111111-2222-4333-8444-555555555555"), "vessel_id": None,
        "gear_code": "GNS", "departed_at": datetime(2024, 5, 1, 4, 0, tzinfo=UTC),
        "returned_at": None, "departure_port_id": None, "return_port_id": None,
        "zero_catch": False,
        "costs": [{"kind": "fuel", "amount": Decimal("850.00"), "currency": "MXN"},
                  {"kind": "ice", "amount": Decimal("120"), "currency": "MXN",
                   "quantity": Decimal("1.500"), "unit": None}],
        "track": LineString([(-106.5, 23.0), (-106.6, 23.1)]), "notes": None}


def test_content_hash_of_known_values_is_unchanged() -> None:
    # Digests computed with the recursive _canon implementation, before orjson's default=.
    assert svc.content_hash(CATCH).hex() == (
        "e6fa2f0710e96c6156dfa6b49a4fbbbb45ee4a70bfa55f9615ce287467393ce4")
    assert svc.content_hash({"cancelled": True, **CATCH}).hex() == (
        "642d81108bbc377418387fc5edf0b2a22439e93ec9314ee20503e8d1b688a820")
    assert svc.content_hash(TRIP).hex() == (
        "f68c07ac118ffe7de8ea24950eaf561b929f4880dec0ea924c2e6f8c77fd7150")


@SETTINGS
@given(body=valid_bodies(), cancelled=st.booleans(), extra=json_values)
def test_content_hash_matches_reference(body: dict[str, Any], cancelled: bool,
                                        extra: Any) -> None:
    loaded = SCHEMA.load(body)
    assert svc.content_hash(loaded) == reference_hash(loaded)
    mixed = {"cancelled": cancelled, **loaded, "extra": extra, "day": date(2024, 5, 1),
             "nested": [{"t": loaded["caught_at"], "d": (Decimal("1.10"), loaded["trip_id"])}]}
    assert outcome(svc.content_hash, mixed) == outcome(reference_hash, mixed)


def outcome(fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except TypeError:  # e.g. an int beyond 64 bits: refused either way
        return TypeError
