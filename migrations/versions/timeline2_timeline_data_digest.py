"""timeline: the chain commits to each event's data digest, so R8 retention can redact data

Revision ID: timeline2
Revises: 0001
Create Date: 2026-11-28 16:00:00

Every chain is re-linked in the new form, but only as far as it verifies in the old one: from
an event whose link or content is already broken on, the old hashes are kept, so a tampered
chain stays broken at the same event instead of being laundered by the upgrade.
"""
import hashlib
import json

from alembic import op
import sqlalchemy as sa


revision = 'timeline2'
down_revision = '0001'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

events = sa.table(
    "timeline_events",
    sa.column("id", sa.Integer), sa.column("case_id", sa.Integer), sa.column("seq", sa.Integer),
    sa.column("kind", sa.String), sa.column("at", sa.DateTime), sa.column("actor_id", sa.Integer),
    sa.column("data", sa.JSON), sa.column("data_sha256", sa.String), sa.column("redacted_at", sa.DateTime),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)


def _sha(value) -> str:
    # the same canonical form as backend.common.canonical_json, frozen here with this revision
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hash(row, prev_hash: str, **content) -> str:
    return _sha({"case_id": row.case_id, "seq": row.seq, "kind": row.kind, "at": row.at.isoformat(timespec="microseconds"),
                 "actor_id": row.actor_id, "prev_hash": prev_hash, **content})


def _relink(connection, *, old_content, new_content, extra, linkable=lambda row: True):
    """Walk every chain; rewrite each event while the old form still verifies."""
    rows = connection.execute(sa.select(events).order_by(events.c.case_id, events.c.seq)).all()
    case_id, old_prev, new_prev, intact = None, GENESIS, GENESIS, True
    for row in rows:
        if row.case_id != case_id:
            case_id, old_prev, new_prev, intact = row.case_id, GENESIS, GENESIS, True
        intact = intact and linkable(row) and row.prev_hash == old_prev and row.hash == _hash(row, old_prev, **old_content(row))
        values = extra(row)
        if intact:
            values.update(prev_hash=new_prev, hash=_hash(row, new_prev, **new_content(row)))
            old_prev, new_prev = row.hash, values["hash"]
        connection.execute(events.update().where(events.c.id == row.id).values(**values))


def upgrade():
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(), nullable=True))
    _relink(op.get_bind(),
            old_content=lambda row: {"data": row.data},
            new_content=lambda row: {"data_sha256": _sha(row.data)},
            extra=lambda row: {"data_sha256": _sha(row.data)})
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.alter_column('data_sha256', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    # a redacted event's data is gone: its chain cannot be re-linked in the old form from there
    _relink(op.get_bind(),
            old_content=lambda row: {"data_sha256": row.data_sha256},
            new_content=lambda row: {"data": row.data},
            extra=lambda row: {},
            linkable=lambda row: row.redacted_at is None)
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
        batch_op.drop_column('data_sha256')
