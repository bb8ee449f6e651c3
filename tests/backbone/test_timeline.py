import threading

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from backend.cases.models import Case, Note, TimelineEvent
from backend.cases.services import append_event, redact_timeline, verify_timeline


def test_chain_links_each_event_to_the_one_before(make_case, db):
    case = make_case()
    second = append_event(case=case, kind="note.added", actor_id=None, data={"text": "客户配合 cooperative"})
    third = append_event(case=case, kind="flag.set", actor_id=None, data={"flag": "dispute"})
    db.session.commit()
    assert (second.seq, third.seq) == (2, 3)
    assert third.prev_hash == second.hash
    result = verify_timeline(case_id=case.id)
    assert result == {"verified": True, "events": 3, "redacted": 0, "first_broken": None, "head": third.hash}


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


def test_redaction_blanks_the_data_and_the_chain_still_verifies(make_case, db):
    case = make_case()
    append_event(case=case, kind="note.added", actor_id=None, data={"text": "works nights at the port", "visit_id": 7})
    append_event(case=case, kind="visit.checkin", actor_id=None, data={"lat": 31.2, "lon": 121.4, "visit_id": 7})
    db.session.commit()
    digests = db.session.scalars(select(TimelineEvent.data_sha256).where(TimelineEvent.case_id == case.id)
                                 .order_by(TimelineEvent.seq)).all()

    assert redact_timeline(case_id=case.id, reason="R8") == 3
    db.session.commit()
    db.session.expire_all()

    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id).order_by(TimelineEvent.seq)).all()
    assert [e.data for e in events[1:]] == [{"visit_id": 7, "redacted": "R8"}, {"visit_id": 7, "redacted": "R8"}]
    assert all(e.redacted_at is not None for e in events)
    assert [e.data_sha256 for e in events] == digests  # what was there stays committed to
    assert verify_timeline(case_id=case.id) | {"head": None} == {
        "verified": True, "events": 3, "redacted": 3, "first_broken": None, "head": None}
    assert redact_timeline(case_id=case.id, reason="R8") == 0  # already done


def test_a_redacted_events_digest_cannot_be_swapped(make_case, db):
    case = make_case()
    for i in range(3):
        append_event(case=case, kind="note.added", actor_id=None, data={"i": i})
    redact_timeline(case_id=case.id, reason="R8")
    db.session.commit()
    _tamper(db, "UPDATE timeline_events SET data_sha256 = :d WHERE case_id = :c AND seq = 2", d="a" * 64, c=case.id)
    assert verify_timeline(case_id=case.id)["first_broken"]["seq"] == 2


def test_marking_an_event_redacted_does_not_hide_a_content_change_of_another(make_case, db):
    """Setting `redacted_at` skips the data check of that event only: its digest is still chained."""
    case = make_case()
    for i in range(3):
        append_event(case=case, kind="note.added", actor_id=None, data={"i": i})
    db.session.commit()
    _tamper(db, "UPDATE timeline_events SET data = :d WHERE case_id = :c AND seq = 3", d='{"i": 99}', c=case.id)
    _tamper(db, "UPDATE timeline_events SET redacted_at = '2030-01-01 00:00:00' WHERE case_id = :c AND seq = 2", c=case.id)
    assert verify_timeline(case_id=case.id)["first_broken"]["seq"] == 3


def test_the_digest_upgrade_relinks_intact_chains_and_keeps_a_tampered_one_broken(app, make_case, db):
    intact, tampered = make_case(), make_case()
    for case in (intact, tampered):
        for i in range(3):
            append_event(case=case, kind="note.added", actor_id=None, data={"i": i})
    db.session.commit()
    intact_id, tampered_id = intact.id, tampered.id
    db.session.remove()
    try:
        downgrade(revision="timeline2@0001")  # back to the chain over the data itself (its parent)
        # a change made while the old form was in force: the upgrade must not launder it
        _tamper(db, "UPDATE timeline_events SET data = :d WHERE case_id = :c AND seq = 3", d='{"i": 99}', c=tampered_id)
        db.session.remove()
    finally:
        upgrade(revision="heads")
    assert verify_timeline(case_id=intact_id)["verified"] is True
    assert verify_timeline(case_id=tampered_id)["first_broken"]["seq"] == 3


def test_two_writers_adding_rows_to_one_case_both_append_without_deadlock(app, make_case, db):
    """Each inserts a row that points at the case (PostgreSQL: a KEY SHARE lock on it), then
    appends. The append's case lock must not conflict with those (FOR NO KEY UPDATE): with
    FOR UPDATE each would wait for the other's KEY SHARE — a deadlock, one of them aborted."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    case_id = make_case().id
    db.session.commit()
    both_inserted = threading.Barrier(2, timeout=10)
    errors = []

    def writer(n):
        with app.app_context():
            try:
                db.session.add(Note(case_id=case_id, text=f"writer {n}"))
                db.session.flush()
                both_inserted.wait()
                append_event(case=db.session.get(Case, case_id), kind="note.added", actor_id=None, data={"n": n})
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 — the test reports whatever went wrong
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert verify_timeline(case_id=case_id) | {"head": None} == {
        "verified": True, "events": 3, "redacted": 0, "first_broken": None, "head": None}
