"""forum: a thread's category, tags and solved state as lexemes of its search vectors

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:10:00

A search for words among the solved threads of a species found every thread with the
words through the GIN index, then read each one to drop the others: 16,736 threads
read for 220 kept at 1M posts. As lexemes of ``match`` and ``recent_match``
("#c:safety", "#s:LJS", "#g:GNS", "#z:<uuid>", "#solved") the filters are part of the
query the index answers (server/forum/search.py). The parser never makes a lexeme
that begins with "#" (one of a URL path may hold one further in). A trigger writes them on every insert and update of a thread, so no code
path (a patch of its tags, an accepted or withdrawn solution, a post hidden) can leave
them stale; server/forum/models.py FACET_MARK.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORDS = ("CREATE FUNCTION cardumen_forum_words(v tsvector) RETURNS tsvector LANGUAGE sql "
         "IMMUTABLE PARALLEL SAFE RETURN ts_delete(v, ARRAY("
         "SELECT x FROM unnest(tsvector_to_array(v)) x WHERE left(x, 1) = '#'))")

FACETS = """
CREATE FUNCTION cardumen_forum_facets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    facets tsvector := array_to_tsvector(
        ARRAY['#c:' || NEW.category]
        || ARRAY(SELECT '#s:' || s FROM unnest(NEW.species_codes) s)
        || ARRAY(SELECT '#g:' || g FROM unnest(NEW.gear_codes) g)
        || ARRAY(SELECT '#z:' || z FROM unnest(NEW.zone_ids) z)
        || CASE WHEN NEW.solution_post_id IS NULL THEN '{}'::text[] ELSE ARRAY['#solved'] END);
BEGIN
    NEW.match := cardumen_forum_words(NEW.match) || facets;
    -- An empty recent vector stays empty: the thread is not recent (0014).
    IF NEW.recent_match <> ''::tsvector THEN
        NEW.recent_match := cardumen_forum_words(NEW.recent_match) || facets;
    END IF;
    RETURN NEW;
END $$"""


def upgrade() -> None:
    op.execute(WORDS)
    op.execute(FACETS)
    op.execute("CREATE TRIGGER forum_thread_facets BEFORE INSERT OR UPDATE OF match, "
               "recent_match, category, species_codes, gear_codes, zone_ids, solution_post_id "
               "ON forum_thread FOR EACH ROW EXECUTE FUNCTION cardumen_forum_facets()")
    op.execute("UPDATE forum_thread SET match = match")  # the trigger writes the facets


def downgrade() -> None:
    op.execute("DROP TRIGGER forum_thread_facets ON forum_thread")
    op.execute("UPDATE forum_thread SET match = cardumen_forum_words(match), "
               "recent_match = cardumen_forum_words(recent_match)")
    op.execute("DROP FUNCTION cardumen_forum_facets()")
    op.execute("DROP FUNCTION cardumen_forum_words(tsvector)")
