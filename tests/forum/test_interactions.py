"""Useful votes, follows, accepted solutions and what the notification feed says of them."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.members.models import Role
from tests.conftest import Factory, errors_of, problem
from tests.forum.conftest import POSTS, THREADS, Forum, feed, find, ids, moderate, open_thread, reply


def kinds(person: Any, thread_id: str) -> list[str]:
    return [n["kind"] for n in feed(person) if n["data"].get("thread_id") == thread_id]


def test_a_vote_counts_once_and_can_be_taken_back(forum: Forum) -> None:
    t = open_thread(forum.fisher)
    r = reply(forum.other, t["id"])
    url = f"{POSTS}/{r['id']}/vote"
    first = forum.fisher.api.put(url).get_json()
    assert first["useful_count"] == 1 and first["voted"] is True
    assert forum.fisher.api.put(url).get_json()["useful_count"] == 1  # again: no change
    assert forum.admin.api.put(url).get_json()["useful_count"] == 2
    assert forum.admin.api.get(f"{POSTS}/{r['id']}").get_json()["voted"] is True
    assert forum.outsider.api.get(f"{POSTS}/{r['id']}").get_json()["voted"] is False
    back = forum.fisher.api.delete(url).get_json()
    assert back["useful_count"] == 1 and back["voted"] is False
    assert forum.fisher.api.delete(url).get_json()["useful_count"] == 1
    problem(forum.other.api.put(url), 409, "vote_own_post")


def test_concurrent_votes_all_count(forum: Forum, factory: Factory, db: Session) -> None:
    t = open_thread(forum.fisher)
    r = reply(forum.other, t["id"])
    voters = [factory.person(forum.org) for _ in range(12)]
    barrier = threading.Barrier(len(voters))
    codes: list[int] = []

    def vote(p: Any) -> None:
        barrier.wait()
        codes.append(p.api.put(f"{POSTS}/{r['id']}/vote").status_code)

    workers = [threading.Thread(target=vote, args=(p,)) for p in voters]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert codes == [200] * len(voters)
    count, rows = db.execute(text("""
        SELECT p.useful_count, (SELECT count(*) FROM forum_vote v WHERE v.post_id = p.id)
        FROM forum_post p WHERE p.id = :id"""), {"id": r["id"]}).one()
    assert count == rows == len(voters)


def test_replies_tell_the_author_and_the_followers(forum: Forum, factory: Factory) -> None:
    t = open_thread(forum.fisher, title="¿Dónde venden hielo barato?")
    follower = factory.person(forum.org)
    assert follower.api.put(f"{THREADS}/{t['id']}/follow").get_json()["following"] is True
    reply(forum.other, t["id"], "En la planta del muelle 3")
    assert kinds(forum.fisher, t["id"]) == ["forum.reply_own"]
    assert kinds(follower, t["id"]) == ["forum.reply"]
    assert kinds(forum.other, t["id"]) == []  # not told of their own reply
    note = next(n for n in feed(forum.fisher) if n["data"].get("thread_id") == t["id"])
    assert note["text"].endswith("respondió a su tema «¿Dónde venden hielo barato?».")
    # Who replied now follows; who unfollows hears nothing more.
    follower.api.delete(f"{THREADS}/{t['id']}/follow")
    reply(forum.fisher, t["id"], "Gracias")
    assert kinds(forum.other, t["id"]) == ["forum.reply"]
    assert kinds(follower, t["id"]) == ["forum.reply"]


def test_mentions_tell_the_member_once(forum: Forum) -> None:
    t = open_thread(forum.fisher, mentions=[str(forum.admin.member.id)])
    assert kinds(forum.admin, t["id"]) == ["forum.mention"]
    # A mention of a follower is one notification, not a mention and a reply.
    reply(forum.other, t["id"], "Lo vi, @Pescador", mentions=[str(forum.fisher.member.id),
                                                               str(forum.fisher.member.id)])
    assert kinds(forum.fisher, t["id"]) == ["forum.mention"]


def test_the_author_accepts_a_solution(forum: Forum, factory: Factory) -> None:
    t = open_thread(forum.fisher, title="El motor fuera de borda no arranca")
    follower = factory.person(forum.org)
    follower.api.put(f"{THREADS}/{t['id']}/follow")
    a = reply(forum.other, t["id"], "Revise la bujía y el filtro de gasolina")
    b = reply(forum.admin, t["id"], "Llévelo con el mecánico")
    problem(forum.other.api.put(f"{THREADS}/{t['id']}/solution", {"post_id": a["id"]}), 403,
            "not_thread_author")
    got = forum.fisher.api.put(f"{THREADS}/{t['id']}/solution", {"post_id": a["id"]}).get_json()
    assert got["solved"] is True and got["solution_post_id"] == a["id"]
    assert got["solution"]["id"] == a["id"] and got["solution"]["solution"] is True
    assert "forum.solution_yours" in kinds(forum.other, t["id"])
    assert "forum.solution" in kinds(follower, t["id"])
    assert "forum.solution" not in kinds(forum.fisher, t["id"])  # who accepted it
    # Solved threads are findable as such.
    org_search = {"q": "motor fuera de borda", "author_id": str(forum.fisher.member.id)}
    assert ids(find(forum.admin, solved="true", **org_search)) == [t["id"]]
    assert ids(find(forum.admin, solved="false", **org_search)) == []
    # Another reply replaces it; none makes it unsolved.
    got = forum.fisher.api.put(f"{THREADS}/{t['id']}/solution", {"post_id": b["id"]}).get_json()
    assert got["solution_post_id"] == b["id"]
    got = forum.fisher.api.delete(f"{THREADS}/{t['id']}/solution").get_json()
    assert got["solved"] is False and got["solution"] is None
    assert ids(find(forum.admin, solved="false", **org_search)) == [t["id"]]


def test_what_cannot_be_a_solution(forum: Forum) -> None:
    t = open_thread(forum.fisher)
    other = open_thread(forum.fisher)
    elsewhere = reply(forum.other, other["id"])
    url = f"{THREADS}/{t['id']}/solution"
    body = problem(forum.fisher.api.put(url, {"post_id": elsewhere["id"]}), 422, "validation_error")
    assert errors_of(body) == {"post_id": "solution_not_in_thread"}
    body = problem(forum.fisher.api.put(url, {"post_id": t["opening"]["id"]}), 422,
                   "validation_error")
    assert errors_of(body) == {"post_id": "solution_not_reply"}
    body = problem(forum.fisher.api.put(url, {"post_id": "nope"}), 422, "validation_error")
    assert errors_of(body) == {"post_id": "invalid_uuid"} or "post_id" in errors_of(body)
    problem(forum.fisher.api.put(url, {}), 422, "validation_error")


def test_a_moderator_may_accept_and_a_hidden_reply_stops_being_the_solution(
        forum: Forum) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id))
    a = reply(forum.other, t["id"], "Esta es la respuesta correcta")
    got = forum.admin.api.put(f"{THREADS}/{t['id']}/solution", {"post_id": a["id"]})
    assert got.status_code == 200 and got.get_json()["solved"] is True  # the coop's admin
    assert moderate(forum.admin, "post", a["id"], "hide").status_code == 201
    got = forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()
    assert got["solved"] is False and got["solution"] is None and got["reply_count"] == 0
    body = problem(forum.fisher.api.put(f"{THREADS}/{t['id']}/solution", {"post_id": a["id"]}),
                   422, "validation_error")
    assert errors_of(body) == {"post_id": "solution_not_in_thread"}


def test_following_and_voting_need_to_see_the_thread(forum: Forum, factory: Factory) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id))
    company_buyer = factory.person(factory.org(kind="company"), Role.buyer)
    problem(company_buyer.api.put(f"{THREADS}/{t['id']}/follow"), 404, "not_found")
    problem(company_buyer.api.put(f"{POSTS}/{t['opening']['id']}/vote"), 404, "not_found")


def test_who_left_the_cooperative_hears_no_more_and_can_unfollow(forum: Forum,
                                                                 factory: Factory) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id), title="Secreto de la coop")
    r = reply(forum.other, t["id"], "Yo sigo este tema")  # follows it from now on
    factory.sess.execute(text("UPDATE membership SET status = 'removed' WHERE member_id = :m "
                              "AND org_id = :o"), {"m": forum.other.member.id, "o": forum.org.id})
    factory.sess.commit()
    reply(forum.admin, t["id"], "Nueva información")
    forum.fisher.api.put(f"{THREADS}/{t['id']}/solution", {"post_id": r["id"]})
    gone = factory.login(forum.other.member)
    assert [n for n in gone.get("/api/v1/me/notifications").get_json()["notifications"]
            if n["data"].get("thread_id") == t["id"]] == []
    assert gone.delete(f"{THREADS}/{t['id']}/follow").status_code == 204
    assert gone.delete(f"{THREADS}/{uuid.uuid4()}/follow").status_code == 204  # alike
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["solved"] is True
