"""A branch may ask for balanced work in its route plans (by stops or by working time,
giving up at most a share of the best priority served) and put a price on travel
(priority points per hour driven)

Revision ID: routes2
Revises: presence2
"""
import sqlalchemy as sa
from alembic import op

revision = 'routes2'
down_revision = 'presence2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('branches') as batch:
        batch.add_column(sa.Column('balance_by', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('balance_max_loss', sa.Float(), nullable=False, server_default='0.01'))
        batch.add_column(sa.Column('travel_cost', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('branches') as batch:
        batch.drop_column('travel_cost')
        batch.drop_column('balance_max_loss')
        batch.drop_column('balance_by')
