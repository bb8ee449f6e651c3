"""The feed's packet invalidation entries are pruned once no kept packet can consult them —
and a packet that could still consult one keeps being invalidated by it."""
from datetime import timedelta

from sqlalchemy import func, select

from backend.cases.models import Note
from backend.common import utcnow
from backend.feed import Change
from backend.sync.models import PacketCache
from backend.feed import STALE
from backend.sync.packet import prune_packet_stale
from test_packet_cache import content, fresh, pull, world  # noqa: F401  (world is a fixture)


def _stale_ids(db):
    return db.session.scalars(select(Change.id).where(Change.kind == STALE).order_by(Change.id)).all()


def _age_all_entries(db, hours):
    db.session.execute(Change.__table__.update().values(at=utcnow() - timedelta(hours=hours)))
    db.session.commit()


def test_entries_below_every_kept_packets_head_go_the_rest_stay(client, db, world, make_case):
    other = make_case()  # a write no packet of this agent is about: still an entry
    db.session.add(Note(case_id=other.id, text="office note"))
    db.session.commit()
    pull(client, world)  # kept at the current head
    head = db.session.scalar(select(PacketCache.head))
    before_head = [i for i in _stale_ids(db) if i <= head]
    assert before_head

    db.session.add(Note(case_id=world["cases"][0].id, text="after the packet was built"))
    db.session.commit()
    after_head = [i for i in _stale_ids(db) if i > head]
    assert after_head

    assert prune_packet_stale() == 0  # all younger than the settle margin: nothing yet
    _age_all_entries(db, hours=2)
    assert prune_packet_stale() == len(before_head)
    assert _stale_ids(db) == after_head  # the kept packet can still consult these
    # … and does: the next pull is rebuilt with the note the office added
    served = pull(client, world).get_json()
    assert content(served) == content(fresh(db, world["agent"].id))


def test_without_kept_packets_everything_settled_goes_and_the_job_runs_with_retention(app, db, world):
    db.session.add(Note(case_id=world["cases"][0].id, text="x"))
    db.session.commit()
    assert db.session.scalar(select(func.count(PacketCache.agent_id))) == 0
    _age_all_entries(db, hours=2)
    feed = select(func.count(Change.id)).where(Change.kind != STALE)
    devices_feed = db.session.scalar(feed)
    assert devices_feed > 0  # the published visits
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "packet invalidation entries" in result.output
    assert _stale_ids(db) == []
    assert db.session.scalar(feed) == devices_feed  # what devices read is never pruned
