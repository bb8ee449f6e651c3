"""Money taken at the door: collections with their receipts, and each branch's gapless receipt
counter

Revision ID: money1
Revises: import1
"""
import sqlalchemy as sa
from alembic import op

revision = 'money1'
down_revision = 'import1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'receipt_counters',
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('branches.id'), primary_key=True),
        sa.Column('last', sa.Integer(), nullable=False),
    )
    op.create_table(
        'collections',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('op_id', sa.String(36), nullable=False, unique=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id'), nullable=False, index=True),
        sa.Column('visit_id', sa.Integer(), sa.ForeignKey('visits.id'), nullable=False, index=True),
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('branches.id'), nullable=False, index=True),
        sa.Column('agent_id', sa.Integer(), sa.ForeignKey('agents.id'), nullable=False, index=True),
        sa.Column('collected_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('method', sa.String(16), nullable=False),
        sa.Column('reference', sa.String(64), nullable=True),
        sa.Column('receipt_seq', sa.Integer(), nullable=False),
        sa.Column('receipt_number', sa.String(32), nullable=False, unique=True),
        sa.Column('verify_code', sa.String(32), nullable=False, unique=True),
        sa.Column('collected_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False, index=True),
    )


def downgrade():
    op.drop_table('collections')
    op.drop_table('receipt_counters')
