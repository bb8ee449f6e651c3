"""The entry point: ``solve()`` reads the warm start, prepares the problem, lays the greedy
floor, picks the strategy (whole problem or territories), runs it on the worker pool
within the budget, fills the slack left and builds the solution."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..problem import Problem, as_problem
from ..travel import TravelSettings, travel_matrix
from .balance import balance_routes, workload
from .continuity import continuity_share, keep_continuity
from .decompose import decompose
from .insertion import insert_leftovers
from .model import REASON_CAP, REASON_NO_ROOM, PlannedRoute, Prepared, Routes, Solution, Stop, Unassigned, prepare
from .pool import Pool, Search
from .portfolio import portfolio
from .price import day_value, prune_routes
from .schedule import evaluate, expected, make_feasible, planned_times, route_ok
from .territories import assign_visits, territories
from .vroom_adapter import vroom_level

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------
# warm start


def warm_routes(prep: Prepared, warm: Any) -> Routes:
    """A previous plan → feasible routes. Accepts a route-solution v1 dict, a Solution, or
    a mapping agent id → [visit id, …]. Unknown ids, ineligible or repeated visits and
    stops that no longer fit are dropped."""
    P = prep.problem
    aidx = {a.id: k for k, a in enumerate(P.agents)}
    vidx = {v.id: i for i, v in enumerate(P.visits)}
    pairs: list[tuple[str, list[str]]] = []
    if isinstance(warm, Solution):
        pairs = [(r.agent, [s.visit for s in r.stops]) for r in warm.routes]
    elif isinstance(warm, Mapping) and "routes" in warm:
        for r in warm.get("routes") or []:
            if isinstance(r, Mapping) and "agent" in r:
                stops = [s.get("visit") if isinstance(s, Mapping) else s for s in r.get("stops") or []]
                pairs.append((r["agent"], stops))
    elif isinstance(warm, Mapping):
        pairs = [(a, list(v or [])) for a, v in warm.items()]
    out: Routes = {}
    taken: set[int] = set()
    for aid, stops in pairs:
        k = aidx.get(aid) if isinstance(aid, str) else None
        if k is None:
            continue
        seq = [vidx[s] for s in stops if isinstance(s, str) and s in vidx]
        out[k] = make_feasible(prep, k, seq, taken)
        taken.update(out[k])
    return out


# ---------------------------------------------------------------------------------------
# the entry point


def _default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        n = os.cpu_count() or 1
    return max(1, min(2, n))


def solve(
    problem: Problem | Mapping[str, Any],
    seconds: float = 10.0,
    warm_start: Any = None,
    *,
    travel: TravelSettings | Mapping[str, Any] | None = None,
    workers: int | None = None,
    seed: int = 1,
    strategy: str = "auto",
    target_agents: int = 10,
) -> Solution:
    """Plan the day.

    problem: a :class:`Problem` or a route-problem v1 dict (validated; ProblemError if bad).
    seconds: wall-time budget for the whole call (matrix, model building and search).
    warm_start: a previous plan (route-solution v1 dict, Solution, or {agent_id: [visit_id]}).
    travel: travel-model settings, used only when the problem carries no ``durations``.
    workers: processes to use (default: up to 2 cores); 1 runs everything in-process.
    strategy: 'auto' | 'portfolio' (whole problem, two engines) | 'decompose' (territories).
    target_agents: agents per territory when decomposing.
    seed: seeds the engines (a run is reproducible when the machine is not the bottleneck).
    """
    if strategy not in ("auto", "portfolio", "decompose"):
        raise ValueError(f"unknown strategy {strategy!r}")
    t0 = time.perf_counter()
    deadline = t0 + max(0.1, float(seconds))
    P = as_problem(problem)
    D = P.durations if P.durations is not None else travel_matrix(P.locations, travel)
    prep = prepare(P, D)
    init = warm_routes(prep, warm_start) if warm_start is not None else None
    workers = _default_workers() if workers is None else max(1, int(workers))
    nV = prep.n_visits
    servable = [i for i in range(nV) if i not in prep.reasons]
    # keep time for stopping the workers, the final insertion pass and the output (and a
    # little for a loaded machine, where processes wait for a core)
    final_margin = 0.1 + min(0.3, 0.01 * float(seconds)) + 0.00015 * nV + 0.00005 * prep.n_agents
    # a balanced day keeps a tenth of the budget for narrowing the spread of work
    balance_s = 0.1 * float(seconds) if P.balance is not None else 0.0
    search_deadline = deadline - final_margin - balance_s
    terrs = territories(prep, target_agents, seed) if prep.n_agents else []
    if strategy == "auto":
        # the whole problem while VROOM can still explore it within the budget; else
        # territories (a big day: full-problem engines neither converge nor keep time)
        fits = vroom_level(len(servable), 0.8 * (search_deadline - time.perf_counter()), workers)
        strategy = "decompose" if len(terrs) > 1 and (fits is None or fits < 1) else "portfolio"
    stats: dict[str, Any] = {"strategy": strategy, "territories": len(terrs), "workers": workers}
    # a greedy plan first (cheapest insertion by priority, from the warm start if any):
    # the floor the engines improve on, and the answer if the budget is very short;
    # when decomposing, each visit only goes to its own territory's agents
    tg = time.perf_counter()
    routes = {k: list((init or {}).get(k, [])) for k in range(prep.n_agents)}
    owner = None
    allowed = None
    if strategy == "decompose" and len(terrs) > 1:
        owner = assign_visits(prep, terrs)
        terr_of_agent = np.empty(prep.n_agents, dtype=np.int64)
        for t, g in enumerate(terrs):
            terr_of_agent[g] = t
        for k, seq in routes.items():
            owner[seq] = terr_of_agent[k]
        allowed = owner[:, None] == terr_of_agent[None, :]
    insert_leftovers(prep, routes, tg + max(0.05, 0.15 * (search_deadline - tg)), allowed)
    stats["greedy"] = list(evaluate(prep, routes)[:2])
    stats["greedy_s"] = round(time.perf_counter() - tg, 3)
    if servable and prep.n_agents and search_deadline - time.perf_counter() > 0.1:
        pool = Pool(prep, workers)
        try:
            S = Search(prep, pool, search_deadline, seed)
            S.routes.update(routes)
            budget = search_deadline - time.perf_counter()
            if budget > 0.05:
                if strategy == "decompose" and len(terrs) > 1:
                    decompose(S, terrs, budget, init, owner)
                else:
                    portfolio(S, list(range(prep.n_agents)), servable, budget, init)
        finally:
            pool.close()
        routes = S.routes
        stats["tasks"] = S.log
    # final pass: any slack left (between territories, after the engines) gets filled
    n_ins = insert_leftovers(prep, routes, deadline - 0.02 - balance_s)
    stats["inserted_after"] = n_ins
    if P.travel_cost:
        stats["pruned"] = prune_routes(prep, routes)
    if prep.cont_w.any():
        stats["continuity_moved"] = keep_continuity(prep, routes, deadline - 0.02 - balance_s)
    if P.balance is not None:
        # on a loaded machine the search may end late: the balance still gets a short slice
        end = max(deadline - 0.02 - 0.5 * final_margin, time.perf_counter() + min(0.05, 0.02 * seconds))
        stats["balance"] = balance_routes(prep, routes, P.balance.by, P.balance.max_loss, end)
    return _build_solution(prep, routes, t0, stats)


def _build_solution(prep: Prepared, routes: Routes, t0: float, stats: dict) -> Solution:
    P = prep.problem
    D = prep.D
    out: list[PlannedRoute] = []
    served: set[int] = set()
    total = 0
    prio = 0
    for k, a in enumerate(P.agents):
        seq = routes.get(k, [])
        if seq and not route_ok(prep, k, seq):  # never publish an infeasible route
            log.error("dropping infeasible route for %s", a.id)
            seq = make_feasible(prep, k, seq, served)
        sched = planned_times(prep, k, seq) if seq else None
        if not seq or sched is None:
            out.append(PlannedRoute(a.id, [], 0))
            continue
        times, travel, back = sched
        # leave as late as the first stop allows, so nobody waits at the first door
        first = int(prep.loc_v[seq[0]])
        depart = max(int(a.shift[0]), times[0][1] - int(D[a.start, first]))
        times[0] = (depart + int(D[a.start, first]), times[0][1], times[0][2])
        stops = [
            Stop(P.visits[i].id, int(ar), int(st), int(en), round(prep.p_at(i, st), 3) if prep.has_contact else None)
            for i, (ar, st, en) in zip(seq, times, strict=True)
        ]
        out.append(PlannedRoute(a.id, stops, int(travel), depart, int(back), int(travel + prep.service[seq].sum())))
        served.update(seq)
        total += int(travel)
        prio += int(prep.prio[seq].sum())
    vidx = {v.id: i for i, v in enumerate(P.visits)}
    un: list[Unassigned] = []
    for i, v in enumerate(P.visits):
        if i in served:
            continue
        reason = prep.reasons.get(i)
        if reason is None:
            ks = np.flatnonzero(prep.elig[i])
            full = all(len(routes.get(int(k), [])) >= prep.a_cap[k] for k in ks)
            reason = REASON_CAP if full else REASON_NO_ROOM
        un.append(Unassigned(v.id, reason))
    stats["priority_served"] = prio
    kept = {k: [vidx[s.visit] for s in r.stops] for k, r in enumerate(out)}
    value = day_value(prio, total, P.travel_cost) if P.travel_cost is not None else None
    return Solution(
        out,
        un,
        total,
        time.perf_counter() - t0,
        prio,
        int(prep.prio.sum()),
        stats,
        workload(prep, kept),
        value,
        continuity_share(prep, kept),
        expected(prep, kept) if prep.has_contact else None,
    )
