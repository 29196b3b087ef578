"""Searching the forum in Spanish: accents, plurals, word families, near misses, stop
words; ranking by relevance and recency; filters, keyset pages and bad input.

Other tests share the database, so each search here is scoped to the test's own
cooperative (org_id), whose threads nobody else can see.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server import jobs, pages
from server.forum import search as search_mod
from server.forum import tasks as forum_tasks
from server.forum import threads, words
from server.forum.models import TIERS
from server.forum.schemas import ThreadPageSchema, ThreadQuery
from server.members.auth import Principal
from server.members.models import Role
from tests.conftest import errors_of, problem
from tests.forum.conftest import THREADS, Forum, find, ids, moderate, open_thread, reply

# (key, title, opening post, replies)
CORPUS: list[tuple[str, str, str, list[str]]] = [
    ("pesca", "Temporada de pesca en la bahía", "¿Cuándo abre la pesca de escama este año?", []),
    ("hielo", "Se descompuso la máquina de hielo", "La máquina del muelle no enfría desde el lunes.",
     ["Llamamos al técnico de la planta."]),
    ("camaron", "Precio del camarón azul", "¿A cuánto pagan el kilo de camarón en Mazatlán?",
     ["Los compradores ofrecen 180 pesos."]),
    ("camara", "Cámara para la lancha", "Busco una cámara sumergible para revisar el casco.", []),
    ("redes", "Redes fantasma frente a la isla", "Encontramos una red abandonada llena de peces.",
     ["Hay que avisar a la capitanía."]),
    ("huachinango", "Huachinango en la zona norte", "Salió mucho huachinango con palangre.", []),
    ("veda", "Veda de langosta", "La veda empieza en marzo según el aviso oficial.",
     ["Los pescadores ribereños pidieron una prórroga."]),
    ("motor", "El motor fuera de borda no arranca", "Cambié la bujía y sigue igual.",
     ["Revise el filtro de gasolina y la bomba."]),
    ("tormenta", "Alerta de tormenta tropical", "Protección civil pide no salir a navegar.", []),
    ("chaleco", "Chalecos salvavidas para la cooperativa",
     "Proponemos comprar chalecos para todos los socios.", []),
]


@pytest.fixture
def corpus(forum: Forum) -> dict[str, str]:
    made: dict[str, str] = {}
    for key, title, body, answers in CORPUS:
        t = open_thread(forum.fisher, visible_org_id=str(forum.org.id), title=title, body=body)
        for a in answers:
            reply(forum.other, t["id"], a)
        made[key] = t["id"]
    return made


def search(forum: Forum, q: str, **kw: Any) -> list[str]:
    return ids(find(forum.admin, q=q, org_id=str(forum.org.id), **kw))


def keys(corpus: dict[str, str], found: list[str]) -> list[str]:
    names = {v: k for k, v in corpus.items()}
    return [names.get(i, i) for i in found]


@pytest.mark.parametrize(("q", "wanted"), [
    ("pesca", {"pesca", "veda"}),  # "pescadores" is of the family of "pesca"
    ("pescadores", {"veda", "pesca"}),
    ("maquina hielo", {"hielo"}),  # without accents
    ("MÁQUINA", {"hielo"}),
    ("técnico", {"hielo"}),  # in a reply
    ("tecnico planta", {"hielo"}),
    ("redes", {"redes"}),  # "red" in the post, "redes" in the title
    ("red abandonada", {"redes"}),
    ("guachinango", {"huachinango"}),  # a regional spelling / typo
    ("huachinangos", {"huachinango"}),
    ("langostas", {"veda"}),
    ("motores", {"motor"}),
    ("filtro gasolina", {"motor"}),
    ("chaleco salvavidas", {"chaleco"}),
    ("tormentas tropicales", {"tormenta"}),
    ("camarón", {"camaron"}),
])
def test_finds(forum: Forum, corpus: dict[str, str], q: str, wanted: set[str]) -> None:
    assert set(keys(corpus, search(forum, q))) == wanted


def test_accents_tell_camaron_from_camara(forum: Forum, corpus: dict[str, str]) -> None:
    # Written with its accent, each word finds only itself.
    assert keys(corpus, search(forum, "camarón")) == ["camaron"]
    assert keys(corpus, search(forum, "cámara")) == ["camara"]
    assert keys(corpus, search(forum, "cámara sumergible")) == ["camara"]
    # Typed without accents, "camaron" is ambiguous to the Spanish stemmer: both, the
    # shrimp first (its title holds the very word).
    assert keys(corpus, search(forum, "camaron"))[0] == "camaron"


def test_every_word_is_required_and_stop_words_ask_for_nothing(forum: Forum,
                                                               corpus: dict[str, str]) -> None:
    assert keys(corpus, search(forum, "motor hielo")) == []
    assert keys(corpus, search(forum, "el motor de la lancha")) == []  # "lancha" is not there
    assert keys(corpus, search(forum, "el motor de la bomba")) == ["motor"]
    assert search(forum, "de la el") == []  # only stop words: nothing, not everything
    assert search(forum, "xqzwv") == []


def test_title_words_rank_first_then_newer(forum: Forum) -> None:
    org = str(forum.org.id)
    body_only = open_thread(forum.fisher, visible_org_id=org, title="Pregunta de la semana",
                            body="Alguien sabe del permiso de pesca deportiva")["id"]
    in_title = open_thread(forum.fisher, visible_org_id=org, title="Permiso de pesca deportiva",
                           body="Cómo se tramita")["id"]
    assert search(forum, "permiso deportiva")[:2] == [in_title, body_only]
    older = open_thread(forum.fisher, visible_org_id=org, title="Boya rota en el canal",
                        body="La boya del canal está rota")["id"]
    newer = open_thread(forum.fisher, visible_org_id=org, title="Boya rota en el canal",
                        body="La boya del canal está rota")["id"]
    assert search(forum, "boya rota") == [newer, older]
    assert search(forum, "boya rota", sort="recent") == [newer, older]


def test_a_thread_appears_once_by_its_best_post(forum: Forum) -> None:
    org = str(forum.org.id)
    t = open_thread(forum.fisher, visible_org_id=org, title="Atún aleta amarilla",
                    body="Mucho atún este mes")
    best = reply(forum.other, t["id"], "El atún aleta amarilla se vende bien en Ensenada")
    reply(forum.admin, t["id"], "atún")
    page = find(forum.admin, q="atún aleta amarilla ensenada", org_id=org)
    assert ids(page) == [t["id"]]
    assert page["items"][0]["matched_post_id"] == best["id"]
    assert page["items"][0]["excerpt"].startswith("El atún aleta amarilla")


def test_filters(forum: Forum, db: Session) -> None:
    org = str(forum.org.id)
    gear = db.execute(text("SELECT code FROM gear ORDER BY code LIMIT 1")).scalar_one()
    zone = str(db.execute(text("SELECT id FROM zone LIMIT 1")).scalar_one())
    a = open_thread(forum.fisher, visible_org_id=org, category="safety", species=["LJS"],
                    title="Pargo y seguridad", body="Texto común del foro")["id"]
    b = open_thread(forum.fisher, visible_org_id=org, category="markets_prices", gear=[gear],
                    zones=[zone], title="Pargo y mercado", body="Texto común del foro")["id"]
    assert set(search(forum, "pargo")) == {a, b}
    assert search(forum, "pargo", category="safety") == [a]
    assert search(forum, "pargo", species="LJS") == [a]
    assert search(forum, "pargo", gear=gear) == [b]
    assert search(forum, "pargo", zone=zone) == [b]
    assert search(forum, "pargo", author_id=str(forum.other.member.id)) == []
    assert set(ids(find(forum.admin, org_id=org, category="markets_prices"))) == {b}


def test_distance_from_a_point(forum: Forum) -> None:
    org = str(forum.org.id)
    spots = {"muelle": (-106.42, 23.19), "isla": (-106.30, 23.10), "lejos": (-110.31, 24.16)}
    made = {k: open_thread(forum.fisher, visible_org_id=org, title=f"Hielo en {k}",
                           body="Falta hielo", location={"type": "Point", "coordinates": list(p)}
                           )["id"] for k, p in spots.items()}
    open_thread(forum.fisher, visible_org_id=org, title="Hielo sin lugar", body="Falta hielo")
    here = {"lon": -106.41, "lat": 23.20}
    near = find(forum.admin, org_id=org, q="hielo", radius_km=30, **here)
    assert set(ids(near)) == {made["muelle"], made["isla"]}
    by_distance = find(forum.admin, org_id=org, sort="distance", **here)
    assert ids(by_distance) == [made["muelle"], made["isla"], made["lejos"]]
    d = [i["distance_m"] for i in by_distance["items"]]
    assert d == sorted(d) and 1_000 < d[0] < 2_000 and 400_000 < d[2] < 420_000


@pytest.mark.parametrize("sort", ["relevance", "recent", "distance"])
def test_keyset_pages_walk_every_thread_once(forum: Forum, sort: str) -> None:
    org = str(forum.org.id)
    made = {open_thread(forum.fisher, visible_org_id=org, title=f"Boya número {i}",
                        body="boya " * (1 + i % 3),
                        location={"type": "Point", "coordinates": [-106.4 + i / 100, 23.2]}
                        )["id"] for i in range(7)}
    params: dict[str, Any] = {"org_id": org, "sort": sort, "limit": 2, "q": "boya"}
    if sort == "distance":
        params |= {"lon": -106.4, "lat": 23.2}
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = find(forum.admin, **params, **({"after": after} if after else {}))
        seen += ids(page)
        after = page["next_cursor"]
        if after is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


@pytest.mark.parametrize(("params", "field"), [
    ({"radius_km": 10}, "radius_km"),
    ({"lon": -106.4}, "lat"),
    ({"lat": 23.2}, "lon"),
    ({"lon": -106.4, "lat": 23.2, "radius_km": 0}, "radius_km"),
    ({"lon": -106.4, "lat": 23.2, "radius_km": -5}, "radius_km"),
    ({"lon": -106.4, "lat": 23.2, "radius_km": 100_000}, "radius_km"),
    ({"lon": 181, "lat": 23.2}, "lon"),
    ({"lon": "nan", "lat": 23.2}, "lon"),
    ({"sort": "distance"}, "sort"),
    ({"sort": "relevance"}, "sort"),
    ({"sort": "votes"}, "sort"),
    ({"q": "x" * 201}, "q"),
    ({"q": ""}, "q"),
    ({"species": "pargo"}, "species"),
    ({"category": "a" * 2100}, "category"),  # a facet lexeme a tsquery could not hold
    ({"gear": "GN S"}, "gear"),
    ({"zone": "nope"}, "zone"),
    ({"solved": "quizá"}, "solved"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"after": "garbage"}, "after"),
    ({"q": "!!! ¿?"}, "q"),  # no word at all: not "everything"
])
def test_bad_search_input(forum: Forum, params: dict[str, Any], field: str) -> None:
    body = problem(forum.admin.api.get(THREADS, query_string=params), 422 if field != "after"
                   else 400, "validation_error" if field != "after" else "invalid_cursor")
    if field != "after":
        assert field in errors_of(body), body


def test_a_cursor_with_its_id_changed_is_refused(forum: Forum) -> None:
    org = str(forum.org.id)
    for i in range(3):
        open_thread(forum.fisher, visible_org_id=org, title=f"Red número {i}")
    page = find(forum.admin, org_id=org, q="red", limit=1)
    assert page["next_cursor"]
    import base64
    import json
    raw = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=="))
    raw[2] = "not-a-uuid"
    bad = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    problem(forum.admin.api.get(THREADS, query_string={"org_id": org, "q": "red", "after": bad}),
            400, "invalid_cursor")


def test_a_crafted_cursor_is_never_a_500(forum: Forum) -> None:
    """The cursor's moment is the client's: one that makes the recency divide by zero,
    or lies in the future, still ranks."""
    import base64
    import json
    org = str(forum.org.id)
    t = open_thread(forum.fisher, visible_org_id=org, title="Motor descompuesto")
    last = datetime.fromisoformat(t["last_post_at"])
    for asof in (last - timedelta(days=60), last + timedelta(days=3650), last):
        raw = json.dumps([asof.isoformat(), "1e9", "ffffffff-ffff-ffff-ffff-ffffffffffff"])
        after = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        r = forum.admin.api.get(THREADS, query_string={"org_id": org, "q": "motor",
                                                       "after": after})
        assert r.status_code == 200, r.get_json()


def test_a_cooperative_vocabulary_steers_only_its_members(forum: Forum, factory: Any) -> None:
    """Near misses and word families come from what the reader may read: another
    cooperative's private words cannot change what an outsider finds."""
    org = str(forum.org.id)
    secret = open_thread(forum.fisher, visible_org_id=org, title="Zorrobranco en la laguna",
                         body="zorrobranco")
    # A member finds it by a near miss; the vocabulary of the cooperative knows the word.
    assert ids(find(forum.other, q="zorrobrancos", org_id=org)) == [secret["id"]]
    outsider = forum.outsider
    mine = open_thread(outsider, title="Zorrobrancx raro", body="zorrobrancx")
    # The outsider's near miss of their own word works, and the private word does not
    # stop it (it would if the cooperative's vocabulary counted for them).
    assert ids(find(outsider, q="zorrobranco", author_id=str(outsider.member.id))) == [mine["id"]]


def test_query_words() -> None:
    assert words.words("¿Dónde venden HIELO, hielo barato?") == ["dónde", "venden", "hielo",
                                                                  "barato"]



@pytest.mark.parametrize(("lexeme", "root"), [
    ("pescador", "pesc"), ("camaroner", "camaron"), ("pesc", "pesc"), ("red", "red"),
    ("motor", "motor"), ("cooperativ", "cooperativ"), ("ordenamient", "orden"),
    ("ader", "ader"),  # what is left must keep 4 letters
])
def test_word_families(db: Session, lexeme: str, root: str) -> None:
    assert db.scalar(text("SELECT cardumen_family(:w)"), {"w": lexeme}) == root


def test_a_platform_admin_searches_every_cooperative_with_its_vocabulary(
        forum: Forum, factory: Any) -> None:
    org = str(forum.org.id)
    t = open_thread(forum.fisher, visible_org_id=org, title="Huachinango en la bocana",
                    body="Salió huachinango")
    root = factory.person(platform_admin=True)
    # A near miss, so the cooperative's vocabulary must be drawn on.
    assert ids(find(root, q="guachinango", org_id=org)) == [t["id"]]
    assert ids(find(forum.outsider, q="guachinango", org_id=org)) == []


def _age(db: Session, thread_id: str, days: int) -> None:
    """The thread's last post ``days`` ago, its vectors as the service writes them then."""
    db.execute(text("UPDATE forum_thread SET last_post_at = now() - make_interval(days => :d) "
                    "WHERE id = :t"), {"d": days, "t": thread_id})
    threads.refresh_search(db, uuid.UUID(thread_id))
    db.commit()


RECENT, SEASON = (days for _, days in TIERS)
TIER_VECTORS = ", ".join(f"{column} <> ''" for column, _ in TIERS)


def test_recent_threads_keep_their_words_again_per_tier(forum: Forum, db: Session) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id),
                    title="Motor y camarón", body="El motor del camarón")["id"]
    row = db.execute(text("SELECT tsvector_to_array(match), match = recent_match, "
                          "match = season_match FROM forum_thread WHERE id = :t"), {"t": t}).one()
    # No unaccented twin of a word that has no accent: the query asks for either.
    assert "motor" in row[0] and "~motor" not in row[0]
    assert row[1] and row[2]
    tiers = text(f"SELECT {TIER_VECTORS} FROM forum_thread WHERE id = :t")
    _age(db, t, RECENT + 5)
    assert tuple(db.execute(tiers, {"t": t}).one()) == (False, True)
    _age(db, t, SEASON + 5)
    assert tuple(db.execute(tiers, {"t": t}).one()) == (False, False)


@pytest.mark.parametrize("sort", ["relevance", "recent"])
def test_candidates_are_the_most_recent_across_the_cut_offs(forum: Forum, db: Session,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             sort: str) -> None:
    org = str(forum.org.id)
    made = [open_thread(forum.fisher, visible_org_id=org, title=f"Ancla perdida {i}",
                        body="Se perdió el ancla")["id"] for i in range(6)]
    # Newest first: two threads of the first tier, two of the second, two older ones.
    for days, t in zip([1, 2, RECENT + 1, SEASON - 1, SEASON + 1, SEASON + 400], made,
                       strict=True):
        _age(db, t, days)
    assert search(forum, "ancla", sort=sort) == made
    # Of more than RANK_CANDIDATES, the most recent ones, whichever tiers hold them.
    for n in (1, 2, 3, 4, 5):
        monkeypatch.setattr(search_mod, "RANK_CANDIDATES", n)
        assert search(forum, "ancla") == made[:n]
    seen, after = [], None
    for _ in range(8):
        page = find(forum.admin, q="ancla", org_id=org, sort="recent", limit=2,
                    **({"after": after} if after else {}))
        seen += ids(page)
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == made  # pages of the recent sort walk over the cut-offs in order


def test_cooling_empties_quiet_threads_and_changes_no_answer(forum: Forum, app: Flask,
                                                             db: Session) -> None:
    org = str(forum.org.id)
    made = {days: open_thread(forum.fisher, visible_org_id=org, title=f"Boya {days}",
                              body="La boya de recalada no prende")["id"]
            for days in (0, RECENT + 2, SEASON + 2)}
    # Gone quiet since its vectors were written: what the job is for.
    for days, t in made.items():
        db.execute(text("UPDATE forum_thread SET last_post_at = now() - make_interval(days => :d) "
                        "WHERE id = :t"), {"d": days, "t": t})
    db.commit()
    before = search(forum, "boya")
    assert before == list(made.values())
    jobs.configure(dict(app.config))
    assert forum_tasks.cool(timestamp=0)["cooled"] >= 3
    tiers = text(f"SELECT {TIER_VECTORS} FROM forum_thread WHERE id = :t")
    assert [tuple(db.execute(tiers, {"t": t}).one()) for t in made.values()] == [
        (True, True), (False, True), (False, False)]
    assert search(forum, "boya") == before
    assert forum_tasks.cool(timestamp=0)["cooled"] == 0


def test_a_page_written_by_orjson_is_what_its_schema_says(forum: Forum, app: Flask,
                                                          db: Session) -> None:
    org = str(forum.org.id)
    t = open_thread(forum.fisher, visible_org_id=org, title="Red de enmalle rota",
                    body="Se rompió la red cerca del bajo", species=["LJS"],
                    location={"type": "Point", "coordinates": [-106.41, 23.19]})["id"]
    reply(forum.other, t, "Yo tengo una red de repuesto")
    open_thread(forum.fisher, visible_org_id=org, title="Otra red", body="Red vieja")
    who = Principal(forum.admin.member.id, uuid.uuid4(), False, {forum.org.id: Role.admin})
    for crit in ({"q": "red"}, {"q": "red", "lon": -106.4, "lat": 23.2, "sort": "distance"},
                 {"limit": 1}):
        with app.test_request_context():
            page = search_mod.search(db, who, ThreadQuery().load(
                {k: str(v) for k, v in (crit | {"org_id": org}).items()}))
        db.rollback()
        assert page["items"]
        written = orjson.loads(pages.dumps(page))
        assert written == json.loads(json.dumps(ThreadPageSchema().dump(page)))
        served = find(forum.admin, org_id=org, **crit)
        # The cursor holds the time of its first page: the same page, not the same cursor.
        assert (served.pop("next_cursor") is None) == (written.pop("next_cursor") is None)
        assert written == served


def _facets(db: Session, thread_id: str) -> set[str]:
    columns = ", ".join(f"tsvector_to_array({c})" for c in ["match", *(c for c, _ in TIERS)])
    row = db.execute(text(f"SELECT {columns} FROM forum_thread WHERE id = :t"),
                     {"t": thread_id}).one()
    db.rollback()
    found = {x for x in row[0] if x.startswith("#")}
    for vector in row[1:]:  # the same in every vector
        assert found == {x for x in vector if x.startswith("#")}
    return found


def test_filters_are_lexemes_that_follow_the_thread(forum: Forum, db: Session) -> None:
    org = str(forum.org.id)
    zone = str(db.execute(text("SELECT id FROM zone LIMIT 1")).scalar_one())
    db.rollback()
    t = open_thread(forum.fisher, visible_org_id=org, category="safety", species=["LJS"],
                    title="Bengalas vencidas", body="Las bengalas ya vencieron")["id"]
    other = open_thread(forum.fisher, visible_org_id=org, title="Bengalas nuevas",
                        body="Compramos bengalas")["id"]
    assert _facets(db, t) == {"#c:safety", "#s:LJS"}
    answer = reply(forum.other, t, "Cambiarlas cada tres años")["id"]
    assert search(forum, "bengalas", solved="true") == []
    assert forum.fisher.api.put(f"{THREADS}/{t}/solution", {"post_id": answer}).status_code == 200
    assert _facets(db, t) == {"#c:safety", "#s:LJS", "#solved"}
    assert search(forum, "bengalas", solved="true") == [t]
    assert search(forum, "bengalas", solved="false") == [other]
    r = forum.fisher.api.patch(f"{THREADS}/{t}", {"category": "gear_boats", "species": [],
                                                   "zones": [zone]})
    assert r.status_code == 200, r.get_json()
    assert _facets(db, t) == {"#c:gear_boats", "#z:" + zone, "#solved"}
    assert search(forum, "bengalas", category="safety") == []
    assert search(forum, "bengalas", category="gear_boats", zone=zone, solved="true") == [t]
    # A moderator hiding the accepted answer unsolves the thread: its lexeme goes too.
    assert moderate(forum.admin, "post", answer, "hide").status_code == 201
    assert _facets(db, t) == {"#c:gear_boats", "#z:" + zone}
    assert search(forum, "bengalas", solved="true") == []
    assert set(search(forum, "bengalas", solved="false")) == {t, other}


def test_the_worker_cools_the_forum_daily() -> None:
    app = jobs.make_app("postgresql+psycopg://nobody@localhost/none")
    periodic = app.periodic_registry.periodic_tasks[("forum:cool", "forum-cool")]
    assert periodic.cron == forum_tasks.CRON == "17 3 * * *"


def test_a_restored_reply_puts_its_thread_back_in_the_recent_tier(forum: Forum,
                                                                   db: Session) -> None:
    org = str(forum.org.id)
    t = open_thread(forum.fisher, visible_org_id=org, title="Ancla garreando",
                    body="El ancla garrea con el norte")["id"]
    # Opened weeks ago ...
    db.execute(text("UPDATE forum_post SET created_at = now() - make_interval(days => :d) "
                    "WHERE thread_id = :t"), {"d": RECENT + 10, "t": t})
    _age(db, t, RECENT + 10)
    late = reply(forum.other, t, "Ponle más cabo al ancla")["id"]  # ... and answered today
    assert moderate(forum.admin, "post", late, "hide").status_code == 201
    assert search(forum, "ancla") == [t]  # back to its opening post's day, still found
    assert moderate(forum.admin, "post", late, "restore").status_code == 201
    assert search(forum, "ancla") == [t]
    assert search(forum, "ancla", sort="recent") == [t]
    assert db.execute(text(f"SELECT {TIER_VECTORS} FROM forum_thread WHERE id = :t"),
                      {"t": t}).one() == (True, True)
