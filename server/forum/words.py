"""A forum query's words as one tsquery: each word by its stem, its family, and the
words it nearly is.

Per word (all required, as in the marketplace's search):
- its Spanish stem as typed ("pescadores" -> 'pescador'), which meets the posts'
  text as written and, typed without accents, their unaccented half;
- its family: the stem without a derivational ending (-ador, -ero, -ción, ...) as a
  prefix, so that "pescadores" also finds "pesca" ('pesc':*) and "camaroneros"
  finds "camarón";
- when the stem is nowhere in the forum (a typo, a regional spelling), the known
  lexemes most like it by trigram similarity ("guachinango" -> 'huachinang').
A Spanish stop word asks for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_WORDS = 12
# Endings that make a word of the same family (agent, trade, place, action), longest
# first; what is left must keep at least MIN_ROOT letters to say anything.
FAMILY_ENDINGS = ("amient", "imient", "ador", "edor", "idor", "cion", "sion", "eri", "ism",
                  "ist", "ant", "ent", "er")
MIN_ROOT = 4
MIN_SIMILARITY = 0.6
NEAR_MAX = 3


def words(q: str | None) -> list[str]:
    if not q:
        return []
    return list(dict.fromkeys(re.findall(r"[^\W_]+", q.lower())))[:MAX_WORDS]


def family(stem: str) -> str | None:
    for ending in FAMILY_ENDINGS:
        if stem.endswith(ending) and len(stem) - len(ending) >= MIN_ROOT:
            return stem[: -len(ending)]
    return None


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class Query:
    words: list[str]
    tsquery: str | None  # None: no word asks for anything (stop words only, or none)


_EXPAND = text(f"""
    SELECT u.i, s.lex,
           CASE WHEN EXISTS (SELECT 1 FROM forum_lexeme f WHERE f.lexeme = s.lex) THEN '{{}}'
                ELSE ARRAY(SELECT f.lexeme FROM forum_lexeme f
                           WHERE f.lexeme % s.lex AND similarity(f.lexeme, s.lex) >= {MIN_SIMILARITY}
                           ORDER BY similarity(f.lexeme, s.lex) DESC, f.lexeme LIMIT {NEAR_MAX})
           END AS near
    FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS u(w, i),
         LATERAL unnest(tsvector_to_array(to_tsvector('spanish', u.w))) AS s(lex)
    ORDER BY u.i, s.lex""")


def expand(sess: Session, q: str | None) -> Query:
    ws = words(q)
    if not ws:
        return Query([], None)
    per_word: dict[int, list[str]] = {}
    for i, lex, near in sess.execute(_EXPAND, {"words": ws}):
        alts = per_word.setdefault(int(i), [])
        alts.append(_quote(lex))
        root = family(lex)
        if root:
            alts.append(_quote(root) + ":*")
        alts.extend(_quote(n) for n in near)
    if not per_word:
        return Query(ws, None)
    parts = ["(" + " | ".join(dict.fromkeys(alts)) + ")" for _, alts in sorted(per_word.items())]
    return Query(ws, " & ".join(parts))


REMEMBER = text("""
    INSERT INTO forum_lexeme (lexeme)
    SELECT DISTINCT unnest(tsvector_to_array(search)) FROM forum_post WHERE id = ANY(:ids)
    ORDER BY 1
    ON CONFLICT DO NOTHING""")  # in order: two posts adding the same new words cannot deadlock


def remember(sess: Session, post_ids: list[object]) -> None:
    """Add the words of these (flushed) posts to the forum's vocabulary."""
    sess.execute(REMEMBER, {"ids": post_ids})
