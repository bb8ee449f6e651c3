"""Schedules of routes, with the same arithmetic as the shared verify.py: the forward
schedule of a route, whether it is feasible, a plan's figures and its rank, and the
repair of a route by dropping stops."""

from __future__ import annotations

from collections.abc import Sequence

from .model import Prepared, Routes


def route_times(prep: Prepared, k: int, seq: Sequence[int]):
    """Forward schedule from the shift start: ([(arrival, start, end)], travel, back) or None."""
    D = prep.D
    t = int(prep.a_shift[k, 0])
    here = int(prep.a_start[k])
    travel = 0
    out = []
    for i in seq:
        loc = int(prep.loc_v[i])
        d = int(D[here, loc])
        travel += d
        t += d
        arr = t
        st = None
        for w0, w1 in prep.windows[i]:
            if t <= w1:
                st = max(t, w0)
                break
        if st is None:
            return None
        t = st + int(prep.service[i])
        out.append((arr, st, t))
        here = loc
    d = int(D[here, prep.a_end[k]])
    travel += d
    t += d
    if t > prep.a_shift[k, 1]:
        return None
    return out, travel, t


def route_ok(prep: Prepared, k: int, seq: Sequence[int]) -> bool:
    return (not seq) or (len(seq) <= prep.a_cap[k] and bool(prep.elig[list(seq), k].all()) and route_times(prep, k, seq) is not None)


def evaluate(prep: Prepared, routes: Routes) -> tuple[int, int, bool]:
    """(priority served, travel seconds, feasible) of a plan."""
    prio = travel = 0
    seen: set[int] = set()
    ok = True
    for k, seq in routes.items():
        if not seq:
            continue
        if len(seq) > prep.a_cap[k] or not prep.elig[list(seq), k].all() or seen.intersection(seq):
            ok = False
        seen.update(seq)
        r = route_times(prep, k, seq)
        if r is None:
            ok = False
            continue
        travel += r[1]
        prio += int(prep.prio[list(seq)].sum())
    return prio, travel, ok


def continuity_missed(prep: Prepared, routes: Routes) -> int:
    """Continuity weights (seconds) of served visits not with their preferred agent."""
    if not prep.cont_w.any():
        return 0
    return int(sum(int(prep.cont_w[i]) for k, seq in routes.items() for i in seq if prep.pref[i] != k))


def plan_key(prep: Prepared, routes: Routes) -> tuple[float, int]:
    """Sort key, larger is better: (priority, -travel), or (value, -travel) when travel
    has a price (value = priority − price x hours); infeasible plans rank last. A visit
    away from its preferred agent counts its continuity weight as travel."""
    p, t, ok = evaluate(prep, routes)
    cost = prep.problem.travel_cost
    if not ok:
        return (float("-inf") if cost else -1, 0)
    t += continuity_missed(prep, routes)
    return (p - cost * t / 3600 if cost else p, -t)


def make_feasible(prep: Prepared, k: int, seq: Sequence[int], taken: set[int] | None = None) -> list[int]:
    """Drop stops until the route is feasible for agent k (keeps order)."""
    out: list[int] = []
    seen = set(taken or ())
    for i in seq:
        if i in seen:
            continue
        seen.add(i)
        if not prep.elig[i, k] or len(out) >= prep.a_cap[k]:
            continue
        cand = out + [i]
        if _prefix_ok(prep, k, cand):
            out = cand
    while out and route_times(prep, k, out) is None:
        # back too late: drop the least valuable stop (the earliest of equals) until on time
        worst = min(range(len(out)), key=lambda j: (prep.prio[out[j]], j))
        out.pop(worst)
    return out


def _prefix_ok(prep: Prepared, k: int, seq: Sequence[int]) -> bool:
    """Every stop of seq can start within a window (return to the end not checked)."""
    D = prep.D
    t = int(prep.a_shift[k, 0])
    here = int(prep.a_start[k])
    for i in seq:
        loc = int(prep.loc_v[i])
        t += int(D[here, loc])
        for w0, w1 in prep.windows[i]:
            if t <= w1:
                t = max(t, w0) + int(prep.service[i])
                break
        else:
            return False
        here = loc
    return True
