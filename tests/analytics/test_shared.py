"""A recipient's view of what a cooperative voted to share: only while the vote stands, only
for the recipient's admins, over only the members who consent to it, suppressed as the
cooperative's own dashboard.

The world is tests/analytics/conftest.py's cooperative C (f1..f6; f1..f5 consent to C's
statistics, f6 does not). Here an improvement project (an NGO) is the recipient, and
f1, f2, f3, f4 and f6 consent to it for ``fishery_improvement``; f5 does not. Pooled over
them, M1's LJS is 10 + 20 + 30 + 40 + 600 = 700 kg (f5's 50 left out, f6's 600 in, the
opposite of the cooperative's own view), OCZ (f4 alone) is hidden and SIE (f1..f3) with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.analytics import services
from server.consent import services as consent_services
from server.consent.models import Purpose
from server.members.models import Organization, Role
from tests.analytics.conftest import World
from tests.conftest import Api, Factory, Person, errors_of, problem
from tests.governance.helpers import end_window, propose, result, voted

FIP = "fishery_improvement"


@dataclass
class Recipient:
    org: Organization
    admin: Person
    fisher: Person  # a member of the recipient who is not its admin

    @property
    def id(self) -> str:
        return str(self.org.id)


def give(p: Person, recipient: str, granted: bool = True, purpose: str = FIP) -> None:
    r = p.api.post("/api/v1/me/consents", {"purpose": purpose, "recipient_id": recipient,
                                           "granted": granted})
    assert r.status_code == 200, r.get_json()


@pytest.fixture(scope="module")
def fip(app: Flask, world: World) -> Iterator[Recipient]:
    maker = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        f = Factory(app, sess)
        org = f.org(kind="ngo", name="FIP Pargo del Golfo")
        out = Recipient(org, f.person(org, Role.admin), f.person(org, Role.fisher))
        for i in (0, 1, 2, 3, 5):  # f1..f4 and f6; f5 never answers
            give(world.fishers[i], out.id)
        yield out


def share(db: Session, w: World, recipient: str, enabled: bool, purpose: str = FIP) -> None:
    """The cooperative's members vote the sharing on or off (the admin alone votes, with no
    quorum asked), and the result applies it, as any result does."""
    prop = propose(w.coop.admin.api, w.org, title="Compartir cifras con el FIP", quorum=0,
                   options=[{"label": "Sí", "effect": {
                       "type": "data_sharing", "purpose": purpose,
                       "recipient_org_id": recipient, "enabled": enabled}}, {"label": "No"}])
    voted(w.coop.admin.api, prop["id"], prop["options"][0]["id"])
    end_window(db, prop["id"])
    assert result(w.coop.admin.api, prop["id"])["effect_applied"] is True


def url(w: World, recipient: str, what: str = "dashboard", org: str | None = None) -> str:
    return f"/api/v1/organizations/{org or w.org}/shared/{recipient}/{what}"


def query(w: World, **over: str) -> dict[str, str]:
    return {"purpose": FIP, "from": f"{w.m2:%Y-%m}", "to": f"{w.m1:%Y-%m}"} | over


def get(api: Api, path: str, q: dict[str, str]) -> dict[str, Any]:
    r = api.get(path, query_string=q)
    assert r.status_code == 200, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[k] for k in keys): r for r in rows}


def species(d: dict[str, Any], month: date, sp: str) -> dict[str, Any]:
    return by(d["landings"]["by_species_month"], "month", "species_code")[(f"{month:%Y-%m}", sp)]


def month_total(d: dict[str, Any], month: date) -> dict[str, Any]:
    return by(d["landings"]["by_month"], "month")[(f"{month:%Y-%m}",)]


def cells(api: Api, w: World, recipient: str, month: date,
          sp: str | None = None) -> list[dict[str, Any]]:
    q = {"purpose": FIP, "month": f"{month:%Y-%m}"} | ({"species": sp} if sp else {})
    r = api.get(url(w, recipient, "heatmap"), query_string=q)
    assert r.status_code == 200 and r.mimetype == "application/geo+json", r.get_json()
    return [f["properties"] for f in r.get_json()["features"]]


def test_a_vote_and_each_members_consent_decide_what_the_recipient_sees(
        world: World, fip: Recipient, db: Session) -> None:
    admin = fip.admin.api
    dash, q = url(world, fip.id), query(world)
    # Consent alone shares nothing: the cooperative never voted.
    problem(admin.get(dash, query_string=q), 403, "sharing_not_enabled")
    problem(admin.get(url(world, fip.id, "heatmap"), query_string={"purpose": FIP}), 403,
            "sharing_not_enabled")

    share(db, world, fip.id, True)
    try:
        # The cooperative's own view first: its decisions are cached under its members,
        # and must not be what the recipient gets (150 kg of LJS over f1..f5).
        own = get(world.coop.admin.api, f"/api/v1/organizations/{world.org}/dashboard",
                  {k: v for k, v in q.items() if k != "purpose"})
        assert species(own, world.m1, "LJS")["landed_kg"] == 150.0

        d = get(admin, dash, q)
        assert (d["org_id"], d["recipient_org_id"], d["purpose"]) == (world.org, fip.id, FIP)
        assert d["members_included"] == 5 and d["min_vessels"] == 3
        # f5 (50 kg) did not consent: not counted. f6 (600 kg) did: counted.
        assert species(d, world.m1, "LJS") == {
            "month": f"{world.m1:%Y-%m}", "species_code": "LJS", "landed_kg": 700.0,
            "live_kg": 700.0, "catches": 5, "value_mxn": 950.0, "vessels": 5,
            "suppressed": False}
        # OCZ is one vessel's: hidden; SIE with it, or the month minus LJS would be OCZ.
        assert species(d, world.m1, "OCZ") == {"month": f"{world.m1:%Y-%m}",
                                               "species_code": "OCZ", "suppressed": True}
        assert species(d, world.m1, "SIE")["suppressed"] is True
        assert month_total(d, world.m1)["landed_kg"] == 714.0  # 700 + SIE 9 + OCZ 5
        assert species(d, world.m2, "LJS")["landed_kg"] == 6.0
        assert d["landings"]["total"] == {"landed_kg": 720.0, "live_kg": 720.0, "catches": 12,
                                          "value_mxn": 1520.0, "complete": True}
        assert by(d["effort"]["by_month"], "month")[(f"{world.m1:%Y-%m}",)]["trips"] == 5
        # The map: the month's one cell, and only the species the dashboard shows.
        (cell,) = cells(admin, world, fip.id, world.m1)
        assert (cell["landed_kg"], cell["vessels"]) == (714.0, 5)
        assert [c["landed_kg"] for c in cells(admin, world, fip.id, world.m1, "LJS")] == [700.0]
        assert cells(admin, world, fip.id, world.m1, "OCZ") == []
        assert cells(admin, world, fip.id, world.m1, "SIE") == []
        # The vote named a purpose: nothing is shared for another one.
        problem(admin.get(dash, query_string=query(world, purpose="research")), 403,
                "sharing_not_enabled")

        # f5 consents: counted from the next request; revokes: gone again.
        give(world.fishers[4], fip.id)
        d = get(admin, dash, q)
        assert d["members_included"] == 6 and species(d, world.m1, "LJS")["landed_kg"] == 750.0
        give(world.fishers[4], fip.id, granted=False)
        assert species(get(admin, dash, q), world.m1, "LJS")["landed_kg"] == 700.0

        # f3 revokes: M2's LJS is then two vessels' (f1, f2) and hidden, with its month.
        give(world.fishers[2], fip.id, granted=False)
        try:
            d = get(admin, dash, q)
            assert d["members_included"] == 4
            assert species(d, world.m1, "LJS")["landed_kg"] == 670.0
            assert species(d, world.m2, "LJS") == {"month": f"{world.m2:%Y-%m}",
                                                   "species_code": "LJS", "suppressed": True}
            assert month_total(d, world.m2)["suppressed"] is True
            assert by(d["effort"]["by_month"], "month")[(f"{world.m2:%Y-%m}",)] == {
                "month": f"{world.m2:%Y-%m}", "suppressed": True}
            assert d["landings"]["total"]["complete"] is False
            assert cells(admin, world, fip.id, world.m2) == []
            (cell,) = cells(admin, world, fip.id, world.m1)
            assert cell["landed_kg"] == 680.0
        finally:
            give(world.fishers[2], fip.id)

        # A member who leaves the cooperative is out, though their consent stands.
        f6 = world.fishers[5].member.id
        set_status(db, world, f6, "removed")
        try:
            d = get(admin, dash, q)
            assert d["members_included"] == 4
            assert species(d, world.m1, "LJS")["landed_kg"] == 100.0
        finally:
            set_status(db, world, f6, "active")
        assert species(get(admin, dash, q), world.m1, "LJS")["landed_kg"] == 700.0
    finally:
        share(db, world, fip.id, False)

    # Voted off: nothing more, for the map either.
    problem(admin.get(dash, query_string=q), 403, "sharing_not_enabled")
    problem(admin.get(url(world, fip.id, "heatmap"), query_string={"purpose": FIP}), 403,
            "sharing_not_enabled")


def set_status(db: Session, w: World, member_id: uuid.UUID, status: str) -> None:
    db.execute(text("UPDATE membership SET status = :s WHERE org_id = :o AND member_id = :m"),
               {"s": status, "o": w.coop.org.id, "m": member_id})
    db.commit()


def test_only_the_recipients_admins_see_it_and_nobody_else_learns_it_exists(
        world: World, fip: Recipient, db: Session, factory: Factory, anon: Api) -> None:
    other_ngo = factory.org(kind="ngo")
    other_admin = factory.person(other_ngo, Role.admin)
    platform = factory.person(platform_admin=True)
    outsiders: dict[str, tuple[Api, str]] = {
        "stranger": (factory.person().api, url(world, fip.id)),
        "another cooperative's admin": (world.other.admin.api, url(world, fip.id)),
        "the cooperative's admin": (world.coop.admin.api, url(world, fip.id)),
        "the cooperative's fisher": (world.fishers[0].api, url(world, fip.id)),
        "another NGO's admin": (other_admin.api, url(world, fip.id)),
        "the recipient's fisher": (fip.fisher.api, url(world, fip.id)),
        "nobody logged in": (anon, url(world, fip.id)),
        # The other NGO's admin, for their own organization: it was not voted for.
        "another recipient": (other_admin.api, url(world, str(other_ngo.id))),
    }

    def answers() -> dict[str, tuple[int, str]]:
        out = {}
        for who, (api, path) in outsiders.items():
            for what in ("dashboard", "heatmap"):
                r = api.get(path.replace("/dashboard", f"/{what}"), query_string={"purpose": FIP})
                out[f"{who} ({what})"] = (r.status_code, r.get_json()["code"])
        return out

    expected = {
        "stranger": (404, "not_found"),
        "another cooperative's admin": (404, "not_found"),
        "the cooperative's admin": (404, "not_found"),
        "the cooperative's fisher": (404, "not_found"),
        "another NGO's admin": (404, "not_found"),
        "the recipient's fisher": (403, "forbidden"),
        "nobody logged in": (401, "token_missing"),
        "another recipient": (403, "sharing_not_enabled"),
    }
    expected_all = {f"{k} ({what})": v for k, v in expected.items()
                    for what in ("dashboard", "heatmap")}
    before = answers()
    assert before == expected_all
    # For the recipient's admin, a cooperative that never voted and one that does not
    # exist give the same answer.
    problem(fip.admin.api.get(url(world, fip.id, org=str(uuid.uuid4())),
                              query_string={"purpose": FIP}), 403, "sharing_not_enabled")
    share(db, world, fip.id, True)
    try:
        # With the sharing on, every outsider gets exactly what they got before it.
        assert answers() == before
        assert get(fip.admin.api, url(world, fip.id), query(world))["members_included"] == 5
        # Platform admins, for support, as on the cooperative's own dashboard.
        assert get(platform.api, url(world, fip.id), query(world))["members_included"] == 5
        assert cells(platform.api, world, fip.id, world.m1)
        problem(platform.api.get(url(world, str(uuid.uuid4())), query_string={"purpose": FIP}),
                404, "not_found")
    finally:
        share(db, world, fip.id, False)
    assert answers() == before
    problem(platform.api.get(url(world, fip.id), query_string={"purpose": FIP}), 403,
            "sharing_not_enabled")


@pytest.mark.parametrize(("what", "org", "recipient", "q", "field", "where", "code"), [
    ("dashboard", None, None, {}, "purpose", "query", "required"),
    ("dashboard", None, None, {"purpose": "marketing"}, "purpose", "query", "one_of"),
    ("dashboard", None, None, {"purpose": "cooperative_statistics"}, "purpose", "query",
     "sharing_own_statistics"),
    ("heatmap", None, None, {"purpose": "cooperative_statistics"}, "purpose", "query",
     "sharing_own_statistics"),
    ("dashboard", "not-a-uuid", None, {"purpose": FIP}, "org_id", "path", "not_a_uuid"),
    ("heatmap", None, "1234", {"purpose": FIP}, "recipient_id", "path", "not_a_uuid"),
    ("dashboard", None, None, {"purpose": FIP, "from": "2026-13"}, "from", "query",
     "invalid_month"),
    ("dashboard", None, None, {"purpose": FIP, "bogus": "1"}, "bogus", "query", "unknown_field"),
    ("heatmap", None, None, {"purpose": FIP, "month": "2026-1"}, "month", "query",
     "invalid_month"),
    ("heatmap", None, None, {"purpose": FIP, "species": "pargo"}, "species", "query",
     "invalid_code"),
])
def test_bad_input_is_refused_naming_the_field(world: World, fip: Recipient, what: str,
                                               org: str | None, recipient: str | None,
                                               q: dict[str, str], field: str, where: str,
                                               code: str) -> None:
    path = url(world, recipient or fip.id, what, org=org)
    body = problem(fip.admin.api.get(path, query_string=q, lang="es"), 422, "validation_error")
    assert errors_of(body) == {field: code}, body
    assert body["errors"][0]["in"] == where
    es = body["errors"][0]["message"]
    en = fip.admin.api.get(path, query_string=q, lang="en").get_json()["errors"][0]["message"]
    assert es and en and (es != en or code == "unknown_field")
    if code == "sharing_own_statistics":
        assert "fishery_improvement" in en and "cooperative_statistics" not in en


def test_the_member_set_is_explicit_defaults_to_todays_and_keys_the_cache(
        world: World, fip: Recipient, db: Session) -> None:
    """Called directly: no members given is the cooperative's consenting members, as
    before; given members are pooled instead, and each set is decided on its own even
    when another set's decision for the same months is already cached."""
    m1 = world.m1.replace(day=1)
    w = services.Window(world.m2.replace(day=1), m1)
    org = world.coop.org.id
    own = consent_services.consenting(db, Purpose.cooperative_statistics, org)
    assert len(own) == 5
    default = services.cooperative(db, org, w, 3)
    assert services.cooperative(db, org, w, 3, members=own) == default
    assert default["members_included"] == 5

    # Another set, asked right after the first: f1..f4 and f6, as the FIP's.
    fip_members = services.shared_members(db, org, Purpose.fishery_improvement, fip.org.id)
    assert set(fip_members) == {world.fishers[i].member.id for i in (0, 1, 2, 3, 5)}
    shared = services.cooperative(db, org, w, 3, members=fip_members)
    lj = {r["species_code"]: r for r in shared["landings"]["by_species_month"]
          if r["month"] == f"{m1:%Y-%m}"}["LJS"]
    assert lj["landed_kg"] == 700.0
    # The same set in another order, with a repeat, is the same cache key: no new entry.
    size = len(services._DECIDED)
    again = services.heatmap(db, org, m1, None, 3,
                             members=[*reversed(fip_members), fip_members[0]])
    assert len(services._DECIDED) == size
    assert [c["landed_kg"] for c in again] == [714.0]
    assert [c["landed_kg"] for c in services.heatmap(db, org, m1, None, 3)] == [164.0]
    # Nobody given is nobody pooled (not everyone).
    empty = services.cooperative(db, org, w, 3, members=[])
    assert empty["members_included"] == 0 and empty["landings"]["by_month"] == []
