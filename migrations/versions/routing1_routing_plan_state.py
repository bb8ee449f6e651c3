"""routing: plan state for drafts, moves, re-plans and progress

Revision ID: routing1
Revises: 0001
Create Date: 2026-11-28 12:32:23

"""
from alembic import op
import sqlalchemy as sa


revision = 'routing1'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # server defaults only fill rows that exist already; the model supplies values after
    with op.batch_alter_table('route_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replan_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('problem', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('meta', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('excluded', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('violations', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.create_foreign_key(batch_op.f('fk_route_plans_replan_of_id_route_plans'), 'route_plans', ['replan_of_id'], ['id'])


def downgrade():
    with op.batch_alter_table('route_plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_route_plans_replan_of_id_route_plans'), type_='foreignkey')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
        batch_op.drop_column('violations')
        batch_op.drop_column('excluded')
        batch_op.drop_column('meta')
        batch_op.drop_column('problem')
        batch_op.drop_column('replan_of_id')
