"""The case record keeps what the agent sent (the disclosure's place on the outcome, R6) and
when the case last moved on the ladder (work on visits published before it stops)

Revision ID: trust1
Revises: house1
"""
import sqlalchemy as sa
from alembic import op

revision = 'trust1'
down_revision = 'house1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('stage_changed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('outcomes') as batch:
        batch.add_column(sa.Column('disclosure_lat', sa.Float(), nullable=True))
        batch.add_column(sa.Column('disclosure_lon', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('outcomes') as batch:
        batch.drop_column('disclosure_lon')
        batch.drop_column('disclosure_lat')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('stage_changed_at')
