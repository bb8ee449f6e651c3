"""Background solving: an in-process thread pool (embedded default) or the RQ queue
(JOBS_BACKEND=rq); each job runs in its own app context.

The job takes only a plan id and keeps all its state in the database (status, percent,
heartbeat), so any process can answer GET /api/route-plans/<id>.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask, current_app

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pending: dict[int, Future] = {}
# RQ jobs this process enqueued and has not seen end; the ended ones are dropped at each
# submit, so a web worker holds only its jobs in flight
_queued: dict[int, object] = {}


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # the engine is CPU-bound; one plan at a time per process unless told otherwise
            workers = int(current_app.config.get("ROUTING_WORKERS") or os.environ.get("ROUTING_WORKERS", "1"))
            _pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="route-plan")
        return _pool


def submit_route_plan(plan_id: int) -> None:
    """Queue the plan's build and solve; call after the plan row is committed."""
    from ..jobs import enqueue, uses_rq

    if uses_rq():
        job = enqueue(run_route_plan, plan_id=plan_id)
        with _lock:
            in_flight = list(_queued.items())
        ended = [plan for plan, queued in in_flight if _rq_ended(queued)]
        with _lock:
            for plan in ended:
                _queued.pop(plan, None)
            _queued[plan_id] = job
        return
    app = current_app._get_current_object()
    future = _executor().submit(_run, app, plan_id)
    with _lock:
        _pending[plan_id] = future
    future.add_done_callback(lambda _: _forget(plan_id))


def _forget(plan_id: int) -> None:
    with _lock:
        _pending.pop(plan_id, None)


def run_route_plan(*, plan_id: int) -> None:
    """The job, in an app context (an RQ worker's or the pool thread's)."""
    from .services import solve_route_plan

    try:
        solve_route_plan(plan_id=plan_id)
    except Exception:  # solve_route_plan records failures itself; this is the last net
        log.exception("route plan job %s crashed", plan_id)


def _run(app: Flask, plan_id: int) -> None:
    from ..extensions import db

    with app.app_context():
        try:
            run_route_plan(plan_id=plan_id)
        finally:
            db.session.remove()  # (on RQ, backend.jobs.run_job does this)


def wait_for_route_plans(timeout: float | None = None) -> bool:
    """Block until the jobs this process queued are done (CLI, tests); True if all did. (On RQ
    each job's own status is asked: an idle-looking queue can hide a job a worker has just taken.)"""
    started = time.monotonic()
    with _lock:
        futures = list(_pending.values())
    done, not_done = wait(futures, timeout=timeout)
    if not_done:
        return False
    while True:
        with _lock:
            jobs = list(_queued.items())
        for plan_id, job in jobs:
            if _rq_ended(job):
                with _lock:
                    _queued.pop(plan_id, None)
        with _lock:
            if not _queued:
                return True
        if timeout is not None and time.monotonic() - started > timeout:
            return False
        time.sleep(0.05)


def _rq_ended(job) -> bool:
    """The RQ job will not run again (done, failed, stopped, or already expired from Redis)."""
    from rq.exceptions import InvalidJobOperation
    from rq.job import JobStatus

    try:
        status = job.get_status(refresh=True)
    except InvalidJobOperation:
        return True
    return status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
