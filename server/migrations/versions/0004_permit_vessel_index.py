"""permit (org_id, vessel_id): the report records' permit look-up per catch

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00

Without it the look-up scanned every permit of the cooperative for each catch
(0.3-0.5 ms a row for a cooperative with thousands of permits: minutes for a
large export); with it, one index probe.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_permit_vessel', 'permit', ['org_id', 'vessel_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_permit_vessel', table_name='permit')
