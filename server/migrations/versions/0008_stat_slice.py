"""stat_slice: a version per slice of the dashboards' statistics

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:20:00

The cooperative dashboards keep each month's suppression decision until the
month's slice is rewritten (or the consenting members change): a request then
reads only the months it has not decided yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'stat_slice',
        sa.Column('org_id', sa.UUID(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
        sa.PrimaryKeyConstraint('org_id', 'month', name=op.f('pk_stat_slice')))
    # Slices rolled up before this table existed: version 1, so they are read and decided.
    op.execute("""
        INSERT INTO stat_slice (org_id, month)
        SELECT org_id, month FROM stat_species UNION SELECT org_id, month FROM stat_trip
        UNION SELECT org_id, month FROM stat_cell
    """)


def downgrade() -> None:
    op.drop_table('stat_slice')
