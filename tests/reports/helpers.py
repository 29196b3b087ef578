"""Shared set-up of the reports tests: an authority over a cooperative, catches in the past."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import Coop, Factory, Person, catch_item, iso, trip_item
from tests.test_sync import push, statuses

TZ = "America/Mazatlan"


@dataclass
class Setup:
    coop: Coop
    admin: Person  # platform admin
    staff: Person  # the authority's staff
    authority_id: str


def local_today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def at_local(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(TZ)).replace(hour=hour).astimezone(UTC)


def make_authority(factory: Factory, coops: list[Coop], *, admin: Person | None = None,
                   **over: Any) -> tuple[Person, Person, str]:
    admin = admin or factory.person(platform_admin=True)
    body = {"name": f"Oficina de Pesca {uuid.uuid4().hex[:5]}", "office_key": "0302",
            "state": "Sinaloa", "timezone": TZ,
            "cooperative_ids": [str(c.org.id) for c in coops]} | over
    r = admin.api.post("/api/v1/authorities", body)
    assert r.status_code == 201, r.get_json()
    authority_id = r.get_json()["id"]
    staff = factory.person()
    r = admin.api.post(f"/api/v1/authorities/{authority_id}/staff", {"member_id": str(staff.member.id)})
    assert r.status_code == 201, r.get_json()
    # The role is read at login: log in again to carry it.
    staff = Person(staff.member, staff.phone, factory.login(staff.member))
    return admin, staff, authority_id


def setup(factory: Factory) -> Setup:
    coop = factory.coop()
    admin, staff, authority_id = make_authority(factory, [coop])
    return Setup(coop, admin, staff, authority_id)


def subscribe(s: Setup, *, fmt: str = "conapesca_aviso_csv", period: str = "day",
              days_back: int = 6, **over: Any) -> dict[str, Any]:
    starts = local_today() - timedelta(days=days_back)
    if period == "month":
        starts = starts.replace(day=1)
    body = {"name": "Avisos diarios", "format": fmt, "schedule": "0 6 * * *", "period": period,
            "delivery": "pull", "starts_on": starts.isoformat()} | over
    r = s.admin.api.post(f"/api/v1/authorities/{s.authority_id}/subscriptions", body)
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def log_trip(coop: Coop, day: date, catches: list[dict[str, Any]] | None = None,
             fisher: Person | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A trip on a past local day (06:00-15:00) with its catches (10:00), through sync."""
    fisher = fisher or coop.fisher
    t = trip_item(coop.vessel_id, departed_at=iso(at_local(day, 6)),
                  returned_at=iso(at_local(day, 15)))
    items = [catch_item(t["id"], caught_at=iso(at_local(day, 10)), **over)
             for over in (catches if catches is not None else [{}])]
    assert statuses(push(fisher.api, [t, *items])) == ["created"] * (1 + len(items))
    return t, items


def run_now(s: Setup, sub_id: str, **body: Any) -> list[dict[str, Any]]:
    r = s.admin.api.post(f"/api/v1/reports/subscriptions/{sub_id}/runs", body)
    assert r.status_code == 201, r.get_json()
    runs: list[dict[str, Any]] = r.get_json()["runs"]
    return runs


def items_of(api: Any, run_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/reports/runs/{run_id}/items?limit=1000")
    assert r.status_code == 200, r.get_json()
    out: list[dict[str, Any]] = r.get_json()["items"]
    return out
