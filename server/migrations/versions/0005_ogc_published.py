"""ogc_audience, ogc_feature, ogc_publish_queue, h3_cell.geojson: the map published once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:00:00

Until now every page of /ogc summed the jurisdiction's rollup rows and
suppressed them again. Now each audience (an authority, or the platform) has
its features summed, suppressed and written as JSON when the rollup changes,
and a page is one index range of finished rows joined by the database. The
tables start empty: an audience is published on its first read, or by the
worker's next refresh; the cells' GeoJSON is filled in on the first publication.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('h3_cell', sa.Column('geojson', sa.Text(), nullable=True))
    op.create_table(
        'ogc_publish_queue',
        sa.Column('org_id', sa.UUID(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('org_id', 'month', name=op.f('pk_ogc_publish_queue')))
    op.create_table(
        'ogc_audience',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('authority_id', sa.UUID(), nullable=True),
        sa.Column('min_vessels', sa.SmallInteger(), nullable=False),
        sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['authority_id'], ['authority.id'],
                                name=op.f('fk_ogc_audience_authority_id_authority'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ogc_audience')),
        sa.UniqueConstraint('authority_id', name=op.f('uq_ogc_audience_authority_id')))
    op.create_table(
        'ogc_feature',
        sa.Column('audience_id', sa.UUID(), nullable=False),
        sa.Column('collection', sa.SmallInteger(), nullable=False),
        sa.Column('cell', sa.String(length=15), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('species_code', sa.String(length=3), nullable=False),
        sa.Column('feature', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['audience_id'], ['ogc_audience.id'],
                                name=op.f('fk_ogc_feature_audience_id_ogc_audience'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('audience_id', 'collection', 'cell', 'month', 'species_code',
                                name=op.f('pk_ogc_feature')))


def downgrade() -> None:
    op.drop_table('ogc_feature')
    op.drop_table('ogc_audience')
    op.drop_table('ogc_publish_queue')
    op.drop_column('h3_cell', 'geojson')
