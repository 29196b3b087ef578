"""listing: one GiST index on (species, pickup point) of the active listings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:40:00

The marketplace's commonest search is one species near a point. With an index on the
point alone and one on the species alone, PostgreSQL underestimates how many listings
lie within the radius (geography ST_DWithin) and reads every live listing of the
species, then sorts them (25 ms at p50 on 100k listings, bench/market.py). With both
columns in one GiST the index condition is the species and the radius' box together,
and the nearest-first order is a KNN scan of the same index (about 1 ms). btree_gist
(a trusted extension) gives the text column its GiST operators.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_index('ix_listing_live_species_location', 'listing', ['species_code', 'location'],
                    unique=False, postgresql_using='gist',
                    postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index('ix_listing_live_species_location', table_name='listing',
                  postgresql_using='gist', postgresql_where=sa.text("status = 'active'"))
    # btree_gist stays: other objects may have come to use it.
