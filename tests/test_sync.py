"""POST /api/v1/sync/push against the real database: idempotency, rejections, enrichment.

Helpers at the top are shared with the other sync test modules.
"""

from __future__ import annotations

import gzip
import json
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server import create_app
from server.catalog.models import Zone, ZoneKind
from server.catches.models import Catch, Trip
from server.members.models import Membership, MembershipStatus
from tests.conftest import Api, Coop, Factory, catch_item, iso, trip_item

PUSH = "/api/v1/sync/push"


# --- helpers (imported by the other sync test modules) --------------------------------

def push(api: Api, items: list[Any], device_id: str = "phone-1", **kw: Any) -> list[dict[str, Any]]:
    r = api.post(PUSH, {"device_id": device_id, "items": items}, **kw)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert datetime.fromisoformat(body["received_at"])
    return list(body["results"])


def statuses(results: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in results]


def codes(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in result.get("errors", [])}


def catch_rows(db: Session, *ids: str | uuid.UUID) -> int:
    """Every stored version of these catches."""
    db.rollback()  # a fresh snapshot of what the API committed
    return int(db.scalar(select(func.count()).select_from(Catch).where(
        Catch.id.in_([uuid.UUID(str(i)) for i in ids]))) or 0)


def trip_rows(db: Session, *ids: str | uuid.UUID) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(Trip).where(
        Trip.id.in_([uuid.UUID(str(i)) for i in ids]))) or 0)


def stored_catch(db: Session, catch_id: str | uuid.UUID, version: int = 1) -> Catch:
    db.rollback()
    row = db.scalar(select(Catch).where(Catch.id == uuid.UUID(str(catch_id)),
                                        Catch.version == version)
                    .execution_options(populate_existing=True))
    assert row is not None
    return row


def trip_with_catches(coop: Coop, n: int = 2, **trip_over: Any) -> list[dict[str, Any]]:
    t = trip_item(coop.vessel_id, **trip_over)
    return [t, *(catch_item(t["id"], landed_kg=10 + i, live_kg=12 + i) for i in range(n))]


# --- created, duplicate, conflict ------------------------------------------------------

def test_push_creates_trip_and_catches(factory: Factory, db: Session) -> None:
    c = factory.coop()
    items = trip_with_catches(c, 2)
    res = push(c.fisher.api, items, device_id="phone-A")
    assert statuses(res) == ["created", "created", "created"]
    assert [r["index"] for r in res] == [0, 1, 2]
    assert [r["id"] for r in res] == [i["id"] for i in items]
    assert [r["type"] for r in res] == ["trip", "catch", "catch"]
    assert all(r["version"] == 1 and "errors" not in r and "server" not in r for r in res)

    assert trip_rows(db, items[0]["id"]) == 1
    trip = db.get(Trip, (c.org.id, uuid.UUID(items[0]["id"])))
    assert trip is not None
    assert trip.member_id == c.fisher.member.id
    assert trip.vessel_id == c.vessel_id
    assert trip.gear_code == "GNS"
    assert trip.device_id == "phone-A"
    assert trip.costs == [{"kind": "fuel", "amount": 850.0, "currency": "MXN"},
                          {"kind": "ice", "amount": 120.0, "currency": "MXN"}]
    assert catch_rows(db, items[1]["id"], items[2]["id"]) == 2
    first = stored_catch(db, items[1]["id"])
    assert first.org_id == c.org.id
    assert first.member_id == first.recorded_by == c.fisher.member.id
    assert first.landed_kg == Decimal("10.000") and first.live_kg == Decimal("12.000")
    assert first.species_code == "LJS" and first.status == "active"
    assert first.superseded_at is None
    assert to_shape(first.position).coords[0] == (-106.55, 23.05)

    r = c.fisher.api.get(f"/api/v1/trips/{items[0]['id']}")
    assert r.status_code == 200
    assert sorted(k["id"] for k in r.get_json()["catches"]) == sorted(
        [items[1]["id"], items[2]["id"]])


def test_same_batch_again_is_duplicate_and_stores_nothing(factory: Factory, db: Session) -> None:
    c = factory.coop()
    items = trip_with_catches(c, 3)
    assert statuses(push(c.fisher.api, items)) == ["created"] * 4
    again = push(c.fisher.api, items)
    assert statuses(again) == ["duplicate"] * 4
    assert [r["id"] for r in again] == [i["id"] for i in items]
    # The same content spelled differently (other time zone, trailing zeros) is
    # still the same record.
    respelled = [dict(i) for i in items]
    respelled[1]["caught_at"] = datetime.fromisoformat(items[1]["caught_at"]).astimezone(
        ZoneInfo("America/Mazatlan")).isoformat()
    assert respelled[1]["caught_at"] != items[1]["caught_at"]
    raw = json.dumps({"items": respelled}).replace('"landed_kg": 11,', '"landed_kg": 11.000,')
    assert '"landed_kg": 11.000,' in raw
    r = c.fisher.api.post(PUSH, data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert statuses(r.get_json()["results"]) == ["duplicate"] * 4
    assert trip_rows(db, items[0]["id"]) == 1
    assert catch_rows(db, *(i["id"] for i in items[1:])) == 3


def test_same_id_other_content_is_conflict_with_server_copy(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t, k = trip_with_catches(c, 1)
    push(c.fisher.api, [t, k])
    changed_catch = dict(k, landed_kg=30.0, live_kg=31.0)
    changed_trip = dict(t, gear_code="LLS")
    res = push(c.fisher.api, [changed_trip, changed_catch])
    assert statuses(res) == ["conflict", "conflict"]
    trip_server, catch_server = res[0]["server"], res[1]["server"]
    assert trip_server["id"] == t["id"] and trip_server["gear_code"] == "GNS"
    assert trip_server["version"] == 1
    assert catch_server["id"] == k["id"] and catch_server["version"] == 1
    assert catch_server["landed_kg"] == 10.0 and catch_server["live_kg"] == 12.0
    assert catch_server["species_code"] == "LJS"
    assert catch_rows(db, k["id"]) == 1
    assert stored_catch(db, k["id"]).landed_kg == Decimal("10.000")
    trip = db.scalar(select(Trip.gear_code).where(Trip.id == uuid.UUID(t["id"])))
    assert trip == "GNS"


def test_bad_items_are_rejected_and_good_ones_stored_in_input_order(
        factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    bad_trip = trip_item(c.vessel_id, gear_code="NOPE")
    good1 = catch_item(t["id"])
    bad1 = catch_item(t["id"], species_code="QQQ")
    good2 = catch_item(t["id"], landed_kg=3)
    bad2 = catch_item(t["id"], landed_kg=-1)
    items = [bad1, t, good1, bad_trip, bad2, good2]
    res = push(c.fisher.api, items)
    assert [r["index"] for r in res] == list(range(6))
    assert [r["id"] for r in res] == [i["id"] for i in items]
    assert statuses(res) == ["rejected", "created", "created", "rejected", "rejected", "created"]
    assert codes(res[0]) == {("species_code", "unknown_species")}
    assert codes(res[3]) == {("gear_code", "unknown_gear")}
    assert codes(res[4]) == {("landed_kg", "must_be_positive")}
    assert catch_rows(db, good1["id"], good2["id"]) == 2
    assert catch_rows(db, bad1["id"], bad2["id"]) == 0
    assert trip_rows(db, t["id"]) == 1 and trip_rows(db, bad_trip["id"]) == 0


def test_error_messages_follow_accept_language(factory: Factory) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    bad = catch_item(t["id"], species_code="QQQ")
    (es,) = push(c.fisher.api, [t, bad])[1:]
    (en,) = push(c.fisher.api, [dict(bad, id=str(uuid.uuid4()))], lang="en")
    assert es["errors"][0]["message"] == "Código de especie desconocido: QQQ."
    assert en["errors"][0]["message"] == "Unknown species code QQQ."
    assert es["errors"][0]["in"] == "json"


# --- rejected items, one rule at a time ---------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)


CATCH_CASES: list[tuple[str, dict[str, Any], set[tuple[str, str]]]] = [
    ("unknown species", {"species_code": "ZZZ"}, {("species_code", "unknown_species")}),
    ("unknown gear", {"gear_code": "XXGEAR"}, {("gear_code", "unknown_gear")}),
    ("zero weight", {"landed_kg": 0}, {("landed_kg", "must_be_positive")}),
    ("negative weight", {"landed_kg": -4.5, "live_kg": None}, {("landed_kg", "must_be_positive")}),
    ("absurd weight", {"landed_kg": 25_000, "live_kg": 26_000},
     {("landed_kg", "weight_too_large"), ("live_kg", "weight_too_large")}),
    ("absurd count", {"count": 5_000_000}, {("count", "range_max")}),
    ("live below landed", {"landed_kg": 40, "live_kg": 39.999}, {("live_kg", "live_below_landed")}),
    ("caught in the future", {"caught_at": None}, {("caught_at", "in_future")}),
    ("caught before the trip", {"caught_at": "before"}, {("caught_at", "catch_outside_trip")}),
    ("caught after the return", {"caught_at": "after"}, {("caught_at", "catch_outside_trip")}),
    ("naive time", {"caught_at": "2024-05-01T10:00:00"}, {("caught_at", "not_a_datetime")}),
    ("latitude > 90", {"position": {"type": "Point", "coordinates": [-106.5, 90.5]}},
     {("position.coordinates.1", "latitude_out_of_range")}),
    ("longitude > 180", {"position": {"type": "Point", "coordinates": [180.01, 23.0]}},
     {("position.coordinates.0", "longitude_out_of_range")}),
    ("linestring for a point",
     {"position": {"type": "LineString", "coordinates": [[-106.5, 23.0], [-106.4, 23.1]]}},
     {("position.type", "wrong_geometry_type")}),
    ("string for a weight", {"landed_kg": "42.5"}, {("landed_kg", "not_a_number")}),
    ("string for a price", {"unit_price": "95"}, {("unit_price", "not_a_number")}),
    ("string for a count", {"count": "12"}, {("count", "not_an_integer")}),
    ("string for a coordinate", {"position": {"type": "Point", "coordinates": ["-106.5", 23]}},
     {("position.coordinates.0", "not_a_number")}),
    ("string NaN for a weight", {"landed_kg": "NaN"}, {("landed_kg", "not_a_number")}),
    ("string Infinity for a weight", {"live_kg": "Infinity"}, {("live_kg", "not_a_number")}),
    ("boolean for a weight", {"landed_kg": True}, {("landed_kg", "not_a_number")}),
    ("unknown presentation", {"presentation": "smoked"}, {("presentation", "one_of")}),
    ("unknown field", {"colour": "blue"}, {("colour", "unknown_field")}),
    ("missing species", {"species_code": "__drop__"}, {("species_code", "required")}),
    ("unknown trip", {"trip_id": "__random__"}, {("trip_id", "unknown_trip")}),
]


@pytest.mark.parametrize(("over", "expected"), [c[1:] for c in CATCH_CASES],
                         ids=[c[0] for c in CATCH_CASES])
def test_catch_rejected(factory: Factory, db: Session, over: dict[str, Any],
                        expected: set[tuple[str, str]]) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    over = dict(over)
    if "caught_at" in over and over["caught_at"] in (None, "before", "after"):
        departed = datetime.fromisoformat(t["departed_at"])
        returned = datetime.fromisoformat(t["returned_at"])
        over["caught_at"] = iso({None: _now() + timedelta(hours=2),
                                 "before": departed - timedelta(hours=3),
                                 "after": returned + timedelta(minutes=40)}[over["caught_at"]])
    trip_id = str(uuid.uuid4()) if over.pop("trip_id", None) == "__random__" else t["id"]
    k = catch_item(trip_id, **over)
    if k.get("species_code") == "__drop__":
        del k["species_code"]
    control = catch_item(t["id"])
    res = push(c.fisher.api, [t, k, control])
    assert statuses(res) == ["created", "rejected", "created"]
    assert codes(res[1]) == expected
    assert "server" not in res[1]
    for e in res[1]["errors"]:
        assert e["in"] == "json" and e["message"]
    assert catch_rows(db, k["id"]) == 0
    assert catch_rows(db, control["id"]) == 1


TRIP_CASES: list[tuple[str, dict[str, Any], set[tuple[str, str]]]] = [
    ("unknown gear", {"gear_code": "XXGEAR"}, {("gear_code", "unknown_gear")}),
    ("unknown vessel", {"vessel_id": "__random__"}, {("vessel_id", "unknown_vessel")}),
    ("another coop's vessel", {"vessel_id": "__other__"}, {("vessel_id", "unknown_vessel")}),
    ("return before departure", {"returned_at": "before"}, {("returned_at", "return_before_departure")}),
    ("departure in the future", {"departed_at": "future", "returned_at": None},
     {("departed_at", "in_future")}),
    ("trip too long", {"departed_at": "long"}, {("returned_at", "trip_too_long")}),
    ("coop you are not in", {"org_id": "__other__"}, {("org_id", "no_membership")}),
    ("negative cost", {"costs": [{"kind": "fuel", "amount": -5}]}, {("costs.0.amount", "range_between")}),
    ("string cost", {"costs": [{"kind": "fuel", "amount": "850"}]}, {("costs.0.amount", "not_a_number")}),
    ("point for a track", {"track": {"type": "Point", "coordinates": [-106.5, 23.0]}},
     {("track.type", "wrong_geometry_type")}),
]


@pytest.mark.parametrize(("over", "expected"), [c[1:] for c in TRIP_CASES],
                         ids=[c[0] for c in TRIP_CASES])
def test_trip_rejected(factory: Factory, db: Session, over: dict[str, Any],
                       expected: set[tuple[str, str]]) -> None:
    c = factory.coop()
    other = factory.coop()
    over = dict(over)
    now = _now()
    vessel = over.pop("vessel_id", None)
    vessel_id = {None: c.vessel_id, "__random__": uuid.uuid4(), "__other__": other.vessel_id}[vessel]
    if over.get("org_id") == "__other__":
        over["org_id"] = str(other.org.id)
    if over.get("returned_at") == "before":
        over["returned_at"] = iso(now - timedelta(hours=11))
    if over.get("departed_at") == "future":
        over["departed_at"] = iso(now + timedelta(hours=1))
    if over.get("departed_at") == "long":
        over["departed_at"] = iso(now - timedelta(days=90))
    t = trip_item(vessel_id, **over)
    control = trip_item(c.vessel_id)
    res = push(c.fisher.api, [t, control])
    assert statuses(res) == ["rejected", "created"]
    assert codes(res[0]) == expected
    assert trip_rows(db, t["id"]) == 0 and trip_rows(db, control["id"]) == 1


def test_catch_of_a_rejected_trip_is_unknown_trip(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id, gear_code="NOPE")
    k = catch_item(t["id"])
    res = push(c.fisher.api, [t, k])
    assert statuses(res) == ["rejected", "rejected"]
    assert codes(res[1]) == {("trip_id", "unknown_trip")}
    assert catch_rows(db, k["id"]) == 0


def test_another_members_trip_is_unknown_and_not_leaked(factory: Factory, db: Session) -> None:
    c = factory.coop()
    colleague = factory.person(c.org)
    stranger = factory.coop()
    mine = trip_item(c.vessel_id, notes="secret spot")
    theirs = trip_item(stranger.vessel_id)
    assert statuses(push(colleague.api, [mine])) == ["created"]
    assert statuses(push(stranger.fisher.api, [theirs])) == ["created"]
    k1, k2 = catch_item(mine["id"]), catch_item(theirs["id"])
    res = push(c.fisher.api, [k1, k2])
    assert statuses(res) == ["rejected", "rejected"]
    assert codes(res[0]) == {("trip_id", "unknown_trip")}
    assert codes(res[1]) == {("trip_id", "unknown_trip")}
    text = json.dumps(res)
    # Nothing about the trip beyond the id the caller sent.
    for secret in ("secret spot", str(colleague.member.id), str(stranger.org.id), "server"):
        assert secret not in text
    assert catch_rows(db, k1["id"], k2["id"]) == 0
    # Taking over someone else's trip id is refused too, not merged.
    res = push(c.fisher.api, [dict(mine, notes="mine now")])
    assert statuses(res) == ["rejected"]
    assert codes(res[0]) == {("id", "duplicate_value")}
    assert "secret spot" not in json.dumps(res)


def test_zero_catch_trip_cannot_have_catches(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id, zero_catch=True)
    k = catch_item(t["id"])
    res = push(c.fisher.api, [t, k])
    assert statuses(res) == ["created", "rejected"]
    assert codes(res[1]) == {("trip_id", "zero_catch_has_catches")}
    # ... nor later, in another batch.
    k2 = catch_item(t["id"])
    (r,) = push(c.fisher.api, [k2])
    assert r["status"] == "rejected" and codes(r) == {("trip_id", "zero_catch_has_catches")}
    assert catch_rows(db, k["id"], k2["id"]) == 0


def test_conflicting_copy_of_a_trip_does_not_validate_its_catches(
        factory: Factory, db: Session) -> None:
    """The server's trip rules, not a rejected copy's: a zero-catch trip stays zero-catch."""
    c = factory.coop()
    t = trip_item(c.vessel_id, zero_catch=True)
    push(c.fisher.api, [t])
    k = catch_item(t["id"])
    res = push(c.fisher.api, [dict(t, zero_catch=False), k])
    assert statuses(res) == ["conflict", "rejected"]
    assert res[0]["server"]["zero_catch"] is True
    assert codes(res[1]) == {("trip_id", "zero_catch_has_catches")}
    assert catch_rows(db, k["id"]) == 0


def test_catch_on_a_cancelled_trip_is_rejected(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    push(c.fisher.api, [t])
    tomb = {"type": "trip", "id": t["id"], "version": 2, "cancelled": True}
    k = catch_item(t["id"])
    res = push(c.fisher.api, [tomb, k])
    assert statuses(res) == ["created", "rejected"]
    assert codes(res[1]) == {("trip_id", "already_cancelled")}
    assert catch_rows(db, k["id"]) == 0
    db.rollback()
    assert db.scalar(select(Trip.status).where(Trip.id == uuid.UUID(t["id"]))) == "cancelled"


def test_catch_on_a_trip_of_a_coop_you_left(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    push(c.fisher.api, [t])
    db.execute(update(Membership).where(Membership.member_id == c.fisher.member.id)
               .values(status=MembershipStatus.removed))
    db.commit()
    k = catch_item(t["id"])
    (r,) = push(c.fisher.api, [k])
    assert r["status"] == "rejected"
    assert codes(r) == {("trip_id", "no_membership")}
    assert catch_rows(db, k["id"]) == 0


def test_same_item_twice_in_a_batch(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    res = push(c.fisher.api, [t, k, dict(k), dict(t, notes="again")])
    assert statuses(res) == ["created", "created", "rejected", "rejected"]
    assert codes(res[2]) == {("id", "duplicate_in_batch")}
    assert codes(res[3]) == {("id", "duplicate_in_batch")}
    assert catch_rows(db, k["id"]) == 1 and trip_rows(db, t["id"]) == 1


def test_malformed_items_are_rejected_one_by_one(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    items: list[Any] = [
        {"type": "boat", "id": str(uuid.uuid4())},
        {"type": "catch", "id": "not-a-uuid"},
        {"type": "catch", "id": str(uuid.uuid4()), "version": 0},
        {"type": "catch", "id": str(uuid.uuid4()), "version": "2"},
        {"type": "catch", "id": str(uuid.uuid4()), "version": 1, "cancelled": True},
        t,
    ]
    res = push(c.fisher.api, items)
    assert statuses(res) == ["rejected"] * 5 + ["created"]
    assert codes(res[0]) == {("type", "one_of")}
    assert codes(res[1]) == {("id", "not_a_uuid")}
    assert codes(res[2]) == {("version", "range_min")}
    assert codes(res[3]) == {("version", "not_an_integer")}
    assert codes(res[4]) == {("version", "version_gap")}
    assert trip_rows(db, t["id"]) == 1


# --- the body: JSON, gzip, size ---------------------------------------------------------------

@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_the_body_is_malformed_json(factory: Factory, db: Session, token: str) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    raw = json.dumps({"items": [t, k]}).replace('"landed_kg": 42.5', f'"landed_kg": {token}')
    assert token in raw
    r = c.fisher.api.post(PUSH, data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["code"] == "malformed_json"
    assert trip_rows(db, t["id"]) == 0 and catch_rows(db, k["id"]) == 0


def test_nan_in_coordinates_is_malformed_json(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"])
    raw = json.dumps({"items": [t, k]}).replace("[-106.55, 23.05]", "[NaN, 23.05]")
    assert "NaN" in raw
    r = c.fisher.api.post(PUSH, data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["code"] == "malformed_json"
    assert trip_rows(db, t["id"]) == 0


@pytest.fixture
def small_app(database_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": database_url, "SYNC_MAX_ITEMS": 5, "ENV": "test",
                      "SECRET_KEY": "small-" + secrets.token_hex(16)})
    yield app
    app.extensions["cardumen.engine"].dispose()


def test_batch_over_the_item_limit_is_413(small_app: Flask, db: Session) -> None:
    f = Factory(small_app, db)
    c = f.coop()
    items = trip_with_catches(c, 5)  # 6 items
    r = c.fisher.api.post(PUSH, {"items": items})
    assert r.status_code == 413
    body = r.get_json()
    assert body["code"] == "too_many_items"
    assert "5" in body["detail"]
    assert trip_rows(db, items[0]["id"]) == 0
    assert catch_rows(db, *(i["id"] for i in items[1:])) == 0
    assert statuses(push(c.fisher.api, items[:5])) == ["created"] * 5


def test_gzip_body(factory: Factory, db: Session) -> None:
    c = factory.coop()
    items = trip_with_catches(c, 2)
    raw = gzip.compress(json.dumps({"device_id": "gz", "items": items}).encode())
    r = c.fisher.api.post(PUSH, data=raw, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.get_json()
    assert statuses(r.get_json()["results"]) == ["created"] * 3
    assert catch_rows(db, items[1]["id"], items[2]["id"]) == 2
    assert stored_catch(db, items[1]["id"]).device_id == "gz"


@pytest.mark.parametrize("raw", [b"\x1f\x8b\x08\x00garbage", b"{\"items\": []}",
                                 gzip.compress(b'{"items": []}')[:-6]],
                         ids=["garbage", "plain-json", "truncated"])
def test_malformed_gzip_is_400(factory: Factory, raw: bytes) -> None:
    c = factory.coop()
    r = c.fisher.api.post(PUSH, data=raw, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 400
    assert r.get_json()["code"] == "malformed_gzip"


def test_push_needs_a_token(anon: Api) -> None:
    r = anon.post(PUSH, {"items": []})
    assert r.status_code == 401
    assert r.get_json()["code"] == "token_missing"


# --- enrichment -------------------------------------------------------------------------------

def _push_one(c: Coop, position: dict[str, Any] | None) -> dict[str, Any]:
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"], position=position)
    assert statuses(push(c.fisher.api, [t, k])) == ["created", "created"]
    r = c.fisher.api.get(f"/api/v1/catches/{k['id']}")
    assert r.status_code == 200
    out: dict[str, Any] = r.get_json()
    return out


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def test_fao_area_off_mazatlan_is_77(factory: Factory) -> None:
    k = _push_one(factory.coop(), _point(-106.55, 23.05))
    assert k["fao_area"] == "77"
    assert k["quality_flags"] == []
    assert k["zone_ids"] == []


def test_fao_area_in_the_bay_of_campeche_is_31(factory: Factory) -> None:
    k = _push_one(factory.coop(), _point(-92.5, 20.0))
    assert k["fao_area"] == "31"
    assert k["quality_flags"] == []


def test_position_on_land_is_stored_and_flagged(factory: Factory, db: Session) -> None:
    k = _push_one(factory.coop(), _point(-99.13, 19.43))  # Mexico City
    assert k["status"] == "active"
    assert "on_land" in k["quality_flags"]
    assert "in_no_take_zone" not in k["quality_flags"]
    assert stored_catch(db, k["id"]).quality_flags == k["quality_flags"]


def test_no_position_is_flagged(factory: Factory) -> None:
    k = _push_one(factory.coop(), None)
    assert k["position"] is None
    assert k["fao_area"] is None
    assert k["quality_flags"] == ["no_position"]


def test_catch_in_a_no_take_zone(factory: Factory, db: Session) -> None:
    # A tiny zone of our own, at sea (FAO 77), somewhere no other test fishes.
    lon = -107.5 + secrets.randbelow(1000) / 10_000
    lat = 21.5 + secrets.randbelow(1000) / 10_000
    zone = Zone(kind=ZoneKind.no_take, code=f"NT-{secrets.token_hex(3)}", name="Refugio de prueba",
                geom=from_shape(MultiPolygon([box(lon - 0.001, lat - 0.001,
                                                  lon + 0.001, lat + 0.001)]), srid=4326))
    db.add(zone)
    db.commit()
    try:
        c = factory.coop()
        inside = _push_one(c, _point(lon, lat))
        outside = _push_one(c, _point(lon + 0.01, lat))
        assert "in_no_take_zone" in inside["quality_flags"]
        assert inside["zone_ids"] == [str(zone.id)]
        assert inside["fao_area"] == "77"
        assert "in_no_take_zone" not in outside["quality_flags"]
        assert outside["zone_ids"] == []
        stored = stored_catch(db, inside["id"])
        assert stored.zone_ids == [zone.id]
    finally:
        db.execute(update(Zone).where(Zone.id == zone.id).values(retired_at=func.now()))
        db.commit()
