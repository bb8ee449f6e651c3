"""A plan keeps the device's plan_ref itself (the plans domain no longer reads the sync record)

Revision ID: house1
Revises: merge1
"""
import sqlalchemy as sa
from alembic import op

revision = 'house1'
down_revision = 'merge1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('repayment_plans') as batch:
        batch.add_column(sa.Column('plan_ref', sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE repayment_plans SET plan_ref = "
        "(SELECT sync_ops.plan_ref FROM sync_ops WHERE sync_ops.id = repayment_plans.op_id) "
        "WHERE op_id IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('repayment_plans') as batch:
        batch.drop_column('plan_ref')
