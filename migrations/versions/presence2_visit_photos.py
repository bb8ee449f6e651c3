"""Photo evidence of a visit: the door or the building, content-addressed in blobs

Revision ID: presence2
Revises: presence1
"""
import sqlalchemy as sa
from alembic import op

revision = 'presence2'
down_revision = 'presence1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'visit_photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('blob_sha256', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('taken_at', sa.DateTime(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('op_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_visit_photos_added_by_id_users')),
        sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], name=op.f('fk_visit_photos_blob_sha256_blobs')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_visit_photos_case_id_cases')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_photos_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_photos')),
    )
    op.create_index(op.f('ix_visit_photos_case_id'), 'visit_photos', ['case_id'])
    op.create_index(op.f('ix_visit_photos_visit_id'), 'visit_photos', ['visit_id'])


def downgrade():
    op.drop_index(op.f('ix_visit_photos_visit_id'), table_name='visit_photos')
    op.drop_index(op.f('ix_visit_photos_case_id'), table_name='visit_photos')
    op.drop_table('visit_photos')
