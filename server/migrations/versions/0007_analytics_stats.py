"""stat_species, stat_trip, stat_cell: the dashboards' rollup (per organization, month, member, vessel)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:45:00

Filled by the rollup job (server/rollup/run.py) from the logbook; empty until
its first run (`cardumen ogc refresh --all` fills it at once).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stat_species',
    sa.Column('species_code', sa.String(length=3), nullable=False),
    sa.Column('gear_code', sa.String(length=8), nullable=False),
    sa.Column('landed_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('live_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('catches', sa.Integer(), nullable=False),
    sa.Column('value_mxn', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('priced_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('vessel_id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'month', 'member_id', 'vessel_id', 'species_code', 'gear_code', name=op.f('pk_stat_species'))
    )
    op.create_index('ix_stat_species_member', 'stat_species', ['member_id', 'month'], unique=False)
    op.create_table('stat_trip',
    sa.Column('gear_code', sa.String(length=8), nullable=False),
    sa.Column('trips', sa.Integer(), nullable=False),
    sa.Column('zero_catch_trips', sa.Integer(), nullable=False),
    sa.Column('timed_trips', sa.Integer(), nullable=False),
    sa.Column('sea_hours', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('sea_days', sa.Integer(), nullable=False),
    sa.Column('costs_mxn', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('vessel_id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'month', 'member_id', 'vessel_id', 'gear_code', name=op.f('pk_stat_trip'))
    )
    op.create_index('ix_stat_trip_member', 'stat_trip', ['member_id', 'month'], unique=False)

    op.create_table('stat_cell',
    sa.Column('cell', sa.String(length=15), nullable=False),
    sa.Column('species_code', sa.String(length=3), nullable=False),
    sa.Column('landed_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('catches', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('vessel_id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'month', 'member_id', 'vessel_id', 'cell', 'species_code',
                            name=op.f('pk_stat_cell'))
    )
    op.create_index('ix_stat_cell_member', 'stat_cell', ['member_id', 'month'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stat_cell_member', table_name='stat_cell')
    op.drop_table('stat_cell')
    op.drop_index('ix_stat_trip_member', table_name='stat_trip')
    op.drop_table('stat_trip')
    op.drop_index('ix_stat_species_member', table_name='stat_species')
    op.drop_table('stat_species')
