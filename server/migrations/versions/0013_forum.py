"""forum: categories, threads, posts, tags, votes, follows, flags, moderation

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:00:00

Text search: ``cardumen_es`` is PostgreSQL's Spanish configuration with unaccent
before the stemmer, so that words typed without accents meet the text; each post
is indexed by it and by ``spanish`` on the text as written (server/forum/models.py
says why both). A configuration made from existing dictionaries needs no
superuser. The moderators' audit refuses UPDATE and DELETE (cardumen_refuse_change,
from 0002).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = [
    ("gear_boats", "Equipo y embarcaciones", "Gear and boats"),
    ("markets_prices", "Mercados y precios", "Markets and prices"),
    ("regulations_permits", "Reglamentos y permisos", "Regulations and permits"),
    ("sea_weather", "El mar y el clima", "The sea and the weather"),
    ("safety", "Seguridad en el mar", "Safety at sea"),
    ("ideas", "Ideas", "Ideas"),
]


# Derivational endings of Spanish stems (agent, trade, place, action...): what is left is
# the family's root, if it keeps 4 letters ("pescador" -> "pesc", "camaroner" -> "camaron").
# The longest ending that matches at the end wins (POSIX leftmost-longest).
FAMILY = ("CREATE FUNCTION cardumen_family(lexeme text) RETURNS text LANGUAGE sql IMMUTABLE "
          "PARALLEL SAFE RETURN (SELECT CASE WHEN length(r) >= 4 THEN r ELSE lexeme END FROM "
          "(SELECT regexp_replace(lexeme, "
          "'(amient|imient|ador|edor|idor|cion|sion|eri|ism|ist|ant|ent|er)$', '') AS r) s)")


def upgrade() -> None:
    op.execute("CREATE TEXT SEARCH CONFIGURATION cardumen_es (COPY = pg_catalog.spanish)")
    op.execute("ALTER TEXT SEARCH CONFIGURATION cardumen_es "
               "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem")
    op.execute(FAMILY)
    op.create_table('forum_category',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name_es', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_forum_category'))
    )
    op.create_table('forum_lexeme',
    sa.Column('scope', sa.UUID(), nullable=False),
    sa.Column('lexeme', sa.Text(), nullable=False),
    sa.Column('root', sa.Text(), sa.Computed('cardumen_family(lexeme)', persisted=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'lexeme', name=op.f('pk_forum_lexeme'))
    )
    op.create_index('ix_forum_lexeme_root', 'forum_lexeme', ['root', 'scope'], unique=False)
    op.create_index('ix_forum_lexeme_trgm', 'forum_lexeme', ['lexeme'], unique=False, postgresql_using='gin', postgresql_ops={'lexeme': 'gin_trgm_ops'})
    op.create_table('forum_moderator',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('scope_org_id', sa.UUID(), nullable=True),
    sa.Column('appointed_by', sa.UUID(), nullable=False),
    sa.Column('appointed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['appointed_by'], ['member.id'], name=op.f('fk_forum_moderator_appointed_by_member')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_forum_moderator_member_id_member')),
    sa.ForeignKeyConstraint(['scope_org_id'], ['organization.id'], name=op.f('fk_forum_moderator_scope_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_moderator'))
    )
    op.create_index('uq_forum_moderator_scope', 'forum_moderator', ['member_id', sa.literal_column("coalesce(scope_org_id, '00000000-0000-0000-0000-000000000000'::uuid)")], unique=True)
    op.create_table('forum_thread',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=False),
    sa.Column('visible_org_id', sa.UUID(), nullable=True),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('species_codes', sa.ARRAY(sa.String(length=3)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('gear_codes', sa.ARRAY(sa.String(length=10)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('zone_ids', sa.ARRAY(sa.UUID()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('location', Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography'), nullable=True),
    sa.Column('solution_post_id', sa.UUID(), nullable=True),
    sa.Column('solved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('match', postgresql.TSVECTOR(), server_default=sa.text("''::tsvector"), nullable=False),
    sa.Column('summary', postgresql.TSVECTOR(), server_default=sa.text("''::tsvector"), nullable=False),
    sa.Column('last_post_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_forum_thread_author_id_member')),
    sa.ForeignKeyConstraint(['category'], ['forum_category.code'], name=op.f('fk_forum_thread_category_forum_category')),
    sa.ForeignKeyConstraint(['visible_org_id'], ['organization.id'], name=op.f('fk_forum_thread_visible_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_thread'))
    )
    op.create_index('ix_forum_thread_author', 'forum_thread', ['author_id', 'created_at'], unique=False)
    op.create_index('ix_forum_thread_gear', 'forum_thread', ['gear_codes'], unique=False, postgresql_using='gin')
    op.create_index('ix_forum_thread_location', 'forum_thread', ['location'], unique=False, postgresql_using='gist', postgresql_where=sa.text('hidden_at IS NULL AND location IS NOT NULL'))
    op.create_index('ix_forum_thread_recent', 'forum_thread', ['last_post_at', 'id'], unique=False, postgresql_where=sa.text('hidden_at IS NULL'))
    op.create_index('ix_forum_thread_match', 'forum_thread', ['match'], unique=False, postgresql_using='gin')
    op.create_index('ix_forum_thread_species', 'forum_thread', ['species_codes'], unique=False, postgresql_using='gin')
    op.create_index('ix_forum_thread_visible_org', 'forum_thread', ['visible_org_id', 'last_post_at'], unique=False, postgresql_where=sa.text('hidden_at IS NULL'))
    op.create_index('ix_forum_thread_zones', 'forum_thread', ['zone_ids'], unique=False, postgresql_using='gin')
    op.create_table('forum_follow',
    sa.Column('thread_id', sa.UUID(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_forum_follow_member_id_member')),
    sa.ForeignKeyConstraint(['thread_id'], ['forum_thread.id'], name=op.f('fk_forum_follow_thread_id_forum_thread')),
    sa.PrimaryKeyConstraint('thread_id', 'member_id', name=op.f('pk_forum_follow'))
    )
    op.create_index('ix_forum_follow_member', 'forum_follow', ['member_id', 'at'], unique=False)
    op.create_table('forum_post',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('thread_id', sa.UUID(), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=False),
    sa.Column('opening', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('heading', sa.String(length=160), nullable=True),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.String(length=240), nullable=False),
    sa.Column('search', postgresql.TSVECTOR(), sa.Computed("setweight(to_tsvector('spanish'::regconfig, coalesce(heading, '')), 'A') || setweight(to_tsvector('cardumen_es'::regconfig, coalesce(heading, '')), 'C') || setweight(to_tsvector('spanish'::regconfig, body), 'B') || setweight(to_tsvector('cardumen_es'::regconfig, body), 'D')", persisted=True), nullable=False),
    sa.Column('useful_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("format IN ('plain', 'markdown')", name=op.f('ck_forum_post_format_valid')),
    sa.CheckConstraint('(heading IS NOT NULL) = opening', name=op.f('ck_forum_post_heading_on_opening')),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_forum_post_author_id_member')),
    sa.ForeignKeyConstraint(['thread_id'], ['forum_thread.id'], name=op.f('fk_forum_post_thread_id_forum_thread')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_post'))
    )
    op.create_index('ix_forum_post_author', 'forum_post', ['author_id', 'created_at'], unique=False)
    op.create_index('ix_forum_post_opening', 'forum_post', ['thread_id'], unique=True, postgresql_where=sa.text('opening'))
    op.create_index('ix_forum_post_search', 'forum_post', ['search'], unique=False, postgresql_using='gin')
    op.create_index('ix_forum_post_thread', 'forum_post', ['thread_id', 'created_at', 'id'], unique=False)
    op.create_foreign_key('fk_forum_thread_solution_post_id_forum_post', 'forum_thread', 'forum_post',
                          ['solution_post_id'], ['id'])
    op.create_table('forum_moderation_action',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('moderator_id', sa.UUID(), nullable=False),
    sa.Column('action', sa.String(length=15), nullable=False),
    sa.Column('scope_org_id', sa.UUID(), nullable=True),
    sa.Column('thread_id', sa.UUID(), nullable=True),
    sa.Column('post_id', sa.UUID(), nullable=True),
    sa.Column('subject_member_id', sa.UUID(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('thread_title', sa.String(length=160), nullable=True),
    sa.Column('post_body', sa.Text(), nullable=True),
    sa.Column('by_platform', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("action IN ('hide', 'restore', 'lock', 'unlock', 'dismiss_flags', 'appoint', 'remove')", name=op.f('ck_forum_moderation_action_action_valid')),
    sa.ForeignKeyConstraint(['moderator_id'], ['member.id'], name=op.f('fk_forum_moderation_action_moderator_id_member')),
    sa.ForeignKeyConstraint(['post_id'], ['forum_post.id'], name=op.f('fk_forum_moderation_action_post_id_forum_post')),
    sa.ForeignKeyConstraint(['scope_org_id'], ['organization.id'], name=op.f('fk_forum_moderation_action_scope_org_id_organization')),
    sa.ForeignKeyConstraint(['subject_member_id'], ['member.id'], name=op.f('fk_forum_moderation_action_subject_member_id_member')),
    sa.ForeignKeyConstraint(['thread_id'], ['forum_thread.id'], name=op.f('fk_forum_moderation_action_thread_id_forum_thread')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_moderation_action'))
    )
    op.create_index('ix_forum_moderation_action_post', 'forum_moderation_action', ['post_id'], unique=False)
    op.create_index('ix_forum_moderation_action_scope', 'forum_moderation_action', ['scope_org_id', 'id'], unique=False)
    op.create_table('forum_vote',
    sa.Column('post_id', sa.UUID(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_forum_vote_member_id_member')),
    sa.ForeignKeyConstraint(['post_id'], ['forum_post.id'], name=op.f('fk_forum_vote_post_id_forum_post')),
    sa.PrimaryKeyConstraint('post_id', 'member_id', name=op.f('pk_forum_vote'))
    )
    op.create_index('ix_forum_vote_member', 'forum_vote', ['member_id', 'at'], unique=False)
    op.create_table('forum_flag',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('post_id', sa.UUID(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_action_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("reason IN ('spam', 'abuse', 'illegal', 'privacy', 'other')", name=op.f('ck_forum_flag_reason_valid')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_forum_flag_member_id_member')),
    sa.ForeignKeyConstraint(['post_id'], ['forum_post.id'], name=op.f('fk_forum_flag_post_id_forum_post')),
    sa.ForeignKeyConstraint(['resolved_by_action_id'], ['forum_moderation_action.id'], name=op.f('fk_forum_flag_resolved_by_action_id_forum_moderation_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_flag')),
    sa.UniqueConstraint('post_id', 'member_id', name='uq_forum_flag_post_member')
    )
    op.create_index('ix_forum_flag_open', 'forum_flag', ['post_id'], unique=False, postgresql_where=sa.text('resolved_at IS NULL'))
    category = sa.table('forum_category', sa.column('code', sa.String), sa.column('name_es', sa.String),
                        sa.column('name_en', sa.String), sa.column('position', sa.SmallInteger))
    op.bulk_insert(category, [{"code": c, "name_es": es, "name_en": en, "position": i + 1}
                              for i, (c, es, en) in enumerate(CATEGORIES)])
    op.execute("CREATE TRIGGER forum_moderation_action_immutable BEFORE UPDATE OR DELETE ON "
               "forum_moderation_action FOR EACH ROW EXECUTE FUNCTION cardumen_refuse_change()")


def downgrade() -> None:
    op.drop_constraint('fk_forum_thread_solution_post_id_forum_post', 'forum_thread',
                       type_='foreignkey')
    for table in ('forum_flag', 'forum_vote', 'forum_moderation_action', 'forum_post',
                  'forum_follow', 'forum_thread', 'forum_moderator', 'forum_lexeme',
                  'forum_category'):
        op.drop_table(table)
    op.execute("DROP FUNCTION cardumen_family(text)")
    op.execute("DROP TEXT SEARCH CONFIGURATION cardumen_es")
