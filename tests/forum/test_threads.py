"""Opening threads and replying: what is stored, who may read it, and bad input.

A cooperative-only thread does not exist for anyone outside the cooperative (404 on every
path, absent from every list); bad input is a 422 naming the field, and writes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from server.forum.models import Post, Thread
from server.members.models import Role
from tests.conftest import Factory, errors_of, problem
from tests.forum.conftest import (
    POSTS,
    THREADS,
    Forum,
    find,
    ids,
    open_thread,
    replies,
    reply,
    thread_body,
)

MAZATLAN = {"type": "Point", "coordinates": [-106.413, 23.198]}


def count_threads(db: Session, author: uuid.UUID) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Thread)
                         .where(Thread.author_id == author)) or 0)


def test_open_a_thread_with_tags_and_a_place(forum: Forum, db: Session) -> None:
    zone = db.execute(text("SELECT id FROM zone LIMIT 1")).scalar_one()
    gear = db.execute(text("SELECT code FROM gear ORDER BY code LIMIT 1")).scalar_one()
    t = open_thread(forum.fisher, category="sea_weather", title="  Redes fantasma frente a la isla ",
                    body="Vimos redes abandonadas a 2 millas.", species=["LJS", "LJS", "LWP"],
                    gear=[gear], zones=[str(zone)], location=MAZATLAN,
                    visible_org_id=str(forum.org.id))
    assert t["title"] == "Redes fantasma frente a la isla"  # trimmed
    assert t["category"] == "sea_weather" and t["visible_org_id"] == str(forum.org.id)
    assert t["tags"] == {"species": ["LJS", "LWP"], "gear": [gear], "zones": [str(zone)]}
    assert t["location"] == MAZATLAN
    assert t["author"]["id"] == str(forum.fisher.member.id)
    assert t["following"] is True and t["solved"] is False and t["locked"] is False
    assert t["reply_count"] == 0 and t["solution"] is None
    op = t["opening"]
    assert op["opening"] is True and op["body"] == "Vimos redes abandonadas a 2 millas."
    assert op["html"] == "<p>Vimos redes abandonadas a 2 millas.</p>"
    again = forum.other.api.get(f"{THREADS}/{t['id']}").get_json()
    assert again["following"] is False and again["id"] == t["id"]
    # The opening post carries the title, so that one index searches both.
    heading = db.scalar(select(Post.heading).where(Post.id == uuid.UUID(op["id"])))
    assert heading == "Redes fantasma frente a la isla"


def test_replies_count_order_and_page(forum: Forum) -> None:
    t = open_thread(forum.fisher)
    made = [reply(forum.other if i % 2 else forum.admin, t["id"], f"Respuesta número {i}")["id"]
            for i in range(5)]
    assert [p["id"] for p in replies(forum.fisher, t["id"])] == made
    got = forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()
    assert got["reply_count"] == 5
    assert got["last_post_at"] > got["created_at"]
    # The opening post is not a reply.
    assert t["opening"]["id"] not in made


def test_the_author_edits_a_post_and_no_one_else(forum: Forum) -> None:
    t = open_thread(forum.fisher)
    r = reply(forum.other, t["id"], "El técnico viene el martes")
    problem(forum.fisher.api.patch(f"{POSTS}/{r['id']}", {"body": "otro texto"}), 403,
            "not_post_author")
    got = forum.other.api.patch(f"{POSTS}/{r['id']}", {"body": "El técnico viene el **jueves**",
                                                       "format": "markdown"})
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["edited_at"] is not None and body["format"] == "markdown"
    assert body["html"] == "<p>El técnico viene el <strong>jueves</strong></p>\n"
    assert body["edited_at"] >= body["created_at"]


def test_the_author_changes_the_thread_and_its_title_is_searched(forum: Forum) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id), title="Pregunta sobre trámites")
    problem(forum.other.api.patch(f"{THREADS}/{t['id']}", {"title": "Otro título"}), 403,
            "not_thread_author")
    r = forum.fisher.api.patch(f"{THREADS}/{t['id']}", {"title": "Renovación del permiso de pesca",
                                                        "category": "regulations_permits",
                                                        "species": ["LJS"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["title"] == "Renovación del permiso de pesca"
    assert r.get_json()["tags"]["species"] == ["LJS"]
    org = str(forum.org.id)
    assert ids(find(forum.other, q="renovación permiso", org_id=org)) == [t["id"]]
    assert ids(find(forum.other, q="trámites", org_id=org)) == []
    problem(forum.fisher.api.patch(f"{THREADS}/{t['id']}", {}), 422, "validation_error")


# --- visibility --------------------------------------------------------------------------

def test_a_cooperative_thread_does_not_exist_outside_it(forum: Forum, factory: Factory) -> None:
    org = str(forum.org.id)
    t = open_thread(forum.fisher, visible_org_id=org, title="Reunión sobre la veda de camarón")
    r = reply(forum.other, t["id"], "Yo llevo la lista de firmas")
    out = forum.outsider.api
    for resp in (out.get(f"{THREADS}/{t['id']}"), out.get(f"{THREADS}/{t['id']}/posts"),
                 out.post(f"{THREADS}/{t['id']}/posts", {"body": "hola"}),
                 out.put(f"{THREADS}/{t['id']}/follow"),
                 out.put(f"{THREADS}/{t['id']}/solution", {"post_id": r["id"]}),
                 out.get(f"{POSTS}/{r['id']}"), out.put(f"{POSTS}/{r['id']}/vote"),
                 out.post(f"{POSTS}/{r['id']}/flags", {"reason": "spam"}),
                 out.patch(f"{THREADS}/{t['id']}", {"title": "Cambiado por otro"})):
        problem(resp, 404, "not_found")
    assert t["id"] not in ids(find(forum.outsider, q="veda camarón"))
    assert t["id"] not in ids(find(forum.outsider, org_id=org))
    assert t["id"] not in ids(find(forum.outsider, limit=100))
    # A member of the cooperative, and a platform admin, see it.
    assert t["id"] in ids(find(forum.other, q="veda camarón", org_id=org))
    admin = factory.person(platform_admin=True)
    assert admin.api.get(f"{THREADS}/{t['id']}").status_code == 200
    # A member removed from the cooperative no longer sees it.
    factory.sess.execute(text("UPDATE membership SET status = 'removed' WHERE member_id = :m"),
                         {"m": forum.other.member.id})
    factory.sess.commit()
    fresh = factory.login(forum.other.member)
    problem(fresh.get(f"{THREADS}/{t['id']}"), 404, "not_found")


def test_a_platform_thread_is_read_by_every_member(forum: Forum, factory: Factory) -> None:
    t = open_thread(forum.fisher)
    stranger = factory.person()  # no organization at all
    assert stranger.api.get(f"{THREADS}/{t['id']}").status_code == 200
    assert reply(stranger, t["id"], "Saludos desde Guaymas")["author"]["id"] == str(
        stranger.member.id)


def test_login_is_required(forum: Forum, factory: Factory) -> None:
    t = open_thread(forum.fisher)
    anon = factory.login(forum.fisher.member)
    anon.token = None
    for resp in (anon.get(THREADS), anon.get(f"{THREADS}/{t['id']}"),
                 anon.post(THREADS, thread_body())):
        problem(resp, 401, "token_missing")


def test_unknown_ids_are_404(forum: Forum) -> None:
    nobody = str(uuid.uuid4())
    api = forum.fisher.api
    for resp in (api.get(f"{THREADS}/{nobody}"), api.post(f"{THREADS}/{nobody}/posts",
                                                          {"body": "hola"}),
                 api.get(f"{POSTS}/{nobody}"), api.put(f"{POSTS}/{nobody}/vote")):
        problem(resp, 404, "not_found")


# --- bad input ---------------------------------------------------------------------------

BAD_THREADS: list[tuple[dict[str, Any], str]] = [
    ({"category": None}, "category"),
    ({"category": "fishing_stories"}, "category"),
    ({"title": ""}, "title"),
    ({"title": "ab"}, "title"),
    ({"title": "x" * 161}, "title"),
    ({"title": "     "}, "title"),
    ({"body": ""}, "body"),
    ({"body": " \n\t "}, "body"),
    ({"body": "x" * 20_001}, "body"),
    ({"body": 12}, "body"),
    ({"body": "\u200b\u200b\ufeff"}, "body"),  # only invisible characters
    ({"body": "\u0301\u0301"}, "body"),  # only combining marks
    ({"body": "[a]: https://x.example", "format": "markdown"}, "body"),  # renders to nothing
    ({"title": "  ab  "}, "title"),  # 2 letters once its spaces are gone
    ({"title": "\x07\x07\x07"}, "title"),
    ({"title": "Dos\nlíneas"}, "title"),
    ({"body": "texto con \x1b[31m escape"}, "body"),
    ({"format": "html"}, "format"),
    ({"species": ["XXX"]}, "species.0"),
    ({"species": ["ljs"]}, "species.0"),
    ({"species": "LJS"}, "species"),
    ({"species": ["LJS"] * 11}, "species"),
    ({"gear": ["NOPE"]}, "gear.0"),
    ({"zones": [str(uuid.uuid4())]}, "zones.0"),
    ({"zones": ["not-a-uuid"]}, "zones.0"),
    ({"location": {"type": "Point", "coordinates": [200, 23]}}, "location"),
    ({"location": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}, "location"),
    ({"location": {"type": "Point", "coordinates": ["a", 1]}}, "location"),
    ({"location": "POINT(1 2)"}, "location"),
    ({"visible_org_id": "x"}, "visible_org_id"),
    ({"mentions": [str(uuid.uuid4())]}, "mentions.0"),
    ({"mentions": [str(uuid.uuid4()) for _ in range(11)]}, "mentions"),
]


@pytest.mark.parametrize(("over", "field"), BAD_THREADS)
def test_bad_thread_is_422_on_the_field_and_writes_nothing(forum: Forum, db: Session,
                                                           over: dict[str, Any], field: str) -> None:
    before = count_threads(db, forum.fisher.member.id)
    body = thread_body(**over)
    if over.get("category", "x") is None:
        del body["category"]
    r = forum.fisher.api.post(THREADS, body)
    got = problem(r, 422, "validation_error")
    assert any(k == field or k.startswith(field + ".") for k in errors_of(got)), got
    assert count_threads(db, forum.fisher.member.id) == before


def test_a_thread_for_an_organization_you_are_not_in(forum: Forum, db: Session) -> None:
    org = db.execute(text("SELECT org_id FROM membership WHERE member_id = :m"),
                     {"m": forum.outsider.member.id}).scalar_one()
    body = problem(forum.fisher.api.post(THREADS, thread_body(visible_org_id=str(org))), 422,
                   "validation_error")
    assert errors_of(body) == {"visible_org_id": "visible_org_not_yours"}


def test_mentioning_someone_who_cannot_read_the_thread(forum: Forum) -> None:
    org = str(forum.org.id)
    body = problem(forum.fisher.api.post(THREADS, thread_body(
        visible_org_id=org, mentions=[str(forum.other.member.id), str(forum.outsider.member.id)])),
        422, "validation_error")
    assert errors_of(body) == {"mentions.1": "mention_cannot_read"}


def test_errors_speak_the_readers_language(forum: Forum) -> None:
    es = problem(forum.fisher.api.post(THREADS, thread_body(category="nope"), lang="es"), 422,
                 "validation_error")
    en = problem(forum.fisher.api.post(THREADS, thread_body(category="nope"), lang="en"), 422,
                 "validation_error")
    assert es["errors"][0]["message"] == "No existe la categoría del foro nope."
    assert en["errors"][0]["message"] == "No forum category nope."
    blank_es = problem(forum.fisher.api.post(THREADS, thread_body(body="   "), lang="es"), 422,
                       "validation_error")
    assert "espacios" in blank_es["errors"][0]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"body": ""}, "body"), ({"body": "   "}, "body"), ({"body": "x" * 20_001}, "body"),
    ({}, "body"), ({"body": "ok", "format": "rtf"}, "format"),
    ({"body": "ok", "mentions": ["nope"]}, "mentions.0"),
])
def test_bad_replies(forum: Forum, db: Session, body: dict[str, Any], field: str) -> None:
    t = open_thread(forum.fisher)
    got = problem(forum.other.api.post(f"{THREADS}/{t['id']}/posts", body), 422,
                  "validation_error")
    assert field in errors_of(got)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Post).where(
        Post.thread_id == uuid.UUID(t["id"]))) == 1


def test_a_locked_thread_takes_no_reply_and_no_edit(forum: Forum, factory: Factory) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id))
    r = reply(forum.other, t["id"])
    locked = forum.admin.api.post(f"{THREADS}/{t['id']}/moderation",
                                  {"action": "lock", "reason": "Resuelto en asamblea"})
    assert locked.status_code == 201, locked.get_json()
    problem(forum.other.api.post(f"{THREADS}/{t['id']}/posts", {"body": "¿y ahora?"}), 409,
            "thread_locked")
    problem(forum.other.api.patch(f"{POSTS}/{r['id']}", {"body": "cambio"}), 409, "thread_locked")
    problem(forum.fisher.api.patch(f"{THREADS}/{t['id']}", {"title": "Nuevo título"}), 409,
            "thread_locked")
    assert forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()["locked"] is True
    forum.admin.api.post(f"{THREADS}/{t['id']}/moderation", {"action": "unlock", "reason": "Se reabre"})
    assert reply(forum.other, t["id"], "Ya se puede")["body"] == "Ya se puede"


def test_a_thread_too_full_of_words_refuses_more_but_never_fails(forum: Forum,
                                                                 factory: Factory) -> None:
    """Only an attack writes a megabyte of distinct words into one thread; the thread then
    takes no more (409), and nothing is half written."""
    import random
    import string

    rnd = random.Random(7)
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id))
    writers = [factory.person(forum.org) for _ in range(4)]
    statuses = []
    for i in range(80):
        body = " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(2400))
        r = writers[i % 4].api.post(f"{THREADS}/{t['id']}/posts", {"body": body})
        statuses.append(r.status_code)
        if r.status_code == 409:
            assert r.get_json()["code"] == "thread_full"
            break
        assert r.status_code == 201, r.get_json()
    assert statuses[-1] == 409
    got = forum.fisher.api.get(f"{THREADS}/{t['id']}").get_json()
    assert got["reply_count"] == len(statuses) - 1


def test_categories(forum: Forum) -> None:
    got = forum.fisher.api.get("/api/v1/forum/categories").get_json()["categories"]
    assert [c["code"] for c in got] == ["gear_boats", "markets_prices", "regulations_permits",
                                       "sea_weather", "safety", "ideas"]
    assert got[4] == {"code": "safety", "name_es": "Seguridad en el mar", "name_en": "Safety at sea"}


def test_a_buyer_of_a_company_can_take_part(factory: Factory) -> None:
    company = factory.org(kind="company", name="Mariscos del Puerto")
    buyer = factory.person(company, Role.buyer)
    t = open_thread(buyer, category="markets_prices", title="¿Quién vende pulpo en diciembre?",
                    body="Compramos pulpo fresco.")
    assert t["author"]["id"] == str(buyer.member.id)


def test_an_edit_keeping_markdown_must_still_show_something(forum: Forum) -> None:
    t = open_thread(forum.fisher, body="**Negritas**", format="markdown")
    url = f"{POSTS}/{t['opening']['id']}"
    body = problem(forum.fisher.api.patch(url, {"body": "[a]: https://x.example"}), 422,
                   "validation_error")
    assert errors_of(body) == {"body": "text_blank"}
    assert forum.fisher.api.get(url).get_json()["body"] == "**Negritas**"
