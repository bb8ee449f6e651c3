"""SQLite: a batch keeps the visit and case it loaded from one op to the next, and reads them
again as soon as anyone else has written in between (the feed head moved)."""
import pytest
from sqlalchemy import event

import backend.sync.ops as sync_ops
from backend.visits.models import Visit

from sync_ops_helpers import checkin_op, make_op, outcome_op


@pytest.fixture
def between_ops(app, monkeypatch):
    """between_ops(fn): run fn(), as another writer with its own session and connection, right
    after the batch's first op has committed."""
    from backend.extensions import db

    def install(fn):
        calls = []
        apply_op = sync_ops.apply_op

        def first_then_office(ctx):
            answer = apply_op(ctx)
            calls.append(ctx.type)
            if len(calls) == 1:
                with app.app_context():  # another writer: a session and connection of its own
                    fn(db)
                    db.session.commit()
                    db.session.remove()
            return answer

        monkeypatch.setattr(sync_ops, "apply_op", first_then_office)

    return install


@pytest.fixture
def visit_reads(db):
    """The number of times the visit row is read (SELECT … FROM visits …)."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT visits.id"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


def test_a_batch_reads_its_visit_once_on_sqlite(db, send, owned_visit, visit_reads):
    note = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "Spoke at the gate."})
    ops = [checkin_op(owned_visit), note, outcome_op(owned_visit), make_op("visit.checkout", {"visit_id": owned_visit.id})]
    visit_reads.clear()  # (building the ops read the fixture's visit)
    status, body = send(ops)
    assert [r["status"] for r in body["results"]] == ["applied"] * 4, body
    assert body["results"][2]["server"]["visit"]["outcome"] == "not_home"
    # PostgreSQL reads (and row-locks) the visit in every op's transaction
    assert len(visit_reads) == (1 if db.engine.dialect.name == "sqlite" else len(ops))


def test_an_office_cancel_between_two_ops_of_a_batch_is_seen(db, send, owned_visit, between_ops):
    from backend.visits.services import cancel_visit

    note = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "At the door."})
    between_ops(lambda db: cancel_visit(visit=db.session.get(Visit, owned_visit.id), reason="paid in branch", actor_id=None))
    status, body = send([note, checkin_op(owned_visit)])
    assert [r["status"] for r in body["results"]] == ["applied", "conflict"], body
    assert body["results"][1]["code"] == "visit_cancelled" and "paid in branch" in body["results"][1]["detail"]
    assert body["results"][1]["params"] == {"reason": "paid in branch"}


def test_a_flag_set_between_two_ops_of_a_batch_blocks_the_second(db, send, owned_visit, between_ops):
    from backend.cases.models import Case
    from backend.cases.services import set_flag

    between_ops(lambda db: set_flag(case=db.session.get(Case, owned_visit.case_id), flag="dispute", reason="letter", actor_id=None))
    status, body = send([checkin_op(owned_visit), outcome_op(owned_visit, code="refused", met="debtor")])
    assert [r["status"] for r in body["results"]] == ["applied", "conflict"], body
    assert body["results"][1]["code"] == "case_blocked"
