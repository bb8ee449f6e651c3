"""Reconciliation and cash custody: a collection's confirming payment, its dispute, and the
deposits that show cash banked

Revision ID: money2
Revises: money1
"""
import sqlalchemy as sa
from alembic import op

revision = 'money2'
down_revision = 'money1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'deposits',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('reference', sa.String(64), nullable=False),
        sa.Column('receipt_number', sa.String(32), nullable=False, index=True),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sa.Column('deposited_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.UniqueConstraint('reference', 'receipt_number', name='uq_deposits_reference_receipt'),
    )
    with op.batch_alter_table('collections') as batch:
        batch.add_column(sa.Column('payment_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('bank_paid_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('reconciled_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('dispute_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('deposit_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('banked_on', sa.Date(), nullable=True))
        batch.create_foreign_key('fk_collections_payment_id_payments', 'payments', ['payment_id'], ['id'])
        batch.create_unique_constraint('uq_collections_payment_id', ['payment_id'])
        batch.create_foreign_key('fk_collections_deposit_id_deposits', 'deposits', ['deposit_id'], ['id'])


def downgrade():
    with op.batch_alter_table('collections') as batch:
        batch.drop_constraint('fk_collections_deposit_id_deposits', type_='foreignkey')
        batch.drop_constraint('uq_collections_payment_id', type_='unique')
        batch.drop_constraint('fk_collections_payment_id_payments', type_='foreignkey')
        for column in ('banked_on', 'deposit_id', 'dispute_reason', 'reconciled_at', 'bank_paid_on', 'payment_id'):
            batch.drop_column(column)
    op.drop_table('deposits')
