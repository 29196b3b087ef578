"""Consent: opt-in, revocable, audited; only the member sets it; admins see counts only."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.consent import services
from server.consent.models import Purpose
from server.members.models import Role
from tests.conftest import Api, Factory, errors_of, problem

URL = "/api/v1/me/consents"


def test_a_member_grants_and_revokes_and_the_history_keeps_both(factory: Factory,
                                                               db: Session) -> None:
    coop = factory.coop()
    api = coop.fisher.api
    body = api.get(URL).get_json()
    assert body["consents"] == []  # opt-in: nothing until the member says yes
    purposes = {p["purpose"]: p for p in body["purposes"]}
    assert set(purposes) == {*Purpose, "mandatory_government_reporting"}
    assert purposes["mandatory_government_reporting"]["consent_required"] is False
    assert purposes["cooperative_statistics"]["consent_required"] is True
    assert "CONAPESCA" in purposes["mandatory_government_reporting"]["description"]
    assert api.get(URL, lang="en").get_json()["purposes"][0]["title"] == "Cooperative statistics"

    org = str(coop.org.id)
    assert services.consenting(db, Purpose.cooperative_statistics, coop.org.id) == set()
    r = api.post(URL, {"purpose": "cooperative_statistics", "recipient_id": org, "granted": True})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["granted"] is True and r.get_json()["recipient_name"] == coop.org.name
    db.rollback()
    assert services.consenting(db, Purpose.cooperative_statistics, coop.org.id) == {
        coop.fisher.member.id}
    # Saying yes again changes nothing, and is not an event.
    assert api.post(URL, {"purpose": "cooperative_statistics", "recipient_id": org,
                          "granted": True}).status_code == 200
    r = api.post(URL, {"purpose": "cooperative_statistics", "recipient_id": org,
                       "granted": False, "note": "ya no"})
    assert r.status_code == 200 and r.get_json()["granted"] is False
    db.rollback()
    assert services.consenting(db, Purpose.cooperative_statistics, coop.org.id) == set()
    (state,) = api.get(URL).get_json()["consents"]
    assert state["granted"] is False and state["purpose"] == "cooperative_statistics"

    events = api.get(f"{URL}/history").get_json()["events"]
    assert [(e["granted"], e["note"]) for e in events] == [(False, "ya no"), (True, None)]
    assert {e["by_member_id"] for e in events} == {str(coop.fisher.member.id)}
    page = api.get(f"{URL}/history?limit=1").get_json()
    assert len(page["events"]) == 1 and page["next_before"] == events[0]["id"]
    rest = api.get(f"{URL}/history?limit=1&before={page['next_before']}").get_json()
    assert [e["id"] for e in rest["events"]] == [events[1]["id"]] and rest["next_before"] is None


def test_the_audit_cannot_be_rewritten(factory: Factory, db: Session) -> None:
    coop = factory.coop()
    coop.fisher.api.post(URL, {"purpose": "cooperative_statistics",
                               "recipient_id": str(coop.org.id), "granted": True})
    db.rollback()
    for sql in ("UPDATE consent_event SET granted = false WHERE member_id = :m",
                "DELETE FROM consent_event WHERE member_id = :m"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="immutable"):
            db.execute(text(sql), {"m": coop.fisher.member.id})
        db.rollback()


def test_others_never_see_or_set_a_members_consent(factory: Factory) -> None:
    coop, other = factory.coop(), factory.coop()
    org = str(coop.org.id)
    coop.fisher.api.post(URL, {"purpose": "cooperative_statistics", "recipient_id": org,
                               "granted": True})
    # Each member sees only their own answers and history.
    assert coop.admin.api.get(URL).get_json()["consents"] == []
    assert coop.admin.api.get(f"{URL}/history").get_json()["events"] == []
    # The cooperative's admins see counts, never who.
    summary = coop.admin.api.get(f"/api/v1/organizations/{org}/consents").get_json()
    assert summary == {"members": 2, "granted": 1, "revoked": 0, "unanswered": 1}
    problem(coop.fisher.api.get(f"/api/v1/organizations/{org}/consents"), 403, "forbidden")
    problem(other.admin.api.get(f"/api/v1/organizations/{org}/consents"), 404, "not_found")
    problem(factory.person().api.get(f"/api/v1/organizations/{org}/consents"), 404, "not_found")
    problem(Api(coop.admin.api.client).get(URL), 401, "token_missing")


def test_bad_consents_are_refused_whole(factory: Factory, db: Session) -> None:
    coop, other = factory.coop(), factory.coop()
    api = coop.fisher.api
    ngo = factory.org("Instituto de investigación", kind="ngo")
    authority = factory.org("Oficina", kind="authority")
    cases = [
        ({"purpose": "selling_my_soul", "recipient_id": str(coop.org.id), "granted": True},
         "purpose"),
        ({"purpose": "research", "recipient_id": "not-a-uuid", "granted": True}, "recipient_id"),
        ({"purpose": "research", "recipient_id": str(ngo.id)}, "granted"),
        ({"purpose": "research", "recipient_id": "00000000-0000-0000-0000-00000000abcd",
          "granted": True}, "recipient_id"),
        # Extra reporting to an authority is not a consent purpose: mandatory reports are.
        ({"purpose": "research", "recipient_id": str(authority.id), "granted": True},
         "recipient_id"),
        # Another cooperative's pooled statistics: not yours to join.
        ({"purpose": "cooperative_statistics", "recipient_id": str(other.org.id),
          "granted": True}, "recipient_id"),
        ({"purpose": "buyer", "recipient_id": str(ngo.id), "granted": True}, "recipient_id"),
    ]
    for body, field in cases:
        r = api.post(URL, body, lang="es")
        assert r.status_code == 422, (body, r.get_json())
        assert field in errors_of(r.get_json()), (body, r.get_json())
        assert r.get_json()["errors"][0]["message"]
    es = api.post(URL, cases[5][0], lang="es").get_json()["errors"][0]["message"]
    en = api.post(URL, cases[5][0], lang="en").get_json()["errors"][0]["message"]
    assert es != en and "cooperativa" in es
    db.rollback()
    assert db.scalar(text("SELECT count(*) FROM consent_event WHERE member_id = :m"),
                     {"m": coop.fisher.member.id}) == 0
    r = api.post(URL, {"purpose": "research", "recipient_id": str(ngo.id), "granted": True})
    assert r.status_code == 200 and r.get_json()["recipient_name"] == "Instituto de investigación"


def test_only_active_members_consent_to_a_cooperatives_statistics(factory: Factory) -> None:
    coop = factory.coop()
    buyer = factory.person(coop.org, Role.buyer)
    r = buyer.api.post(URL, {"purpose": "cooperative_statistics",
                             "recipient_id": str(coop.org.id), "granted": True})
    assert r.status_code == 200  # any active member, whatever the role
    outsider = factory.person()
    r = outsider.api.post(URL, {"purpose": "cooperative_statistics",
                                "recipient_id": str(coop.org.id), "granted": True})
    assert r.status_code == 422 and errors_of(r.get_json()) == {
        "recipient_id": "recipient_not_your_cooperative"}
