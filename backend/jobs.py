"""Background work, by settings: in-process threads (the embedded default) or an RQ queue
on Redis (production: `JOBS_BACKEND=rq`, `REDIS_URL`, and `python -m backend.worker`).

A job is a module-level function taking keyword arguments of plain JSON; it runs inside an
app context. On RQ it may run in any worker process, so it reads its state from the database.
"""
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import timedelta
from importlib import import_module

from flask import Flask, current_app

_executor: ThreadPoolExecutor | None = None
_running: set[Future] = set()  # in-process jobs not yet finished
_running_lock = threading.Lock()


def _path(fn) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def uses_rq(app: Flask | None = None) -> bool:
    app = app or current_app
    return app.config.get("JOBS_BACKEND") == "rq"


def rq_queue(app: Flask | None = None):
    """The app's RQ queue (one Redis connection pool per process and URL, kept on the app)."""
    from redis import Redis
    from rq import Queue

    app = app or current_app
    url = app.config["REDIS_URL"]
    pools = app.extensions.setdefault("doorstep_redis", {})
    connection = pools.get(url)
    if connection is None:
        connection = pools[url] = Redis.from_url(url)
    return Queue(app.config.get("JOBS_QUEUE", "doorstep"), connection=connection)


def run_job(path: str, kwargs: dict) -> None:
    """Entry point for RQ workers (the worker has already pushed an app context)."""
    from .extensions import db

    try:
        _resolve(path)(**kwargs)
    finally:
        db.session.remove()  # the next job in this worker starts with a clean session


def _run_in_context(app: Flask, path: str, kwargs: dict) -> None:
    with app.app_context():
        try:
            _resolve(path)(**kwargs)
        except Exception:
            app.logger.exception("background job %s failed", path)
            raise


def enqueue(fn, /, *, delay_s: float | None = None, **kwargs):
    """Run fn(**kwargs) in the background; never in the caller's transaction. Returns the RQ
    job, or the in-process Future. `delay_s` (RQ only: in-process callers keep their own
    timers, which die with a forked RQ work-horse) schedules it for later."""
    app = current_app._get_current_object()
    if uses_rq(app):
        queue = rq_queue(app)
        timeout = app.config.get("JOBS_TIMEOUT_S", 900)
        if delay_s:
            # needs a worker started with the scheduler (backend.worker does)
            return queue.enqueue_in(timedelta(seconds=delay_s), run_job, _path(fn), kwargs, job_timeout=timeout)
        return queue.enqueue(run_job, _path(fn), kwargs, job_timeout=timeout)
    if delay_s:
        raise ValueError("a delayed job needs JOBS_BACKEND=rq")
    future = _pool(app).submit(_run_in_context, app, _path(fn), kwargs)
    with _running_lock:
        _running.add(future)
    future.add_done_callback(_finished)
    return future


def _finished(future: Future) -> None:
    with _running_lock:
        _running.discard(future)


def wait_idle(app: Flask | None = None, timeout: float | None = 60.0) -> bool:
    """Block until no background job is queued, scheduled or running (RQ: on the app's queue,
    any process's; in-process: this process's, including jobs those jobs queued); `timeout`
    None waits for ever. True if idle."""
    app = app or current_app
    deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
    if uses_rq(app):
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        queue = rq_queue(app)
        registries = (StartedJobRegistry(queue=queue), ScheduledJobRegistry(queue=queue))
        while queue.count or any(registry.count for registry in registries):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True
    while True:
        with _running_lock:
            running = list(_running)
        if not running:
            return True
        left = None if timeout is None else max(0.0, deadline - time.monotonic())
        if wait_futures(running, timeout=left).not_done:
            return False


def _pool(app: Flask) -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=app.config.get("JOBS_THREADS", 2), thread_name_prefix="doorstep-job")
    return _executor
