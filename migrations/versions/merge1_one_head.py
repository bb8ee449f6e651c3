"""One head: the domains' revisions joined

Each domain's revision sat on top of 0001; joined here, `flask db upgrade` needs no `heads`.
New revisions go on top of this one (or of whatever `flask db heads` shows).

Revision ID: merge1
Revises: policy1, push1, routing1, scale2, timeline2
Create Date: 2026-12-01 23:16:34.096329

"""

# revision identifiers, used by Alembic.
revision = "merge1"
down_revision = ("policy1", "push1", "routing1", "scale2", "timeline2")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
