"""Opening proposals: who may, what is refused (and in which words), cancelling, reading,
listing, and who is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.members.models import Role
from tests.conftest import Factory, errors_of, iso, problem
from tests.governance.helpers import (
    body,
    coop,
    count,
    end_window,
    notifications,
    proposal_url,
    proposals_url,
    propose,
    voted,
)

NOW = datetime.now(UTC)
LONG = "x" * 10_001
MISSING = object()  # the field left out of the body


def _in(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


def test_an_admin_opens_a_proposal_and_every_member_is_told(factory: Factory, db: Session) -> None:
    c = coop(factory, 2)
    outsider = factory.person(factory.org(), Role.fisher)
    prop = propose(c.admin.api, c.org.id, title="  Cuota de la plataforma del 3 %  ",
                   options=[{"label": "A favor"}, {"label": "En contra"},
                            {"label": "Abstención"}], quorum=0.6667)
    assert prop["title"] == "Cuota de la plataforma del 3 %"  # outer spaces dropped
    assert [o["label"] for o in prop["options"]] == ["A favor", "En contra", "Abstención"]
    assert [o["position"] for o in prop["options"]] == [1, 2, 3]
    assert prop["status"] == "open" and prop["quorum"] == 0.6667 and prop["result"] is None
    assert prop["voters"] == 0 and prop["you_voted"] is False and prop["you_can_vote"] is True
    assert prop["created_by"] == {"id": str(c.admin.member.id), "name": c.admin.member.name}
    for person in c.voters:
        (n,) = notifications(person.api, "governance.proposal_opened")
        assert n["data"]["proposal_id"] == prop["id"]
        assert n["text"].startswith(f"Nueva votación en {c.org.name}: «Cuota de la plataforma")
        (en,) = notifications(person.api, "governance.proposal_opened", lang="en")
        assert en["text"].startswith(f"New vote in {c.org.name}")
    assert notifications(outsider.api, "governance.proposal_opened") == []
    # The members read it; so does the list.
    got = c.fishers[0].api.get(proposal_url(prop["id"])).get_json()
    assert got["id"] == prop["id"] and got["you_can_vote"] is True
    listed = c.fishers[1].api.get(proposals_url(c.org.id)).get_json()
    assert [p["id"] for p in listed["proposals"]] == [prop["id"]]


def test_a_scheduled_proposal_opens_later(factory: Factory) -> None:
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id, opens_at=_in(days=2), closes_at=_in(days=5))
    assert prop["status"] == "scheduled" and prop["you_can_vote"] is False
    r = c.fishers[0].api.post(f"{proposal_url(prop['id'])}/ballot",
                              {"option_id": prop["options"][0]["id"]}, lang="en")
    body_ = problem(r, 409, "gov_proposal_not_open")
    assert body_["detail"].startswith("The voting opens at ")


# What is refused, and the field at fault.
BAD: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("no title", {"title": None}, {"title": "null"}),
    ("empty title", {"title": ""}, {"title": "gov_blank_text"}),
    ("blank title", {"title": " \n\t "}, {"title": "gov_blank_text"}),
    ("long title", {"title": "t" * 201}, {"title": "length_max"}),
    ("title not text", {"title": 42}, {"title": "not_a_string"}),
    ("empty body", {"body": ""}, {"body": "gov_blank_text"}),
    ("long body", {"body": LONG}, {"body": "length_max"}),
    ("one option", {"options": [{"label": "Sí"}]}, {"options": "gov_options_count"}),
    ("no option", {"options": []}, {"options": "gov_options_count"}),
    ("eleven options", {"options": [{"label": f"Opción {i}"} for i in range(11)]},
     {"options": "gov_options_count"}),
    ("options not a list", {"options": "Sí, No"}, {"options": "not_a_list"}),
    ("duplicate option", {"options": [{"label": "Sí"}, {"label": "No"}, {"label": " sí "}]},
     {"options.2.label": "gov_duplicate_option"}),
    ("duplicate spacing", {"options": [{"label": "Tal vez  no"}, {"label": "tal vez no"}]},
     {"options.1.label": "gov_duplicate_option"}),
    ("blank option", {"options": [{"label": "Sí"}, {"label": "  "}]},
     {"options.1.label": "gov_blank_text"}),
    ("long option", {"options": [{"label": "Sí"}, {"label": "n" * 201}]},
     {"options.1.label": "length_max"}),
    ("option without label", {"options": [{"label": "Sí"}, {}]},
     {"options.1.label": "required"}),
    ("option with unknown key", {"options": [{"label": "Sí"}, {"label": "No", "color": "red"}]},
     {"options.1.color": "unknown_field"}),
    ("effect of no type", {"options": [{"label": "Sí", "effect": {"type": "fee", "enabled": True}},
                                       {"label": "No"}]},
     {"options.0.effect.type": "one_of"}),
    ("effect not an object", {"options": [{"label": "Sí", "effect": "ratings"}, {"label": "No"}]},
     {"options.0.effect": "not_an_object"}),
    ("ratings effect without enabled", {"options": [{"label": "Sí", "effect": {"type": "ratings"}},
                                                    {"label": "No"}]},
     {"options.0.effect.enabled": "required"}),
    ("ratings effect enabled 'yes'", {"options": [
        {"label": "Sí", "effect": {"type": "ratings", "enabled": "yes"}}, {"label": "No"}]},
     {"options.0.effect.enabled": "not_a_boolean"}),
    ("ratings effect enabled 1", {"options": [
        {"label": "Sí", "effect": {"type": "ratings", "enabled": 1}}, {"label": "No"}]},
     {"options.0.effect.enabled": "not_a_boolean"}),
    ("two effects", {"options": [{"label": "Sí", "effect": {"type": "ratings", "enabled": True}},
                                 {"label": "No", "effect": {"type": "ratings", "enabled": False}}]},
     {"options.1.effect": "gov_one_effect"}),
    ("sharing the cooperative's own statistics", {"options": [
        {"label": "Sí", "effect": {"type": "data_sharing", "purpose": "cooperative_statistics",
                                   "recipient_org_id": "00000000-0000-0000-0000-000000000001",
                                   "enabled": True}}, {"label": "No"}]},
     {"options.0.effect.purpose": "gov_effect_purpose"}),
    ("sharing for no purpose", {"options": [
        {"label": "Sí", "effect": {"type": "data_sharing", "purpose": "marketing",
                                   "recipient_org_id": "00000000-0000-0000-0000-000000000001",
                                   "enabled": True}}, {"label": "No"}]},
     {"options.0.effect.purpose": "gov_effect_purpose"}),
    ("sharing with nobody", {"options": [
        {"label": "Sí", "effect": {"type": "data_sharing", "purpose": "research", "enabled": True}},
        {"label": "No"}]},
     {"options.0.effect.recipient_org_id": "required"}),
    ("sharing with an unknown organization", {"options": [
        {"label": "Sí", "effect": {"type": "data_sharing", "purpose": "research",
                                   "recipient_org_id": "00000000-0000-0000-0000-000000000001",
                                   "enabled": True}}, {"label": "No"}]},
     {"options.0.effect.recipient_org_id": "gov_recipient_unknown"}),
    ("closes in the past", {"closes_at": _in(minutes=-5)}, {"closes_at": "gov_closes_in_past"}),
    ("closes before it opens", {"opens_at": _in(days=3), "closes_at": _in(days=2)},
     {"closes_at": "gov_window_inverted"}),
    ("closes when it opens", {"opens_at": iso(NOW + timedelta(days=3)),
                              "closes_at": iso(NOW + timedelta(days=3))},
     {"closes_at": "gov_window_inverted"}),
    ("half an hour", {"closes_at": _in(minutes=30)}, {"closes_at": "gov_window_too_short"}),
    ("91 days", {"closes_at": _in(days=91)}, {"closes_at": "gov_window_too_long"}),
    ("ten years", {"closes_at": _in(days=3650)}, {"closes_at": "gov_window_too_long"}),
    ("opens yesterday", {"opens_at": _in(days=-1)}, {"opens_at": "gov_opens_in_past"}),
    ("opens in 100 days", {"opens_at": _in(days=100), "closes_at": _in(days=101)},
     {"opens_at": "gov_opens_too_far"}),
    ("year 1 with a zone", {"opens_at": "0001-01-01T00:00:00+05:00"},
     {"opens_at": "gov_datetime_range"}),
    ("year 9999 with a zone", {"closes_at": "9999-12-31T23:59:59-05:00"},
     {"closes_at": "gov_datetime_range"}),
    ("year 9999 in UTC", {"closes_at": "9999-12-31T00:00:00+00:00"},
     {"closes_at": "gov_window_too_long"}),
    ("no zone", {"closes_at": (NOW + timedelta(days=3)).replace(tzinfo=None).isoformat()},
     {"closes_at": "not_a_datetime"}),
    ("not a date", {"closes_at": "next friday"}, {"closes_at": "not_a_datetime"}),
    ("null end", {"closes_at": None}, {"closes_at": "null"}),
    ("no end", {"closes_at": MISSING}, {"closes_at": "required"}),
    ("no options", {"options": MISSING}, {"options": "required"}),
    ("no body", {"body": MISSING}, {"body": "required"}),
    ("negative quorum", {"quorum": -0.1}, {"quorum": "range_between"}),
    ("quorum above 1", {"quorum": 1.01}, {"quorum": "range_between"}),
    ("quorum as percent", {"quorum": 50}, {"quorum": "range_between"}),
    ("quorum as text", {"quorum": "0.5"}, {"quorum": "not_a_number"}),
    ("quorum true", {"quorum": True}, {"quorum": "not_a_number"}),
    ("quorum too precise", {"quorum": 0.12345}, {"quorum": "gov_quorum_precision"}),
    ("unknown field", {"fee": 3}, {"fee": "unknown_field"}),
]


@pytest.mark.parametrize(("what", "over", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_proposals_are_refused_whole(factory: Factory, db: Session, what: str,
                                         over: dict[str, Any], expected: dict[str, str]) -> None:
    c = coop(factory, 1)
    data = {k: v for k, v in body(**over).items() if v is not MISSING}
    r = c.admin.api.post(proposals_url(c.org.id), data)
    es = problem(r, 422, "validation_error")
    assert errors_of(es) == expected, es
    en = problem(c.admin.api.post(proposals_url(c.org.id), data, lang="en"), 422,
                 "validation_error")
    assert errors_of(en) == expected
    for e_es, e_en in zip(es["errors"], en["errors"], strict=True):
        assert e_es["message"] != e_en["message"], (e_es, e_en)
        assert e_es["message"] and e_es["message"] != e_es["code"]
    assert r.headers["Content-Language"] == "es"
    # Nothing was written, and nobody was told.
    assert count(db, "SELECT count(*) FROM proposal WHERE org_id = :o", o=c.org.id) == 0
    assert notifications(c.fishers[0].api, "governance.proposal_opened") == []


def test_sharing_recipients_are_checked(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    office = factory.org(kind="authority")
    ngo = factory.org(kind="ngo", name="FIP Pargo del Pacífico")

    def sharing(recipient: Any, purpose: str = "fishery_improvement") -> Any:
        return c.admin.api.post(proposals_url(c.org.id), body(options=[
            {"label": "Sí", "effect": {"type": "data_sharing", "purpose": purpose,
                                       "recipient_org_id": str(recipient), "enabled": True}},
            {"label": "No"}]), lang="en")

    b = problem(sharing(office.id), 422, "validation_error")
    assert errors_of(b) == {"options.0.effect.recipient_org_id": "gov_recipient_kind"}
    assert "ngo, company, cooperative" in b["errors"][0]["message"]
    b = problem(sharing(c.org.id), 422, "validation_error")
    assert errors_of(b) == {"options.0.effect.recipient_org_id": "gov_recipient_self"}
    b = problem(sharing(ngo.id, "buyer"), 422, "validation_error")  # buyers are companies, coops
    assert errors_of(b) == {"options.0.effect.recipient_org_id": "gov_recipient_kind"}
    assert count(db, "SELECT count(*) FROM proposal WHERE org_id = :o", o=c.org.id) == 0
    r = sharing(ngo.id)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["options"][0]["effect"] == {
        "type": "data_sharing", "purpose": "fishery_improvement",
        "recipient_org_id": str(ngo.id), "enabled": True}


def test_window_errors_together(factory: Factory) -> None:
    c = coop(factory, 0)
    b = problem(c.admin.api.post(proposals_url(c.org.id), body(
        opens_at=_in(days=-2), closes_at=_in(days=-1))), 422, "validation_error")
    assert errors_of(b) == {"opens_at": "gov_opens_in_past", "closes_at": "gov_closes_in_past"}


def test_malformed_json_is_a_problem(factory: Factory) -> None:
    c = coop(factory, 0)
    r = c.admin.api.request("POST", proposals_url(c.org.id), data=b'{"title": NaN}',
                            headers={"Content-Type": "application/json"})
    problem(r, 400, "malformed_json")
    r = c.admin.api.request("POST", proposals_url(c.org.id), data=b'{"quorum": 1e999}',
                            headers={"Content-Type": "application/json"})
    problem(r, 400, "malformed_json")  # orjson: a number past a double is not JSON here
    r = c.admin.api.request("POST", proposals_url(c.org.id), data=b"[1, 2]",
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"


def test_who_may_open_a_proposal(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    other = coop(factory, 0)
    staff = factory.person(platform_admin=True)
    buyer = factory.person(factory.org(kind="company"), Role.buyer)
    coop_buyer = factory.person(c.org, Role.buyer)  # a buyer role inside the cooperative
    url = proposals_url(c.org.id)
    # A fisher: 403, before the body is even read (so an empty body says the same).
    problem(c.fishers[0].api.post(url, body()), 403, "gov_admins_only")
    problem(c.fishers[0].api.post(url, {}), 403, "gov_admins_only")
    problem(staff.api.post(url, body()), 403, "gov_admins_only")  # not a member
    for outsider in (other.admin, buyer, coop_buyer):
        problem(outsider.api.post(url, body()), 404, "not_found")
        problem(outsider.api.get(url), 404, "not_found")
    problem(c.admin.api.post(proposals_url(other.org.id), body()), 404, "not_found")
    problem(c.admin.api.post("/api/v1/organizations/00000000-0000-0000-0000-000000000001/proposals",
                             body()), 404, "not_found")
    problem(factory.person().api.post(url, body()), 404, "not_found")
    assert c.admin.api.client.post(url, json=body()).status_code == 401
    assert count(db, "SELECT count(*) FROM proposal WHERE org_id = :o", o=c.org.id) == 0
    # Only cooperatives vote.
    company = factory.org(kind="company")
    boss = factory.person(company, Role.admin)
    b = problem(boss.api.post(proposals_url(company.id), body(), lang="en"), 409,
                "gov_not_a_cooperative")
    assert "company" in b["detail"]


def test_who_sees_a_proposal(factory: Factory) -> None:
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id)
    staff = factory.person(platform_admin=True)
    url = proposal_url(prop["id"])
    got = staff.api.get(url).get_json()  # platform admins read (support, audit)...
    assert got["id"] == prop["id"] and got["you_can_vote"] is False
    assert staff.api.get(proposals_url(c.org.id)).status_code == 200
    problem(staff.api.post(f"{url}/cancel"), 403, "gov_admins_only")  # ...and nothing more
    other = coop(factory, 1)
    removed = factory.person(c.org, Role.fisher)
    from sqlalchemy import text

    factory.sess.execute(text("UPDATE membership SET status = 'removed' WHERE member_id = :m"),
                         {"m": removed.member.id})
    factory.sess.commit()
    for outsider in (other.admin, other.fishers[0], removed,
                     factory.person(factory.org(kind="company"), Role.buyer), factory.person()):
        problem(outsider.api.get(url), 404, "not_found")
        problem(outsider.api.post(f"{url}/cancel"), 404, "not_found")
        problem(outsider.api.get(f"{url}/receipts"), 404, "not_found")
    problem(c.admin.api.get(proposal_url("00000000-0000-0000-0000-000000000001")), 404,
            "not_found")


def test_cancel_before_any_vote_only(factory: Factory, db: Session) -> None:
    c = coop(factory, 2)
    prop = propose(c.admin.api, c.org.id)
    url = f"{proposal_url(prop['id'])}/cancel"
    problem(c.fishers[0].api.post(url), 403, "gov_admins_only")
    r = c.admin.api.post(url)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "cancelled" and r.get_json()["cancelled_at"]
    problem(c.admin.api.post(url), 409, "gov_proposal_cancelled")
    problem(c.fishers[0].api.post(f"{proposal_url(prop['id'])}/ballot",
                                  {"option_id": prop["options"][0]["id"]}), 409,
            "gov_proposal_cancelled")
    (n,) = notifications(c.fishers[1].api, "governance.proposal_cancelled")
    assert n["text"] == f"Se canceló la votación «{prop['title']}»."
    # A cancelled proposal never closes, not even past its window.
    end_window(db, prop["id"])
    got = c.admin.api.get(proposal_url(prop["id"])).get_json()
    assert got["status"] == "cancelled" and got["result"] is None
    problem(c.admin.api.get(f"{proposal_url(prop['id'])}/receipts"), 409, "gov_proposal_cancelled")

    voted_on = propose(c.admin.api, c.org.id)
    voted(c.fishers[0].api, voted_on["id"], voted_on["options"][1]["id"])
    problem(c.admin.api.post(f"{proposal_url(voted_on['id'])}/cancel", lang="en"), 409,
            "gov_proposal_has_votes")
    assert c.admin.api.get(proposal_url(voted_on["id"])).get_json()["status"] == "open"
    end_window(db, voted_on["id"])
    problem(c.admin.api.post(f"{proposal_url(voted_on['id'])}/cancel"), 409, "gov_proposal_closed")


def test_list_filters_and_pages(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    a = propose(c.admin.api, c.org.id, title="Primera")
    b = propose(c.admin.api, c.org.id, title="Segunda", opens_at=_in(days=1),
                closes_at=_in(days=3))
    d = propose(c.admin.api, c.org.id, title="Tercera")
    e = propose(c.admin.api, c.org.id, title="Cuarta")
    assert c.admin.api.post(f"{proposal_url(e['id'])}/cancel").status_code == 200
    end_window(db, a["id"])  # past its window: a list read closes it

    def ids(**q: Any) -> list[str]:
        r = c.fishers[0].api.get(proposals_url(c.org.id), query_string=q)
        assert r.status_code == 200, r.get_json()
        return [p["id"] for p in r.get_json()["proposals"]]

    assert ids() == [e["id"], d["id"], b["id"], a["id"]]
    assert ids(status="open") == [d["id"]]
    assert ids(status="scheduled") == [b["id"]]
    assert ids(status="closed") == [a["id"]]
    assert ids(status="cancelled") == [e["id"]]
    assert count(db, "SELECT count(*) FROM proposal_result WHERE proposal_id = :p", p=a["id"]) == 1
    first = c.fishers[0].api.get(proposals_url(c.org.id), query_string={"limit": 2}).get_json()
    assert [p["id"] for p in first["proposals"]] == [e["id"], d["id"]]
    assert first["next_before"] == d["id"]
    assert ids(limit=2, before=first["next_before"]) == [b["id"], a["id"]]
    b_ = problem(c.fishers[0].api.get(proposals_url(c.org.id), query_string={"status": "done"}),
                 422, "validation_error")
    assert errors_of(b_) == {"status": "one_of"}
    b_ = problem(c.fishers[0].api.get(proposals_url(c.org.id), query_string={"limit": 0}),
                 422, "validation_error")
    assert errors_of(b_) == {"limit": "range_between"}
