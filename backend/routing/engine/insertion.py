"""Greedy insertion: cheap insertion of left-over visits into any route with room, most
valuable first, vectorized with numpy over all route positions. It builds the greedy
plan every engine must beat and fills the slack left after the engines."""

from __future__ import annotations

import time

import numpy as np

from .model import P_STEP, Prepared, Routes
from .schedule import evaluate, latest_arrivals, route_ok, route_times


def insert_leftovers(prep: Prepared, routes: Routes, deadline: float, allowed: np.ndarray | None = None) -> int:
    """Insert unserved visits (highest priority first) at their cheapest feasible position
    in any eligible route (``allowed``: a narrower visit x agent mask). With contact data
    the most valuable first (priority x best chance of contact), at the position where
    the visit's expected priority at its start is highest (then the cheapest), and only
    when the route's expected priority grows. Returns the number inserted."""
    D = prep.D
    elig = prep.elig if allowed is None else (prep.elig & allowed)
    served = {i for seq in routes.values() for i in seq}
    worth = prep.prio if prep.pmax is None else prep.prio * prep.pmax
    todo = [i for i in np.argsort(-worth, kind="stable") if i not in served and i not in prep.reasons]
    if not todo or not routes:
        return 0
    agents = sorted(routes)
    cost = prep.problem.travel_cost

    def arrays_for(k: int):
        seq = routes[k]
        times = route_times(prep, k, seq)
        if times is None:
            return None
        nodes = [int(prep.a_start[k])] + [int(prep.loc_v[i]) for i in seq] + [int(prep.a_end[k])]
        dep = [int(prep.a_shift[k, 0])] + [e for (_, _, e) in times[0]]
        L = latest_arrivals(prep, k, seq)
        m = len(seq) + 1
        return (
            np.array(nodes[:-1]),
            np.array(nodes[1:]),
            np.array(dep, dtype=np.int64),
            np.array(L, dtype=np.int64),
            np.full(m, k),
            np.arange(m),
        )

    per = {k: arrays_for(k) for k in agents}

    def concat():
        parts = [per[k] for k in agents if per[k] is not None and len(routes[k]) < prep.a_cap[k]]
        if not parts:
            return None
        return [np.concatenate([p[j] for p in parts]) for j in range(6)]

    cat = concat()
    n_ins = 0
    for i in todo:
        if cat is None or time.perf_counter() > deadline:
            break
        P_, Q_, dep, L, ag, pos = cat
        m = elig[i, ag]
        if not m.any():
            continue
        lu = int(prep.loc_v[i])
        a = dep + D[P_, lu]
        st = np.full(len(a), -1, dtype=np.int64)
        for w0, w1 in reversed(prep.windows[i]):
            ok_w = a <= w1
            st = np.where(ok_w, np.maximum(a, w0), st)
        feas = m & (st >= 0) & (st + prep.service[i] + D[lu, Q_] <= L)
        if not feas.any():
            continue
        delta = D[P_, lu] + D[lu, Q_] - D[P_, Q_]
        if prep.cont_w[i]:  # away from the agent who knows the debtor: costs its weight
            delta = delta + prep.cont_w[i] * (ag != prep.pref[i])
        c = prep.contact[i] if prep.has_contact else None
        p = c.at(st) if c is not None else 1.0
        if cost:  # travel has a price: only detours the visit is worth (expected)
            feas &= cost * delta < 3600 * prep.prio[i] * p
            if not feas.any():
                continue
        if c is not None:  # the best chance at the start (chances within P_STEP alike), then the cheapest
            p = np.where(feas, p, -1.0)
            if p.max() <= 0:
                continue
            feas &= p >= p.max() - P_STEP
        j = int(np.argmin(np.where(feas, delta, np.iinfo(np.int64).max)))
        k = int(ag[j])
        new = routes[k][: pos[j]] + [int(i)] + routes[k][pos[j] :]
        if not route_ok(prep, k, new):  # paranoia: never accept an infeasible route
            continue
        if prep.has_contact and evaluate(prep, {k: new})[0] <= evaluate(prep, {k: routes[k]})[0]:
            continue  # later stops lose more than the visit brings
        routes[k] = new
        per[k] = arrays_for(k)
        cat = concat()
        n_ins += 1
    return n_ins
