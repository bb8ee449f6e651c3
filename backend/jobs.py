"""The one background runner: named queues, delays, and hand-over after the commit.

Queues, most urgent first (QUEUES): `push` (a stop-work must reach the phone now),
`packets` (day packets built ahead), `geocode` (imported addresses, one job at a time at
the geocoder's pace) and `solves` (route plans, CPU-bound, up to JOBS_TIMEOUT_S).

Two backends, by settings, with the same behaviour:
- embedded (`JOBS_BACKEND=inprocess`, the default): a thread pool per queue in the web
  process (`pool_size`: JOBS_PUSH_THREADS, ROUTING_WORKERS for solves, one for geocode); a
  delayed job waits on a daemon timer;
- production (`JOBS_BACKEND=rq`): an RQ queue per name on Redis, drained by
  `python -m backend.worker` processes listening in the order above; a delayed job waits in
  RQ's scheduled registry (a timer would die with RQ's forked work-horse).

A job is a module-level function taking keyword arguments of plain JSON (checked at enqueue
in both modes); it runs in an app context, with a session of its own, and reads its state
from the database.

After the commit (SQLAlchemy session events on every session, so on Flask-SQLAlchemy's):
`enqueue` inside an open transaction holds the job until that transaction commits and drops
it if it rolls back (a savepoint rolled back drops what was enqueued inside it; a session
closed without committing drops everything). Outside a transaction the job is handed over at
once. So: write the rows a job needs, `enqueue`, then commit.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from . import logs

log = logging.getLogger(__name__)

# most urgent first: the order RQ workers take jobs in (backend.worker)
QUEUES = ("push", "packets", "geocode", "solves")
# at most one job of these queues runs at a time, in any process (the geocoder's rate limit)
ONE_AT_A_TIME = ("geocode",)

_PENDING = "doorstep_jobs_pending"  # session.info: jobs waiting for their transaction's commit


@dataclass
class _Job:
    app: Flask
    queue: str
    path: str
    kwargs: dict
    delay_s: float | None
    transaction: SessionTransaction | None = None
    # the enqueuing request's id: the job's log lines carry it (backend.logs)
    request_id: str | None = None


def _path(fn) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def uses_rq(app: Flask | None = None) -> bool:
    app = app or current_app
    return app.config.get("JOBS_BACKEND") == "rq"


# --- enqueue, after the commit ------------------------------------------------------------


def enqueue(fn, /, *, queue: str, delay_s: float | None = None, **kwargs) -> None:
    """Run fn(**kwargs) on `queue` — after the current transaction commits, if one is open —
    `delay_s` seconds later if given."""
    from .extensions import db

    if queue not in QUEUES:
        raise ValueError(f"unknown job queue {queue!r}")
    # the same plain data in both modes: what would not survive the trip to Redis fails here
    job = _Job(
        current_app._get_current_object(),  # type: ignore[attr-defined]  # the proxy's target
        queue,
        _path(fn),
        json.loads(json.dumps(kwargs)),
        delay_s,
        request_id=logs.job_meta().get("request_id"),
    )
    session = db.session()
    if not session.in_transaction():
        _hand_over(job)
        return
    job.transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append(job)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _hand_over_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its jobs wait for the outer commit
    for job in session.info.pop(_PENDING, None) or ():
        try:
            _hand_over(job)
        except Exception:  # raising here would fail the commit's caller after the commit
            log.exception("jobs: could not hand over %s", job.path)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [job for job in pending if not _within(job.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _drop_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction ended: what its commit did not hand over is dropped
        session.info.pop(_PENDING, None)


def _hand_over(job: _Job) -> None:
    if uses_rq(job.app):
        _rq_enqueue(job)
    else:
        _runner().submit(job)


# --- in-process: a thread pool per queue, timers for delays -------------------------------


class _Runner:
    """This process's pools (a forked gunicorn worker makes its own) and its count of jobs
    queued, running or waiting on a timer."""

    def __init__(self):
        self.pid = os.getpid()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._in_flight = 0
        self._idle = threading.Condition()

    def submit(self, job: _Job) -> None:
        self._enter()
        try:
            if job.delay_s:
                timer = threading.Timer(job.delay_s, self._fire, (job,))
                timer.daemon = True
                timer.start()
            else:
                self._pool(job).submit(self._run, job)
        except Exception:  # the pool is shutting down with the interpreter
            self._leave()
            raise

    def wait_idle(self, timeout: float | None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def _pool(self, job: _Job) -> ThreadPoolExecutor:
        with self._idle:
            pool = self._pools.get(job.queue)
            if pool is None:
                pool = self._pools[job.queue] = ThreadPoolExecutor(
                    max_workers=pool_size(job.app, job.queue), thread_name_prefix=f"job-{job.queue}"
                )
            return pool

    def _fire(self, job: _Job) -> None:
        try:
            self.submit(_Job(job.app, job.queue, job.path, job.kwargs, None, request_id=job.request_id))
        except Exception:
            log.exception("jobs: could not run delayed %s", job.path)
        finally:
            self._leave()

    def _run(self, job: _Job) -> None:
        from .extensions import db

        try:
            with job.app.app_context(), logs.bound_request_id(job.request_id):
                try:
                    _resolve(job.path)(**job.kwargs)
                except Exception:
                    job.app.logger.exception("background job %s failed", job.path)
                finally:
                    db.session.remove()
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._idle:
            self._in_flight += 1

    def _leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()


_runner_instance: _Runner | None = None
_runner_lock = threading.Lock()


def _runner() -> _Runner:
    global _runner_instance
    with _runner_lock:
        if _runner_instance is None or _runner_instance.pid != os.getpid():
            _runner_instance = _Runner()
        return _runner_instance


def pool_size(app: Flask, queue: str) -> int:
    """Threads per queue in the embedded set-up."""
    sizes = {
        "push": app.config.get("JOBS_PUSH_THREADS", 4),
        "packets": 2,  # built ahead with RQ workers; the embedded set-up builds on the first pull
        "geocode": 1,  # one at a time: the geocoder's rate limit
        "solves": app.config.get("ROUTING_WORKERS", 1),  # CPU-bound: one plan at a time unless told
    }
    return max(1, int(sizes[queue]))


# --- RQ --------------------------------------------------------------------------------------


def _redis(app: Flask):
    """One Redis connection pool per process and URL, kept on the app."""
    from redis import Redis

    url = app.config["REDIS_URL"]
    pools = app.extensions.setdefault("doorstep_redis", {})
    connection = pools.get(url)
    if connection is None:
        connection = pools[url] = Redis.from_url(url)
    return connection


def rq_queues(app: Flask | None = None, names=QUEUES) -> list:
    """The app's RQ queues for `names`, in the given order (`JOBS_QUEUE` prefixes them, so
    environments can share a Redis)."""
    from rq import Queue

    app = app or current_app
    prefix = app.config.get("JOBS_QUEUE", "doorstep")
    connection = _redis(app)
    return [Queue(f"{prefix}-{name}", connection=connection) for name in names]


def run_job(path: str, kwargs: dict) -> None:
    """Entry point for RQ workers (backend.worker has pushed the app context); the job's log
    lines carry the id of the request that enqueued it."""
    from rq import get_current_job

    from .extensions import db

    rq_job = get_current_job()
    try:
        with logs.bound_request_id(rq_job.meta.get("request_id") if rq_job is not None else None):
            _resolve(path)(**kwargs)
    finally:
        db.session.remove()  # the next job in this worker starts with a clean session


# RQ jobs this process enqueued and has not yet seen end: wait_idle asks each for its status,
# which also covers the moment a worker has popped one and not yet registered it as started
_rq_jobs: dict[str, object] = {}
_rq_jobs_lock = threading.Lock()


def _rq_enqueue(job: _Job) -> None:
    from rq import RateLimit

    app = job.app
    (queue,) = rq_queues(app, (job.queue,))
    # RQ's own log line names the function, not the arguments (which may carry push content)
    options = {
        "job_timeout": app.config.get("JOBS_TIMEOUT_S", 900),
        "description": job.path,
        "meta": {"request_id": job.request_id} if job.request_id else {},
    }
    if job.queue in ONE_AT_A_TIME:
        options["rate_limit"] = RateLimit(key=queue.name, concurrency=1)
    if job.delay_s:
        # moved onto the queue when due by a worker's scheduler (backend.worker runs it)
        rq_job = queue.enqueue_in(timedelta(seconds=job.delay_s), run_job, job.path, job.kwargs, **options)
    else:
        rq_job = queue.enqueue(run_job, job.path, job.kwargs, **options)
    with _rq_jobs_lock:
        if len(_rq_jobs) >= 64:  # a long-lived web worker keeps only the jobs still in flight
            for job_id, known in list(_rq_jobs.items()):
                if _rq_ended(known):
                    del _rq_jobs[job_id]
        _rq_jobs[rq_job.id] = rq_job


def _rq_ended(rq_job) -> bool:
    """The RQ job will not run again (done, failed, stopped, or already expired from Redis)."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import JobStatus

    try:
        status = rq_job.get_status(refresh=True)
    except (InvalidJobOperation, NoSuchJobError):
        return True
    return status is None or status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def _rq_busy(app: Flask) -> bool:
    from rq.rate_limit import RateLimitRegistry
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    with _rq_jobs_lock:
        for job_id, known in list(_rq_jobs.items()):
            if not _rq_ended(known):
                return True
            del _rq_jobs[job_id]
    for queue in rq_queues(app):
        if queue.count or queue.connection.llen(queue.intermediate_queue_key):
            return True
        if StartedJobRegistry(queue=queue).count or ScheduledJobRegistry(queue=queue).count:
            return True
        if RateLimitRegistry(queue.name, queue.connection).get_rate_limited_job_count():
            return True
    return False


# --- waiting ---------------------------------------------------------------------------------


def wait_idle(app: Flask | None = None, timeout: float | None = 60.0) -> bool:
    """Block until no background job is queued, delayed or running — on every queue, including
    jobs those jobs queued (RQ: any process's on the app's queues; in-process: this process's).
    `timeout` None waits for ever. True if idle. Jobs still waiting for a commit are not counted."""
    app = app or current_app
    if not uses_rq(app):
        return _runner().wait_idle(timeout)
    deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
    while _rq_busy(app):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
