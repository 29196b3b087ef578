"""GET /api/v1/sync/changes: what a member pulls, paging, ETags, and no row skipped.

The feed returns rows only below the xmin of its snapshot, so a transaction
still open anywhere on the PostgreSQL cluster (transaction ids are cluster-wide:
another test session or a benchmark on another database of the same embedded
cluster) holds new rows back until it ends. Tests that expect rows to show up
poll for up to a minute; tests that expect nothing assert it at once.
"""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from server import feed
from server.catches import services as svc
from server.catches.models import Trip
from tests.conftest import Api, Coop, Factory, catch_item, trip_item
from tests.test_sync import push, statuses

CHANGES = "/api/v1/sync/changes"
WAIT = 30.0


def pull(api: Api, cursor: str | None = None, limit: int | None = None,
         headers: dict[str, str] | None = None) -> Any:
    q: dict[str, Any] = {}
    if cursor:
        q["cursor"] = cursor
    if limit:
        q["limit"] = limit
    return api.get(CHANGES, query_string=q, headers=headers)


def drain(api: Api, cursor: str | None = None, limit: int | None = None,
          ) -> tuple[list[dict[str, Any]], str, list[str]]:
    """Every page from ``cursor`` on: (changes, last cursor, cursors seen)."""
    changes: list[dict[str, Any]] = []
    cursors: list[str] = []
    for _ in range(1000):
        r = pull(api, cursor, limit)
        assert r.status_code == 200, r.get_json()
        page = r.get_json()
        if limit:
            assert len(page["changes"]) <= limit
        changes += page["changes"]
        cursor = page["cursor"]
        cursors.append(cursor)
        if not page["has_more"]:
            return changes, cursor, cursors
    raise AssertionError("the feed never ends")


def keys(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(ch["kind"], ch["id"]) for ch in changes]


def drain_until(api: Api, want: set[tuple[str, str]], cursor: str | None = None,
                limit: int | None = None) -> tuple[list[dict[str, Any]], str]:
    """Pull from ``cursor`` until every key of ``want`` came (what came meanwhile kept)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT
    while True:
        changes, cursor_out, _ = drain(api, cursor, limit)
        got += changes
        cursor = cursor_out
        if want <= set(keys(got)):
            return got, cursor_out
        if time.monotonic() > deadline:
            _held_back(api.client.application, want - set(keys(got)))
        time.sleep(0.1)


def _held_back(app: Flask, missing: set[tuple[str, str]]) -> None:
    """Fail, or skip when what holds the feed back is outside this test's database."""
    engine = app.extensions["cardumen.engine"]
    with engine.connect() as conn:
        blockers = conn.execute(text(
            "SELECT datname, pid, state, backend_xid::text AS xid, now() - xact_start AS age "
            "FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
            "AND pid <> pg_backend_pid()")).all()
    ours = [b for b in blockers if b.datname == engine.url.database]
    assert not ours, f"{missing} never came; transactions of this database hold the feed: {ours}"
    if blockers:
        pytest.skip(f"transactions in other databases of the cluster hold the feed back: "
                    f"{[tuple(b) for b in blockers]}")
    pytest.fail(f"{missing} never came, and nothing holds the feed back")


def _log(c: Coop, api: Api | None = None, trips: int = 1, per_trip: int = 2,
         vessel: uuid.UUID | None = None) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for _ in range(trips):
        t = trip_item(vessel or c.vessel_id)
        ks = [catch_item(t["id"], landed_kg=5 + i) for i in range(per_trip)]
        res = push(api or c.fisher.api, [t, *ks])
        assert statuses(res) == ["created"] * (1 + per_trip)
        out.add(("trip", t["id"]))
        out |= {("catch", k["id"]) for k in ks}
    return out


def test_first_pull_returns_own_records_only(factory: Factory) -> None:
    c = factory.coop()
    colleague = factory.person(c.org)
    stranger = factory.coop()
    mine = _log(c, trips=2, per_trip=2)
    theirs = _log(c, colleague.api)
    other_coop = _log(stranger)
    changes, _ = drain_until(c.fisher.api, mine)
    assert set(keys(changes)) == mine
    assert len(changes) == len(mine)  # each once
    assert not set(keys(changes)) & (theirs | other_coop)
    assert {ch["member_id"] for ch in changes} == {str(c.fisher.member.id)}
    assert {ch["org_id"] for ch in changes} == {str(c.org.id)}
    catch = next(ch for ch in changes if ch["kind"] == "catch")
    assert catch["type"] == "catch" and catch["version"] == 1 and catch["deleted"] is False
    assert catch["fao_area"] == "77"
    # The colleague sees theirs, not mine.
    changes, _ = drain_until(colleague.api, theirs)
    assert set(keys(changes)) == theirs


def test_paging_with_a_small_limit_covers_everything_once(factory: Factory) -> None:
    c = factory.coop()
    mine = _log(c, trips=3, per_trip=3)  # 12 records
    _, _ = drain_until(c.fisher.api, mine)  # until the feed has caught up with them all
    changes, last, cursors = drain(c.fisher.api, limit=5)
    assert len(cursors) >= 3  # 12 rows in pages of 5
    assert sorted(keys(changes)) == sorted(mine)
    assert len(keys(changes)) == len(set(keys(changes)))
    # Each cursor moves forward; only a last, empty page may repeat the one before.
    pos = [(p.xid, p.seq) for p in map(feed.decode, cursors)]
    steps = list(itertools.pairwise(pos))
    assert all(a < b for a, b in steps[:-1]) and steps[-1][0] <= steps[-1][1]
    # Pages of one give the same sequence as one big page.
    ones, _, _ = drain(c.fisher.api, limit=1)
    assert keys(ones) == keys(changes)
    # A trip comes before its catches (it was written first in the same batch).
    order = keys(changes)
    for kind, trip_id in (k for k in mine if k[0] == "trip"):
        catches = [i for i, ch in enumerate(changes) if ch.get("trip_id") == trip_id]
        assert order.index((kind, trip_id)) < min(catches)
    assert last == cursors[-1]


def test_pull_with_the_last_cursor_is_empty_and_etag_gives_304(factory: Factory) -> None:
    c = factory.coop()
    mine = _log(c)
    _, cursor = drain_until(c.fisher.api, mine)
    r = pull(c.fisher.api, cursor)
    assert r.status_code == 200
    page = r.get_json()
    assert page["changes"] == [] and page["has_more"] is False
    assert page["cursor"] == cursor
    etag = r.headers["ETag"]
    assert etag
    r = pull(c.fisher.api, cursor, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.data == b""
    assert r.headers["ETag"] == etag
    # Something new: the same ETag no longer matches.
    more = _log(c, per_trip=1)
    changes, cursor2 = drain_until(c.fisher.api, more, cursor)
    assert set(keys(changes)) == more
    r = pull(c.fisher.api, cursor, headers={"If-None-Match": etag})
    assert r.status_code == 200 and set(keys(r.get_json()["changes"])) == more
    assert r.headers["ETag"] != etag
    assert pull(c.fisher.api, cursor2).get_json()["changes"] == []


def test_feed_after_a_correction_returns_the_new_version(factory: Factory) -> None:
    c = factory.coop()
    t = trip_item(c.vessel_id)
    k1, k2 = catch_item(t["id"]), catch_item(t["id"])
    push(c.fisher.api, [t, k1, k2])
    _, cursor = drain_until(c.fisher.api, {("catch", k1["id"]), ("catch", k2["id"])})
    r = c.fisher.api.patch(f"/api/v1/catches/{k1['id']}", {"base_version": 1, "landed_kg": 12.5})
    assert r.status_code == 201
    assert statuses(push(c.fisher.api, [dict(t, version=2, notes="regresamos tarde")])) == ["created"]
    changes, _ = drain_until(c.fisher.api, {("catch", k1["id"]), ("trip", t["id"])}, cursor)
    assert sorted(keys(changes)) == sorted([("catch", k1["id"]), ("trip", t["id"])])
    by_kind = {ch["kind"]: ch for ch in changes}
    assert by_kind["catch"]["version"] == 2 and by_kind["catch"]["landed_kg"] == 12.5
    assert by_kind["catch"]["superseded_at"] is None
    assert by_kind["trip"]["version"] == 2 and by_kind["trip"]["notes"] == "regresamos tarde"
    # From the start, the corrected catch comes once, as its current version.
    everything, _, _ = drain(c.fisher.api)
    assert [ch["version"] for ch in everything if ch["id"] == k1["id"]] == [2]
    assert [ch["version"] for ch in everything if ch["id"] == k2["id"]] == [1]


def _cursor(raw: bytes) -> str:
    return "c1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage", "c1.", "c1.!!!!", "c2." + _cursor(b"1:1")[3:], _cursor(b"1"), _cursor(b"a:b"),
    _cursor(b"-1:5"), _cursor(b"1:2:3"), _cursor(b"\xff\xfe:1"),
    _cursor(b"99999999999999999999999:1"), _cursor(b"1:9223372036854775808"),
])
def test_invalid_cursor_is_400(factory: Factory, cursor: str) -> None:
    c = factory.coop()
    r = pull(c.fisher.api, cursor)
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["code"] == "invalid_cursor"
    assert [(e["field"], e["in"], e["code"]) for e in body["errors"]] == [
        ("cursor", "query", "invalid_cursor")]


def test_largest_cursor_is_valid_and_empty(factory: Factory) -> None:
    c = factory.coop()
    _log(c)
    r = pull(c.fisher.api, _cursor(b"9223372036854775807:9223372036854775807"))
    assert r.status_code == 200
    assert r.get_json()["changes"] == [] and r.get_json()["has_more"] is False


@pytest.mark.parametrize("limit", ["0", "-1", "2001", "ten"])
def test_invalid_limit_is_422(factory: Factory, limit: str) -> None:
    r = factory.coop().fisher.api.get(CHANGES, query_string={"limit": limit})
    assert r.status_code == 422
    assert [e["field"] for e in r.get_json()["errors"]] == ["limit"]


def test_feed_needs_a_token(anon: Api) -> None:
    assert anon.get(CHANGES).status_code == 401


def test_a_row_committed_out_of_order_is_never_skipped(
        app: Flask, factory: Factory, db: Session) -> None:
    c = factory.coop()
    api = c.fisher.api
    seen, cursor = drain_until(api, set())
    assert seen == []
    engine = app.extensions["cardumen.engine"]
    now = datetime.now(UTC)
    body = {"departed_at": now - timedelta(hours=6), "returned_at": now - timedelta(hours=2),
            "gear_code": "GNS", "vessel_id": c.vessel_id, "costs": []}
    a_id = uuid.uuid4()
    row = svc.trip_row(c.org.id, a_id, 1, body, member_id=c.fisher.member.id,
                       recorded_by=c.fisher.member.id, device_id="raw", cancelled=False,
                       digest=svc.content_hash({"org_id": c.org.id, **body}))
    b = trip_item(c.vessel_id)
    got: list[dict[str, Any]] = []
    with engine.connect() as conn_a:
        tx = conn_a.begin()
        # A: takes its transaction id and change_seq now, commits last.
        conn_a.execute(insert(Trip).values(row))
        try:
            # B: a later transaction, committed first, through the API.
            assert statuses(push(api, [b])) == ["created"]
            for _ in range(3):
                changes, cursor, _ = drain(api, cursor)
                got += changes
                assert ("trip", str(a_id)) not in keys(got)  # not committed: cannot be seen
                time.sleep(0.05)
        finally:
            tx.commit()
    db.rollback()
    seq = {r.id: r.change_seq for r in db.execute(select(Trip.id, Trip.change_seq).where(
        Trip.id.in_([a_id, uuid.UUID(b["id"])])))}
    # The case a plain sequence cursor gets wrong: A drew the smaller number.
    assert seq[a_id] < seq[uuid.UUID(b["id"])]
    more, _ = drain_until(api, {("trip", str(a_id)), ("trip", b["id"])}, cursor)
    got += more
    assert sorted(keys(got)) == sorted([("trip", str(a_id)), ("trip", b["id"])])  # each once
