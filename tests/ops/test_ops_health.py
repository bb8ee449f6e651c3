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


def test_readyz_with_rq_needs_redis_and_a_worker_on_every_queue(rq_app, client, db, redis_url):
    from redis import Redis

    body = client.get("/readyz")
    assert body.status_code == 503
    assert body.get_json()["checks"]["redis"] == {"ok": True}
    assert body.get_json()["errors"] == {"worker": ["no RQ worker on geocode, packets, push, solves"]}

    connection = Redis.from_url(redis_url)
    queue = lambda name: Queue(f"{rq_app.config['JOBS_QUEUE']}-{name}", connection=connection)  # noqa: E731
    # the production layout: one worker for the urgent queues, one for every queue
    urgent = Worker([queue("push"), queue("packets")], connection=connection)
    urgent.register_birth()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["errors"] == {"worker": ["no RQ worker on geocode, solves"]}
        every = Worker([queue(name) for name in ("push", "packets", "geocode", "solves")], connection=connection)
        every.register_birth()
        try:
            response = client.get("/readyz")
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["checks"]["worker"] == {
                "ok": True, "workers": {"push": 2, "packets": 2, "geocode": 1, "solves": 1}}
            # workers of another environment's queues (sharing the Redis) do not count
            rq_app.config["JOBS_QUEUE"] = "another-queue"
            assert client.get("/readyz").status_code == 503
        finally:
            every.register_death()
    finally:
        urgent.register_death()


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
