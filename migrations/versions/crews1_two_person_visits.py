"""Two-person visits (R9): a visit's partner agent and the partner's own check-in; the agent's
photo shown on the debtor's badge page (a content-addressed blob)

Revision ID: crews1
Revises: letters1
"""
import sqlalchemy as sa
from alembic import op

revision = 'crews1'
down_revision = 'letters1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visits') as batch:
        batch.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('partner_checkin_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('partner_checkin_lat', sa.Float(), nullable=True))
        batch.add_column(sa.Column('partner_checkin_lon', sa.Float(), nullable=True))
        batch.add_column(sa.Column('partner_checkin_accuracy_m', sa.Float(), nullable=True))
        batch.add_column(sa.Column('partner_checkin_distance_m', sa.Float(), nullable=True))
        batch.create_foreign_key('fk_visits_partner_id_agents', 'agents', ['partner_id'], ['id'])
        batch.create_index('ix_visits_partner_date', ['partner_id', 'date'])
    op.create_table(
        'agent_photos',
        sa.Column('agent_id', sa.Integer(), sa.ForeignKey('agents.id'), primary_key=True),
        sa.Column('blob_sha256', sa.String(length=64), sa.ForeignKey('blobs.sha256'), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
    )


def downgrade():
    op.drop_table('agent_photos')
    with op.batch_alter_table('visits') as batch:
        batch.drop_index('ix_visits_partner_date')
        batch.drop_constraint('fk_visits_partner_id_agents', type_='foreignkey')
        for name in ('partner_checkin_distance_m', 'partner_checkin_accuracy_m', 'partner_checkin_lon', 'partner_checkin_lat',
                     'partner_checkin_at', 'partner_id'):
            batch.drop_column(name)
