"""Script templates have a kind: a door script (shipped in the day packet) or a letter template
(rendered to a PDF for the ladder's letter rung)

Revision ID: letters1
Revises: routes2
"""
import sqlalchemy as sa
from alembic import op

revision = 'letters1'
down_revision = 'routes2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('script_templates') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='script'))


def downgrade():
    with op.batch_alter_table('script_templates') as batch:
        batch.drop_column('kind')
