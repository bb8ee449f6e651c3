"""A database that is locked, read-only or full, or storage the server cannot write, answers in the
one error shape: 503 with retry_after. A body nested too deeply is a 400, not a parser crash."""
import errno
import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ServiceUnavailable

from backend.extensions import db as _db

sqlite_only = pytest.mark.skipif("postgresql" in __import__("os").environ.get("TEST_DATABASE_URL", ""),
                                 reason="SQLite's own failure modes")


def _assert_unavailable(response):
    assert response.status_code == 503, response.data[:300]
    body = response.get_json()
    assert body["code"] == "unavailable" and body["errors"] == {} and body["message"]
    assert isinstance(body["retry_after"], int) and body["retry_after"] > 0
    assert response.headers["Retry-After"] == str(body["retry_after"])


@pytest.fixture
def on_each_connection(app):
    """on_each_connection(sql): run `sql` on every connection a request takes from the pool."""
    engine = _db.engine
    added = []

    def install(sql):
        def checkout(dbapi_connection, record, proxy):
            dbapi_connection.execute(sql)
            dbapi_connection.commit()  # PostgreSQL: a session setting counts from the next transaction

        event.listen(engine, "checkout", checkout)
        added.append(checkout)
        _db.session.remove()  # requests share the test's session: let it take a fresh connection

    yield install
    for listener in added:
        event.remove(engine, "checkout", listener)
    engine.dispose()  # the pragmas stay with the connections: start the next test on fresh ones


def test_a_read_only_database_answers_503_at_sign_in(client, make_user, on_each_connection):
    make_user(username="ann")
    if _db.engine.dialect.name == "postgresql":  # a standby, or a database set read-only
        on_each_connection("SET default_transaction_read_only = on")
    else:
        on_each_connection("PRAGMA query_only = ON")
    _assert_unavailable(client.post("/api/auth/login", json={"username": "ann", "password": "secret-pass"}))


@sqlite_only
def test_a_locked_database_answers_503(app, client, make_user, auth, on_each_connection):
    admin = auth(make_user(role="admin"))
    on_each_connection("PRAGMA busy_timeout = 50")
    holder = sqlite3.connect(_db.engine.url.database)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        response = client.post("/api/users", json={"username": "newagent", "password": "Tide-Lantern-47", "role": "agent"},
                               headers=admin)
    finally:
        holder.rollback()
        holder.close()
    _assert_unavailable(response)


def _full_disk_error() -> OperationalError:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("PRAGMA max_page_count = 2")
    try:
        connection.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        return OperationalError("INSERT INTO t VALUES (?)", (), exc)
    raise AssertionError("the disk did not fill")


@pytest.mark.parametrize("failure", [
    pytest.param(_full_disk_error, id="database-full"),
    pytest.param(lambda: PermissionError(errno.EROFS, "Read-only file system", "/var/lib/doorstep/sync.lock"), id="read-only-file"),
    pytest.param(lambda: OSError(errno.ENOSPC, "No space left on device"), id="disk-full-file"),
    pytest.param(lambda: ServiceUnavailable("The database is busy; send the batch again."), id="a-503-raised-by-a-service"),
])
def test_storage_failures_answer_503(app, client, make_user, monkeypatch, failure):
    make_user(username="ann")

    def failing(**kwargs):
        raise failure()

    monkeypatch.setattr("backend.auth.routes.log_in", failing)
    _assert_unavailable(client.post("/api/auth/login", json={"username": "ann", "password": "secret-pass"}))


def test_a_programming_error_is_still_a_500(client, make_user, monkeypatch):
    make_user(username="ann")

    def failing(**kwargs):
        try:
            sqlite3.connect(":memory:").execute("SELECT * FROM nope")
        except sqlite3.OperationalError as exc:  # SQLITE_ERROR: a bug, not an outage
            raise OperationalError("SELECT * FROM nope", (), exc) from exc

    monkeypatch.setattr("backend.auth.routes.log_in", failing)
    response = client.post("/api/auth/login", json={"username": "ann", "password": "secret-pass"})
    assert response.status_code == 500 and response.get_json()["code"] == "server_error"


# --- nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 65])
def test_deeply_nested_json_is_a_400(client, depth):
    body = "[" * depth + "]" * depth
    response = client.post("/api/auth/login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_nesting_is_limited_inside_free_form_fields_too(app, client):
    with app.test_request_context("/", method="POST", data='{"a":' * 70 + "1" + "}" * 70,
                                  content_type="application/json"):
        from flask import request
        from werkzeug.exceptions import BadRequest

        with pytest.raises(BadRequest):
            request.get_json()


def test_ordinary_nesting_still_parses(client):
    body = '{"username": "ann", "password": "x", "device_id": "' + "a" * 10 + '"}'
    assert client.post("/api/auth/login", data=body, content_type="application/json").status_code == 401
