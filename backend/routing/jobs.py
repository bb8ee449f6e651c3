"""Background solving: an in-process thread pool; each job runs in its own app context.

The job takes only a plan id and keeps all its state in the database (status, percent,
heartbeat), so any worker can answer GET /api/route-plans/<id>, and moving the job onto
a real queue (RQ, Celery) at scale is a change of this module only.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask, current_app

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
    app = current_app._get_current_object()
    future = _executor().submit(_run, app, plan_id)
    with _lock:
        _pending[plan_id] = future
    future.add_done_callback(lambda _: _forget(plan_id))


def _forget(plan_id: int) -> None:
    with _lock:
        _pending.pop(plan_id, None)


def _run(app: Flask, plan_id: int) -> None:
    from ..extensions import db
    from .services import solve_route_plan

    with app.app_context():
        try:
            solve_route_plan(plan_id=plan_id)
        except Exception:  # solve_route_plan records failures itself; this is the last net
            log.exception("route plan job %s crashed", plan_id)
        finally:
            db.session.remove()


def wait_for_route_plans(timeout: float | None = None) -> bool:
    """Block until the queued jobs of this process are done (CLI, tests); True if all did."""
    with _lock:
        futures = list(_pending.values())
    done, not_done = wait(futures, timeout=timeout)
    return not not_done
