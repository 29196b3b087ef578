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


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class Query:
    words: list[str]
    tsquery: str | None  # every word required; None: no word asks for anything
    any_word: str | None  # any one of them: which post of a thread matched best


_EXPAND = text(f"""
    SELECT u.i, s.lex, u.w <> cardumen_unaccent(u.w) AS accented,
           -- typed without accents, the word may be a stem as written ("camaron" is
           -- 'camaron' of "camarón"; its own stem is 'cam', as of "cámara")
           (SELECT f.lexeme FROM forum_lexeme f
            WHERE f.lexeme = u.w AND u.w = cardumen_unaccent(u.w)) AS itself,
           ARRAY(SELECT f.lexeme FROM forum_lexeme f
                 WHERE f.root = cardumen_family(s.lex) AND f.lexeme <> s.lex
                 ORDER BY f.lexeme LIMIT {MAX_KIN}) AS kin,
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
        return Query([], None, None)
    per_word: dict[int, list[str]] = {}
    for i, lex, accented, itself, kin, near in sess.execute(_EXPAND, {"words": ws}):
        weight = AS_WRITTEN if accented else ""
        alts = per_word.setdefault(int(i), [])
        alts += [_quote(x) + weight for x in [lex, *kin]]
        if itself:
            alts.append(_quote(itself) + AS_WRITTEN)
        alts += [_quote(n) for n in near]
    if not per_word:
        return Query(ws, None, None)
    parts = ["(" + " | ".join(dict.fromkeys(alts)) + ")" for _, alts in sorted(per_word.items())]
    return Query(ws, " & ".join(parts), " | ".join(parts))


REMEMBER = text("""
    INSERT INTO forum_lexeme (lexeme)
    SELECT DISTINCT unnest(tsvector_to_array(search)) FROM forum_post WHERE id = ANY(:ids)
    ORDER BY 1
    ON CONFLICT DO NOTHING""")  # in order: two posts adding the same new words cannot deadlock


def remember(sess: Session, post_ids: Sequence[uuid.UUID]) -> None:
    """Add the words of these (flushed) posts to the forum's vocabulary."""
    sess.execute(REMEMBER, {"ids": list(post_ids)})
