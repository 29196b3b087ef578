"""consent, consent_event: members' consent to pooled uses, and its audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:20:00

consent_event refuses UPDATE and DELETE (cardumen_refuse_change, from 0002):
the audit of who consented to what, when, cannot be rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PURPOSES = "purpose IN ('cooperative_statistics', 'research', 'fishery_improvement', 'buyer')"


def upgrade() -> None:
    op.create_table(
        'consent',
        sa.Column('member_id', sa.UUID(), nullable=False),
        sa.Column('purpose', sa.String(length=30), nullable=False),
        sa.Column('recipient_org_id', sa.UUID(), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.CheckConstraint(_PURPOSES, name=op.f('ck_consent_purpose_valid')),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_consent_member_id_member')),
        sa.ForeignKeyConstraint(['recipient_org_id'], ['organization.id'],
                                name=op.f('fk_consent_recipient_org_id_organization')),
        sa.PrimaryKeyConstraint('member_id', 'purpose', 'recipient_org_id',
                                name=op.f('pk_consent')))
    op.create_index('ix_consent_recipient', 'consent', ['recipient_org_id', 'purpose'],
                    unique=False)
    op.create_table(
        'consent_event',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('member_id', sa.UUID(), nullable=False),
        sa.Column('purpose', sa.String(length=30), nullable=False),
        sa.Column('recipient_org_id', sa.UUID(), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('by_member_id', sa.UUID(), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.CheckConstraint(_PURPOSES, name=op.f('ck_consent_event_purpose_valid')),
        sa.ForeignKeyConstraint(['by_member_id'], ['member.id'],
                                name=op.f('fk_consent_event_by_member_id_member')),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_consent_event_member_id_member')),
        sa.ForeignKeyConstraint(['recipient_org_id'], ['organization.id'],
                                name=op.f('fk_consent_event_recipient_org_id_organization')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event')))
    op.create_index('ix_consent_event_member', 'consent_event', ['member_id', 'id'], unique=False)
    op.execute("CREATE TRIGGER consent_event_immutable BEFORE UPDATE OR DELETE ON consent_event "
               "FOR EACH ROW EXECUTE FUNCTION cardumen_refuse_change()")


def downgrade() -> None:
    op.execute("DROP TRIGGER consent_event_immutable ON consent_event")
    op.drop_index('ix_consent_event_member', table_name='consent_event')
    op.drop_table('consent_event')
    op.drop_index('ix_consent_recipient', table_name='consent')
    op.drop_table('consent')
