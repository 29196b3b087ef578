"""Who sees which reports: platform admin, authority staff, cooperative admin, fisher, anonymous.

One world for the module (building it is the slow part): two authorities over
two cooperatives, a subscription on each, and their runs.

- ``region``: jurisdiction is a polygon around Mazatlán, no cooperative listed;
  its subscription names both cooperatives. Cooperative A fishes inside the
  polygon (plus one catch outside it), cooperative B fishes off La Paz, outside.
  Trips have no port, so each catch's position decides.
- ``listing``: jurisdiction is cooperative B, by name.

Tests that change a delivery (download, ack) each use a run no other test reads
the delivery status of.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import Api, Coop, Factory, Person, problem
from tests.reports.helpers import (
    Setup,
    items_of,
    local_today,
    log_trip,
    make_authority,
    run_now,
    subscribe,
)

REGION: dict[str, Any] = {"type": "Polygon", "coordinates": [[
    [-106.9, 22.8], [-106.2, 22.8], [-106.2, 23.4], [-106.9, 23.4], [-106.9, 22.8]]]}
LA_PAZ: dict[str, Any] = {"type": "Point", "coordinates": [-110.31, 24.14]}
CSV = "avisos_arribo.csv"
DAYS_BACK = 3


@dataclass
class Auth:
    id: str
    staff: Person
    sub: dict[str, Any]
    runs: list[dict[str, Any]]

    def run(self, org: Coop, day: date) -> dict[str, Any]:
        (run,) = [r for r in self.runs
                  if r["org_id"] == str(org.org.id) and r["period_start"] == day.isoformat()]
        return run

    def run_ids(self, org: Coop | None = None) -> set[str]:
        return {r["id"] for r in self.runs if org is None or r["org_id"] == str(org.org.id)}


@dataclass
class World:
    admin: Person
    a: Coop  # fishes inside the region
    b: Coop  # fishes off La Paz, outside the region
    fisher_a2: Person  # a second fisher of A
    region: Auth
    listing: Auth
    day: date  # the day with catches; the other days' runs are empty
    a_inside: list[str]  # ids of fisher A's catches inside the region
    a_outside: str  # fisher A's catch off La Paz
    a2_catch: str  # fisher A2's catch, inside
    b_catch: str  # fisher B's catch, outside


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    maker = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        f = Factory(app, sess)
        admin = f.person(platform_admin=True)
        a, b = f.coop(), f.coop()
        fisher_a2 = f.person(a.org)
        _, staff_r, region_id = make_authority(f, [], admin=admin, region=REGION)
        _, staff_l, listing_id = make_authority(f, [b], admin=admin)
        day = local_today() - timedelta(days=2)
        _, (in1, in2, out) = log_trip(a, day, [{}, {"species_code": "SIE"}, {"position": LA_PAZ}])
        _, (a2,) = log_trip(a, day, [{"landed_kg": 3}], fisher=fisher_a2)
        _, (bc,) = log_trip(b, day, [{"position": LA_PAZ}])

        s_r = Setup(a, admin, staff_r, region_id)
        sub_r = subscribe(s_r, days_back=DAYS_BACK, org_ids=[str(a.org.id), str(b.org.id)])
        s_l = Setup(b, admin, staff_l, listing_id)
        sub_l = subscribe(s_l, days_back=DAYS_BACK)
        yield World(admin, a, b, fisher_a2,
                    Auth(region_id, staff_r, sub_r, run_now(s_r, sub_r["id"])),
                    Auth(listing_id, staff_l, sub_l, run_now(s_l, sub_l["id"])),
                    day, [in1["id"], in2["id"]], out["id"], a2["id"], bc["id"])


# --- helpers ---------------------------------------------------------------------------------

def list_runs(api: Api, query: str = "") -> list[dict[str, Any]]:
    """Every run the caller may see (following the cursor), optionally filtered."""
    out: list[dict[str, Any]] = []
    url = f"/api/v1/reports/runs?limit=100{'&' + query if query else ''}"
    while True:
        r = api.get(url)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        out.extend(body["items"])
        if not body["next_cursor"]:
            return out
        url = f"/api/v1/reports/runs?limit=100&after={body['next_cursor']}{'&' + query if query else ''}"


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


def delivery_status(w: World, run_id: str) -> str:
    r = w.admin.api.get(f"/api/v1/reports/runs/{run_id}")
    assert r.status_code == 200
    status: str = r.get_json()["delivery"]["status"]
    return status


def run_paths(run_id: str) -> list[tuple[str, str]]:
    """Every way to read or act on one run."""
    base = f"/api/v1/reports/runs/{run_id}"
    return [("GET", base), ("GET", f"{base}/items"), ("GET", f"{base}/files/{CSV}"),
            ("GET", f"{base}/files/manifest.json"), ("POST", f"{base}/ack")]


def reconcile_url(authority_id: str, sub_id: str, day: date) -> str:
    return (f"/api/v1/authorities/{authority_id}/reconciliation?subscription_id={sub_id}"
            f"&period_from={day.isoformat()}&period_to={(day + timedelta(days=1)).isoformat()}")


def authority_paths(w: World, auth: Auth) -> list[str]:
    """What only the authority's staff (and the platform admin) may read."""
    return [f"/api/v1/authorities/{auth.id}",
            f"/api/v1/authorities/{auth.id}/subscriptions",
            f"/api/v1/reports/subscriptions/{auth.sub['id']}",
            reconcile_url(auth.id, auth.sub["id"], w.day)]


def assert_all_404(api: Api, calls: list[tuple[str, str]]) -> None:
    for method, path in calls:
        problem(api.request(method, path, {} if method == "POST" else None), 404, "not_found")


def row_counts(db: Session) -> dict[str, int]:
    db.rollback()
    return {t: int(db.scalar(text(f"SELECT count(*) FROM {t}")) or 0)
            for t in ("organization", "authority", "report_subscription", "report_run", "membership")}


# --- platform admin --------------------------------------------------------------------------

def test_platform_admin_registers_an_authority_and_subscribes_it(world: World) -> None:
    api = world.admin.api
    r = api.post("/api/v1/authorities", {"name": "Oficina de Pesca de Mazatlán",
                                         "cooperative_ids": [str(world.a.org.id)]})
    assert r.status_code == 201, r.get_json()
    authority = r.get_json()
    assert authority["cooperative_ids"] == [str(world.a.org.id)]
    r = api.post(f"/api/v1/authorities/{authority['id']}/subscriptions",
                 {"name": "Avisos", "format": "conapesca_aviso_csv", "schedule": "0 6 * * *",
                  "period": "day", "delivery": "pull"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["authority_id"] == authority["id"]


def test_platform_admin_sees_every_authoritys_runs(world: World) -> None:
    api = world.admin.api
    assert ids(list_runs(api, f"authority_id={world.region.id}")) == world.region.run_ids()
    assert ids(list_runs(api, f"authority_id={world.listing.id}")) == world.listing.run_ids()
    assert ids(list_runs(api)) >= world.region.run_ids() | world.listing.run_ids()
    for auth in (world.region, world.listing):
        for path in authority_paths(world, auth):
            assert api.get(path).status_code == 200, path


def test_runs_are_made_for_both_authorities(world: World) -> None:
    # The premise of every cross-check below.
    assert len(world.region.runs) == 2 * DAYS_BACK  # A and B, every closed day
    assert len(world.listing.runs) == DAYS_BACK  # B only
    assert {r["org_id"] for r in world.listing.runs} == {str(world.b.org.id)}


# --- the region decides ----------------------------------------------------------------------

def test_region_runs_about_a_cooperative_outside_the_region_carry_none_of_its_records(
        world: World) -> None:
    about_b = [r for r in world.region.runs if r["org_id"] == str(world.b.org.id)]
    assert len(about_b) == DAYS_BACK  # named in the subscription: owed a run every day
    for run in about_b:
        assert run["record_count"] == 0, run
        assert items_of(world.admin.api, run["id"]) == []
    # B's catch exists and is reported, to the authority that lists B.
    listed = world.listing.run(world.b, world.day)
    assert [i["catch_id"] for i in items_of(world.admin.api, listed["id"])] == [world.b_catch]


def test_region_run_leaves_out_a_catch_caught_outside_the_region(world: World) -> None:
    run = world.region.run(world.a, world.day)
    carried = {i["catch_id"] for i in items_of(world.admin.api, run["id"])}
    assert carried == {*world.a_inside, world.a2_catch}
    assert run["record_count"] == 3


# --- authority staff -------------------------------------------------------------------------

def test_staff_lists_only_its_authoritys_runs(world: World) -> None:
    assert ids(list_runs(world.region.staff.api)) == world.region.run_ids()
    assert ids(list_runs(world.listing.staff.api)) == world.listing.run_ids()


def test_staff_filtering_on_another_authority_finds_nothing(world: World) -> None:
    assert list_runs(world.region.staff.api, f"authority_id={world.listing.id}") == []
    assert list_runs(world.listing.staff.api, f"org_id={world.a.org.id}") == []


def test_staff_download_marks_the_pull_delivered_but_a_coop_admins_does_not(world: World) -> None:
    run = world.region.run(world.a, world.day)
    url = f"/api/v1/reports/runs/{run['id']}/files/{CSV}"
    r = world.a.admin.api.get(url)
    assert r.status_code == 200
    assert delivery_status(world, run["id"]) == "pending"

    r = world.region.staff.api.get(url)
    assert r.status_code == 200
    assert len(r.get_data(as_text=True).strip().splitlines()) == 1 + 3  # header + records
    assert delivery_status(world, run["id"]) == "delivered"


def test_staff_ack_is_idempotent(world: World) -> None:
    run = world.region.run(world.a, world.day - timedelta(days=1))
    api = world.region.staff.api
    r = api.post(f"/api/v1/reports/runs/{run['id']}/ack", {"reference": "FOLIO-0302-1"})
    assert r.status_code == 200, r.get_json()
    first = r.get_json()
    assert first["first"] is True and first["status"] == "acknowledged"
    assert first["ack_reference"] == "FOLIO-0302-1"

    r = api.post(f"/api/v1/reports/runs/{run['id']}/ack", {"reference": "OTRO"})
    assert r.status_code == 200
    again = r.get_json()
    assert again["first"] is False
    assert again["ack_reference"] == "FOLIO-0302-1"
    assert again["acknowledged_at"] == first["acknowledged_at"]


def test_staff_sees_its_subscriptions_and_reconciliation(world: World) -> None:
    api = world.region.staff.api
    r = api.get(f"/api/v1/authorities/{world.region.id}/subscriptions")
    assert r.status_code == 200
    assert [s["id"] for s in r.get_json()] == [world.region.sub["id"]]
    r = api.get(f"/api/v1/reports/subscriptions/{world.region.sub['id']}")
    assert r.status_code == 200 and r.get_json()["push_url"] is None
    r = api.get(reconcile_url(world.region.id, world.region.sub["id"], world.day))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["reconciled"] is True
    assert {(p["org_id"], p["records"]) for p in body["periods"]} == {
        (str(world.a.org.id), 3), (str(world.b.org.id), 0)}


def test_staff_reads_its_own_authority_only(world: World) -> None:
    api = world.region.staff.api
    r = api.get("/api/v1/authorities")
    assert [a["id"] for a in r.get_json()] == [world.region.id]
    assert api.get(f"/api/v1/authorities/{world.region.id}").status_code == 200
    problem(api.get(f"/api/v1/authorities/{world.listing.id}"), 404, "not_found")


def _admin_only_calls(w: World) -> list[tuple[str, str, Any]]:
    """Valid requests that only a platform admin may make."""
    sub = w.region.sub["id"]
    return [
        ("POST", "/api/v1/authorities", {"name": "Oficina pirata", "cooperative_ids": [str(w.a.org.id)]}),
        ("POST", f"/api/v1/authorities/{w.region.id}/subscriptions",
         {"name": "Avisos", "format": "conapesca_aviso_csv", "schedule": "0 6 * * *",
          "period": "day", "delivery": "pull"}),
        ("POST", f"/api/v1/reports/subscriptions/{sub}/runs", {}),
        ("POST", f"/api/v1/reports/subscriptions/{sub}/runs",
         {"period_start": (w.day - timedelta(days=1)).isoformat()}),
        ("PATCH", f"/api/v1/reports/subscriptions/{sub}", {"active": False}),
        ("POST", f"/api/v1/authorities/{w.region.id}/staff", {"member_id": str(w.a.fisher.member.id)}),
        ("POST", f"/api/v1/reports/deliveries/{w.region.runs[0]['delivery']['id']}/retry", None),
    ]


def test_staff_cannot_administer_reports(world: World, db: Session) -> None:
    before = row_counts(db)
    for method, path, body in _admin_only_calls(world):
        problem(world.region.staff.api.request(method, path, body), 403, "forbidden")
    assert row_counts(db) == before
    r = world.admin.api.get(f"/api/v1/reports/subscriptions/{world.region.sub['id']}")
    assert r.get_json()["active"] is True


def test_staff_gets_404_for_another_authoritys_runs(world: World) -> None:
    run = world.listing.run(world.b, world.day)
    assert_all_404(world.region.staff.api, run_paths(run["id"]))
    assert delivery_status(world, run["id"]) == "pending"  # neither downloaded nor acked


def test_staff_gets_404_for_another_authoritys_subscriptions_and_reconciliation(
        world: World) -> None:
    mine, other = world.region, world.listing
    calls = [("GET", p) for p in authority_paths(world, other)]
    # Its own authority with the other's subscription, and the other way round.
    calls += [("GET", reconcile_url(mine.id, other.sub["id"], world.day)),
              ("GET", reconcile_url(other.id, mine.sub["id"], world.day))]
    assert_all_404(mine.staff.api, calls)


# --- cooperative admin -----------------------------------------------------------------------

def test_coop_admin_lists_the_runs_about_their_cooperative(world: World) -> None:
    assert ids(list_runs(world.a.admin.api)) == world.region.run_ids(world.a)
    assert ids(list_runs(world.b.admin.api)) == (world.region.run_ids(world.b)
                                                 | world.listing.run_ids())


def test_coop_admin_filtering_on_another_cooperative_finds_nothing(world: World) -> None:
    assert list_runs(world.a.admin.api, f"org_id={world.b.org.id}") == []


def test_coop_admin_reads_detail_items_and_files_of_their_runs(world: World) -> None:
    run = world.region.run(world.a, world.day)
    api = world.a.admin.api
    r = api.get(f"/api/v1/reports/runs/{run['id']}")
    assert r.status_code == 200 and r.get_json()["org_id"] == str(world.a.org.id)
    assert len(items_of(api, run["id"])) == 3
    r = api.get(f"/api/v1/reports/runs/{run['id']}/files/manifest.json")
    assert r.status_code == 200
    assert r.headers["X-Content-SHA256"] == run["manifest_sha256"]


def test_coop_admin_gets_404_for_another_cooperatives_runs(world: World) -> None:
    for run in (world.region.run(world.b, world.day), world.listing.run(world.b, world.day)):
        assert_all_404(world.a.admin.api, run_paths(run["id"]))


def test_coop_admin_cannot_acknowledge(world: World) -> None:
    run = world.region.run(world.a, world.day + timedelta(days=1))
    problem(world.a.admin.api.post(f"/api/v1/reports/runs/{run['id']}/ack", {}),
            403, "not_acknowledgeable")
    assert delivery_status(world, run["id"]) == "pending"


def test_platform_admin_cannot_acknowledge_for_the_authority(world: World) -> None:
    run = world.region.run(world.a, world.day + timedelta(days=1))
    problem(world.admin.api.post(f"/api/v1/reports/runs/{run['id']}/ack", {}),
            403, "not_acknowledgeable")


def test_coop_admin_cannot_see_the_authoritys_subscriptions_or_reconciliation(
        world: World) -> None:
    api = world.a.admin.api
    assert_all_404(api, [("GET", p) for p in authority_paths(world, world.region)])
    assert api.get("/api/v1/authorities").get_json() == []


def test_coop_admin_cannot_administer_reports(world: World) -> None:
    for method, path, body in _admin_only_calls(world):
        problem(world.a.admin.api.request(method, path, body), 403, "forbidden")


# --- fisher ----------------------------------------------------------------------------------

def reported(api: Api) -> list[dict[str, Any]]:
    r = api.get("/api/v1/reports/reported-catches?limit=1000")
    assert r.status_code == 200, r.get_json()
    items: list[dict[str, Any]] = r.get_json()["items"]
    return items


def test_fisher_sees_their_reported_catch_versions_with_run_and_authority(world: World) -> None:
    items = reported(world.a.fisher.api)
    run = world.region.run(world.a, world.day)
    assert sorted(i["catch_id"] for i in items) == sorted(world.a_inside)  # not the one outside
    for i in items:
        assert (i["version"], i["action"], i["run_id"], i["authority_id"]) == (
            1, "original", run["id"], world.region.id)
        assert i["authority_name"].startswith("Oficina de Pesca")
        assert i["period_start"] == world.day.isoformat()


def test_another_fisher_of_the_same_coop_sees_only_their_own(world: World) -> None:
    assert [i["catch_id"] for i in reported(world.fisher_a2.api)] == [world.a2_catch]
    assert reported(world.a.admin.api) == []  # the admin logged nothing


def test_fisher_catch_outside_the_region_is_reported_to_the_listing_authority_only(
        world: World) -> None:
    items = reported(world.b.fisher.api)
    assert [(i["catch_id"], i["authority_id"]) for i in items] == [(world.b_catch, world.listing.id)]


def test_fisher_sees_no_runs(world: World) -> None:
    api = world.a.fisher.api
    assert list_runs(api) == []
    assert_all_404(api, run_paths(world.region.run(world.a, world.day)["id"]))
    assert_all_404(api, [("GET", p) for p in authority_paths(world, world.region)])
    assert api.get("/api/v1/authorities").get_json() == []


def test_fisher_cannot_administer_reports(world: World) -> None:
    for method, path, body in _admin_only_calls(world):
        problem(world.a.fisher.api.request(method, path, body), 403, "forbidden")


# --- anonymous -------------------------------------------------------------------------------

def test_anonymous_reads_the_formats(anon: Api) -> None:
    r = anon.get("/api/v1/reports/formats")
    assert r.status_code == 200
    assert "conapesca_aviso_csv" in {f["name"] for f in r.get_json()}


def _every_call(w: World) -> list[tuple[str, str, Any]]:
    """One well-formed request to every reports endpoint (but the formats)."""
    run = w.region.run(w.a, w.day)
    return [
        ("GET", "/api/v1/authorities", None),
        ("GET", f"/api/v1/authorities/{w.region.id}", None),
        ("GET", f"/api/v1/authorities/{w.region.id}/subscriptions", None),
        ("GET", f"/api/v1/reports/subscriptions/{w.region.sub['id']}", None),
        ("GET", reconcile_url(w.region.id, w.region.sub["id"], w.day), None),
        ("GET", "/api/v1/reports/runs", None),
        ("GET", f"/api/v1/reports/runs/{run['id']}", None),
        ("GET", f"/api/v1/reports/runs/{run['id']}/items", None),
        ("GET", f"/api/v1/reports/runs/{run['id']}/files/{CSV}", None),
        ("POST", f"/api/v1/reports/runs/{run['id']}/ack", {}),
        ("GET", "/api/v1/reports/reported-catches", None),
        *_admin_only_calls(w),
    ]


def test_anonymous_gets_401_on_every_other_endpoint(world: World, anon: Api) -> None:
    for method, path, body in _every_call(world):
        r = anon.request(method, path, body)
        problem(r, 401, "token_missing")
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_anonymous_gets_401_for_unknown_ids_too(anon: Api) -> None:
    unknown = uuid.uuid4()
    for path in (f"/api/v1/authorities/{unknown}", f"/api/v1/reports/runs/{unknown}",
                 f"/api/v1/reports/subscriptions/{unknown}"):
        problem(anon.get(path), 401, "token_missing")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/authorities", {}),
    ("POST", "/api/v1/authorities", [1]),
    ("GET", "/api/v1/reports/runs?limit=0", None),
    ("GET", f"/api/v1/authorities/{uuid.UUID(int=1)}/reconciliation", None),
], ids=["authority-empty", "authority-list", "runs-bad-limit", "reconcile-no-query"])
def test_anonymous_gets_401_before_its_input_is_validated(anon: Api, method: str, path: str,
                                                          body: Any) -> None:
    # Who is calling comes before what they sent: a stranger learns nothing of the input rules.
    problem(anon.request(method, path, body), 401, "token_missing")


def test_staff_gets_403_before_its_input_is_validated(world: World) -> None:
    # Same rule for a member without the right: forbidden, whatever the body says.
    problem(world.region.staff.api.post(f"/api/v1/authorities/{world.region.id}/subscriptions", {}),
            403, "forbidden")
