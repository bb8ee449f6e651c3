"""/healthz and /readyz: JSON, no auth, and readiness that says which dependency is missing."""

import pytest
from rq import Queue, Worker

from backend import create_app
from backend.config import TestConfig


def test_healthz_answers_without_auth_or_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_with_the_database_at_the_head(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["ok"] is True
    assert "redis" not in body["checks"]  # in-process jobs: no Redis to ask


def test_readyz_is_not_ready_when_the_database_is_behind_the_code(app, client, db, monkeypatch):
    monkeypatch.setitem(app.extensions, "doorstep_migration_heads", {"a_newer_revision"})
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["migrations"]["head"] == ["a_newer_revision"]
    assert body["code"] == "not_ready" and body["errors"] == {"migrations": ["not at head"]}


@pytest.mark.no_db
def test_readyz_is_not_ready_before_the_first_migration(tmp_path):
    class Empty(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/empty.sqlite3"

    response = create_app(Empty).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"ok": True}
    assert response.get_json()["errors"] == {"migrations": ["not migrated"]}


def test_readyz_with_rq_needs_redis_and_a_worker(rq_app, client, db, redis_url):
    from redis import Redis

    body = client.get("/readyz")
    assert body.status_code == 503
    assert body.get_json()["checks"]["redis"] == {"ok": True}
    assert body.get_json()["errors"] == {"worker": ["no RQ worker on the queue"]}

    connection = Redis.from_url(redis_url)
    worker = Worker([Queue("doorstep-ops-tests", connection=connection)], connection=connection)
    worker.register_birth()
    try:
        response = client.get("/readyz")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["checks"]["worker"] == {"ok": True, "workers": 1}
        # a worker of another queue (another environment sharing the Redis) does not count
        rq_app.config["JOBS_QUEUE"] = "another-queue"
        assert client.get("/readyz").status_code == 503
    finally:
        worker.register_death()


def test_readyz_with_rq_reports_redis_unreachable(rq_app, client, db, monkeypatch, closed_redis_url):
    monkeypatch.setitem(rq_app.config, "REDIS_URL", closed_redis_url)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["errors"] == {"redis": ["unreachable"], "worker": ["not checked"]}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_cheap(client, db, path):
    """No more than two statements per readiness probe; none for liveness."""
    from sqlalchemy import event

    from backend.extensions import db as _db

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= (2 if path == "/readyz" else 0)
