"""The route plan's background solve: a job on backend.jobs' `solves` queue.

The job takes only a plan id and keeps all its state in the database (status, percent,
heartbeat), so any process can answer GET /api/route-plans/<id>.
"""

from __future__ import annotations

import logging

from ..jobs import enqueue

log = logging.getLogger(__name__)


def submit_route_plan(plan_id: int) -> None:
    """Queue the plan's build and solve; call before the commit that stores the plan row
    (the job is handed over when that transaction commits)."""
    enqueue(run_route_plan, queue="solves", plan_id=plan_id)


def run_route_plan(*, plan_id: int) -> None:
    """The job, in an app context (an RQ worker's or a `solves` pool thread's)."""
    from .services import solve_route_plan

    try:
        solve_route_plan(plan_id=plan_id)
    except Exception:  # solve_route_plan records failures itself; this is the last net
        log.exception("route plan job %s crashed", plan_id)
