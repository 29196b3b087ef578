"""Closing: by the job or on the first read after the window, exactly once; results with
turnout and quorum, recorded immutably; effects applied only when the result says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy.exc
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server import jobs
from server.governance import tasks
from server.members.models import Role
from tests.conftest import Api, Factory, problem
from tests.governance.helpers import (
    coop,
    count,
    end_window,
    notifications,
    proposal_url,
    propose,
    result,
    tally,
    voted,
)
from tests.test_sync_concurrency import run_together


def _result_rows(db: Session, pid: Any) -> int:
    return count(db, "SELECT count(*) FROM proposal_result WHERE proposal_id = :p", p=pid)


def test_the_job_closes_due_proposals_once(factory: Factory, app: Flask, db: Session) -> None:
    c = coop(factory, 2)
    due = propose(c.admin.api, c.org.id)
    later = propose(c.admin.api, c.org.id)
    voted(c.fishers[0].api, due["id"], due["options"][0]["id"])
    end_window(db, due["id"])
    assert _result_rows(db, due["id"]) == 0  # nobody read it yet
    jobs.configure(dict(app.config))
    out = tasks.close_due(timestamp=0)
    assert out["closed"] >= 1
    assert _result_rows(db, due["id"]) == 1 and _result_rows(db, later["id"]) == 0
    row = db.execute(text("SELECT electorate, turnout, quorum_votes, quorum_met, outcome "
                          "FROM proposal_result WHERE proposal_id = :p"), {"p": due["id"]}).one()
    db.rollback()
    assert tuple(row) == (3, 1, 2, False, "winner")  # 1 of 3 voted; half needed 2
    assert tasks.close_due(timestamp=0) == {"closed": 0}
    assert _result_rows(db, due["id"]) == 1
    res = result(c.fishers[1].api, due["id"])
    assert res["quorum_met"] is False and res["effect_applied"] is False
    # The electorate was told, once, in its language.
    for person in c.voters:
        (n,) = notifications(person.api, "governance.proposal_no_quorum")
        assert n["data"]["proposal_id"] == due["id"]
    (n,) = notifications(c.fishers[1].api, "governance.proposal_no_quorum", lang="en")
    assert n["text"] == (f"“{due['title']}” did not reach its quorum: 1 of 3 members voted, "
                         "2 were needed.")


def test_closing_on_read_races_the_job_and_writes_once(factory: Factory, app: Flask,
                                                       db: Session) -> None:
    c = coop(factory, 3)
    prop = propose(c.admin.api, c.org.id)
    pid, yes = prop["id"], prop["options"][0]["id"]
    for person in c.voters:
        voted(person.api, pid, yes)
    end_window(db, pid)
    jobs.configure(dict(app.config))
    readers = []
    for i in range(4):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.251.{i}.{i + 1}"
        readers.append(Api(client, c.voters[i % len(c.voters)].api.token))

    def read(api: Api) -> Callable[[], int]:
        return lambda: int(api.get(proposal_url(pid)).status_code)

    outs = run_together([read(a) for a in readers] + [lambda: tasks.close_due(timestamp=0)["closed"]])
    assert outs[:4] == [200] * 4
    assert _result_rows(db, pid) == 1
    assert count(db, "SELECT count(*) FROM proposal_tally WHERE proposal_id = :p", p=pid) == 2
    for person in c.voters:
        assert len(notifications(person.api, "governance.proposal_decided")) == 1
    res = result(c.admin.api, pid)
    assert res["outcome"] == "winner" and res["winner_option_id"] == yes
    assert res["quorum_met"] is True and tally(res)[yes] == 4
    (n,) = notifications(c.fishers[0].api, "governance.proposal_decided")
    assert n["text"] == (f"Resultado de «{prop['title']}»: ganó «Sí» con 4 votos; votaron 4 de 4 "
                         "socios.")


def test_results_are_immutable(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id, options=[
        {"label": "Sí", "effect": {"type": "ratings", "enabled": False}}, {"label": "No"}])
    pid = prop["id"]
    voted(c.fishers[0].api, pid, prop["options"][0]["id"])
    voted(c.admin.api, pid, prop["options"][0]["id"])
    end_window(db, pid)
    assert result(c.admin.api, pid)["effect_applied"] is True
    for sql in ("UPDATE proposal_result SET turnout = 0 WHERE proposal_id = :p",
                "UPDATE proposal_result SET outcome = 'tie', winner_option_id = NULL "
                "WHERE proposal_id = :p",
                "DELETE FROM proposal_result WHERE proposal_id = :p",
                "UPDATE proposal_tally SET votes = votes + 1 WHERE proposal_id = :p",
                "DELETE FROM proposal_tally WHERE proposal_id = :p",
                "UPDATE proposal_receipt SET counted = NOT counted WHERE proposal_id = :p",
                "DELETE FROM proposal_receipt WHERE proposal_id = :p",
                "UPDATE proposal_option SET label = 'No' WHERE proposal_id = :p",
                "DELETE FROM proposal_option WHERE proposal_id = :p",
                "UPDATE coop_setting_change SET enabled = true WHERE proposal_id = :p",
                "DELETE FROM coop_setting_change WHERE proposal_id = :p"):
        with pytest.raises(sqlalchemy.exc.DBAPIError) as exc:
            db.execute(text(sql), {"p": pid})
        assert "immutable" in str(exc.value), sql
        db.rollback()
    assert tally(result(c.admin.api, pid)) == {prop["options"][0]["id"]: 2,
                                                prop["options"][1]["id"]: 0}


def test_options_are_fixed_from_the_start(factory: Factory, db: Session) -> None:
    c = coop(factory, 0)
    prop = propose(c.admin.api, c.org.id)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="immutable"):
        db.execute(text("UPDATE proposal_option SET label = 'Tal vez' WHERE proposal_id = :p"),
                   {"p": prop["id"]})
    db.rollback()


@pytest.mark.parametrize(("votes", "quorum", "outcome", "met"), [
    ([], 0.5, "none", False),
    ([], 0, "none", True),
    ([0, 0, 1], 0.5, "winner", True),
    ([0, 1], 0.5, "tie", True),
    ([1], 0.25, "winner", True),  # 1 of 4: a quarter is enough
    ([1], 0.26, "winner", False),
    ([0, 0, 0, 1], 1, "winner", True),
])
def test_outcomes_and_quorum(factory: Factory, db: Session, votes: list[int], quorum: float,
                             outcome: str, met: bool) -> None:
    c = coop(factory, 3)  # electorate 4
    prop = propose(c.admin.api, c.org.id, quorum=quorum)
    pid, opts = prop["id"], [o["id"] for o in prop["options"]]
    for person, choice in zip(c.voters, votes, strict=False):
        voted(person.api, pid, opts[choice])
    end_window(db, pid)
    res = result(c.fishers[0].api, pid)
    assert (res["electorate"], res["turnout"]) == (4, len(votes))
    assert (res["outcome"], res["quorum_met"]) == (outcome, met), res
    assert sum(tally(res).values()) == len(votes)
    assert res["quorum"] == quorum
    if outcome == "winner":
        top = max(set(votes), key=votes.count)
        assert res["winner_option_id"] == opts[top]
    else:
        assert res["winner_option_id"] is None
    kind = {"none": "governance.proposal_no_votes", "tie": "governance.proposal_tied",
            "winner": "governance.proposal_decided"}[outcome]
    if votes and not met:
        kind = "governance.proposal_no_quorum"
    assert len(notifications(c.admin.api, kind)) == 1


def test_the_electorate_is_counted_at_the_close(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id, quorum=0.5)
    pid, yes = prop["id"], prop["options"][0]["id"]
    voted(c.fishers[0].api, pid, yes)
    # Three fishers join while the window is open: the electorate grows to 5 and one vote
    # of five is no quorum.
    for _ in range(3):
        factory.person(c.org, Role.fisher)
    end_window(db, pid)
    res = result(c.admin.api, pid)
    assert (res["electorate"], res["turnout"], res["quorum_votes"], res["quorum_met"]) == \
        (5, 1, 3, False)


def _sharing_prop(c: Any, recipient: Any, enabled: bool, quorum: float = 0.5) -> dict[str, Any]:
    return propose(c.admin.api, c.org.id, title="Compartir con el FIP", quorum=quorum, options=[
        {"label": "Sí", "effect": {"type": "data_sharing", "purpose": "fishery_improvement",
                                   "recipient_org_id": str(recipient), "enabled": enabled}},
        {"label": "No"}])


def _settings(api: Api, org_id: Any) -> dict[str, Any]:
    r = api.get(f"/api/v1/organizations/{org_id}/settings")
    assert r.status_code == 200, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def test_effects_apply_only_with_quorum_and_the_winning_option(factory: Factory,
                                                               db: Session) -> None:
    c = coop(factory, 3)  # electorate 4
    fip = factory.org(kind="ngo", name="FIP Pargo del Pacífico")
    default = _settings(c.fishers[0].api, c.org.id)
    assert default == {"org_id": str(c.org.id), "ratings": {
        "enabled": True, "proposal_id": None, "changed_at": None}, "data_sharing": []}

    # The effect's option wins, but without quorum (1 of 4, half needed): nothing changes.
    p1 = _sharing_prop(c, fip.id, True)
    voted(c.fishers[0].api, p1["id"], p1["options"][0]["id"])
    end_window(db, p1["id"])
    r1 = result(c.admin.api, p1["id"])
    assert (r1["outcome"], r1["quorum_met"], r1["effect_applied"]) == ("winner", False, False)
    # Quorum, but the other option wins: nothing changes.
    p2 = _sharing_prop(c, fip.id, True)
    for person, choice in zip(c.voters, (1, 1, 0), strict=False):
        voted(person.api, p2["id"], p2["options"][choice]["id"])
    end_window(db, p2["id"])
    assert result(c.admin.api, p2["id"])["effect_applied"] is False
    # A tie with the effect's option among the leaders: nothing changes.
    p3 = _sharing_prop(c, fip.id, True)
    for person, choice in zip(c.voters, (0, 1), strict=False):
        voted(person.api, p3["id"], p3["options"][choice]["id"])
    end_window(db, p3["id"])
    assert result(c.admin.api, p3["id"])["outcome"] == "tie"
    assert _settings(c.admin.api, c.org.id) == default
    assert count(db, "SELECT count(*) FROM coop_setting_change WHERE org_id = :o", o=c.org.id) == 0

    # Quorum, and it wins: the cooperative shares with the FIP.
    p4 = _sharing_prop(c, fip.id, True)
    for person in c.voters[:3]:
        voted(person.api, p4["id"], p4["options"][0]["id"])
    end_window(db, p4["id"])
    r4 = result(c.fishers[2].api, p4["id"])
    assert r4["effect_applied"] is True
    s = _settings(c.fishers[2].api, c.org.id)
    (sharing,) = s["data_sharing"]
    assert {k: sharing[k] for k in ("purpose", "recipient_org_id", "recipient_name", "enabled",
                                    "proposal_id")} == {
        "purpose": "fishery_improvement", "recipient_org_id": str(fip.id),
        "recipient_name": fip.name, "enabled": True, "proposal_id": p4["id"]}
    assert s["ratings"]["enabled"] is True
    (told,) = notifications(c.fishers[0].api, "governance.sharing_enabled")
    assert fip.name in told["text"]

    # A later vote turns it off again; the history keeps both, newest first.
    p5 = _sharing_prop(c, fip.id, False, quorum=0)
    voted(c.admin.api, p5["id"], p5["options"][0]["id"])
    end_window(db, p5["id"])
    assert result(c.admin.api, p5["id"])["effect_applied"] is True
    (sharing,) = _settings(c.admin.api, c.org.id)["data_sharing"]
    assert sharing["enabled"] is False and sharing["proposal_id"] == p5["id"]
    hist = c.fishers[1].api.get(f"/api/v1/organizations/{c.org.id}/settings/history").get_json()
    assert [(h["proposal_id"], h["enabled"], h["setting"]) for h in hist["changes"]] == [
        (p5["id"], False, "data_sharing"), (p4["id"], True, "data_sharing")]
    assert hist["changes"][0]["proposal_title"] == "Compartir con el FIP"

    # Settings are the cooperative's members' to read (and platform admins').
    staff = factory.person(platform_admin=True)
    assert staff.api.get(f"/api/v1/organizations/{c.org.id}/settings").status_code == 200
    for outsider in (coop(factory, 0).admin, factory.person(factory.org(kind="company"), Role.buyer),
                     factory.person(fip, Role.admin)):
        problem(outsider.api.get(f"/api/v1/organizations/{c.org.id}/settings"), 404, "not_found")
        problem(outsider.api.get(f"/api/v1/organizations/{c.org.id}/settings/history"), 404,
                "not_found")


def test_every_read_path_closes_a_due_proposal(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    for path in ("", "/receipts"):
        prop = propose(c.admin.api, c.org.id)
        voted(c.fishers[0].api, prop["id"], prop["options"][0]["id"])
        end_window(db, prop["id"])
        r = c.fishers[0].api.get(proposal_url(prop["id"]) + path)
        assert r.status_code == 200, r.get_json()
        assert _result_rows(db, prop["id"]) == 1
    prop = propose(c.admin.api, c.org.id)
    receipt = voted(c.fishers[0].api, prop["id"], prop["options"][0]["id"])["receipt"]
    end_window(db, prop["id"])
    r = c.fishers[0].api.post(f"{proposal_url(prop['id'])}/receipts/verify", {"receipt": receipt})
    assert r.get_json()["state"] == "counted" and _result_rows(db, prop["id"]) == 1
