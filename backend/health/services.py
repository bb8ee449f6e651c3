"""Liveness and readiness, cheap enough to be probed every few seconds: readiness is two small
queries, and with RQ a Redis ping and a read of the worker registry."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..jobs import QUEUES
from ..metrics import redis_connection


def check_liveness() -> dict:
    """The process answers; nothing else is asked."""
    return {"status": "ok"}


def check_readiness() -> tuple[dict, bool]:
    """Each dependency a request or a job needs: the database at the migrations' head, and with
    JOBS_BACKEND=rq Redis and at least one RQ worker on the app's queue."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's target
    checks = {"database": _check_database()}
    checks["migrations"] = _check_migrations(app) if checks["database"]["ok"] else {"ok": False, "error": "not checked"}
    if app.config.get("JOBS_BACKEND") == "rq":
        checks["redis"] = _check_redis(app)
        checks["worker"] = _check_worker(app) if checks["redis"]["ok"] else {"ok": False, "error": "not checked"}
    ready = all(check["ok"] for check in checks.values())
    report: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
    if not ready:
        report.update(
            code="not_ready",
            message="A dependency is not available: " + ", ".join(k for k, v in checks.items() if not v["ok"]) + ".",
            errors={name: [check["error"]] for name, check in checks.items() if not check["ok"]},
        )
    return report, ready


def _check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("readyz: database unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": "unreachable"}
    return {"ok": True}


def _check_migrations(app: Flask) -> dict:
    heads = _script_heads(app)
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError:
        db.session.rollback()
        return {"ok": False, "error": "not migrated", "head": sorted(heads)}
    if current != heads:
        return {"ok": False, "error": "not at head", "revision": sorted(current), "head": sorted(heads)}
    return {"ok": True, "revision": sorted(current)}


def _script_heads(app: Flask) -> set[str]:
    """The heads of migrations/ (read once per process: the code does not change under it)."""
    heads = app.extensions.get("doorstep_migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        config = app.extensions["migrate"].migrate.get_config()
        heads = app.extensions["doorstep_migration_heads"] = set(ScriptDirectory.from_config(config).get_heads())
    return heads


def _check_redis(app: Flask) -> dict:
    from redis.exceptions import RedisError

    try:
        redis_connection(app).ping()
    except RedisError as exc:
        current_app.logger.warning("readyz: Redis unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": "unreachable"}
    return {"ok": True}


def _check_worker(app: Flask) -> dict:
    """Every queue (push, packets, geocode, solves) has a worker registered whose heartbeat key
    is still alive: a queue nobody drains is not ready, whatever the others do."""
    from redis.exceptions import RedisError
    from rq import Queue, Worker

    connection = redis_connection(app)
    prefix = app.config.get("JOBS_QUEUE", "doorstep")
    try:
        counts = {name: len(Worker.all(connection=connection, queue=Queue(f"{prefix}-{name}", connection=connection))) for name in QUEUES}
    except RedisError as exc:
        current_app.logger.warning("readyz: RQ worker registry not read: %s", type(exc).__name__)
        return {"ok": False, "error": "unreachable"}
    idle = sorted(name for name, count in counts.items() if count == 0)
    if idle:
        return {"ok": False, "error": "no RQ worker on " + ", ".join(idle), "workers": counts}
    return {"ok": True, "workers": counts}
