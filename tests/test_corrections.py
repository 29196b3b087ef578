"""Corrections and cancellations of catches: REST (PATCH/DELETE) and sync (version n+1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catches.models import Catch
from tests.conftest import Api, Coop, Factory, catch_item, iso, trip_item
from tests.test_feed import drain_until
from tests.test_sync import catch_rows, codes, push, statuses


def _logged(c: Coop, **over: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    t = trip_item(c.vessel_id)
    k = catch_item(t["id"], **over)
    assert statuses(push(c.fisher.api, [t, k])) == ["created", "created"]
    return t, k


def _url(k: dict[str, Any]) -> str:
    return f"/api/v1/catches/{k['id']}"


def _versions(db: Session, catch_id: str) -> list[Catch]:
    db.rollback()
    return list(db.scalars(select(Catch).where(Catch.id == uuid.UUID(catch_id))
                           .order_by(Catch.version).execution_options(populate_existing=True)))


def _feed_entry(api: Api, catch_id: str) -> dict[str, Any]:
    """The catch as the owner's feed shows it (pulled from the start, every page)."""
    changes, _ = drain_until(api, {("catch", catch_id)})
    found = [ch for ch in changes if ch["id"] == catch_id]
    assert len(found) == 1, found
    return found[0]


# --- PATCH ------------------------------------------------------------------------------------

def test_patch_makes_version_2_and_keeps_version_1(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    r = c.fisher.api.patch(_url(k), {"base_version": 1, "landed_kg": 40.25, "notes": "pesado otra vez"})
    assert r.status_code == 201, r.get_json()
    assert r.headers["ETag"] == '"v2"'
    new = r.get_json()
    assert new["version"] == 2 and new["landed_kg"] == 40.25 and new["notes"] == "pesado otra vez"
    assert new["live_kg"] == 45.0 and new["species_code"] == "LJS"  # kept from version 1
    assert new["superseded_at"] is None

    v1, v2 = _versions(db, k["id"])
    assert (v1.version, v2.version) == (1, 2)
    assert v1.superseded_at is not None and v2.superseded_at is None
    assert v1.landed_kg == Decimal("42.500") and v2.landed_kg == Decimal("40.250")
    assert v1.notes is None
    assert v2.fao_area == "77"  # enriched again
    assert v2.recorded_by == v2.member_id == c.fisher.member.id

    r = c.fisher.api.get(_url(k))
    assert r.status_code == 200 and r.headers["ETag"] == '"v2"'
    assert r.get_json()["version"] == 2 and r.get_json()["landed_kg"] == 40.25

    r = c.fisher.api.get(_url(k) + "/versions")
    assert r.status_code == 200
    versions = r.get_json()
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["landed_kg"] for v in versions] == [42.5, 40.25]
    assert versions[0]["superseded_at"] is not None and versions[1]["superseded_at"] is None

    r = c.fisher.api.get("/api/v1/catches", query_string={"trip_id": k["trip_id"]})
    assert [(i["id"], i["version"]) for i in r.get_json()["items"]] == [(k["id"], 2)]


def test_stale_base_version_is_412(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    assert c.fisher.api.patch(_url(k), {"base_version": 1, "landed_kg": 40}).status_code == 201
    r = c.fisher.api.patch(_url(k), {"base_version": 1, "landed_kg": 41})
    assert r.status_code == 412
    assert r.get_json()["code"] == "precondition_failed"
    r = c.fisher.api.patch(_url(k), {"base_version": 7, "landed_kg": 41})
    assert r.status_code == 412
    assert [v.landed_kg for v in _versions(db, k["id"])] == [Decimal("42.500"), Decimal("40.000")]


def test_patch_without_base_version_is_422(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    r = c.fisher.api.patch(_url(k), {"landed_kg": 40})
    assert r.status_code == 422
    assert codes(r.get_json()) == {("base_version", "required")}
    assert catch_rows(db, k["id"]) == 1


def test_if_match(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    etag = c.fisher.api.get(_url(k)).headers["ETag"]
    assert etag == '"v1"'
    r = c.fisher.api.patch(_url(k), {"landed_kg": 41}, headers={"If-Match": etag})
    assert r.status_code == 201 and r.get_json()["version"] == 2
    r = c.fisher.api.patch(_url(k), {"landed_kg": 39}, headers={"If-Match": etag})
    assert r.status_code == 412
    r = c.fisher.api.patch(_url(k), {"landed_kg": 39}, headers={"If-Match": 'W/"v2"'})
    assert r.status_code == 201 and r.get_json()["version"] == 3
    assert [v.version for v in _versions(db, k["id"])] == [1, 2, 3]


def test_patch_follows_the_push_rules(factory: Factory, db: Session) -> None:
    c = factory.coop()
    t, k = _logged(c)
    other_trip = trip_item(c.vessel_id)
    colleague = factory.person(c.org)
    assert statuses(push(colleague.api, [other_trip])) == ["created"]
    departed = datetime.fromisoformat(t["departed_at"])
    cases: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
        ({"species_code": "ZZZ"}, {("species_code", "unknown_species")}),
        ({"gear_code": "NOPE"}, {("gear_code", "unknown_gear")}),
        ({"caught_at": iso(departed - timedelta(days=2))}, {("caught_at", "catch_outside_trip")}),
        ({"caught_at": iso(datetime.now(UTC) + timedelta(hours=3))}, {("caught_at", "in_future")}),
        ({"live_kg": 10}, {("live_kg", "live_below_landed")}),
        ({"landed_kg": 90_000, "live_kg": 95_000},
         {("landed_kg", "weight_too_large"), ("live_kg", "weight_too_large")}),
        ({"landed_kg": "40"}, {("landed_kg", "not_a_number")}),
        ({"position": {"type": "Point", "coordinates": [200, 0]}},
         {("position.coordinates.0", "longitude_out_of_range")}),
        ({"trip_id": str(uuid.uuid4())}, {("trip_id", "unknown_trip")}),
        ({"trip_id": other_trip["id"]}, {("trip_id", "unknown_trip")}),  # a colleague's
    ]
    for change, expected in cases:
        r = c.fisher.api.patch(_url(k), {"base_version": 1, **change})
        assert r.status_code == 422, (change, r.get_json())
        assert r.get_json()["code"] == "validation_error"
        assert codes(r.get_json()) == expected, change
    assert catch_rows(db, k["id"]) == 1


def test_patch_can_move_a_catch_to_another_own_trip(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    t2 = trip_item(c.vessel_id)
    push(c.fisher.api, [t2])
    r = c.fisher.api.patch(_url(k), {"base_version": 1, "trip_id": t2["id"]})
    assert r.status_code == 201
    assert r.get_json()["trip_id"] == t2["id"]
    assert _versions(db, k["id"])[1].trip_id == uuid.UUID(t2["id"])


# --- DELETE -----------------------------------------------------------------------------------

def test_delete_makes_a_tombstone_and_keeps_history(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    r = c.fisher.api.delete(_url(k), {"base_version": 1})
    assert r.status_code == 200, r.get_json()
    tomb = r.get_json()
    assert tomb["status"] == "cancelled" and tomb["deleted"] is True and tomb["version"] == 2
    assert tomb["landed_kg"] == 42.5  # a tombstone copies the content it cancels
    v1, v2 = _versions(db, k["id"])
    assert v1.status == "active" and v1.superseded_at is not None
    assert v2.status == "cancelled" and v2.superseded_at is None

    r = c.fisher.api.get(_url(k))
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert [v["status"] for v in c.fisher.api.get(_url(k) + "/versions").get_json()] == [
        "active", "cancelled"]
    listed = c.fisher.api.get("/api/v1/catches", query_string={"trip_id": k["trip_id"]}).get_json()
    assert listed["items"] == []
    listed = c.fisher.api.get("/api/v1/catches", query_string={
        "trip_id": k["trip_id"], "include_cancelled": "true"}).get_json()
    assert [i["status"] for i in listed["items"]] == ["cancelled"]

    entry = _feed_entry(c.fisher.api, k["id"])
    assert entry["deleted"] is True and entry["version"] == 2

    r = c.fisher.api.delete(_url(k), {"base_version": 2})
    assert r.status_code == 409 and r.get_json()["code"] == "already_cancelled"
    r = c.fisher.api.patch(_url(k), {"base_version": 2, "landed_kg": 1})
    assert r.status_code == 409
    r = c.fisher.api.delete(_url(k), {"base_version": 1})
    assert r.status_code == 412
    assert catch_rows(db, k["id"]) == 2


# --- corrections through sync -----------------------------------------------------------------

def test_sync_correction_and_its_retry(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    v2 = dict(k, version=2, landed_kg=30.5, live_kg=33.0)
    (r,) = push(c.fisher.api, [v2])
    assert r["status"] == "created" and r["version"] == 2
    (r,) = push(c.fisher.api, [v2])
    assert r["status"] == "duplicate"
    versions = _versions(db, k["id"])
    assert [(v.version, v.landed_kg) for v in versions] == [(1, Decimal("42.500")), (2, Decimal("30.500"))]
    assert versions[0].superseded_at is not None and versions[1].superseded_at is None
    # And the first version pushed again is still a duplicate, not a conflict.
    (r,) = push(c.fisher.api, [k])
    assert r["status"] == "duplicate"

    tomb = {"type": "catch", "id": k["id"], "version": 3, "cancelled": True}
    assert statuses(push(c.fisher.api, [tomb])) == ["created"]
    assert statuses(push(c.fisher.api, [tomb])) == ["duplicate"]
    versions = _versions(db, k["id"])
    assert [(v.version, v.status) for v in versions] == [
        (1, "active"), (2, "active"), (3, "cancelled")]
    assert versions[2].landed_kg == Decimal("30.500")
    # Nothing follows a tombstone.
    (r,) = push(c.fisher.api, [dict(k, version=4, landed_kg=1, live_kg=None)])
    assert r["status"] == "conflict" and r["server"]["version"] == 3
    assert catch_rows(db, k["id"]) == 3


def test_sync_correction_of_a_stale_version_is_a_conflict(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    # Another device corrected it first.
    assert statuses(push(c.fisher.api, [dict(k, version=2, landed_kg=20.0)], device_id="tablet")) == [
        "created"]
    # This phone, still at version 1, sends its own version 2.
    (r,) = push(c.fisher.api, [dict(k, version=2, landed_kg=25.0)], device_id="phone")
    assert r["status"] == "conflict"
    assert r["server"]["version"] == 2 and r["server"]["landed_kg"] == 20.0
    # A version out of sequence is a conflict too, with the current copy.
    (r,) = push(c.fisher.api, [dict(k, version=4, landed_kg=25.0)])
    assert r["status"] == "conflict" and r["server"]["version"] == 2
    assert [v.landed_kg for v in _versions(db, k["id"])] == [Decimal("42.500"), Decimal("20.000")]


def test_sync_correction_is_validated(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    (r,) = push(c.fisher.api, [dict(k, version=2, species_code="ZZZ")])
    assert r["status"] == "rejected" and codes(r) == {("species_code", "unknown_species")}
    (r,) = push(c.fisher.api, [dict(k, version=2, landed_kg=-1)])
    assert r["status"] == "rejected" and codes(r) == {("landed_kg", "must_be_positive")}
    assert catch_rows(db, k["id"]) == 1


def test_sync_tombstone_of_an_unknown_catch(factory: Factory, db: Session) -> None:
    c = factory.coop()
    ghost = str(uuid.uuid4())
    (r,) = push(c.fisher.api, [{"type": "catch", "id": ghost, "version": 2, "cancelled": True}])
    assert r["status"] == "rejected" and codes(r) == {("id", "not_found")}
    assert catch_rows(db, ghost) == 0


# --- who may read and correct -----------------------------------------------------------------

def test_another_members_catch_is_404(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    colleague = factory.person(c.org)
    stranger = factory.coop().fisher
    for who in (colleague, stranger):
        assert who.api.get(_url(k)).status_code == 404
        assert who.api.get(_url(k) + "/versions").status_code == 404
        r = who.api.patch(_url(k), {"base_version": 1, "landed_kg": 1})
        assert r.status_code == 404 and r.get_json()["code"] == "not_found"
        assert who.api.delete(_url(k), {"base_version": 1}).status_code == 404
        # Through sync: a correction or a tombstone of someone else's catch.
        (r,) = push(who.api, [dict(k, version=2, landed_kg=1)])
        assert r["status"] == "rejected" and codes(r) == {("trip_id", "unknown_trip")}
        (r,) = push(who.api, [{"type": "catch", "id": k["id"], "version": 2, "cancelled": True}])
        assert r["status"] == "rejected" and codes(r) == {("id", "not_found")}
        assert "server" not in r
    versions = _versions(db, k["id"])
    assert len(versions) == 1 and versions[0].status == "active"


def test_coop_admin_reads_and_corrects(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    admin = c.admin.api
    r = admin.get(_url(k))
    assert r.status_code == 200 and r.get_json()["member_id"] == str(c.fisher.member.id)
    listed = admin.get("/api/v1/catches", query_string={"org_id": str(c.org.id)}).get_json()
    assert [i["id"] for i in listed["items"]] == [k["id"]]
    trips = admin.get("/api/v1/trips", query_string={"org_id": str(c.org.id)}).get_json()
    assert [i["id"] for i in trips["items"]] == [k["trip_id"]]

    r = admin.patch(_url(k), {"base_version": 1, "species_code": "SKJ"})
    assert r.status_code == 201, r.get_json()
    v2 = r.get_json()
    assert v2["version"] == 2 and v2["species_code"] == "SKJ"
    assert v2["member_id"] == str(c.fisher.member.id)  # still the fisher's catch
    assert v2["recorded_by"] == str(c.admin.member.id)  # corrected by the admin
    # The fisher sees the admin's correction in their feed.
    assert _feed_entry(c.fisher.api, k["id"])["species_code"] == "SKJ"
    r = admin.delete(_url(k), {"base_version": 2})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert [v.version for v in _versions(db, k["id"])] == [1, 2, 3]


def test_admin_of_another_coop_gets_404(factory: Factory, db: Session) -> None:
    c = factory.coop()
    _, k = _logged(c)
    other = factory.coop().admin.api
    assert other.get(_url(k)).status_code == 404
    assert other.get(_url(k) + "/versions").status_code == 404
    assert other.patch(_url(k), {"base_version": 1, "landed_kg": 1}).status_code == 404
    assert other.delete(_url(k), {"base_version": 1}).status_code == 404
    r = other.get("/api/v1/catches", query_string={"org_id": str(c.org.id)})
    assert r.status_code == 404
    r = other.get(f"/api/v1/trips/{k['trip_id']}")
    assert r.status_code == 404
    # A fisher of the coop may not list the whole coop.
    r = factory.person(c.org).api.get("/api/v1/catches", query_string={"org_id": str(c.org.id)})
    assert r.status_code == 403
    assert catch_rows(db, k["id"]) == 1


# --- trips: corrected in place, history in trip_revision --------------------------------------

def test_trip_corrections_and_late_retries(factory: Factory, db: Session) -> None:
    from server.catches.models import Trip, TripRevision

    c = factory.coop()
    t = trip_item(c.vessel_id)
    v2 = dict(t, version=2, notes="segunda")
    v3 = dict(t, version=3, notes="tercera", gear_code="LLS")
    assert statuses(push(c.fisher.api, [t])) == ["created"]
    assert statuses(push(c.fisher.api, [v2])) == ["created"]
    assert statuses(push(c.fisher.api, [v3])) == ["created"]
    # Late retries of batches already stored: duplicates, whatever came since.
    assert statuses(push(c.fisher.api, [t, v2, v3])) == ["duplicate"] * 3
    # Other content under an old version: a conflict, with the current copy.
    res = push(c.fisher.api, [dict(t, notes="otra"), dict(v2, notes="otra")])
    assert statuses(res) == ["conflict", "conflict"]
    assert {r["server"]["version"] for r in res} == {3}
    assert res[0]["server"]["notes"] == "tercera"
    db.rollback()
    trip = db.scalar(select(Trip).where(Trip.id == uuid.UUID(t["id"]))
                     .execution_options(populate_existing=True))
    assert trip is not None and (trip.version, trip.notes, trip.gear_code) == (3, "tercera", "LLS")
    revs = db.scalars(select(TripRevision).where(TripRevision.trip_id == trip.id)
                      .order_by(TripRevision.version)).all()
    assert [(r.version, r.data["notes"], r.replaced_by) for r in revs] == [
        (1, None, c.fisher.member.id), (2, "segunda", c.fisher.member.id)]
    # A tombstone, retried.
    tomb = {"type": "trip", "id": t["id"], "version": 4, "cancelled": True}
    assert statuses(push(c.fisher.api, [tomb])) == ["created"]
    assert statuses(push(c.fisher.api, [tomb, v3])) == ["duplicate", "duplicate"]
    (r,) = push(c.fisher.api, [dict(t, version=5, notes="revive")])
    assert r["status"] == "conflict" and r["server"]["deleted"] is True


def test_trip_with_catches_cannot_become_zero_catch_or_be_cancelled(factory: Factory) -> None:
    c = factory.coop()
    api = c.fisher.api
    trip = trip_item(c.vessel_id)
    catch = catch_item(trip["id"])
    r = api.post("/api/v1/sync/push", {"items": [trip, catch]})
    assert [x["status"] for x in r.get_json()["results"]] == ["created", "created"]

    zero = dict(trip, version=2, zero_catch=True)
    gone = {"type": "trip", "id": trip["id"], "version": 2, "cancelled": True}
    for item, field in ((zero, "zero_catch"), (gone, "cancelled")):
        (res,) = api.post("/api/v1/sync/push", {"items": [item]}, lang="en").get_json()["results"]
        assert res["status"] == "rejected"
        assert [(e["field"], e["code"]) for e in res["errors"]] == [(field, "trip_has_catches")]

    # Once its catch is cancelled, the trip may be cancelled too.
    tomb = {"type": "catch", "id": catch["id"], "version": 2, "cancelled": True}
    assert api.post("/api/v1/sync/push", {"items": [tomb]}).get_json()["results"][0]["status"] \
        == "created"
    (res,) = api.post("/api/v1/sync/push", {"items": [gone]}).get_json()["results"]
    assert res["status"] == "created"
    assert api.get(f"/api/v1/trips/{trip['id']}").get_json()["status"] == "cancelled"


def test_trip_times_cannot_leave_its_catches_outside(factory: Factory) -> None:
    c = factory.coop()
    api = c.fisher.api
    trip = trip_item(c.vessel_id)
    catch = catch_item(trip["id"])  # caught 5 h ago, the trip ran 10 h ago to 1 h ago
    assert [x["status"] for x in api.post("/api/v1/sync/push", {"items": [trip, catch]})
            .get_json()["results"]] == ["created", "created"]
    now = datetime.now(UTC)
    late_start = dict(trip, version=2, departed_at=iso(now - timedelta(hours=3)))
    (res,) = api.post("/api/v1/sync/push", {"items": [late_start]}).get_json()["results"]
    assert res["status"] == "rejected"
    assert [(e["field"], e["code"]) for e in res["errors"]] == [
        ("departed_at", "trip_excludes_catches")]
    early_start = dict(trip, version=2, departed_at=iso(now - timedelta(hours=12)))
    (res,) = api.post("/api/v1/sync/push", {"items": [early_start]}).get_json()["results"]
    assert res["status"] == "created"
