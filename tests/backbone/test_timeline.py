import pytest
from sqlalchemy import text

from backend.cases.models import TimelineEvent
from backend.cases.services import append_event, verify_timeline


def test_chain_links_each_event_to_the_one_before(make_case, db):
    case = make_case()
    second = append_event(case=case, kind="note.added", actor_id=None, data={"text": "客户配合 cooperative"})
    third = append_event(case=case, kind="flag.set", actor_id=None, data={"flag": "dispute"})
    db.session.commit()
    assert (second.seq, third.seq) == (2, 3)
    assert third.prev_hash == second.hash
    result = verify_timeline(case_id=case.id)
    assert result == {"verified": True, "events": 3, "first_broken": None, "head": third.hash}


def _tamper(db, sql, **params):
    # straight SQL: the ORM refuses to update timeline rows at all
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def test_tampered_content_is_detected_at_that_event(make_case, db):
    case = make_case()
    for i in range(4):
        append_event(case=case, kind="note.added", actor_id=None, data={"i": i})
    db.session.commit()
    _tamper(db, "UPDATE timeline_events SET data = :d WHERE case_id = :c AND seq = 3", d='{"i": 99}', c=case.id)
    result = verify_timeline(case_id=case.id)
    assert result["verified"] is False
    assert result["first_broken"]["seq"] == 3
    assert "content" in result["first_broken"]["problem"]


def test_deleted_event_is_detected(make_case, db):
    case = make_case()
    for i in range(3):
        append_event(case=case, kind="note.added", actor_id=None, data={"i": i})
    db.session.commit()
    _tamper(db, "DELETE FROM timeline_events WHERE case_id = :c AND seq = 2", c=case.id)
    assert verify_timeline(case_id=case.id)["first_broken"]["seq"] == 3


def test_rehashed_forgery_breaks_the_next_link(make_case, db):
    """Rewriting an event and its own hash still breaks the following event's prev_hash."""
    case = make_case()
    for i in range(3):
        append_event(case=case, kind="note.added", actor_id=None, data={"i": i})
    db.session.commit()
    _tamper(db, "UPDATE timeline_events SET hash = :h WHERE case_id = :c AND seq = 2", h="f" * 64, c=case.id)
    broken = verify_timeline(case_id=case.id)["first_broken"]
    assert broken["seq"] == 2  # its own hash no longer matches its content


def test_orm_refuses_updates_and_deletes(make_case, db):
    case = make_case()
    event = db.session.scalars(db.select(TimelineEvent).where(TimelineEvent.case_id == case.id)).one()
    event.kind = "forged"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_timeline_endpoint_reports_the_chain(client, make_case, make_user, auth, db):
    case = make_case()
    append_event(case=case, kind="note.added", actor_id=None, data={"text": "x"})
    db.session.commit()
    body = client.get(f"/api/cases/{case.id}/timeline", headers=auth(make_user(role="owner"))).get_json()
    assert body["chain"]["verified"] is True
    assert [e["seq"] for e in body["events"]] == [1, 2]
