"""scale: the day packet cache (an agent's packet built once per day, served while nothing in it changed)

Revision ID: scale2
Revises: sync1
Create Date: 2026-11-28 15:17:11.514556

"""
from alembic import op
import sqlalchemy as sa


revision = 'scale2'
down_revision = 'sync1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('packet_cache',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('head', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('etag', sa.String(length=64), nullable=False),
    sa.Column('case_ids', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_packet_cache_agent_id_agents')),
    sa.PrimaryKeyConstraint('agent_id', 'day', name=op.f('pk_packet_cache'))
    )


def downgrade():
    op.drop_table('packet_cache')
