"""stat_zone: the dashboards' catch per zone (per organization, month, member, vessel)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:35:00

Empty until the rollup rewrites each slice (`cardumen ogc refresh --all` at once).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'stat_zone',
        sa.Column('zone_id', sa.UUID(), nullable=False),
        sa.Column('landed_kg', sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column('catches', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.UUID(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('member_id', sa.UUID(), nullable=False),
        sa.Column('vessel_id', sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint('org_id', 'month', 'member_id', 'vessel_id', 'zone_id',
                                name=op.f('pk_stat_zone')))


def downgrade() -> None:
    op.drop_table('stat_zone')
