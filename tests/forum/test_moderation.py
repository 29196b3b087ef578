"""Flags, moderators, hidden posts and threads, locks, and the audit.

A hidden post is gone for readers (reads, search, counts) and kept for the audit.
Cooperative admins moderate their cooperative's threads; platform admins everything;
either may appoint moderators for what they moderate.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import Factory, errors_of, problem
from tests.forum.conftest import (
    POSTS,
    THREADS,
    Forum,
    find,
    ids,
    moderate,
    open_thread,
    replies,
    reply,
)

FLAGS = "/api/v1/forum/moderation/flags"
AUDIT = "/api/v1/forum/moderation/actions"
MODERATORS = "/api/v1/forum/moderators"


def coop_thread(forum: Forum, **over: object) -> dict[str, object]:
    return open_thread(forum.fisher, visible_org_id=str(forum.org.id), **over)


def flag(person: object, post_id: object, reason: str = "abuse", note: str | None = None) -> object:
    return person.api.post(f"{POSTS}/{post_id}/flags",  # type: ignore[attr-defined]
                           {"reason": reason} | ({"note": note} if note else {}))


def test_members_flag_a_post_once_and_moderators_see_the_queue(forum: Forum,
                                                              factory: Factory) -> None:
    t = coop_thread(forum)
    bad = reply(forum.other, t["id"], "Insultos y amenazas contra el secretario")
    third = factory.person(forum.org)
    first = flag(forum.fisher, bad["id"], "abuse", "Amenaza al secretario")
    assert first.status_code == 201 and first.get_json()["reason"] == "abuse"
    assert flag(third, bad["id"], "spam").status_code == 201
    problem(flag(forum.fisher, bad["id"]), 409, "already_flagged")
    problem(flag(forum.other, bad["id"]), 409, "flag_own_post")
    body = problem(flag(third, t["opening"]["id"], "rude"), 422, "validation_error")
    assert errors_of(body) == {"reason": "invalid_choice"} or "reason" in errors_of(body)
    queue = forum.admin.api.get(FLAGS, query_string={"org_id": str(forum.org.id)}).get_json()
    item = next(i for i in queue["items"] if i["post"]["id"] == bad["id"])
    assert [f["reason"] for f in item["flags"]] == ["abuse", "spam"]
    assert item["flags"][0]["note"] == "Amenaza al secretario" and item["hidden"] is False
    # Not moderators: 403, whatever they belong to.
    for who in (forum.fisher, forum.outsider):
        problem(who.api.get(FLAGS, query_string={"org_id": str(forum.org.id)}), 403,
                "not_moderator")
    problem(forum.admin.api.get(FLAGS), 403, "not_moderator")  # the platform's queue


def test_a_hidden_post_is_gone_for_readers_and_kept_for_the_audit(forum: Forum,
                                                                  db: Session) -> None:
    org = str(forum.org.id)
    t = coop_thread(forum, title="Precio del pulpo en la bahía")
    keep = reply(forum.other, t["id"], "El pulpo está a 90 pesos el kilo")
    bad = reply(forum.other, t["id"], "Estafadores todos, el pulpo de Fulano es robado")
    flag(forum.fisher, bad["id"])
    assert ids(find(forum.fisher, q="pulpo robado", org_id=org)) == [t["id"]]
    r = moderate(forum.admin, "post", bad["id"], "hide", "Acusación sin pruebas")
    assert r.status_code == 201, r.get_json()
    entry = r.get_json()
    assert entry["action"] == "hide" and entry["post_id"] == bad["id"]
    # Gone for readers: the replies, the post itself, votes, flags, search, counts.
    assert [p["id"] for p in replies(forum.fisher, t["id"])] == [keep["id"]]
    problem(forum.fisher.api.get(f"{POSTS}/{bad['id']}"), 404, "not_found")
    problem(forum.fisher.api.put(f"{POSTS}/{bad['id']}/vote"), 404, "not_found")
    problem(flag(forum.admin, bad["id"]), 409, "post_hidden")
    assert ids(find(forum.fisher, q="robado", org_id=org)) == []
    assert ids(find(forum.fisher, q="pulpo kilo", org_id=org)) == [t["id"]]
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["reply_count"] == 1
    problem(forum.other.api.patch(f"{POSTS}/{bad['id']}", {"body": "corrijo"}), 404, "not_found")
    # Its flags are resolved by the action; the audit keeps the post as it was written.
    queue = forum.admin.api.get(FLAGS, query_string={"org_id": org}).get_json()["items"]
    assert bad["id"] not in [i["post"]["id"] for i in queue]
    audit = forum.admin.api.get(AUDIT, query_string={"org_id": org}).get_json()["items"]
    logged = next(a for a in audit if a["post_id"] == bad["id"])
    assert logged["reason"] == "Acusación sin pruebas"
    assert logged["post_body"] == "Estafadores todos, el pulpo de Fulano es robado"
    assert logged["moderator_id"] == str(forum.admin.member.id)
    problem(moderate(forum.admin, "post", bad["id"], "hide"), 409, "already_hidden")
    # Restored, it is back everywhere.
    assert moderate(forum.admin, "post", bad["id"], "restore", "Se aclaró").status_code == 201
    assert [p["id"] for p in replies(forum.fisher, t["id"])] == [keep["id"], bad["id"]]
    assert ids(find(forum.fisher, q="robado", org_id=org)) == [t["id"]]
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["reply_count"] == 2
    problem(moderate(forum.admin, "post", bad["id"], "restore"), 409, "not_hidden")
    actions = [a["action"] for a in forum.admin.api.get(
        AUDIT, query_string={"org_id": org}).get_json()["items"] if a["post_id"] == bad["id"]]
    assert actions == ["restore", "hide"]  # newest first


def test_a_hidden_thread_is_gone(forum: Forum) -> None:
    org = str(forum.org.id)
    t = coop_thread(forum, title="Vendo permisos de pesca falsos")
    r = reply(forum.other, t["id"])
    assert moderate(forum.admin, "thread", t["id"], "hide", "Fraude").status_code == 201
    for resp in (forum.fisher.api.get(f"{THREADS}/{t['id']}"),
                 forum.fisher.api.get(f"{THREADS}/{t['id']}/posts"),
                 forum.other.api.post(f"{THREADS}/{t['id']}/posts", {"body": "hola"}),
                 forum.fisher.api.get(f"{POSTS}/{r['id']}")):
        problem(resp, 404, "not_found")
    assert t["id"] not in ids(find(forum.fisher, org_id=org))
    assert ids(find(forum.fisher, q="permisos falsos", org_id=org)) == []
    # Hiding the opening post is hiding the thread; restoring it brings the thread back.
    problem(moderate(forum.admin, "post", t["opening"]["id"], "hide"), 409, "already_hidden")
    assert moderate(forum.admin, "post", t["opening"]["id"], "restore", "Revisado").status_code == 201
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").status_code == 200
    assert ids(find(forum.fisher, q="permisos falsos", org_id=org)) == [t["id"]]


def test_who_moderates_what(forum: Forum, factory: Factory) -> None:
    coop = coop_thread(forum)
    public = open_thread(forum.fisher)
    other_admin = factory.person(factory.org(), "admin")
    # A cooperative's admin: its threads only.
    problem(moderate(forum.admin, "thread", public["id"], "lock"), 403, "not_moderator")
    problem(moderate(other_admin, "thread", coop["id"], "lock"), 404, "not_found")
    problem(moderate(forum.fisher, "thread", coop["id"], "lock"), 403, "not_moderator")
    # A platform admin: everything.
    root = factory.person(platform_admin=True)
    assert moderate(root, "thread", public["id"], "lock").status_code == 201
    assert moderate(root, "thread", coop["id"], "lock").status_code == 201
    problem(moderate(root, "thread", coop["id"], "lock"), 409, "already_locked")
    assert moderate(root, "thread", coop["id"], "unlock").status_code == 201
    problem(moderate(root, "thread", coop["id"], "unlock"), 409, "not_locked")
    # The platform's audit holds the platform thread's action, not the cooperative's.
    audit = root.api.get(AUDIT).get_json()["items"]
    assert public["id"] in [a["thread_id"] for a in audit]
    assert coop["id"] not in [a["thread_id"] for a in audit]
    problem(forum.admin.api.get(AUDIT), 403, "not_moderator")
    problem(other_admin.api.get(AUDIT, query_string={"org_id": str(forum.org.id)}), 403,
            "not_moderator")


def test_appointed_moderators(forum: Forum, factory: Factory) -> None:
    org = str(forum.org.id)
    t = coop_thread(forum)
    bad = reply(forum.fisher, t["id"], "spam spam spam")
    problem(moderate(forum.other, "post", bad["id"], "hide"), 403, "not_moderator")
    # A fisher cannot appoint; the admin appoints a member of the cooperative, not others.
    problem(forum.fisher.api.put(MODERATORS, {"member_id": str(forum.other.member.id),
                                              "org_id": org}), 403, "forbidden")
    body = problem(forum.admin.api.put(MODERATORS, {"member_id": str(forum.outsider.member.id),
                                                    "org_id": org}), 422, "validation_error")
    assert errors_of(body) == {"member_id": "moderator_not_member"}
    problem(forum.admin.api.put(MODERATORS, {"member_id": str(forum.other.member.id)}), 403,
            "forbidden")  # the platform's moderators are the platform admins' to name
    r = forum.admin.api.put(MODERATORS, {"member_id": str(forum.other.member.id), "org_id": org})
    assert r.status_code == 200, r.get_json()
    assert forum.admin.api.put(MODERATORS, {"member_id": str(forum.other.member.id),
                                            "org_id": org}).status_code == 200  # again: same
    listed = forum.admin.api.get(MODERATORS, query_string={"org_id": org}).get_json()["items"]
    assert [m["member_id"] for m in listed] == [str(forum.other.member.id)]
    assert moderate(forum.other, "post", bad["id"], "hide").status_code == 201
    # Removed, they moderate no more.
    r = forum.admin.api.delete(MODERATORS, {"member_id": str(forum.other.member.id), "org_id": org})
    assert r.status_code == 204
    problem(moderate(forum.other, "post", bad["id"], "restore"), 403, "not_moderator")
    actions = [a["action"] for a in forum.admin.api.get(AUDIT, query_string={"org_id": org})
               .get_json()["items"]]
    assert actions[:3] == ["remove", "hide", "appoint"]


def test_a_platform_moderator_appointed_by_a_platform_admin(forum: Forum, factory: Factory) -> None:
    root = factory.person(platform_admin=True)
    helper = factory.person()
    public = open_thread(forum.fisher)
    assert root.api.put(MODERATORS, {"member_id": str(helper.member.id)}).status_code == 200
    assert moderate(helper, "thread", public["id"], "hide").status_code == 201
    coop = coop_thread(forum)
    assert moderate(helper, "thread", coop["id"], "lock").status_code == 201  # everything


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "delete", "reason": "x"}, "action"),
    ({"action": "hide"}, "reason"),
    ({"action": "hide", "reason": "   "}, "reason"),
    ({"action": "hide", "reason": "x" * 501}, "reason"),
    ({"action": "lock", "reason": "x"}, "action"),  # posts are not locked; threads are
])
def test_bad_moderation_input(forum: Forum, body: dict[str, str], field: str) -> None:
    t = coop_thread(forum)
    r = reply(forum.other, t["id"])
    got = problem(forum.admin.api.post(f"{POSTS}/{r['id']}/moderation", body), 422,
                  "validation_error")
    assert field in errors_of(got)


def test_the_audit_cannot_be_rewritten(forum: Forum, db: Session) -> None:
    t = coop_thread(forum)
    assert moderate(forum.admin, "thread", t["id"], "lock").status_code == 201
    for sql in ("UPDATE forum_moderation_action SET reason = 'nada' WHERE thread_id = :t",
                "DELETE FROM forum_moderation_action WHERE thread_id = :t"):
        with pytest.raises(DBAPIError):
            db.execute(text(sql), {"t": t["id"]})
        db.rollback()


def test_the_audit_keeps_what_was_judged_even_after_an_edit(forum: Forum) -> None:
    org = str(forum.org.id)
    t = coop_thread(forum, title="Pleito en el muelle")
    bad = reply(forum.other, t["id"], "Insulto grave al secretario")
    assert moderate(forum.admin, "post", bad["id"], "hide", "Insulto").status_code == 201
    assert moderate(forum.admin, "post", bad["id"], "restore", "Se disculpó").status_code == 201
    assert forum.other.api.patch(f"{POSTS}/{bad['id']}", {"body": "Texto inocente"}).status_code == 200
    audit = forum.admin.api.get(AUDIT, query_string={"org_id": org}).get_json()["items"]
    hide = next(a for a in audit if a["post_id"] == bad["id"] and a["action"] == "hide")
    assert hide["post_body"] == "Insulto grave al secretario"
    # A hidden thread is kept with its question as it was.
    assert moderate(forum.admin, "thread", t["id"], "hide", "Se cierra").status_code == 201
    audit = forum.admin.api.get(AUDIT, query_string={"org_id": org}).get_json()["items"]
    assert audit[0]["thread_title"] == "Pleito en el muelle"
    assert audit[0]["post_body"] == t["opening"]["body"] and audit[0]["post_id"] is None


def test_what_a_platform_moderator_hid_the_cooperative_cannot_restore(forum: Forum,
                                                                     factory: Factory) -> None:
    t = coop_thread(forum, title="Venta de totoaba")
    root = factory.person(platform_admin=True)
    assert moderate(root, "thread", t["id"], "hide", "Especie protegida").status_code == 201
    problem(moderate(forum.admin, "thread", t["id"], "restore"), 403, "restore_by_platform")
    r = reply(forum.other, coop_thread(forum)["id"], "otra cosa")
    assert moderate(root, "post", r["id"], "hide", "Spam").status_code == 201
    problem(moderate(forum.admin, "post", r["id"], "restore"), 403, "restore_by_platform")
    assert moderate(root, "thread", t["id"], "restore", "Revisado").status_code == 201


def test_a_hidden_reply_stops_bumping_its_thread(forum: Forum) -> None:
    t = coop_thread(forum)
    before = forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["last_post_at"]
    spam = reply(forum.other, t["id"], "Compre seguidores baratos")
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["last_post_at"] > before
    assert moderate(forum.admin, "post", spam["id"], "hide").status_code == 201
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["last_post_at"] == before


def test_two_moderators_hiding_at_once_hide_once(forum: Forum, factory: Factory,
                                                 db: Session) -> None:
    import threading

    t = coop_thread(forum)
    r = reply(forum.other, t["id"])
    second = factory.person(forum.org, "admin")
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def hide(who: object) -> None:
        barrier.wait()
        codes.append(moderate(who, "post", r["id"], "hide").status_code)  # type: ignore[arg-type]

    workers = [threading.Thread(target=hide, args=(w,)) for w in (forum.admin, second)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(codes) == [201, 409]
    count, hides = db.execute(text("""
        SELECT t.reply_count, (SELECT count(*) FROM forum_moderation_action a
                               WHERE a.post_id = :p AND a.action = 'hide')
        FROM forum_thread t WHERE t.id = :t"""), {"t": t["id"], "p": r["id"]}).one()
    assert (count, hides) == (0, 1)


def test_two_identical_flags_at_once_make_one(forum: Forum) -> None:
    import threading

    t = coop_thread(forum)
    r = reply(forum.other, t["id"])
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def tap() -> None:
        barrier.wait()
        codes.append(flag(forum.fisher, r["id"]).status_code)  # type: ignore[attr-defined]

    workers = [threading.Thread(target=tap) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(codes) == [201, 409]


def test_huge_numbers_in_queries_are_422(forum: Forum) -> None:
    body = problem(forum.admin.api.get(AUDIT, query_string={"org_id": str(forum.org.id),
                                                           "before": 10**20}),
                   422, "validation_error")
    assert "before" in errors_of(body)
