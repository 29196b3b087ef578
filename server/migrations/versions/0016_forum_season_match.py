"""forum: a second tier of recent threads, those active in the last 180 days

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:30:00

A search whose words are in fewer than 500 threads of the last 30 days read every older
thread with them to find the newest: 5,847 threads for 78 kept at 1M posts.
``season_match`` is ``match`` again for the threads with a post in the last 180 days
(server/forum/models.py TIERS), with its own GIN index, between the two. The facets'
trigger (0015) now writes every tier's vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEASON_DAYS = 180  # server/forum/models.py TIERS, as of this revision


def _facets(tiers: Sequence[str]) -> str:
    keep = "".join(f"""
    -- An empty tier's vector stays empty: the thread is not that recent.
    IF NEW.{column} <> ''::tsvector THEN
        NEW.{column} := cardumen_forum_words(NEW.{column}) || facets;
    END IF;""" for column in tiers)
    return f"""
CREATE OR REPLACE FUNCTION cardumen_forum_facets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    facets tsvector := array_to_tsvector(
        ARRAY['#c:' || NEW.category]
        || ARRAY(SELECT '#s:' || s FROM unnest(NEW.species_codes) s)
        || ARRAY(SELECT '#g:' || g FROM unnest(NEW.gear_codes) g)
        || ARRAY(SELECT '#z:' || z FROM unnest(NEW.zone_ids) z)
        || CASE WHEN NEW.solution_post_id IS NULL THEN '{{}}'::text[] ELSE ARRAY['#solved'] END);
BEGIN
    NEW.match := cardumen_forum_words(NEW.match) || facets;{keep}
    RETURN NEW;
END $$"""


def _trigger(columns: str) -> None:
    op.execute("DROP TRIGGER forum_thread_facets ON forum_thread")
    op.execute(f"CREATE TRIGGER forum_thread_facets BEFORE INSERT OR UPDATE OF {columns}, "
               "category, species_codes, gear_codes, zone_ids, solution_post_id "
               "ON forum_thread FOR EACH ROW EXECUTE FUNCTION cardumen_forum_facets()")


def upgrade() -> None:
    op.add_column('forum_thread', sa.Column('season_match', postgresql.TSVECTOR(),
                                            server_default=sa.text("''::tsvector"),
                                            nullable=False))
    op.execute(_facets(("recent_match", "season_match")))
    _trigger("match, recent_match, season_match")
    op.execute(f"UPDATE forum_thread SET season_match = match "
               f"WHERE last_post_at >= now() - interval '{SEASON_DAYS} days'")
    op.create_index('ix_forum_thread_season_match', 'forum_thread', ['season_match'],
                    unique=False, postgresql_using='gin')
    op.create_index('ix_forum_thread_season_cooling', 'forum_thread', ['last_post_at'],
                    unique=False, postgresql_where=sa.text("season_match <> ''::tsvector"))


def downgrade() -> None:
    op.drop_index('ix_forum_thread_season_cooling', table_name='forum_thread')
    op.drop_index('ix_forum_thread_season_match', table_name='forum_thread')
    op.execute(_facets(("recent_match",)))
    _trigger("match, recent_match")
    op.drop_column('forum_thread', 'season_match')
