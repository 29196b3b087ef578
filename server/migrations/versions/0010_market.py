"""marketplace: listings, their catches and prices, orders, ratings, saved searches; notifications

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:00:00

Text search: a listing's Spanish words are stemmed by PostgreSQL's Spanish on the
text as written (it knows "camarones" is "Camarón"; stemming the text without
accents would make "camaron" and "cámara" one word). ``plain`` (lower case, no
accents, with the English and scientific names) has a trigram index, for what a
phone types without accents and for near misses. unaccent and pg_trgm are
trusted extensions: a database owner may create them.

listing_price and market_order_event refuse UPDATE and DELETE
(cardumen_refuse_change, from 0002): price history and order history are audits.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography, Geometry
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDITS = ('listing_price', 'market_order_event')


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # unaccent() is only STABLE (its dictionary could be changed); with the dictionary
    # named it is as immutable as the rules file, which generated columns need.
    op.execute("CREATE FUNCTION cardumen_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE "
               "PARALLEL SAFE STRICT AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$")
    op.create_table('listing',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('short_code', sa.String(length=12), nullable=False),
    sa.Column('seller_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=140), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('species_code', sa.String(length=3), nullable=True),
    sa.Column('presentation', sa.String(length=20), nullable=True),
    sa.Column('preservation', sa.String(length=10), nullable=True),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('reserved', sa.Numeric(precision=12, scale=3), server_default=sa.text('0'), nullable=False),
    sa.Column('sold', sa.Numeric(precision=12, scale=3), server_default=sa.text('0'), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('port_id', sa.UUID(), nullable=True),
    sa.Column('location', Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography'), nullable=False),
    sa.Column('delivery_area', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('available_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fresh_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='active', nullable=False),
    sa.Column('keywords', sa.Text(), server_default='', nullable=False),
    sa.Column('other_names', sa.Text(), server_default='', nullable=False),
    sa.Column('search', postgresql.TSVECTOR(), sa.Computed("setweight(to_tsvector('spanish'::regconfig, title), 'A') || to_tsvector('spanish'::regconfig, coalesce(description, '') || ' ' || keywords)", persisted=True), nullable=False),
    sa.Column('plain', sa.Text(), sa.Computed("lower(cardumen_unaccent(title || ' ' || keywords || ' ' || other_names))", persisted=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('gear', 'boat_parts', 'engines', 'electronics', 'safety', 'ice', 'fuel', 'mechanics', 'transport', 'processing', 'other')", name=op.f('ck_listing_category_valid')),
    sa.CheckConstraint("kind <> 'fish' OR (species_code IS NOT NULL AND presentation IS NOT NULL AND preservation IS NOT NULL AND category IS NULL)", name=op.f('ck_listing_fish_described')),
    sa.CheckConstraint("kind = 'fish' OR category IS NOT NULL", name=op.f('ck_listing_goods_categorised')),
    sa.CheckConstraint("kind IN ('fish', 'goods', 'service')", name=op.f('ck_listing_kind_valid')),
    sa.CheckConstraint("preservation IN ('fresh', 'frozen', 'live', 'dried', 'salted', 'smoked')", name=op.f('ck_listing_preservation_valid')),
    sa.CheckConstraint("status IN ('active', 'paused', 'closed', 'expired')", name=op.f('ck_listing_status_valid')),
    sa.CheckConstraint("unit IN ('kg', 'piece', 'hour', 'job')", name=op.f('ck_listing_unit_valid')),
    sa.CheckConstraint('available_until > available_from', name=op.f('ck_listing_window')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_listing_quantity_positive')),
    sa.CheckConstraint('reserved >= 0 AND sold >= 0 AND reserved + sold <= quantity', name=op.f('ck_listing_never_oversold')),
    sa.CheckConstraint('unit_price > 0', name=op.f('ck_listing_price_positive')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_listing_org_id_organization')),
    sa.ForeignKeyConstraint(['port_id'], ['port.id'], name=op.f('fk_listing_port_id_port')),
    sa.ForeignKeyConstraint(['seller_id'], ['member.id'], name=op.f('fk_listing_seller_id_member')),
    sa.ForeignKeyConstraint(['species_code'], ['species.code'], name=op.f('fk_listing_species_code_species')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_listing')),
    sa.UniqueConstraint('org_id', 'short_code', name='uq_listing_short_code')
    )
    op.create_index('ix_listing_id', 'listing', ['id'], unique=False)
    op.create_index('ix_listing_live_location', 'listing', ['location'], unique=False, postgresql_using='gist', postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_listing_live_species', 'listing', ['species_code', 'unit_price'], unique=False, postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_listing_search', 'listing', ['search'], unique=False, postgresql_using='gin')
    op.create_index('ix_listing_plain', 'listing', ['plain'], unique=False, postgresql_using='gin', postgresql_ops={'plain': 'gin_trgm_ops'})
    op.create_index('ix_listing_seller', 'listing', ['seller_id', 'created_at'], unique=False)
    op.create_index('ix_listing_short_code', 'listing', ['short_code'], unique=False)
    op.create_table('notification',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_notification_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    op.create_index('ix_notification_member', 'notification', ['member_id', 'id'], unique=False)
    op.create_index('ix_notification_unread', 'notification', ['member_id', 'id'], unique=False, postgresql_where=sa.text('read_at IS NULL'))
    op.create_table('saved_search',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('q', sa.String(length=200), nullable=True),
    sa.Column('q_words', postgresql.ARRAY(sa.Text()), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('species_code', sa.String(length=3), nullable=True),
    sa.Column('presentation', sa.String(length=20), nullable=True),
    sa.Column('preservation', sa.String(length=10), nullable=True),
    sa.Column('min_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('max_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('near', Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography'), nullable=True),
    sa.Column('radius_m', sa.Float(), nullable=True),
    sa.Column('bbox', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('seller_org_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('gear', 'boat_parts', 'engines', 'electronics', 'safety', 'ice', 'fuel', 'mechanics', 'transport', 'processing', 'other')", name=op.f('ck_saved_search_category_valid')),
    sa.CheckConstraint("kind IN ('fish', 'goods', 'service')", name=op.f('ck_saved_search_kind_valid')),
    sa.CheckConstraint("preservation IN ('fresh', 'frozen', 'live', 'dried', 'salted', 'smoked')", name=op.f('ck_saved_search_preservation_valid')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_saved_search_member_id_member')),
    sa.ForeignKeyConstraint(['seller_org_id'], ['organization.id'], name=op.f('fk_saved_search_seller_org_id_organization')),
    sa.ForeignKeyConstraint(['species_code'], ['species.code'], name=op.f('fk_saved_search_species_code_species')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_search'))
    )
    op.create_index('ix_saved_search_member', 'saved_search', ['member_id', 'created_at'], unique=False)
    op.create_table('listing_catch',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('listing_id', sa.UUID(), nullable=False),
    sa.Column('catch_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_listing_catch_quantity_not_negative')),
    sa.ForeignKeyConstraint(['org_id', 'listing_id'], ['listing.org_id', 'listing.id'], name=op.f('fk_listing_catch_org_id_listing')),
    sa.PrimaryKeyConstraint('org_id', 'listing_id', 'catch_id', name=op.f('pk_listing_catch'))
    )
    op.create_index('ix_listing_catch_catch', 'listing_catch', ['org_id', 'catch_id'], unique=False)
    op.create_table('listing_photo',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('listing_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.LargeBinary(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'listing_id'], ['listing.org_id', 'listing.id'], name=op.f('fk_listing_photo_org_id_listing')),
    sa.PrimaryKeyConstraint('org_id', 'listing_id', 'id', name=op.f('pk_listing_photo'))
    )
    op.create_table('listing_price',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('listing_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('set_by', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'listing_id'], ['listing.org_id', 'listing.id'], name=op.f('fk_listing_price_org_id_listing')),
    sa.ForeignKeyConstraint(['set_by'], ['member.id'], name=op.f('fk_listing_price_set_by_member')),
    sa.PrimaryKeyConstraint('org_id', 'listing_id', 'seq', name=op.f('pk_listing_price'))
    )
    op.create_table('market_order',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('listing_id', sa.UUID(), nullable=False),
    sa.Column('seller_id', sa.UUID(), nullable=False),
    sa.Column('buyer_id', sa.UUID(), nullable=False),
    sa.Column('buyer_org_id', sa.UUID(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='placed', nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('placed', 'accepted', 'ready', 'completed', 'rejected', 'cancelled', 'expired')", name=op.f('ck_market_order_status_valid')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_market_order_quantity_positive')),
    sa.ForeignKeyConstraint(['buyer_id'], ['member.id'], name=op.f('fk_market_order_buyer_id_member')),
    sa.ForeignKeyConstraint(['org_id', 'listing_id'], ['listing.org_id', 'listing.id'], name=op.f('fk_market_order_org_id_listing')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_market_order_org_id_organization')),
    sa.ForeignKeyConstraint(['seller_id'], ['member.id'], name=op.f('fk_market_order_seller_id_member')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_market_order')),
    sa.UniqueConstraint('org_id', 'buyer_id', 'idempotency_key', name='uq_market_order_key')
    )
    op.create_index('ix_market_order_buyer', 'market_order', ['buyer_id', 'placed_at'], unique=False)
    op.create_index('ix_market_order_completed', 'market_order', ['seller_id', 'completed_at'], unique=False, postgresql_where=sa.text("status = 'completed'"))
    op.create_index('ix_market_order_due', 'market_order', ['expires_at'], unique=False, postgresql_where=sa.text('expires_at IS NOT NULL'))
    op.create_index('ix_market_order_id', 'market_order', ['id'], unique=False)
    op.create_index('ix_market_order_key', 'market_order', ['buyer_id', 'idempotency_key'], unique=False)
    op.create_index('ix_market_order_listing', 'market_order', ['org_id', 'listing_id'], unique=False)
    op.create_index('ix_market_order_org', 'market_order', ['org_id', 'placed_at'], unique=False)
    op.create_index('ix_market_order_seller', 'market_order', ['seller_id', 'placed_at'], unique=False)
    op.create_table('coop_rating',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('buyer_id', sa.UUID(), nullable=False),
    sa.Column('stars', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_coop_rating_stars_range')),
    sa.ForeignKeyConstraint(['buyer_id'], ['member.id'], name=op.f('fk_coop_rating_buyer_id_member')),
    sa.ForeignKeyConstraint(['org_id', 'order_id'], ['market_order.org_id', 'market_order.id'], name=op.f('fk_coop_rating_org_id_market_order')),
    sa.PrimaryKeyConstraint('org_id', 'order_id', name=op.f('pk_coop_rating'))
    )
    op.create_table('market_order_event',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('by_member_id', sa.UUID(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("status IN ('placed', 'accepted', 'ready', 'completed', 'rejected', 'cancelled', 'expired')", name=op.f('ck_market_order_event_status_valid')),
    sa.ForeignKeyConstraint(['by_member_id'], ['member.id'], name=op.f('fk_market_order_event_by_member_id_member')),
    sa.ForeignKeyConstraint(['org_id', 'order_id'], ['market_order.org_id', 'market_order.id'], name=op.f('fk_market_order_event_org_id_market_order')),
    sa.PrimaryKeyConstraint('org_id', 'order_id', 'seq', name=op.f('pk_market_order_event'))
    )

    for table in _AUDITS:
        op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cardumen_refuse_change()")


def downgrade() -> None:
    for table in _AUDITS:
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
    op.drop_table('market_order_event')
    op.drop_table('coop_rating')
    op.drop_index('ix_market_order_seller', table_name='market_order')
    op.drop_index('ix_market_order_org', table_name='market_order')
    op.drop_index('ix_market_order_listing', table_name='market_order')
    op.drop_index('ix_market_order_key', table_name='market_order')
    op.drop_index('ix_market_order_id', table_name='market_order')
    op.drop_index('ix_market_order_due', table_name='market_order', postgresql_where=sa.text('expires_at IS NOT NULL'))
    op.drop_index('ix_market_order_completed', table_name='market_order', postgresql_where=sa.text("status = 'completed'"))
    op.drop_index('ix_market_order_buyer', table_name='market_order')
    op.drop_table('market_order')
    op.drop_table('listing_price')
    op.drop_table('listing_photo')
    op.drop_index('ix_listing_catch_catch', table_name='listing_catch')
    op.drop_table('listing_catch')
    op.drop_index('ix_saved_search_member', table_name='saved_search')
    op.drop_table('saved_search')
    op.drop_index('ix_notification_unread', table_name='notification', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_index('ix_notification_member', table_name='notification')
    op.drop_table('notification')
    op.drop_index('ix_listing_short_code', table_name='listing')
    op.drop_index('ix_listing_seller', table_name='listing')
    op.drop_index('ix_listing_search', table_name='listing', postgresql_using='gin')
    op.drop_index('ix_listing_plain', table_name='listing', postgresql_using='gin', postgresql_ops={'plain': 'gin_trgm_ops'})
    op.drop_index('ix_listing_live_species', table_name='listing', postgresql_where=sa.text("status = 'active'"))
    op.drop_index('ix_listing_live_location', table_name='listing', postgresql_using='gist', postgresql_where=sa.text("status = 'active'"))
    op.drop_index('ix_listing_id', table_name='listing')
    op.drop_table('listing')

    op.execute("DROP FUNCTION cardumen_unaccent(text)")
