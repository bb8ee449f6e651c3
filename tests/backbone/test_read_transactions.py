"""The end of a request: a transaction that only read is committed (psycopg would drop the
connection's prepared statements on a rollback); one that wrote, or a failed request, is rolled back."""
import pytest
from sqlalchemy import event, func, insert, select

from backend.org.models import Branch


@pytest.fixture
def endings(db):
    seen = []
    engine = db.engine
    listeners = [("commit", lambda conn: seen.append("commit")), ("rollback", lambda conn: seen.append("rollback"))]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    yield seen
    for name, fn in listeners:
        event.remove(engine, name, fn)


def _branches(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Branch))


def test_a_read_only_request_ends_with_commit(app, db, endings, make_branch):
    make_branch()
    endings.clear()
    assert _branches(db) == 1
    app.do_teardown_appcontext()  # what the end of every request runs
    assert endings == ["commit"]


def test_a_write_nobody_committed_is_rolled_back(app, db, endings):
    db.session.execute(insert(Branch).values(code="X1", name="Never kept", lat=31.2, lon=121.4, timezone="Asia/Shanghai", jurisdiction="CN"))
    app.do_teardown_appcontext()
    assert endings == ["rollback"]
    assert _branches(db) == 0


def test_a_pending_orm_change_is_rolled_back(app, db, endings):
    db.session.add(Branch(code="X2", name="Never kept", lat=31.2, lon=121.4, timezone="Asia/Shanghai", jurisdiction="CN"))
    db.session.flush()
    app.do_teardown_appcontext()
    assert endings == ["rollback"]
    assert _branches(db) == 0


def test_a_failed_request_is_rolled_back_even_when_it_only_read(app, db, endings):
    assert _branches(db) == 0
    app.do_teardown_appcontext(RuntimeError("the view failed"))
    assert endings == ["rollback"]


def test_a_read_only_transaction_that_cannot_commit_is_left_to_the_rollback(app, db, endings, monkeypatch):
    from sqlalchemy.exc import OperationalError

    assert _branches(db) == 0

    def refuse():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session(), "commit", refuse)
    app.do_teardown_appcontext()  # must not raise: nothing was written
    assert endings == ["rollback"]
