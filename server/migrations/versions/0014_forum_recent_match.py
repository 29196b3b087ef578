"""forum: a recent threads' vector, and no unaccented twins in a thread's lexemes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 20:00:00

A search ranks the most recently active threads that have its words. Read from
``match`` alone, a common word meant reading every thread it is in (tens of thousands
at 1M posts) to find the newest; ``recent_match`` holds ``match`` again for the
threads with a post in the last 30 days (server/forum/models.py TIERS), so its
GIN index gives those first. ``match`` loses the "~" lexeme of every unaccented word
it also holds as written ("~motor" beside "motor"): the query asks for either, so the
vector and its index halve. Existing threads are rewritten here as
server/forum/threads.py refresh_search writes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECENT_DAYS = 30  # server/forum/models.py TIERS' first, as of this revision


def upgrade() -> None:
    op.add_column('forum_thread', sa.Column('recent_match', postgresql.TSVECTOR(),
                                            server_default=sa.text("''::tsvector"),
                                            nullable=False))
    op.execute(f"""
        UPDATE forum_thread t SET
            match = d.match,
            recent_match = CASE WHEN t.last_post_at >= now() - interval '{RECENT_DAYS} days'
                                THEN d.match ELSE '' END
        FROM (SELECT id, ts_delete(match, ARRAY(
                  SELECT '~' || x FROM unnest(tsvector_to_array(match)) x
                  WHERE left(x, 1) <> '~')) AS match
              FROM forum_thread) d
        WHERE d.id = t.id""")
    op.create_index('ix_forum_thread_recent_match', 'forum_thread', ['recent_match'],
                    unique=False, postgresql_using='gin')
    op.create_index('ix_forum_thread_cooling', 'forum_thread', ['last_post_at'], unique=False,
                    postgresql_where=sa.text("recent_match <> ''::tsvector"))


def downgrade() -> None:
    op.drop_index('ix_forum_thread_cooling', table_name='forum_thread')
    op.drop_index('ix_forum_thread_recent_match', table_name='forum_thread')
    op.drop_column('forum_thread', 'recent_match')
    # A twin for every lexeme as written: more than were dropped, the same threads found.
    op.execute("""
        UPDATE forum_thread SET match = match || coalesce(array_to_tsvector(ARRAY(
            SELECT '~' || x FROM unnest(tsvector_to_array(match)) x
            WHERE left(x, 1) <> '~')), '')""")
