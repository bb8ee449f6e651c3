"""sync: the visit an op is about and the client's plan uuid

Revision ID: sync1
Revises: 0001
Create Date: 2026-11-28 12:31:03.554715

"""
from alembic import op
import sqlalchemy as sa


revision = 'sync1'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_ref', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_sync_ops_plan_ref'), ['plan_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_ops_visit_id'), ['visit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sync_ops_visit_id_visits'), 'visits', ['visit_id'], ['id'])


def downgrade():
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sync_ops_visit_id_visits'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sync_ops_visit_id'))
        batch_op.drop_index(batch_op.f('ix_sync_ops_plan_ref'))
        batch_op.drop_column('plan_ref')
        batch_op.drop_column('visit_id')
