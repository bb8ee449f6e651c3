"""The digital badge (R10): the agent's badge number, the debtor's visit confirmations and the
badge page's request log (its rate limit per client address)

Revision ID: presence1
Revises: money2
"""
import sqlalchemy as sa
from alembic import op

revision = 'presence1'
down_revision = 'money2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('badge_no', sa.String(length=32), nullable=True))
    op.create_table(
        'visit_confirmations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('link_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_visit_confirmations_case_id_cases')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_confirmations_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_confirmations')),
        sa.UniqueConstraint('visit_id', name=op.f('uq_visit_confirmations_visit_id')),
    )
    op.create_index(op.f('ix_visit_confirmations_case_id'), 'visit_confirmations', ['case_id'])
    op.create_table(
        'badge_hits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_hits')),
    )
    op.create_index('ix_badge_hits_ip_at', 'badge_hits', ['ip', 'at'])
    op.create_index('ix_badge_hits_visit_at', 'badge_hits', ['visit_id', 'at'])


def downgrade():
    op.drop_index('ix_badge_hits_visit_at', table_name='badge_hits')
    op.drop_index('ix_badge_hits_ip_at', table_name='badge_hits')
    op.drop_table('badge_hits')
    op.drop_index(op.f('ix_visit_confirmations_case_id'), table_name='visit_confirmations')
    op.drop_table('visit_confirmations')
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('badge_no')
