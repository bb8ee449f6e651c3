"""Background solving: an in-process thread pool (embedded default) or the RQ queue
(JOBS_BACKEND=rq); each job runs in its own app context.

The job takes only a plan id and keeps all its state in the database (status, percent,
heartbeat), so any process can answer GET /api/route-plans/<id>.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pending: dict[int, Future] = {}


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
        enqueue(run_route_plan, plan_id=plan_id)
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
    """Block until the plans this process solves in-process are done, or on RQ until the queue
    is idle (CLI, tests); True if all did."""
    from ..jobs import uses_rq, wait_idle

    if has_app_context() and uses_rq():  # (no app context: nothing can have gone to a queue)
        return wait_idle(timeout=timeout)
    with _lock:
        futures = list(_pending.values())
    done, not_done = wait(futures, timeout=timeout)
    return not not_done
