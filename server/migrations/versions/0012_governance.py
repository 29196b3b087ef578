"""governance: proposals, options, secret ballots, results; cooperative settings

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:00:00

Who voted (proposal_voter) and how (proposal_ballot) are separate tables, and the ballot
table has no member id: a ballot is found again by an HMAC of (proposal, member) under a
server key. At the close the ballots move, in receipt-hash order and without their keys,
to proposal_receipt.

proposal_option, proposal_result, proposal_tally, proposal_receipt and coop_setting_change
refuse UPDATE and DELETE (cardumen_refuse_change, from 0002): a proposal's terms, its
result and what the result changed are records.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDS = ('proposal_option', 'proposal_result', 'proposal_tally', 'proposal_receipt',
            'coop_setting_change')


def upgrade() -> None:
    op.create_table('proposal',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('quorum', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.UUID(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('cancelled_at IS NULL OR closed_at IS NULL', name=op.f('ck_proposal_cancelled_or_closed')),
    sa.CheckConstraint('char_length(body) BETWEEN 1 AND 10000', name=op.f('ck_proposal_body_length')),
    sa.CheckConstraint('char_length(title) BETWEEN 1 AND 200', name=op.f('ck_proposal_title_length')),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_proposal_window')),
    sa.CheckConstraint('quorum >= 0 AND quorum <= 1', name=op.f('ck_proposal_quorum_fraction')),
    sa.ForeignKeyConstraint(['cancelled_by'], ['member.id'], name=op.f('fk_proposal_cancelled_by_member')),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], name=op.f('fk_proposal_created_by_member')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_proposal_org_id_organization')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_proposal'))
    )
    op.create_index('ix_proposal_due', 'proposal', ['closes_at'], unique=False, postgresql_where=sa.text('closed_at IS NULL AND cancelled_at IS NULL'))
    op.create_index('ix_proposal_id', 'proposal', ['id'], unique=False)
    op.create_table('coop_setting',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('ratings_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('ratings_proposal_id', sa.UUID(), nullable=True),
    sa.Column('ratings_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id', 'ratings_proposal_id'], ['proposal.org_id', 'proposal.id'], name=op.f('fk_coop_setting_org_id_proposal')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_coop_setting_org_id_organization')),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_coop_setting'))
    )
    op.create_table('coop_setting_change',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('setting', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=True),
    sa.Column('recipient_org_id', sa.UUID(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(setting = 'data_sharing') = (purpose IS NOT NULL AND recipient_org_id IS NOT NULL)", name=op.f('ck_coop_setting_change_sharing_named')),
    sa.CheckConstraint("purpose IN ('cooperative_statistics', 'research', 'fishery_improvement', 'buyer')", name=op.f('ck_coop_setting_change_purpose_valid')),
    sa.CheckConstraint("setting IN ('ratings', 'data_sharing')", name=op.f('ck_coop_setting_change_setting_valid')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal.org_id', 'proposal.id'], name=op.f('fk_coop_setting_change_org_id_proposal')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_coop_setting_change_org_id_organization')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_coop_setting_change'))
    )
    op.create_table('coop_sharing',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('recipient_org_id', sa.UUID(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("purpose <> 'cooperative_statistics'", name=op.f('ck_coop_sharing_not_own_statistics')),
    sa.CheckConstraint("purpose IN ('cooperative_statistics', 'research', 'fishery_improvement', 'buyer')", name=op.f('ck_coop_sharing_purpose_valid')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal.org_id', 'proposal.id'], name=op.f('fk_coop_sharing_org_id_proposal')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_coop_sharing_org_id_organization')),
    sa.PrimaryKeyConstraint('org_id', 'purpose', 'recipient_org_id', name=op.f('pk_coop_sharing'))
    )
    op.create_table('proposal_option',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('effect', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.CheckConstraint('char_length(label) BETWEEN 1 AND 200', name=op.f('ck_proposal_option_label_length')),
    sa.CheckConstraint('position BETWEEN 1 AND 10', name=op.f('ck_proposal_option_position_range')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal.org_id', 'proposal.id'], name=op.f('fk_proposal_option_org_id_proposal')),
    sa.PrimaryKeyConstraint('org_id', 'proposal_id', 'id', name=op.f('pk_proposal_option')),
    sa.UniqueConstraint('org_id', 'proposal_id', 'position', name='uq_proposal_option_position')
    )
    op.create_table('proposal_voter',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('voted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_proposal_voter_member_id_member')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal.org_id', 'proposal.id'], name=op.f('fk_proposal_voter_org_id_proposal')),
    sa.PrimaryKeyConstraint('org_id', 'proposal_id', 'member_id', name=op.f('pk_proposal_voter'))
    )
    op.create_table('proposal_ballot',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('receipt_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('ballot_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('option_id', sa.UUID(), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id', 'option_id'], ['proposal_option.org_id', 'proposal_option.proposal_id', 'proposal_option.id'], name=op.f('fk_proposal_ballot_org_id_proposal_option')),
    sa.PrimaryKeyConstraint('org_id', 'proposal_id', 'receipt_hash', name=op.f('pk_proposal_ballot'))
    )
    op.create_index('uq_proposal_ballot_current', 'proposal_ballot', ['org_id', 'proposal_id', 'ballot_key'], unique=True, postgresql_where=sa.text('current'))
    op.create_table('proposal_result',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('electorate', sa.Integer(), nullable=False),
    sa.Column('turnout', sa.Integer(), nullable=False),
    sa.Column('quorum', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('quorum_votes', sa.Integer(), nullable=False),
    sa.Column('quorum_met', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('winner_option_id', sa.UUID(), nullable=True),
    sa.Column('effect_applied', sa.Boolean(), nullable=False),
    sa.Column('receipts_digest', sa.LargeBinary(length=32), nullable=False),
    sa.CheckConstraint("(outcome = 'winner') = (winner_option_id IS NOT NULL)", name=op.f('ck_proposal_result_winner_named')),
    sa.CheckConstraint("NOT effect_applied OR (quorum_met AND outcome = 'winner')", name=op.f('ck_proposal_result_effect_needs_quorum_and_winner')),
    sa.CheckConstraint("outcome IN ('winner', 'tie', 'none')", name=op.f('ck_proposal_result_outcome_valid')),
    sa.CheckConstraint('quorum_votes >= 0', name=op.f('ck_proposal_result_quorum_votes_positive')),
    sa.CheckConstraint('turnout >= 0 AND turnout <= electorate', name=op.f('ck_proposal_result_turnout_range')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id', 'winner_option_id'], ['proposal_option.org_id', 'proposal_option.proposal_id', 'proposal_option.id'], name=op.f('fk_proposal_result_org_id_proposal_option')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal.org_id', 'proposal.id'], name=op.f('fk_proposal_result_org_id_proposal')),
    sa.PrimaryKeyConstraint('org_id', 'proposal_id', name=op.f('pk_proposal_result'))
    )
    op.create_table('proposal_receipt',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('receipt_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('option_id', sa.UUID(), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id', 'option_id'], ['proposal_option.org_id', 'proposal_option.proposal_id', 'proposal_option.id'], name=op.f('fk_proposal_receipt_org_id_proposal_option')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal_result.org_id', 'proposal_result.proposal_id'], name=op.f('fk_proposal_receipt_org_id_proposal_result')),
    sa.PrimaryKeyConstraint('org_id', 'proposal_id', 'receipt_hash', name=op.f('pk_proposal_receipt'))
    )
    op.create_table('proposal_tally',
    sa.Column('org_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('option_id', sa.UUID(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.CheckConstraint('votes >= 0', name=op.f('ck_proposal_tally_votes_positive')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id', 'option_id'], ['proposal_option.org_id', 'proposal_option.proposal_id', 'proposal_option.id'], name=op.f('fk_proposal_tally_org_id_proposal_option')),
    sa.ForeignKeyConstraint(['org_id', 'proposal_id'], ['proposal_result.org_id', 'proposal_result.proposal_id'], name=op.f('fk_proposal_tally_org_id_proposal_result')),
    sa.PrimaryKeyConstraint('org_id', 'proposal_id', 'option_id', name=op.f('pk_proposal_tally'))
    )

    for table in _RECORDS:
        op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cardumen_refuse_change()")


def downgrade() -> None:
    for table in _RECORDS:
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
    op.drop_table('proposal_tally')
    op.drop_table('proposal_receipt')
    op.drop_table('proposal_result')
    op.drop_index('uq_proposal_ballot_current', table_name='proposal_ballot', postgresql_where=sa.text('current'))
    op.drop_table('proposal_ballot')
    op.drop_table('proposal_voter')
    op.drop_table('proposal_option')
    op.drop_table('coop_sharing')
    op.drop_table('coop_setting_change')
    op.drop_table('coop_setting')
    op.drop_index('ix_proposal_id', table_name='proposal')
    op.drop_index('ix_proposal_due', table_name='proposal', postgresql_where=sa.text('closed_at IS NULL AND cancelled_at IS NULL'))
    op.drop_table('proposal')
