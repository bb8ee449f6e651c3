"""A branch may plan for the chance of finding someone home, learnt from past outcomes
(on by default)

Revision ID: athome1
Revises: crews1
"""
import sqlalchemy as sa
from alembic import op

revision = 'athome1'
down_revision = 'crews1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('branches') as batch:
        batch.add_column(sa.Column('at_home_model', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('branches') as batch:
        batch.drop_column('at_home_model')
