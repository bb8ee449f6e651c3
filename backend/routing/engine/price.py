"""What a kilometre costs: with the problem's ``travel_cost`` (priority points per hour
driven) a plan is judged by its value, priority served − price × hours of travel, instead
of priority first and travel second. The engines rank plans by that value (``plan_key``)
and PyVRP's prizes are set so that its own objective is the same value; here are the
figures of a plan and the pass that gives up the visits not worth their detour."""

from __future__ import annotations

from .model import Prepared, Routes
from .schedule import planned_times, route_ok


def day_value(priority: int, travel_s: int, cost: float) -> dict:
    """Priority, hours driven and the value of the day under ``cost`` points an hour."""
    hours = travel_s / 3600
    return {"travel_cost": cost, "priority": priority, "hours": round(hours, 2), "value": round(priority - cost * hours, 1)}


def prune_routes(prep: Prepared, routes: Routes) -> int:
    """Drop, one at a time, the stop whose detour costs more than its priority (with
    contact data its expected priority at the planned start; the largest loss first)
    until every stop pays its way; returns how many were dropped."""
    cost = prep.problem.travel_cost
    if not cost:
        return 0
    D = prep.D
    dropped = 0
    while True:
        best = None
        for k, seq in routes.items():
            nodes = [int(prep.a_start[k])] + [int(prep.loc_v[i]) for i in seq] + [int(prep.a_end[k])]
            worth = [float(p) for p in prep.prio[seq]]
            sched = planned_times(prep, k, seq) if prep.has_contact and seq else None
            if sched is not None:
                worth = [w * prep.p_at(i, st) for w, i, (_, st, _) in zip(worth, seq, sched[0], strict=True)]
            for j in range(len(seq)):
                a, b, c = nodes[j], nodes[j + 1], nodes[j + 2]
                loss = cost * int(D[a, b] + D[b, c] - D[a, c]) / 3600 - worth[j]
                if loss > 0 and (best is None or loss > best[0]):
                    best = (loss, k, j)
        if best is None:
            return dropped
        _, k, j = best
        new = routes[k][:j] + routes[k][j + 1 :]
        if not route_ok(prep, k, new):  # a matrix without the triangle inequality
            return dropped
        routes[k] = new
        dropped += 1
