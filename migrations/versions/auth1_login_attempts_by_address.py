"""auth: count failed sign-ins by client address (index on login_attempts.ip, at)

Revision ID: auth1
Revises: trust1
Create Date: 2026-12-01 23:40:00

"""
from alembic import op


revision = 'auth1'
down_revision = 'trust1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_ip_at', ['ip', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_ip_at')
