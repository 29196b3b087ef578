"""Voting: one member, one vote, changeable until the close; secret; receipts that verify."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.governance import ballots
from server.members.models import Role
from tests.conftest import Factory, errors_of, problem
from tests.governance.helpers import (
    coop,
    count,
    end_window,
    proposal_url,
    proposals_url,
    propose,
    result,
    tally,
    verify,
    vote,
    voted,
)


def _ballots(db: Session, pid: Any) -> list[tuple[bytes, str, bool]]:
    rows = db.execute(text("SELECT ballot_key, option_id::text, current FROM proposal_ballot "
                           "WHERE proposal_id = :p"), {"p": pid}).all()
    db.rollback()
    return [(bytes(r[0]), r[1], r[2]) for r in rows]


def test_one_member_one_vote_changeable_until_the_close(factory: Factory, db: Session) -> None:
    c = coop(factory, 3)
    prop = propose(c.admin.api, c.org.id, options=[{"label": "Sí"}, {"label": "No"},
                                                   {"label": "Lo pensamos"}])
    pid = prop["id"]
    yes, no, later = [o["id"] for o in prop["options"]]
    a, b, d = c.fishers
    r = vote(a.api, pid, yes)
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["option_id"] == yes and first["replaced_earlier"] is False
    assert len(ballots.normalize_receipt(first["receipt"]) or "") == 24
    assert first["receipt_hash"] == hashlib.sha256(
        first["receipt"].replace("-", "").encode()).hexdigest()
    # A change: 200, a new receipt; the first no longer counts.
    r = vote(a.api, pid, no)
    assert r.status_code == 200, r.get_json()
    second = r.get_json()
    assert second["replaced_earlier"] is True and second["receipt"] != first["receipt"]
    third = voted(a.api, pid, no)  # the same choice again is a new ballot too
    assert third["replaced_earlier"] is True
    voted(b.api, pid, yes)
    voted(c.admin.api, pid, later)
    rows = _ballots(db, pid)
    assert len(rows) == 5 and sum(cur for *_, cur in rows) == 3  # one current per voter
    assert count(db, "SELECT count(*) FROM proposal_voter WHERE proposal_id = :p", p=pid) == 3
    got = a.api.get(proposal_url(pid)).get_json()
    assert got["voters"] == 3 and got["you_voted"] is True
    assert d.api.get(proposal_url(pid)).get_json()["you_voted"] is False
    end_window(db, pid)
    res = result(d.api, pid)
    assert tally(res) == {yes: 1, no: 1, later: 1}
    assert (res["electorate"], res["turnout"], res["outcome"]) == (4, 3, "tie")
    assert res["winner_option_id"] is None and res["quorum_met"] is True
    # Closed: no more votes, no more changes.
    b_ = problem(vote(a.api, pid, yes, lang="en"), 409, "gov_proposal_closed")
    assert b_["detail"].startswith("The voting closed at ")
    problem(vote(d.api, pid, yes), 409, "gov_proposal_closed")
    assert result(d.api, pid) == res


def test_bad_votes(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id)
    other = propose(c.admin.api, c.org.id)
    api, pid = c.fishers[0].api, prop["id"]
    url = f"{proposal_url(pid)}/ballot"
    b = problem(vote(api, pid, other["options"][0]["id"]), 422, "validation_error")
    assert errors_of(b) == {"option_id": "gov_option_unknown"}
    assert other["options"][0]["id"] in b["errors"][0]["message"]
    b = problem(vote(api, pid, uuid.uuid4(), lang="en"), 422, "validation_error")
    assert b["errors"][0]["message"].startswith("This proposal has no option")
    for bad, code in ((None, "null"), ("sí", "not_a_uuid"), (7, "not_a_uuid")):
        b = problem(api.post(url, {"option_id": bad}), 422, "validation_error")
        assert errors_of(b) == {"option_id": code}
    assert errors_of(problem(api.post(url, {}), 422, "validation_error")) == {
        "option_id": "required"}
    assert errors_of(problem(api.post(url, {"option_id": prop["options"][0]["id"], "x": 1}), 422,
                             "validation_error")) == {"x": "unknown_field"}
    problem(vote(api, uuid.uuid4(), prop["options"][0]["id"]), 404, "not_found")
    assert _ballots(db, pid) == []
    assert count(db, "SELECT count(*) FROM proposal_voter WHERE proposal_id = :p", p=pid) == 0


def test_nobody_outside_the_electorate_votes(factory: Factory, db: Session) -> None:
    c = coop(factory, 1)
    other = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id)
    pid, yes = prop["id"], prop["options"][0]["id"]
    removed = factory.person(c.org, Role.fisher)
    pending = factory.person(c.org, Role.fisher)
    factory.sess.execute(text("UPDATE membership SET status = 'removed' WHERE member_id = :m"),
                         {"m": removed.member.id})
    factory.sess.execute(text("UPDATE membership SET status = 'pending' WHERE member_id = :m"),
                         {"m": pending.member.id})
    factory.sess.commit()
    buyer = factory.person(factory.org(kind="company"), Role.buyer)
    coop_buyer = factory.person(c.org, Role.buyer)
    for outsider in (other.admin, other.fishers[0], buyer, coop_buyer, removed, pending,
                     factory.person()):
        problem(vote(outsider.api, pid, yes), 404, "not_found")
    staff = factory.person(platform_admin=True)
    problem(vote(staff.api, pid, yes), 403, "gov_not_eligible")
    assert factory.person().api.client.post(f"{proposal_url(pid)}/ballot",
                                            json={"option_id": yes}).status_code == 401
    assert _ballots(db, pid) == []
    # A member removed after voting votes no more (and their ballot stays counted).
    voted(c.fishers[0].api, pid, yes)
    factory.sess.execute(text("UPDATE membership SET status = 'removed' WHERE member_id = :m"),
                         {"m": c.fishers[0].member.id})
    factory.sess.commit()
    problem(vote(c.fishers[0].api, pid, prop["options"][1]["id"]), 404, "not_found")
    end_window(db, pid)
    res = result(c.admin.api, pid)
    # Electorate: the admin, plus the one who voted while eligible (not the removed, the
    # pending, nor the cooperative's buyer).
    assert (res["electorate"], res["turnout"], tally(res)[yes]) == (2, 1, 1)


def test_a_vote_is_counted_by_the_members_own_ballot_key(factory: Factory, db: Session,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """If the ballot key changes while a proposal is open (SECRET_KEY rotated), a voter's
    earlier ballot cannot be found: the change is refused (409) rather than counting them
    twice."""
    from server.governance import api as gov_api

    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id)
    pid, (yes, no) = prop["id"], [o["id"] for o in prop["options"]]
    voted(c.fishers[0].api, pid, yes)
    with monkeypatch.context() as m:
        m.setattr(gov_api, "_secret", lambda: ballots.ballot_secret("another key"))
        problem(vote(c.fishers[0].api, pid, no), 409, "gov_ballot_key_changed")
        voted(c.admin.api, pid, no)  # a first vote works under any key
    rows = _ballots(db, pid)
    assert sorted(opt for _, opt, cur in rows if cur) == sorted([yes, no])
    voted(c.fishers[0].api, pid, no)  # the key is back: the change goes in
    end_window(db, pid)
    assert tally(result(c.admin.api, pid)) == {yes: 0, no: 2}


def test_ballots_are_secret(factory: Factory, app: Flask, db: Session) -> None:
    """No API shows another member's choice; the ballot table has no member id, and
    after the close the receipts keep neither a key nor the voting order."""
    c = coop(factory, 3)
    prop = propose(c.admin.api, c.org.id)
    pid, (yes, no) = prop["id"], [o["id"] for o in prop["options"]]
    a, b, d = c.fishers
    voted(a.api, pid, yes)
    voted(b.api, pid, no)
    voted(b.api, pid, yes)
    voted(d.api, pid, no)

    cols = db.execute(text("SELECT column_name FROM information_schema.columns "
                           "WHERE table_name = 'proposal_ballot' ORDER BY column_name")).scalars()
    assert set(cols) == {"org_id", "proposal_id", "receipt_hash", "ballot_key", "option_id",
                         "current"}
    db.rollback()
    raw = db.execute(text("SELECT b::text FROM proposal_ballot b WHERE proposal_id = :p"),
                     {"p": pid}).scalars().all()
    db.rollback()
    for person in (a, b, d):
        mid = person.member.id
        for row in raw:
            assert str(mid) not in row and mid.hex not in row
        # The key is not the member id and cannot be made from it without the server key.
        unkeyed = hashlib.sha256(uuid.UUID(pid).bytes + mid.bytes).digest()
        assert all(k not in (mid.bytes, unkeyed) for k, *_ in _ballots(db, pid))
    secret = ballots.ballot_secret(app.config["SECRET_KEY"])
    keys = {k: opt for k, opt, cur in _ballots(db, pid) if cur}
    assert keys[ballots.ballot_key(secret, uuid.UUID(pid), a.member.id)] == yes  # the key holder can

    def everything(person: Any) -> str:
        api = person.api
        texts = [api.get(proposal_url(pid)).get_data(as_text=True),
                 api.get(proposals_url(c.org.id)).get_data(as_text=True),
                 api.get(f"/api/v1/organizations/{c.org.id}/settings").get_data(as_text=True),
                 api.get("/api/v1/me/notifications").get_data(as_text=True)]
        if ended:
            texts.append(api.get(f"{proposal_url(pid)}/receipts").get_data(as_text=True))
        return "\n".join(texts)

    ended = False
    for viewer in (c.admin, d):
        seen = everything(viewer)
        for voter in (a, b):
            assert str(voter.member.id) not in seen
    end_window(db, pid)
    ended = True
    for viewer in (c.admin, d):
        seen = everything(viewer)
        for voter in (a, b):
            assert str(voter.member.id) not in seen
    assert tally(result(d.api, pid)) == {yes: 2, no: 1}

    # After the close: no working ballots left, receipts without keys, in hash order, all
    # written by the closing transaction (nothing ties them to the voters' transactions).
    assert _ballots(db, pid) == []
    cols = db.execute(text("SELECT column_name FROM information_schema.columns "
                           "WHERE table_name = 'proposal_receipt'")).scalars()
    assert set(cols) == {"org_id", "proposal_id", "receipt_hash", "option_id", "counted"}
    db.rollback()
    stored = [bytes(h) for h in db.execute(text(
        "SELECT receipt_hash FROM proposal_receipt WHERE proposal_id = :p ORDER BY ctid"),
        {"p": pid}).scalars()]
    assert len(stored) == 4 and stored == sorted(stored)
    xmins = set(db.execute(text("SELECT xmin::text FROM proposal_receipt WHERE proposal_id = :p"),
                           {"p": pid}).scalars())
    voter_xmins = set(db.execute(text(
        "SELECT xmin::text FROM proposal_voter WHERE proposal_id = :p"), {"p": pid}).scalars())
    db.rollback()
    assert len(xmins) == 1 and not xmins & voter_xmins


def test_receipts_verify(factory: Factory, db: Session) -> None:
    c = coop(factory, 2)
    prop = propose(c.admin.api, c.org.id)
    pid, (yes, no) = prop["id"], [o["id"] for o in prop["options"]]
    a, b = c.fishers
    r1 = voted(a.api, pid, yes)["receipt"]
    r2 = voted(a.api, pid, no)["receipt"]
    rb = voted(b.api, pid, no)["receipt"]

    def check(api: Any, receipt: str) -> dict[str, Any]:
        r = verify(api, pid, receipt)
        assert r.status_code == 200, r.get_json()
        out: dict[str, Any] = r.get_json()
        return out

    assert check(a.api, r1) == {"proposal_id": pid, "state": "superseded", "option_id": yes,
                                "in_tally": None}
    assert check(a.api, r2) == {"proposal_id": pid, "state": "current", "option_id": no,
                                "in_tally": None}
    # As typed by hand: lower case, spaces for hyphens.
    assert check(a.api, r2.lower().replace("-", " "))["state"] == "current"
    unknown = ballots.new_receipt()
    assert check(a.api, unknown)["state"] == "unknown"
    for bad in ("", "ABC", r2 + "A", r2.replace(r2[0], "1"), "ÁBCD" * 6):
        b_ = problem(verify(a.api, pid, bad), 422, "validation_error")
        assert errors_of(b_) == {"receipt": "gov_receipt_invalid"}, bad
    assert errors_of(problem(a.api.post(f"{proposal_url(pid)}/receipts/verify", {}), 422,
                             "validation_error")) == {"receipt": "required"}
    problem(a.api.get(f"{proposal_url(pid)}/receipts"), 409, "gov_proposal_not_closed")
    # Another proposal does not know this receipt.
    other = propose(c.admin.api, c.org.id)
    r = verify(a.api, other["id"], r2)
    assert r.status_code == 200 and r.get_json()["state"] == "unknown"
    # Outsiders cannot ask.
    problem(verify(coop(factory, 0).admin.api, pid, r2), 404, "not_found")

    end_window(db, pid)
    assert check(b.api, r1) == {"proposal_id": pid, "state": "superseded", "option_id": yes,
                                "in_tally": False}
    assert check(b.api, r2) == {"proposal_id": pid, "state": "counted", "option_id": no,
                                "in_tally": True}
    assert check(a.api, unknown) == {"proposal_id": pid, "state": "unknown", "option_id": None,
                                     "in_tally": False}
    res = result(a.api, pid)
    published = a.api.get(f"{proposal_url(pid)}/receipts").get_json()
    mine = {ballots.receipt_hash(x).hex() for x in (r2, rb)}
    assert {x["hash"] for x in published["receipts"]} == mine
    assert published["count"] == res["turnout"] == 2
    assert published["digest"] == res["receipts_digest"] == hashlib.sha256(
        b"".join(sorted(bytes.fromhex(h) for h in mine))).hexdigest()
    recount: dict[str, int] = {yes: 0, no: 0}
    for x in published["receipts"]:
        recount[x["option_id"]] += 1
    assert recount == tally(res) == {yes: 0, no: 2}


def test_votes_are_rate_limited(factory: Factory, db: Session, monkeypatch: pytest.MonkeyPatch,
                                app: Flask) -> None:
    monkeypatch.setitem(app.config, "GOVERNANCE_VOTES_PER_WINDOW", 3)
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id)
    pid, (yes, no) = prop["id"], [o["id"] for o in prop["options"]]
    api = c.fishers[0].api
    voted(api, pid, yes)
    problem(api.post(f"{proposal_url(pid)}/ballot", {"option_id": "bad"}), 422,
            "validation_error")  # counts too
    last = voted(api, pid, no)
    r = vote(api, pid, yes)
    b = problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1 and b["title"] == "Demasiados intentos."
    # The refused vote changed nothing; another member is not limited by this one.
    r = verify(api, pid, last["receipt"])
    assert r.get_json()["state"] == "current"
    assert len(_ballots(db, pid)) == 2
    voted(c.admin.api, pid, yes)


def test_proposals_are_rate_limited(factory: Factory, db: Session, monkeypatch: pytest.MonkeyPatch,
                                    app: Flask) -> None:
    monkeypatch.setitem(app.config, "GOVERNANCE_PROPOSALS_PER_WINDOW", 2)
    c = coop(factory, 0)
    propose(c.admin.api, c.org.id)
    propose(c.admin.api, c.org.id)
    problem(c.admin.api.post(proposals_url(c.org.id), {}), 429, "rate_limited")
    assert count(db, "SELECT count(*) FROM proposal WHERE org_id = :o", o=c.org.id) == 2
