"""PyVRP (0.14) on a sub-problem: iterated local search, strong on these problems given
time. Visits are optional clients with prize = priority x a unit that outweighs any
detour; several windows become a mutually exclusive client group; skills/pins become
routing profiles; ``max_visits`` a capacity. The model is built from numpy arrays in one
``ProblemData`` call (no per-edge Python calls).

pyvrp is imported on first use: importing the engine stays cheap."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .model import Prepared, Routes
from .schedule import planned_times

log = logging.getLogger(__name__)


def _pyvrp_data(prep: Prepared, agents: list[int], visits: list[int], required: bool = False):
    """ProblemData from numpy arrays in one call.

    Location rows: one per distinct depot location, then one per visit (so that
    eligibility can be expressed per visit through routing profiles). A visit with
    several windows becomes one optional client per window in a mutually exclusive group.
    """
    import pyvrp

    P = prep.problem
    dep_locs = sorted({int(prep.a_start[k]) for k in agents} | {int(prep.a_end[k]) for k in agents})
    dep_idx = {loc: j for j, loc in enumerate(dep_locs)}
    rows = np.r_[np.array(dep_locs, dtype=np.int64), prep.loc_v[visits]]
    base = np.ascontiguousarray(prep.D[np.ix_(rows, rows)], dtype=np.int64)
    np.fill_diagonal(base, 0)
    nd = len(dep_locs)
    locations = [pyvrp.Location(float(P.locations[row, 1]), float(P.locations[row, 0])) for row in rows]
    depots = [pyvrp.Depot(j) for j in range(nd)]
    need_cap = bool((prep.a_cap[agents] < len(visits)).any())
    # continuity: for an agent, the edges into a visit preferring another agent of this
    # sub-problem cost the visit's weight more (distance only, not time): every such agent
    # gets its own profile, and a priority point still outweighs the longest such edge
    v_arr = np.asarray(visits, dtype=np.int64)
    pref = prep.pref[v_arr]
    wants = prep.cont_w[v_arr] * np.isin(pref, agents)
    big = _prize_unit(base, P.travel_cost, int(wants.max(initial=0)))
    # with contact data a client per piece of the windows where the chance of contact is
    # near the visit's best, prize = priority x p in hundredths of a point (each still
    # outweighing any detour), all of a visit's pieces one mutually exclusive group
    scale = CONTACT_SCALE if prep.has_contact and not P.travel_cost else 1
    clients: list = []
    groups: list = []
    client_visit: list[int] = []
    for r, i in enumerate(visits):
        c = prep.contact[i] if prep.has_contact else None
        ws = [(w0, w1, 1.0) for w0, w1 in prep.windows[i]] if c is None else c.pieces(prep.windows[i], CONTACT_KEEP)
        g = None
        if len(ws) > 1:
            g = len(groups)
            groups.append(pyvrp.ClientGroup(required=required))
        for w0, w1, q in ws:
            if g is not None:
                groups[g].add_client(len(clients))
            clients.append(
                pyvrp.Client(
                    nd + r,
                    delivery=[1] if need_cap else [],
                    service_duration=int(prep.service[i]),
                    tw_early=int(w0),
                    tw_late=int(w1),
                    prize=int(prep.prio[i]) * big if scale == 1 and q == 1.0 else round(float(prep.prio[i]) * q * scale * big),
                    required=required and g is None,
                    group=g,
                )
            )
            client_visit.append(i)
    # routing profiles: one per distinct eligibility column among these agents; edges
    # into a visit an agent may not take are made prohibitively long
    sub = prep.elig[np.ix_(visits, agents)]
    prof_of: dict[bytes | tuple, int] = {}
    mats: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    forbid = max(10**9, 1000 * big)
    agent_prof = []
    for j, k in enumerate(agents):
        col = sub[:, j]
        extra = np.where(pref != k, wants, 0)
        key = col.tobytes() if not extra.any() else (col.tobytes(), k)
        if key not in prof_of:
            prof_of[key] = len(mats)
            m = base
            bad = nd + np.flatnonzero(~col)
            if len(bad):
                m = base.copy()
                m[:, bad] = forbid
                m[bad, :] = forbid
                np.fill_diagonal(m, 0)
            mats.append(m)
            if extra.any():
                d = m.copy()
                d[:, nd:] += extra[None, :]
                np.fill_diagonal(d, 0)
                dists.append(d)
            else:
                dists.append(m)
        agent_prof.append(prof_of[key])
    # vehicle types: identical agents (same depots, shift, cap, profile) share one type
    vt_key: dict[tuple, int] = {}
    vt_agents: list[list[int]] = []
    for j, k in enumerate(agents):
        key = (
            int(prep.a_start[k]),
            int(prep.a_end[k]),
            int(prep.a_shift[k, 0]),
            int(prep.a_shift[k, 1]),
            int(prep.a_cap[k]),
            agent_prof[j],
        )
        if key not in vt_key:
            vt_key[key] = len(vt_agents)
            vt_agents.append([])
        vt_agents[vt_key[key]].append(k)
    vtypes = [
        pyvrp.VehicleType(
            num_available=len(vt_agents[t]),
            capacity=[min(cap, len(visits))] if need_cap else [],
            start_depot=dep_idx[s],
            end_depot=dep_idx[e],
            tw_early=t0,
            tw_late=t1,
            profile=prof,
        )
        for (s, e, t0, t1, cap, prof), t in vt_key.items()
    ]
    data = pyvrp.ProblemData(locations, clients, depots, vtypes, dists, mats, groups)
    return data, client_visit, vt_agents, big * scale


# With contact data: the pieces of a visit's windows given to PyVRP are those where the
# chance of contact is at least this share of the visit's best (the rest are worth
# little and would multiply the clients), and prizes count hundredths of a point.
CONTACT_KEEP = 0.5
CONTACT_SCALE = 100


# PyVRP tuning: the initial / maximum penalty per unit of time warp or excess load, as
# multiples of the prize unit (below), and the late-acceptance history of the search.
# Measured warm-started on 20x240, 60x720 and the 30x360 sample, and from scratch on
# territory-sized sub-problems, against the peers' scale (prize max(100,000, 4 x longest
# edge), the library's default penalties): the detour-sized prize with penalties at
# 1x / 1000x was equal or better (10,427 vs 10,418-10,420; 32,607 vs 32,577; 15,555 vs
# 15,553; 8 territories 44,194 vs 44,160) — see docs.
PYVRP_TUNING = {"pen_init": 1.0, "pen_max": 1000.0, "history": 300}


def _prize_unit(base: np.ndarray, travel_cost: float | None = None, extra: int = 0) -> int:
    """Prize of one priority point: more than the longest detour one visit can add, so
    that serving more priority always beats saving travel in a move. When travel has a
    price (points per hour), a point is worth 3,600 / price seconds of travel: PyVRP's
    objective (travel − prizes) is then the value of the day. ``extra``: the largest
    continuity weight added to an edge."""
    if travel_cost:
        return max(1, round(3600 / travel_cost))
    return max(1000, 2 * (int(base.max(initial=0)) + extra) + 1)


def _pyvrp_run(data, stop, seed: int, init_sol, unit: int, tuning: Mapping[str, Any]):
    """pyvrp.solve(), with penalties scaled to the prizes: PyVRP's default penalty range
    (≤ 100,000 per unit of time warp) is small next to prizes of priority x unit, and
    the search would then live among infeasible plans."""
    import pyvrp
    from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours

    params = pyvrp.SolveParams()
    ils = pyvrp.IteratedLocalSearchParams(history_length=int(tuning["history"]))
    pinit = float(tuning["pen_init"]) * unit
    pmax = max(float(tuning["pen_max"]) * unit, pinit)
    pparams = pyvrp.PenaltyParams(min_penalty=0.1, max_penalty=pmax)
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(data, params.neighbourhood)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = pyvrp.PenaltyManager(([pinit] * data.num_load_dimensions, pinit, pinit), pparams)
    init = init_sol
    if init is None:
        init = ls(pyvrp.Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    algo = pyvrp.IteratedLocalSearch(data, pm, ls, init, ils)
    return algo.run(stop, False, False)


def run_pyvrp(
    prep: Prepared,
    agents: Sequence[int],
    visits: Sequence[int],
    seconds: float,
    seed: int = 1,
    init: Routes | None = None,
    required: bool = False,
    tuning: Mapping[str, Any] | None = None,
) -> Routes:
    """PyVRP on a sub-problem. ``required``: every visit must be served (used once a plan
    serving them all is known: the search is then a plain VRPTW on travel)."""
    t0 = time.perf_counter()
    agents = list(agents)
    visits = [int(i) for i in visits if prep.elig[i, agents].any()] if agents else []
    if not agents or not visits:
        return {k: [] for k in agents}
    tuning = tuning or PYVRP_TUNING
    data, client_visit, vt_agents, unit = _pyvrp_data(prep, agents, visits, required)
    init_sol = _pyvrp_initial(prep, data, init, client_visit, vt_agents) if init else None
    end = t0 + seconds  # absolute: PyVRP's MaxRuntime only starts counting after its set-up

    def stop(_best_cost: int) -> bool:
        return time.perf_counter() >= end

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PenaltyBoundWarning on tight instances
        res = _pyvrp_run(data, stop, seed, init_sol, unit, tuning)
    best = res.best
    out: Routes = {k: [] for k in agents}
    if not best.is_feasible():
        return out
    # identical agents share a vehicle type; keep each warm-started route with its agent
    free = [list(a) for a in vt_agents]
    pending = []
    for r in best.routes():
        seq = [client_visit[act.idx] for act in r if act.is_client()]
        pending.append((r.vehicle_type(), seq))
    if init:
        for t, seq in pending:
            if not seq:
                continue
            cands = [k for k in free[t] if init.get(k)]
            if cands:
                sset = set(seq)
                k = max(cands, key=lambda k: len(sset.intersection(init[k])))
                if sset.intersection(init[k]):
                    free[t].remove(k)
                    out[k] = list(seq)
                    seq.clear()  # mark as placed
    for t, seq in pending:
        if seq:
            out[free[t].pop(0)] = seq
    return out


def _pyvrp_initial(prep, data, init: Routes, client_visit, vt_agents):
    import pyvrp

    copies: dict[int, list[int]] = {}
    for c, i in enumerate(client_visit):
        copies.setdefault(i, []).append(c)
    vt_of = {k: t for t, ks in enumerate(vt_agents) for k in ks}
    routes = []
    for k, seq in init.items():
        if not seq or k not in vt_of:
            continue
        seq = [i for i in seq if i in copies]
        sched = planned_times(prep, k, seq)
        if sched is None or not seq:
            continue
        cl = []
        for (_arrival, st, _end), i in zip(sched[0], seq, strict=True):
            pick = copies[i][0]
            for c in copies[i]:  # the copy whose window holds the planned start
                cc = data.client(c)
                if cc.tw_early <= st <= cc.tw_late:
                    pick = c
                    break
            cl.append(pick)
        routes.append(pyvrp.Route(data, cl, vt_of[k]))
    try:
        return pyvrp.Solution(data, routes)
    except Exception:  # e.g. more routes of a type than vehicles: start cold
        log.debug("PyVRP refused the initial solution", exc_info=True)
        return None
