"""Finding threads: words across titles and replies, tags, category, solved or not,
distance from a point; by relevance (newer posts rank higher), last reply or distance;
keyset pages.

With words, a thread is found when its visible posts hold them all between them
(``Thread.match``; server/forum/words.py makes the query); its card shows the post that
holds them all (else the one that ranks best for any of them). Relevance is ``ts_rank``
of the thread's question (``Thread.summary``: its title weighs most) divided by 1 + the
time since its last post in units of RECENCY_DAYS, measured from when the first page was
asked for (kept in the cursor, so that later pages rank alike). A query matching more
than RANK_CANDIDATES threads ranks the RANK_CANDIDATES active last, found among the
threads active lately first (``_recent_first``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.forum import access
from server.forum import words as words_mod
from server.forum.models import FACET_MARK, PLATFORM_SCOPE, TIERS
from server.members.auth import Principal
from server.pages import keyset_encode, keyset_typed

RECENCY_DAYS = 60
RANK_CANDIDATES = 500
NEAR = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"

# sort: (ORDER BY, keyset condition, parser of the key), over the candidates ``b``.
SORTS: dict[str, tuple[str, str, Any]] = {
    "relevance": ("b.score DESC, b.thread_id DESC", "(b.score, b.thread_id) < (:k0, :k1)", float),
    "recent": ("b.last_post_at DESC, b.thread_id DESC",
               "(b.last_post_at, b.thread_id) < (:k0, :k1)", datetime.fromisoformat),
    "distance": ("b.distance_m, b.thread_id", "(b.distance_m, b.thread_id) > (:k0, :k1)", float),
}


def _thread_conditions(p: Principal, c: Mapping[str, Any], platform_mod: bool,
                       params: dict[str, Any]) -> list[str]:
    conds = ["t.hidden_at IS NULL"]
    if not platform_mod:
        conds.append("(t.visible_org_id IS NULL OR t.visible_org_id = ANY(:my_orgs))")
        params["my_orgs"] = list(p.roles)
    simple = {"category": "t.category = :category", "author_id": "t.author_id = :author_id",
              "org_id": "t.visible_org_id = :org_id",
              "species": "t.species_codes @> ARRAY[CAST(:species AS varchar)]",
              "gear": "t.gear_codes @> ARRAY[CAST(:gear AS varchar)]",
              "zone": "t.zone_ids @> ARRAY[CAST(:zone AS uuid)]"}
    for name, cond in simple.items():
        if c.get(name) is not None:
            conds.append(cond)
            params[name] = c[name]
    if c.get("solved") is not None:
        conds.append("t.solution_post_id IS " + ("NOT NULL" if c["solved"] else "NULL"))
    if c.get("lon") is not None:
        params["lon"], params["lat"] = c["lon"], c["lat"]
        if c.get("radius_km") is not None:
            conds.append(f"ST_DWithin(t.location, {NEAR}, :radius_m, false)")
            params["radius_m"] = c["radius_km"] * 1000.0
    if c.get("sort") == "distance":
        conds.append("t.location IS NOT NULL")
    return conds


# One round trip before a search: whether the reader moderates the whole platform, and
# the transaction's settings: custom plans (whether to walk threads by last post or read
# the matches through a GIN index depends on how common the words are, which a generic
# plan of the prepared statement cannot know) and pg_trgm's threshold, at which % filters
# near misses before words.expand re-checks their similarity.
_BEGIN = text(f"""
    SELECT {access.PLATFORM_MODERATOR},
           set_config('plan_cache_mode', 'force_custom_plan', true),
           set_config('pg_trgm.similarity_threshold', '{words_mod.MIN_SIMILARITY}', true)""")


def search(sess: Session, p: Principal, c: Mapping[str, Any]) -> dict[str, Any]:
    platform_mod = bool(sess.execute(_BEGIN, {"member": p.member_id}).scalar())
    platform_mod = platform_mod or p.is_platform_admin
    params: dict[str, Any] = {}
    conds = _thread_conditions(p, c, platform_mod, params)
    query = words_mod.expand(sess, c.get("q"),
                             None if platform_mod else [PLATFORM_SCOPE, *p.roles])
    sort = c.get("sort") or ("relevance" if query.words else "recent")
    if query.words and query.threads is None:
        # Only words that ask for nothing ("de la"): nothing is what they find.
        return {"items": [], "sort": sort, "next_cursor": None}
    order, after, parser = SORTS[sort]
    asof = datetime.now(UTC)
    keyset = ""
    if c.get("after"):
        asof, params["k0"], params["k1"] = keyset_typed(c["after"], datetime.fromisoformat,
                                                        parser, uuid.UUID)
        keyset = f"AND {after}"
    params["asof"] = asof
    where = " AND ".join(conds)
    distance = f"t.location <-> {NEAR}" if c.get("lon") is not None else "CAST(NULL AS float8)"
    params["limit"] = c["limit"] + 1
    cols = "t.id, t.last_post_at, t.summary, t.location"
    candidates = f"SELECT {cols} FROM forum_thread t WHERE {where}"
    tiers = ""
    if query.threads is not None:
        params["tsq"], params["post_all"] = _with_facets(query.threads, c), query.posts
        params["any"] = query.any_word
        candidates = (f"SELECT {cols} FROM forum_thread t "
                      f"WHERE t.match @@ CAST(:tsq AS tsquery) AND {where}")
        if sort in ("relevance", "recent"):
            tiers, candidates = _recent_first(cols, where, sort, keyset)
            if sort == "recent":
                keyset = ""  # in the tiers already
        age = "greatest(extract(epoch FROM (CAST(:asof AS timestamptz) - t.last_post_at)), 0)"
        score = (f"ts_rank(t.summary, CAST(:any AS tsquery), 1) "
                 f"/ (1 + {age} / {RECENCY_DAYS * 86400.0})")
        # The post that matched best, for the card: of the page's threads only, read by
        # thread. "IS TRUE" keeps the posts' GIN index out of it whatever the plan: a
        # generic plan once scanned the whole index for each of the page's threads (1.4 s
        # of a 1.4 s search at 1M posts, bench/forum.py); custom plans (_BEGIN) are the
        # first guard, this the second.
        best = """LEFT JOIN LATERAL (
            SELECT p.id, p.excerpt FROM forum_post p
            WHERE p.thread_id = t.id AND p.hidden_at IS NULL
              AND (p.search @@ CAST(:any AS tsquery)) IS TRUE
            ORDER BY p.search @@ CAST(:post_all AS tsquery) DESC,
                     ts_rank(p.search, CAST(:any AS tsquery), 1) DESC, p.created_at, p.id
            LIMIT 1) best ON true"""
    else:
        score = "CAST(NULL AS float8)"
        best = "LEFT JOIN LATERAL (SELECT NULL::uuid AS id, NULL::text AS excerpt) best ON true"
    rows = sess.execute(text(f"""
        WITH {tiers} page AS (
            SELECT b.* FROM (
                SELECT t.id AS thread_id, {score} AS score, {distance} AS distance_m,
                       t.last_post_at
                FROM ({candidates}) t) b
            WHERE true {keyset} ORDER BY {order} LIMIT :limit)
        SELECT t.id, t.category, t.title, t.author_id, m.name AS author_name, t.visible_org_id,
               t.species_codes, t.gear_codes, t.zone_ids,
               ST_AsGeoJSON(t.location::geometry, 7)::json AS location,
               t.solution_post_id IS NOT NULL AS solved, t.locked_at IS NOT NULL AS locked,
               t.reply_count, t.created_at, t.last_post_at, best.id AS matched_post_id,
               page.score, page.distance_m,
               coalesce(best.excerpt, (SELECT o.excerpt FROM forum_post o
                                       WHERE o.thread_id = t.id AND o.opening)) AS excerpt
        FROM page JOIN forum_thread t ON t.id = page.thread_id
        JOIN member m ON m.id = t.author_id
        {best}
        ORDER BY {order.replace("b.", "page.")}"""),
        params).all()
    more = len(rows) > c["limit"]
    rows = rows[: c["limit"]]
    items = [card(r) for r in rows]
    nxt = None
    if more and rows:
        last = rows[-1]
        key = {"relevance": last.score, "recent": last.last_post_at.isoformat(),
               "distance": last.distance_m}[sort]
        nxt = keyset_encode(asof.isoformat(), key, last.id)
    return {"items": items, "sort": sort, "next_cursor": nxt}


# criterion: the prefix of its lexeme in a thread's vectors (models.FACET_MARK).
FACETS = {"category": "c:", "species": "s:", "gear": "g:", "zone": "z:"}


def _with_facets(tsq: str, c: Mapping[str, Any]) -> str:
    """The words and the filters that have lexemes: the GIN index answers them together,
    where a filter on the thread's columns would read every thread with the words. The
    filters stay in the WHERE clause too: the columns are the truth."""
    terms = [words_mod.quote(FACET_MARK + prefix + str(c[name]))
             for name, prefix in FACETS.items() if c.get(name) is not None]
    if c.get("solved") is not None:
        terms.append(("" if c["solved"] else "!") + words_mod.quote(FACET_MARK + "solved"))
    return " & ".join([f"({tsq})", *terms]) if terms else tsq


def _recent_first(cols: str, where: str, sort: str, keyset: str) -> tuple[str, str]:
    """The most recently active threads that have the words (RANK_CANDIDATES of them to
    rank by relevance; a page and one more sorted by recency), tier by tier
    (models.TIERS): first the threads active in the last 30 days (``recent_match``),
    then, only if those are too few, in the last 180 (``season_match``), then the older
    ones (``match``). A tier's
    small GIN index is read whole and its matches sorted; of the older threads the
    planner picks between walking them by last post (a common word) and reading the
    index's matches (a rare one). A tier is not read at all when the ones before fill the
    limit. The cut-offs split threads exactly: the job that empties a tier's vector
    stays a day behind them (threads.cool). The final LIMIT takes the tiers' rows in the
    order of the UNION ALL: PostgreSQL's Append runs its parts in turn (no parallel
    Append over CTE scans), and an ORDER BY there would read every tier;
    tests/forum/test_search.py holds the order."""
    n = str(RANK_CANDIDATES) if sort == "relevance" else ":limit"
    after = "AND (t.last_post_at, t.id) < (:k0, :k1)" if sort == "recent" and keyset else ""
    cut = [f"now() - interval '{days} days'" for _, days in TIERS]
    tiers, parts = "", []
    for i, (column, _) in enumerate(TIERS):
        newer = f"AND t.last_post_at < {cut[i - 1]}" if i else ""
        tiers += f"""
        {column} AS MATERIALIZED (
            SELECT {cols} FROM forum_thread t
            WHERE t.{column} @@ CAST(:tsq AS tsquery) AND t.last_post_at >= {cut[i]} {newer}
              AND {where} {after}),"""
        parts.append(f"(SELECT * FROM {column} t ORDER BY t.last_post_at DESC, t.id DESC "
                     f"LIMIT {n})")
    parts.append(f"""(SELECT {cols} FROM forum_thread t
         WHERE t.match @@ CAST(:tsq AS tsquery) AND t.last_post_at < {cut[-1]}
           AND {where} {after}
         ORDER BY t.last_post_at DESC, t.id DESC LIMIT {n})""")
    return tiers, "\n        UNION ALL\n        ".join(parts) + f"\n        LIMIT {n}"


def card(r: Any) -> dict[str, Any]:
    out = {"id": r.id, "category": r.category, "title": r.title,
           "author": {"id": r.author_id, "name": r.author_name},
           "visible_org_id": r.visible_org_id,
           "tags": {"species": r.species_codes, "gear": r.gear_codes, "zones": r.zone_ids},
           "location": r.location, "solved": r.solved, "locked": r.locked,
           "reply_count": r.reply_count, "created_at": r.created_at,
           "last_post_at": r.last_post_at, "excerpt": r.excerpt,
           "matched_post_id": r.matched_post_id}
    if r.distance_m is not None:
        out["distance_m"] = round(float(r.distance_m), 1)
    return out
