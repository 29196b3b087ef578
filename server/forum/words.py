"""A forum query's words as one tsquery: each word by its stem, its family, and the
words it nearly is.

Per word (all required, as in the marketplace's search), any of:
- its Spanish stem as typed ("pescadores" -> 'pescador'), and, typed without
  accents, the word itself when it is a stem of the text as written ("camaron");
- the forum's words of the same family: those whose root (the stem without a
  derivational ending, ``cardumen_family``) is the word's root, so "pescadores"
  finds "pesca" ('pesc') and "pesca" finds "pescadores";
- when the stem is nowhere in the forum (a typo, a regional spelling), the known
  lexemes most like it by trigram similarity ("guachinango" -> 'huachinang').
A word typed with accents (or ñ) is looked for in the text as written only (weights
A and B, server/forum/models.py): "cámara" does not find "camarón". A Spanish stop
word asks for nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.forum.models import PLATFORM_SCOPE, UNACCENTED_MARK

MAX_WORDS = 12
MAX_KIN = 20  # family members of one word in the query
# Stems are shorter than words, so their trigram similarity is lower than the words'
# ("guachinang" is 0.57 from "huachinang").
MIN_SIMILARITY = 0.5
NEAR_MAX = 3
AS_WRITTEN = ":AB"


def words(q: str | None) -> list[str]:
    if not q:
        return []
    return list(dict.fromkeys(re.findall(r"[^\W_]+", q.lower())))[:MAX_WORDS]


def quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class Query:
    """One query in the three forms the search needs (None: no word asks for anything)."""

    words: list[str]
    threads: str | None  # every word, against a thread's lexemes (Thread.match)
    posts: str | None  # every word, against a post's weighted vector (Post.search)
    any_word: str | None  # any one word, the same: to rank and to pick the best post


# The reader's vocabularies (:scopes NULL: every one).
IN_SCOPE = "(CAST(:scopes AS uuid[]) IS NULL OR f.scope = ANY(:scopes))"

_EXPAND = text(f"""
    SELECT u.i, s.lex, u.w <> cardumen_unaccent(u.w) AS accented,
           -- typed without accents, the word may be a stem as written ("camaron" is
           -- 'camaron' of "camarón"; its own stem is 'cam', as of "cámara")
           (SELECT f.lexeme FROM forum_lexeme f
            WHERE f.lexeme = u.w AND {IN_SCOPE} AND u.w = cardumen_unaccent(u.w)
            LIMIT 1) AS itself,
           ARRAY(SELECT DISTINCT f.lexeme FROM forum_lexeme f
                 WHERE f.root = cardumen_family(s.lex) AND {IN_SCOPE}
                   AND f.lexeme <> s.lex
                 ORDER BY f.lexeme LIMIT {MAX_KIN}) AS kin,
           CASE WHEN EXISTS (SELECT 1 FROM forum_lexeme f
                             WHERE f.lexeme = s.lex AND {IN_SCOPE}) THEN '{{}}'
                ELSE ARRAY(SELECT n.lexeme FROM (
                               SELECT DISTINCT f.lexeme FROM forum_lexeme f
                               WHERE f.lexeme % s.lex AND {IN_SCOPE}
                                 AND similarity(f.lexeme, s.lex) >= {MIN_SIMILARITY}) n
                           ORDER BY similarity(n.lexeme, s.lex) DESC, n.lexeme LIMIT {NEAR_MAX})
           END AS near
    FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS u(w, i),
         LATERAL unnest(tsvector_to_array(to_tsvector('spanish', u.w))) AS s(lex)
    ORDER BY u.i, s.lex""")


def expand(sess: Session, q: str | None, scopes: Sequence[uuid.UUID] | None) -> Query:
    """``scopes``: the vocabularies the reader may draw on (PLATFORM_SCOPE and their
    organizations); None: all of them (a platform moderator reads every thread). Near
    misses are found fastest with pg_trgm.similarity_threshold at MIN_SIMILARITY in the
    transaction (search.search sets it); at another threshold they are the same, as
    similarity() checks them again."""
    ws = words(q)
    if not ws:
        return Query([], None, None, None)
    on_threads: dict[int, list[str]] = {}
    on_posts: dict[int, list[str]] = {}
    for i, lex, accented, itself, kin, near in sess.execute(
            _EXPAND, {"words": ws, "scopes": None if scopes is None else list(scopes)}):
        t = on_threads.setdefault(int(i), [])
        p = on_posts.setdefault(int(i), [])
        for x in [lex, *kin]:
            # As written: the lexeme itself; typed without accents: either half.
            t += [quote(x)] if accented else [quote(x), quote(UNACCENTED_MARK + x)]
            p.append(quote(x) + (AS_WRITTEN if accented else ""))
        if itself:
            t.append(quote(itself))
            p.append(quote(itself) + AS_WRITTEN)
        for n in near:
            t += [quote(n), quote(UNACCENTED_MARK + n)]
            p.append(quote(n))
    if not on_threads:
        return Query(ws, None, None, None)

    def joined(alts: dict[int, list[str]], op: str) -> str:
        return f" {op} ".join("(" + " | ".join(dict.fromkeys(a)) + ")"
                              for _, a in sorted(alts.items()))

    return Query(ws, joined(on_threads, "&"), joined(on_posts, "&"), joined(on_posts, "|"))


# Each post's words go to its thread's scope: the platform's or its organization's.
REMEMBER = text(f"""
    INSERT INTO forum_lexeme (scope, lexeme)
    SELECT DISTINCT coalesce(t.visible_org_id, '{PLATFORM_SCOPE}'::uuid),
                    unnest(tsvector_to_array(p.search))
    FROM forum_post p JOIN forum_thread t ON t.id = p.thread_id
    WHERE p.id = ANY(:ids)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING""")  # in order: two posts adding the same new words cannot deadlock


def remember(sess: Session, post_ids: Sequence[uuid.UUID]) -> None:
    """Add the words of these (flushed) posts to their scope's vocabulary."""
    sess.execute(REMEMBER, {"ids": list(post_ids)})
