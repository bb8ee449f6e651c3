"""import: import runs (chunked CSV imports with progress)

Revision ID: import1
Revises: auth1
Create Date: 2026-12-01 23:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'import1'
down_revision = 'auth1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('rejected_rows', sa.JSON(), nullable=False),
    sa.Column('pending_case_ids', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_import_runs_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )


def downgrade():
    op.drop_table('import_runs')
