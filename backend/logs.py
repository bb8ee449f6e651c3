"""Logging, configured here and only here: one JSON object per line on stderr, for the web
processes (create_app), the RQ worker (which builds its app with create_app) and gunicorn's own
messages (gunicorn.conf.py).

Every line has `timestamp`, `level`, `logger`, `message`; a line written while a request is
served adds `request_id`, `route` (the URL rule, never the raw path or its query string) and
`user_id` (once the bearer token is checked). One access line per request (`doorstep.access`)
adds `method`, `status` and `duration_ms`. The request id comes from the proxy's `X-Request-ID`
when it is a plain token, or is made here; it is echoed on the response and travels with the
background jobs the request enqueues (`request_id`, `job_meta`, `bound_request_id`).

Lines carry ids and codes, not personal data: no request bodies, query strings, headers or SQL
parameters (the engine runs with `hide_parameters`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id: ContextVar[str | None] = ContextVar("doorstep_request_id", default=None)

access_log = logging.getLogger("doorstep.access")
# probes and scrapes every few seconds: their access lines only at DEBUG
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# libraries whose debug lines carry data: SQLAlchemy's rows and statements, urllib3's request
# lines (a push endpoint's URL is its subscription's secret)
LIBRARY_LEVELS = {"sqlalchemy": logging.WARNING, "urllib3": logging.WARNING}


def current_request_id() -> str | None:
    """The id of the request (or of the job it enqueued) this code runs for, if any."""
    return request_id.get()


def accept_request_id(value: str | None) -> str:
    """The proxy's id when it is a short plain token; a new one otherwise."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def job_meta() -> dict[str, str]:
    """What an enqueued job carries so its log lines share the request's id (RQ `meta=`)."""
    rid = request_id.get()
    return {"request_id": rid} if rid else {}


@contextmanager
def bound_request_id(value: str | None) -> Iterator[str]:
    """Run a block (a background job) under the id it was enqueued with, or a new one."""
    token = request_id.set(accept_request_id(value))
    try:
        yield request_id.get() or ""
    finally:
        request_id.reset(token)


class JsonLines(JsonFormatter):
    """python-json-logger's formatter with our field names; fields without a value are left out."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered = {"timestamp": log_data.pop("timestamp", None), **log_data}
        return {key: value for key, value in ordered.items() if value is not None}


class RequestContext(logging.Filter):
    """Adds the request id, the route and the signed-in user's id to every line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        from flask import g, has_request_context, request

        if has_request_context():
            if getattr(record, "route", None) is None:
                record.route = request.url_rule.rule if request.url_rule else None
            if getattr(record, "user_id", None) is None:
                record.user_id = _user_id(g.get("user"))
        return True


def _user_id(user: Any) -> int | None:
    """The user's primary key from its identity, without touching the database (the object
    may be expired after a commit)."""
    if user is None:
        return None
    from sqlalchemy import inspect

    identity = inspect(user).identity
    return identity[0] if identity else None


def handler(stream: IO[str] | None = None) -> logging.Handler:
    """The one handler: JSON lines with the request's context."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonLines())
    out.addFilter(RequestContext())
    return out


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Root logs through the one handler (replacing the one a previous call installed);
    idempotent, so every create_app may call it."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "doorstep", False)]:
        root.removeHandler(old)
        old.close()
    new = handler(stream)
    new.doorstep = True  # type: ignore[attr-defined]
    root.addHandler(new)
    root.setLevel(level)
    for name, floor in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(floor)
    # the app's own logger writes through root instead of Flask's plain-text default handler
    from flask.logging import default_handler

    logging.getLogger("backend").removeHandler(default_handler)


def gunicorn_logconfig(level: str = "INFO") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its messages as JSON lines too; its access log off (the
    app writes one line per request, by route rather than raw URL)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
        "filters": {"request": {"()": RequestContext}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            },
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def init_app(app: Any) -> None:
    """Request ids in and out, and the access line, for every request."""
    from flask import g, request

    @app.before_request
    def start_request() -> None:
        g.log_started = time.perf_counter()
        g.log_token = request_id.set(accept_request_id(request.headers.get(REQUEST_ID_HEADER)))

    @app.after_request
    def finish_request(response):
        rid = request_id.get()
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        started = g.get("log_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "(no route)"
            access_log.log(
                logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                "%s %s %s",
                request.method,
                route,
                response.status_code,
                extra={
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response

    @app.teardown_request
    def end_request(_exc) -> None:
        token = g.pop("log_token", None)
        if token is not None:
            request_id.reset(token)
