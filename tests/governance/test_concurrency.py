"""Many members voting and changing their votes at once, on the real database: the tally is
each voter's last choice, and a close in the middle counts exactly the votes it accepted."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.governance import ballots, closing
from server.members.auth import Principal
from tests.conftest import Api, Factory
from tests.governance.helpers import (
    coop,
    count,
    end_window,
    proposal_url,
    propose,
    result,
    tally,
    verify,
    vote,
    voted,
)
from tests.test_sync_concurrency import run_together


def _client(app: Flask, token: str | None, i: int) -> Api:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.250.{i // 250}.{i % 250 + 1}"
    return Api(client, token)


def _options(prop: dict[str, Any]) -> list[str]:
    return [o["id"] for o in prop["options"]]


@pytest.mark.slow
def test_concurrent_votes_and_changes_count_each_voters_last_choice(
        factory: Factory, app: Flask, db: Session) -> None:
    c = coop(factory, 9)  # 10 voters
    prop = propose(c.admin.api, c.org.id, options=[{"label": "Sí"}, {"label": "No"},
                                                   {"label": "Abstención"}])
    pid, opts = prop["id"], _options(prop)
    rng = random.Random(6)
    plans = {p.member.id: [rng.choice(opts) for _ in range(4)] for p in c.voters}
    racers = c.voters[:2]  # these two also vote from a second phone at the same moment
    race_plans = {p.member.id: [rng.choice(opts) for _ in range(3)] for p in racers}

    def run(api: Api, plan: list[str]) -> Callable[[], list[tuple[str, str]]]:
        def go() -> list[tuple[str, str]]:
            cast = []
            for option in plan:
                r = vote(api, pid, option)
                assert r.status_code in (200, 201), r.get_json()
                cast.append((option, r.get_json()["receipt"]))
            return cast
        return go

    jobs = [run(_client(app, p.api.token, i), plans[p.member.id]) for i, p in enumerate(c.voters)]
    jobs += [run(_client(app, p.api.token, 100 + i), race_plans[p.member.id])
             for i, p in enumerate(racers)]
    outs = run_together(jobs)

    by_voter: dict[Any, list[tuple[str, str]]] = {p.member.id: list(outs[i])
                                                  for i, p in enumerate(c.voters)}
    for i, p in enumerate(racers):
        by_voter[p.member.id] += outs[len(c.voters) + i]
    expected: Counter[str] = Counter()
    for person in c.voters:
        states = {receipt: verify(person.api, pid, receipt).get_json()
                  for _, receipt in by_voter[person.member.id]}
        current = [(opt, r) for opt, r in by_voter[person.member.id]
                   if states[r]["state"] == "current"]
        assert len(current) == 1, (person.member.id, states)  # one counted ballot each
        if person not in racers:
            assert current[0] == by_voter[person.member.id][-1]  # the last one, in order
        assert states[current[0][1]]["option_id"] == current[0][0]
        assert all(s["state"] == "superseded" for r, s in states.items() if r != current[0][1])
        expected[current[0][0]] += 1
    assert count(db, "SELECT count(*) FROM proposal_voter WHERE proposal_id = :p", p=pid) == 10
    assert count(db, "SELECT count(*) FROM proposal_ballot WHERE proposal_id = :p AND current",
                 p=pid) == 10
    end_window(db, pid)
    res = result(c.admin.api, pid)
    assert res["turnout"] == 10 and res["electorate"] == 10
    assert tally(res) == {o: expected.get(o, 0) for o in opts}


@pytest.mark.slow
@pytest.mark.parametrize("rounds", [3])
def test_a_close_in_the_middle_counts_exactly_the_accepted_votes(
        factory: Factory, app: Flask, monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    """Votes keep coming while the window ends and a read closes the proposal: every vote
    answered 2xx is in the count (its receipt counted, or superseded by the voter's next
    one), every later one is refused. Several rounds, as a race shows itself by chance."""
    monkeypatch.setitem(app.config, "GOVERNANCE_VOTES_PER_WINDOW", 5000)
    c = coop(factory, 7)  # 8 voters
    apis = [_client(app, p.api.token, 200 + i) for i, p in enumerate(c.voters)]
    maker = app.extensions["cardumen.sessionmaker"]
    for round_ in range(rounds):
        prop = propose(c.admin.api, c.org.id)
        pid, opts = prop["id"], _options(prop)

        def voter(api: Api, seed: int, pid: str = pid,
                  opts: list[str] = opts) -> Callable[[], list[tuple[str, str]]]:
            rng = random.Random(seed)

            def go() -> list[tuple[str, str]]:
                accepted = []
                for _ in range(300):
                    option = rng.choice(opts)
                    r = vote(api, pid, option)
                    if r.status_code == 409:
                        assert r.get_json()["code"] == "gov_proposal_closed"
                        break
                    assert r.status_code in (200, 201), r.get_json()
                    accepted.append((option, r.get_json()["receipt"]))
                return accepted
            return go

        def closer(pid: str = pid) -> list[tuple[str, str]]:
            time.sleep(0.4)
            with maker() as sess:
                end_window(sess, pid)
            r = c.admin.api.get(proposal_url(pid))
            assert r.status_code == 200 and r.get_json()["status"] == "closed"
            return []

        outs = run_together([voter(api, 10 * round_ + i) for i, api in enumerate(apis)]
                            + [closer])
        accepted = outs[:-1]
        assert all(accepted), "every voter should get a vote in before the close"
        assert any(len(a) > 1 for a in accepted)
        res = result(c.admin.api, pid)
        expected = Counter(a[-1][0] for a in accepted)
        assert tally(res) == {o: expected.get(o, 0) for o in opts}
        assert res["turnout"] == len(c.voters)
        for person, mine in zip(c.voters, accepted, strict=True):
            *earlier, (_, last) = mine
            assert verify(person.api, pid, last).get_json()["state"] == "counted"
            for _, receipt in earlier:
                assert verify(person.api, pid, receipt).get_json()["state"] == "superseded"
        published = c.admin.api.get(f"{proposal_url(pid)}/receipts").get_json()
        assert published["count"] == len(c.voters)


def test_a_vote_in_flight_when_the_window_ends_is_counted(factory: Factory, app: Flask,
                                                          db: Session) -> None:
    """Deterministic: a change of vote accepted just before ``closes_at`` but not yet
    committed holds the proposal FOR SHARE, so the close waits for it and counts it. (A
    first vote would also be waited for, through the voter row's foreign key; a change
    writes no row that refers to the proposal, so only the share lock covers it.)"""
    c = coop(factory, 1)
    prop = propose(c.admin.api, c.org.id)
    pid, (yes, no) = uuid.UUID(prop["id"]), [o["id"] for o in prop["options"]]
    first = voted(c.fishers[0].api, pid, no)
    db.execute(text("UPDATE proposal SET opens_at = clock_timestamp() - interval '1 hour', "
                    "closes_at = clock_timestamp() + interval '1 second' WHERE id = :p"),
               {"p": pid})
    db.commit()
    maker = app.extensions["cardumen.sessionmaker"]
    secret = ballots.ballot_secret(app.config["SECRET_KEY"])
    fisher = Principal(c.fishers[0].member.id, uuid.uuid4(), False, {c.org.id: "fisher"})
    admin = Principal(c.admin.member.id, uuid.uuid4(), False, {c.org.id: "admin"})
    closed: list[Any] = []

    def read() -> None:
        with maker() as sess:
            closed.append(closing.fresh(sess, admin, pid).closed_at)
            sess.commit()

    with maker() as vote_tx:
        cast = ballots.cast(vote_tx, fisher, pid, uuid.UUID(yes), secret)
        time.sleep(1.2)  # the window has ended; the vote is not committed yet
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=1.0)
        assert reader.is_alive(), "the close must wait for the vote in flight"
        vote_tx.commit()
    reader.join(timeout=30)
    assert closed and closed[0] is not None
    res = result(c.admin.api, pid)
    assert tally(res) == {yes: 1, no: 0} and res["turnout"] == 1
    assert verify(c.fishers[0].api, pid, cast.receipt).get_json()["state"] == "counted"
    assert verify(c.fishers[0].api, pid, first["receipt"]).get_json()["state"] == "superseded"
