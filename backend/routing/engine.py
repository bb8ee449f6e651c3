"""Route planner: one ``solve()`` over proven solver libraries.

Objective (route-problem v1): serve the largest total priority, then the least travel.

Engines (never a home-made metaheuristic):

* **VROOM** (pyvroom) — fast constructive + local search; models skills, several time
  windows, priorities, shifts and ``max_visits`` natively. Pins and skills are given to
  it as synthetic skills (one per distinct set of eligible agents).
* **PyVRP** (0.14) — iterated local search, strong on these problems given time. Visits
  are optional clients with prize = priority x BIG (BIG outweighs any travel); several
  windows become a mutually exclusive client group; skills/pins become routing
  profiles; ``max_visits`` a capacity. The model is built from numpy arrays in one
  ``ProblemData`` call (no per-edge Python calls).

Strategy (what the domain allows):

* first a greedy plan (cheapest insertion, most valuable visits first): the floor every
  engine must beat, and the answer when the budget is tiny;
* a day VROOM can still explore in the budget (up to ~400 visits in 30 s): the whole
  problem — VROOM on both cores at the highest exploration level expected to finish in
  80 % of the budget, then PyVRP warm-started from the best plan, one seed per core;
* a bigger day: decomposition into territories (agents grouped by branch / start site,
  k-means when there are many sites, a big single-depot branch cut into sectors), each
  visit to the territory of its nearest eligible agent, balanced by agent time; every
  territory solved on its own (VROOM → PyVRP), then pairs of neighbouring territories
  re-solved together, warm-started from the incumbent, so that visits move across
  borders; two worker processes share the work;
* a warm start (the published plan) seeds the greedy plan and every engine; a last
  insertion pass fills any slack left between territories;
* the budget is kept strictly: every engine call has its own limit (PyVRP's measured
  from before its set-up), and workers still busy at the deadline are killed — the
  incumbent stands. Every candidate plan is re-checked with the same arithmetic as the
  shared verify.py before it is accepted.

Pure Python + numpy + solver libraries; no Flask, no database.
"""
from __future__ import annotations

import logging
import math
import multiprocessing
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .problem import Problem, ProblemError, as_problem
from .travel import TravelSettings, travel_matrix

__all__ = ["solve", "Solution", "PlannedRoute", "Stop", "Unassigned", "ProblemError",
           "prepare", "evaluate", "REASON_CAP", "REASON_NO_ROOM"]

log = logging.getLogger(__name__)

Routes = dict[int, list[int]]  # agent index -> ordered visit indices

REASON_NO_ROOM = "no room left: eligible agents' shifts are full with higher-value visits"
REASON_CAP = "eligible agents are all at max_visits"


# ---------------------------------------------------------------------------------------
# result types


@dataclass
class Stop:
    visit: str
    arrival: int
    start: int
    end: int


@dataclass
class PlannedRoute:
    agent: str
    stops: list[Stop]
    travel_s: int
    depart: int | None = None  # when the agent leaves its start (None: no stops)
    back: int | None = None  # when the agent is back at its end


@dataclass
class Unassigned:
    visit: str
    reason: str


@dataclass
class Solution:
    routes: list[PlannedRoute]
    unassigned: list[Unassigned]
    travel_s: int
    solve_s: float
    priority_served: int = 0
    priority_total: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The route-solution v1 document (exactly its fields)."""
        return {
            "routes": [
                {"agent": r.agent,
                 "stops": [{"visit": s.visit, "arrival": s.arrival, "start": s.start, "end": s.end}
                           for s in r.stops],
                 "travel_s": r.travel_s}
                for r in self.routes],
            "unassigned": [{"visit": u.visit, "reason": u.reason} for u in self.unassigned],
            "travel_s": self.travel_s,
            "solve_s": round(self.solve_s, 3),
        }


# ---------------------------------------------------------------------------------------
# problem in array form


@dataclass
class Prepared:
    """Problem in array form, plus which agent may take which visit."""

    problem: Problem
    D: np.ndarray  # int64 travel seconds, n x n
    elig: np.ndarray  # bool (n_visits, n_agents): skills, pins, cap > 0, single-visit feasible
    reasons: dict[int, str]  # visit index -> why nobody can serve it
    loc_v: np.ndarray  # visit location indices
    service: np.ndarray
    prio: np.ndarray
    windows: list[tuple[tuple[int, int], ...]]  # merged, sorted, per visit
    a_start: np.ndarray
    a_end: np.ndarray
    a_shift: np.ndarray  # (n_agents, 2)
    a_cap: np.ndarray  # max visits (a large number when None)

    @property
    def n_agents(self) -> int:
        return len(self.a_start)

    @property
    def n_visits(self) -> int:
        return len(self.loc_v)


_NO_CAP = 1 << 30


def _skills_text(s: Iterable[str]) -> str:
    s = sorted(s)
    return ("skill " if len(s) == 1 else "skills ") + ", ".join(s)


def prepare(problem: Problem, D: np.ndarray) -> Prepared:
    P = problem
    nA, nV = len(P.agents), len(P.visits)
    loc_v = np.array([v.location for v in P.visits], dtype=np.int64)
    service = np.array([v.service for v in P.visits], dtype=np.int64)
    prio = np.array([v.priority for v in P.visits], dtype=np.int64)
    windows = [v.merged_windows() for v in P.visits]
    a_start = np.array([a.start for a in P.agents], dtype=np.int64)
    a_end = np.array([a.end for a in P.agents], dtype=np.int64)
    a_shift = np.array([a.shift for a in P.agents], dtype=np.int64).reshape(nA, 2)
    a_cap = np.array([_NO_CAP if a.max_visits is None else a.max_visits for a in P.agents],
                     dtype=np.int64)
    aidx = {a.id: k for k, a in enumerate(P.agents)}

    elig = np.ones((nV, nA), dtype=bool)
    by_skills: dict[frozenset[str], list[int]] = {}
    for k, a in enumerate(P.agents):
        by_skills.setdefault(a.skills, []).append(k)
    for i, v in enumerate(P.visits):
        if v.skills:
            for s, ks in by_skills.items():
                if not v.skills <= s:
                    elig[i, ks] = False
        if v.agent is not None:
            k = aidx.get(v.agent)
            keep = elig[i, k] if k is not None else False
            elig[i] = False
            if k is not None:
                elig[i, k] = keep
    # single-visit feasibility: start → visit within a window → end within the shift
    feas = elig & (a_cap > 0)[None, :]
    if nA and nV:
        arr = a_shift[None, :, 0] + D[a_start[None, :], loc_v[:, None]]  # (nV, nA)
        back = D[loc_v[:, None], a_end[None, :]]
        ok = np.zeros((nV, nA), dtype=bool)
        nw = max(len(w) for w in windows)
        for j in range(nw):
            w0 = np.array([w[j][0] if j < len(w) else 0 for w in windows], dtype=np.int64)[:, None]
            w1 = np.array([w[j][1] if j < len(w) else -1 for w in windows], dtype=np.int64)[:, None]
            s = np.maximum(arr, w0)
            ok |= (s <= w1) & (s + service[:, None] + back <= a_shift[None, :, 1])
        feas &= ok
    reasons = {i: _reason(P, v, elig[i], windows[i], aidx, a_shift, a_cap)
               for i, v in enumerate(P.visits) if not feas[i].any()}
    return Prepared(P, D, feas, reasons, loc_v, service, prio, windows, a_start, a_end, a_shift, a_cap)


def _reason(P: Problem, v, elig_row: np.ndarray, windows, aidx, a_shift, a_cap) -> str:
    if not P.agents:
        return "no agents in the problem"
    if v.agent is not None:
        k = aidx.get(v.agent)
        if k is None:
            return f"pinned agent {v.agent} not in problem"
        a = P.agents[k]
        if not v.skills <= a.skills:
            return f"pinned agent {v.agent} lacks {_skills_text(v.skills - a.skills)}"
    if not elig_row.any():
        missing = v.skills - frozenset().union(*(a.skills for a in P.agents))
        if missing:
            return f"no agent has {_skills_text(missing)}"
        return f"no agent has all of {_skills_text(v.skills)}"
    ks = np.flatnonzero(elig_row)
    if (a_cap[ks] <= 0).all():
        return "every eligible agent has max_visits 0"
    if not any(w0 <= a_shift[k, 1] and w1 >= a_shift[k, 0] for k in ks for w0, w1 in windows):
        return "window outside every shift"
    return "too far: cannot be reached in a window and back by the end of any eligible shift"


# ---------------------------------------------------------------------------------------
# schedules (the same arithmetic as the shared verify.py)


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
    return (not seq) or (len(seq) <= prep.a_cap[k] and bool(prep.elig[list(seq), k].all())
                         and route_times(prep, k, seq) is not None)


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


def _key(prep: Prepared, routes: Routes) -> tuple[int, int]:
    """Sort key, larger is better: (priority, -travel); infeasible plans rank last."""
    p, t, ok = evaluate(prep, routes)
    return (p, -t) if ok else (-1, 0)


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


# ---------------------------------------------------------------------------------------
# cheap insertion of left-over visits into any route with room (numpy over positions)


def _latest_arrivals(prep: Prepared, k: int, seq: Sequence[int]) -> list[int]:
    """Latest arrival at each stop (and at the end) keeping the rest of the route feasible.

    With waiting allowed, the feasible arrival times at a stop form a down-set, so one
    number per stop suffices: L_end = shift end; L_i = latest window-compatible start.
    """
    D = prep.D
    L = [int(prep.a_shift[k, 1])]
    nxt = int(prep.a_end[k])
    for i in reversed(seq):
        loc = int(prep.loc_v[i])
        cap = L[-1] - int(D[loc, nxt]) - int(prep.service[i])
        best = -(1 << 62)
        for w0, w1 in prep.windows[i]:
            hi = min(w1, cap)
            if w0 <= hi:
                best = max(best, hi)
        L.append(best)
        nxt = loc
    L.reverse()
    return L  # len(seq) + 1


def insert_leftovers(prep: Prepared, routes: Routes, deadline: float,
                     allowed: np.ndarray | None = None) -> int:
    """Insert unserved visits (highest priority first) at their cheapest feasible position
    in any eligible route (``allowed``: a narrower visit x agent mask). Returns the number
    inserted."""
    D = prep.D
    elig = prep.elig if allowed is None else (prep.elig & allowed)
    served = {i for seq in routes.values() for i in seq}
    todo = [i for i in np.argsort(-prep.prio, kind="stable")
            if i not in served and i not in prep.reasons]
    if not todo or not routes:
        return 0
    agents = sorted(routes)

    def arrays_for(k: int):
        seq = routes[k]
        times = route_times(prep, k, seq)
        if times is None:
            return None
        nodes = [int(prep.a_start[k])] + [int(prep.loc_v[i]) for i in seq] + [int(prep.a_end[k])]
        dep = [int(prep.a_shift[k, 0])] + [e for (_, _, e) in times[0]]
        L = _latest_arrivals(prep, k, seq)
        m = len(seq) + 1
        return (np.array(nodes[:-1]), np.array(nodes[1:]), np.array(dep, dtype=np.int64),
                np.array(L, dtype=np.int64), np.full(m, k), np.arange(m))

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
        j = int(np.argmin(np.where(feas, delta, np.iinfo(np.int64).max)))
        k = int(ag[j])
        new = routes[k][:pos[j]] + [int(i)] + routes[k][pos[j]:]
        if not route_ok(prep, k, new):  # paranoia: never accept an infeasible route
            continue
        routes[k] = new
        per[k] = arrays_for(k)
        cat = concat()
        n_ins += 1
    return n_ins


# ---------------------------------------------------------------------------------------
# VROOM (pyvroom)


def _vroom_ok(prep: Prepared) -> bool:
    """VROOM takes durations and times as uint32 (then scales them internally in 64 bits)."""
    lim = 4_000_000_000
    return int(prep.D.max(initial=0)) < lim and int(prep.a_shift.max(initial=0)) < lim and all(
        w[-1][1] < lim for w in prep.windows)


def run_vroom(prep: Prepared, agents: Sequence[int], visits: Sequence[int], seconds: float,
              threads: int = 1, exploration: int = 5, init: Routes | None = None) -> Routes:
    import datetime

    import vroom

    agents = list(agents)
    visits = [int(i) for i in visits if prep.elig[i, agents].any()] if agents else []
    if not agents or not visits:
        return {k: [] for k in agents}
    locs = np.unique(np.r_[prep.a_start[agents], prep.a_end[agents], prep.loc_v[visits]])
    lidx = {int(l): j for j, l in enumerate(locs)}
    # eligibility as skills: one synthetic skill per distinct set of eligible agents
    # (skills and pins collapse into these); a vehicle holds the skills of the sets it is in
    sub_elig = prep.elig[np.ix_(visits, agents)]
    groups: dict[bytes, int] = {}
    job_skill: list[int | None] = []
    for r in range(len(visits)):
        row = sub_elig[r]
        job_skill.append(None if row.all() else groups.setdefault(row.tobytes(), len(groups) + 1))
    veh_skills: list[set[int]] = [set() for _ in agents]
    for key, g in groups.items():
        for j in np.flatnonzero(np.frombuffer(key, dtype=bool)):
            veh_skills[j].add(g)
    vset = set(visits)

    def build(with_steps: bool):
        inp = vroom.Input()
        inp.set_durations_matrix("car", np.ascontiguousarray(prep.D[np.ix_(locs, locs)], dtype=np.uint32))
        for j, k in enumerate(agents):
            cap = int(prep.a_cap[k])
            kw: dict[str, Any] = {}
            if cap < _NO_CAP:
                kw["max_tasks"] = cap
            seq = [i for i in (init or {}).get(k, []) if i in vset]
            if with_steps and seq:
                kw["steps"] = ([vroom.VehicleStepStart()]
                               + [vroom.VehicleStepSingle(int(i)) for i in seq]
                               + [vroom.VehicleStepEnd()])
            inp.add_vehicle(vroom.Vehicle(
                int(k), start=lidx[int(prep.a_start[k])], end=lidx[int(prep.a_end[k])],
                skills=veh_skills[j] or None,
                time_window=vroom.TimeWindow(int(prep.a_shift[k, 0]), int(prep.a_shift[k, 1])), **kw))
        for r, i in enumerate(visits):
            inp.add_job(vroom.Job(
                int(i), location=lidx[int(prep.loc_v[i])], default_service=int(prep.service[i]),
                priority=int(prep.prio[i]),
                time_windows=[vroom.TimeWindow(int(a), int(b)) for a, b in prep.windows[i]],
                skills={job_skill[r]} if job_skill[r] else None))
        return inp

    t0 = time.perf_counter()
    with_steps = bool(init) and any(init.get(k) for k in agents)
    try:
        inp = build(with_steps)
        sol = inp.solve(exploration_level=exploration, nb_threads=threads,
                        timeout=datetime.timedelta(seconds=max(0.05, seconds)))
    except Exception:
        if not with_steps:
            raise
        log.debug("VROOM refused the initial routes; solving without", exc_info=True)
        left = seconds - (time.perf_counter() - t0)
        sol = build(False).solve(exploration_level=exploration, nb_threads=threads,
                                 timeout=datetime.timedelta(seconds=max(0.05, left)))
    arr = np.asarray(sol._routes_numpy())
    out: Routes = {k: [] for k in agents}
    for vid, typ, jid in zip(arr["vehicle_id"], arr["type"], arr["id"]):
        if typ in (b"job", "job"):
            out[int(vid)].append(int(jid))
    return out


# ---------------------------------------------------------------------------------------
# PyVRP


def _pyvrp_data(prep: Prepared, agents: list[int], visits: list[int], required: bool = False,
                tuning: Mapping[str, Any] | None = None):
    """ProblemData from numpy arrays in one call.

    Location rows: one per distinct depot location, then one per visit (so that
    eligibility can be expressed per visit through routing profiles). A visit with
    several windows becomes one optional client per window in a mutually exclusive group.
    """
    import pyvrp

    P = prep.problem
    dep_locs = sorted({int(prep.a_start[k]) for k in agents} | {int(prep.a_end[k]) for k in agents})
    dep_idx = {l: j for j, l in enumerate(dep_locs)}
    rows = np.r_[np.array(dep_locs, dtype=np.int64), prep.loc_v[visits]]
    base = np.ascontiguousarray(prep.D[np.ix_(rows, rows)], dtype=np.int64)
    np.fill_diagonal(base, 0)
    nd = len(dep_locs)
    locations = [pyvrp.Location(float(P.locations[l, 1]), float(P.locations[l, 0])) for l in rows]
    depots = [pyvrp.Depot(j) for j in range(nd)]
    need_cap = bool((prep.a_cap[agents] < len(visits)).any())
    big = _prize_unit(base, tuning)
    clients: list = []
    groups: list = []
    client_visit: list[int] = []
    for r, i in enumerate(visits):
        ws = prep.windows[i]
        g = None
        if len(ws) > 1:
            g = len(groups)
            groups.append(pyvrp.ClientGroup(required=required))
        for w0, w1 in ws:
            if g is not None:
                groups[g].add_client(len(clients))
            clients.append(pyvrp.Client(
                nd + r, delivery=[1] if need_cap else [], service_duration=int(prep.service[i]),
                tw_early=int(w0), tw_late=int(w1), prize=int(prep.prio[i]) * big,
                required=required and g is None, group=g))
            client_visit.append(i)
    # routing profiles: one per distinct eligibility column among these agents; edges
    # into a visit an agent may not take are made prohibitively long
    sub = prep.elig[np.ix_(visits, agents)]
    prof_of: dict[bytes, int] = {}
    mats: list[np.ndarray] = []
    forbid = max(10**9, 1000 * big)
    agent_prof = []
    for j in range(len(agents)):
        col = sub[:, j]
        key = col.tobytes()
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
        agent_prof.append(prof_of[key])
    # vehicle types: identical agents (same depots, shift, cap, profile) share one type
    vt_key: dict[tuple, int] = {}
    vt_agents: list[list[int]] = []
    for j, k in enumerate(agents):
        key = (int(prep.a_start[k]), int(prep.a_end[k]), int(prep.a_shift[k, 0]),
               int(prep.a_shift[k, 1]), int(prep.a_cap[k]), agent_prof[j])
        if key not in vt_key:
            vt_key[key] = len(vt_agents)
            vt_agents.append([])
        vt_agents[vt_key[key]].append(k)
    vtypes = [pyvrp.VehicleType(
        num_available=len(vt_agents[t]), capacity=[min(cap, len(visits))] if need_cap else [],
        start_depot=dep_idx[s], end_depot=dep_idx[e], tw_early=t0, tw_late=t1, profile=prof)
        for (s, e, t0, t1, cap, prof), t in vt_key.items()]
    data = pyvrp.ProblemData(locations, clients, depots, vtypes, mats, mats, groups)
    return data, client_visit, vt_agents, big


# PyVRP tuning: the prize of a priority point ("detour": just above the longest detour a
# visit can add; "fixed": max(100,000, 4 x longest edge), the peers' scale) and the
# initial / maximum penalty per unit of time warp or excess load, as multiples of that
# prize unit (pen_init <= 0: the library's default penalties). Measured warm-started on
# 20x240, 60x720 and the 30x360 sample, and from scratch on territory-sized sub-problems:
# "detour" with penalties at 1x / 1000x was equal or better (10,427 vs 10,418-10,420;
# 32,607 vs 32,577; 15,555 vs 15,553; 8 territories 44,194 vs 44,160) — see docs.
PYVRP_TUNING = {"prize": "detour", "pen_init": 1.0, "pen_max": 1000.0, "history": 300}
# The whole-problem path (PyVRP warm-started from VROOM on a day of a few hundred visits)
# uses a shorter late-acceptance history (the library's default is 300): measured on the
# plain 20x240 day, 7 s from VROOM's plan, eight seeds each: history 50 reached 10,417-10,436
# (mean 10,430) against 10,420-10,435 (mean 10,426) for 300, 10,424-10,429 for 100 and
# 10,413-10,424 for 1,000. Not used when every visit of the day is required (a plain VRPTW on
# travel): st70 at 5 s gave 680 / 675 / 680 with 50 and 675 in four runs of five with 300. The
# tail's travel-only run (required = the visits the best plan serves) keeps it, as measured.
PORTFOLIO_TUNING = {**PYVRP_TUNING, "history": 50}


def _prize_unit(base: np.ndarray, tuning: Mapping[str, Any] | None = None) -> int:
    """Prize of one priority point: more than the longest detour one visit can add, so
    that serving more priority always beats saving travel in a move."""
    maxd = int(base.max(initial=0))
    if (tuning or PYVRP_TUNING)["prize"] == "fixed":
        return max(100_000, 4 * maxd + 1)
    return max(1000, 2 * maxd + 1)


def _pyvrp_run(data, stop, seed: int, init_sol, unit: int, tuning: Mapping[str, Any]):
    """pyvrp.solve(), with penalties scaled to the prizes: PyVRP's default penalty range
    (≤ 100,000 per unit of time warp) is small next to prizes of priority x unit, and
    the search would then live among infeasible plans."""
    import pyvrp
    from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours

    params = pyvrp.SolveParams()
    ils = pyvrp.IteratedLocalSearchParams(history_length=int(tuning.get("history", 300)))
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


def run_pyvrp(prep: Prepared, agents: Sequence[int], visits: Sequence[int], seconds: float,
              seed: int = 1, init: Routes | None = None, required: bool = False,
              tuning: Mapping[str, Any] | None = None) -> Routes:
    """PyVRP on a sub-problem. ``required``: every visit must be served (used once a plan
    serving them all is known: the search is then a plain VRPTW on travel)."""
    import pyvrp

    t0 = time.perf_counter()
    agents = list(agents)
    visits = [int(i) for i in visits if prep.elig[i, agents].any()] if agents else []
    if not agents or not visits:
        return {k: [] for k in agents}
    tuning = tuning or PYVRP_TUNING
    data, client_visit, vt_agents, unit = _pyvrp_data(prep, agents, visits, required, tuning)
    init_sol = _pyvrp_initial(prep, data, init, client_visit, vt_agents) if init else None
    end = t0 + seconds  # absolute: PyVRP's MaxRuntime only starts counting after its set-up

    def stop(_best_cost: int) -> bool:
        return time.perf_counter() >= end

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PenaltyBoundWarning on tight instances
        if tuning["pen_init"] <= 0:  # the library's defaults
            res = pyvrp.solve(data, stop, seed=seed, collect_stats=False, initial_solution=init_sol)
        else:
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
        sched = route_times(prep, k, seq)
        if sched is None or not seq:
            continue
        cl = []
        for (arr, st, en), i in zip(sched[0], seq):
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


# ---------------------------------------------------------------------------------------
# tasks (run in a worker process, or inline)

_PREP: Prepared | None = None  # set in the parent before forking workers


# VROOM's run time on field days (measured here, 2 threads on a loaded 2-core machine):
# about c[level] x (visits / 100) ** 2.25 seconds; its timeout does not cut the
# construction, so the level is chosen to finish well inside the time it is given.
_VROOM_C = {5: 3.5, 4: 2.7, 3: 1.9, 2: 1.15, 1: 0.8, 0: 0.32}


def vroom_seconds(level: int, n_visits: int, threads: int = 2) -> float:
    return _VROOM_C[level] * (max(n_visits, 1) / 100.0) ** 2.25 * (2.0 / max(1, min(threads, 2)))


def vroom_level(n_visits: int, seconds: float, threads: int = 2) -> int | None:
    """Highest exploration level expected to finish within ``seconds`` (None: not even 0)."""
    for level in (5, 4, 3, 2, 1, 0):
        if vroom_seconds(level, n_visits, threads) <= seconds:
            return level
    return None


def run_task(prep: Prepared, task: dict) -> dict:
    """One engine job on a sub-problem. Task keys: kind ('chain' | 'pyvrp' | 'vroom'),
    agents, visits, seconds, seed, init (Routes or None), level (VROOM exploration; None:
    by size), threads (VROOM), vroom_share (chain: VROOM's part of the time)."""
    t0 = time.perf_counter()
    agents, visits, seconds = task["agents"], task["visits"], float(task["seconds"])
    init = task.get("init") or None
    kind = task.get("kind", "chain")
    seed = int(task.get("seed", 1))
    threads = int(task.get("threads", 1))
    cands: list[tuple[str, Routes]] = []
    if init:
        taken: set[int] = set()
        clean: Routes = {}
        for k in agents:
            clean[k] = make_feasible(prep, k, init.get(k, []), taken)
            taken.update(clean[k])
        init = clean
        cands.append(("init", init))
    start = init
    if kind in ("chain", "vroom") and _vroom_ok(prep):
        share = seconds if kind == "vroom" else seconds * float(task.get("vroom_share", 0.5))
        level = task.get("level")
        if level is None:
            level = vroom_level(len(visits), share, threads)
        if level is not None:
            r = run_vroom(prep, agents, visits, share, threads, level, init)
            cands.append(("vroom", r))
            if start is None or _key(prep, r) > _key(prep, start):
                start = r
    if kind in ("chain", "pyvrp"):
        left = seconds - (time.perf_counter() - t0)
        if left > 0.05:
            servable = {int(i) for i in visits if prep.elig[i, agents].any()}
            required = bool(task.get("required")) or (
                bool(start) and servable == {i for seq in start.values() for i in seq})
            cands.append(("pyvrp", run_pyvrp(prep, agents, visits, left, seed, start, required,
                                             task.get("tuning"))))
    best_name, best = max(cands, key=lambda c: _key(prep, c[1])) if cands else ("none", {})
    return {"routes": best, "engine": best_name, "wall": time.perf_counter() - t0,
            "keys": {n: _key(prep, r) for n, r in cands}}


def _worker_main(conn) -> None:  # pragma: no cover - runs in the child
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg is None:
            break
        tid, task = msg
        try:
            res = run_task(_PREP, task)
        except BaseException as e:  # report, never die silently
            res = {"error": f"{type(e).__name__}: {e}"}
        try:
            conn.send((tid, res))
        except (BrokenPipeError, EOFError):
            break


class _Pool:
    """A few forked workers, each fed one task at a time over a pipe; killable at a deadline.

    Forked children inherit the prepared problem (copy-on-write), so tasks only carry
    indices and routes. With workers=1 (or no fork) tasks run inline.
    """

    def __init__(self, prep: Prepared, workers: int):
        global _PREP
        self.prep = prep
        self.procs: list = []
        self.conns: list = []
        self.busy: dict[int, int] = {}  # worker -> task id
        self.inline = workers <= 1 or "fork" not in multiprocessing.get_all_start_methods()
        # load the solver libraries once here: forked workers inherit them (importing them
        # in each worker costs ~0.5 s of a short budget)
        import pyvrp  # noqa: F401
        import vroom  # noqa: F401

        if self.inline:
            return
        _PREP = prep
        ctx = multiprocessing.get_context("fork")
        for _ in range(workers):
            a, b = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(b,), daemon=True)
            p.start()
            b.close()
            self.procs.append(p)
            self.conns.append(a)
        _PREP = None

    @property
    def size(self) -> int:
        return 1 if self.inline else len(self.procs)

    def idle(self) -> list[int]:
        return [w for w in range(self.size) if w not in self.busy]

    def submit(self, w: int, tid: int, task: dict) -> None:
        if self.inline:
            self.busy[w] = tid
            self._inline_result = (tid, run_task(self.prep, task))
            return
        self.conns[w].send((tid, task))
        self.busy[w] = tid

    def wait(self, deadline: float) -> list[tuple[int, dict]]:
        """Results that arrived before the deadline ([] if none)."""
        if self.inline:
            if not self.busy:
                return []
            self.busy.clear()
            return [self._inline_result]
        from multiprocessing.connection import wait

        left = deadline - time.perf_counter()
        if left <= 0 or not self.busy:
            return []
        ready = wait([self.conns[w] for w in self.busy], timeout=left)
        out = []
        for w in list(self.busy):
            c = self.conns[w]
            if c in ready:
                try:
                    tid, res = c.recv()
                except EOFError:
                    tid, res = self.busy[w], {"error": "worker died"}
                del self.busy[w]
                out.append((tid, res))
        return out

    def close(self) -> None:
        for w, p in enumerate(self.procs):
            if w in self.busy or not p.is_alive():
                p.kill()
            else:
                try:
                    self.conns[w].send(None)
                except (BrokenPipeError, OSError):
                    p.kill()
        for p in self.procs:
            p.join(timeout=0.5)
            if p.is_alive():
                p.kill()
                p.join(timeout=0.5)
        for c in self.conns:
            c.close()
        self.procs, self.conns, self.busy = [], [], {}


# ---------------------------------------------------------------------------------------
# territories


def _plane_km(latlon: np.ndarray) -> np.ndarray:
    lat0 = float(np.mean(latlon[:, 0])) if len(latlon) else 0.0
    return np.c_[latlon[:, 1] * 111.32 * math.cos(math.radians(lat0)), latlon[:, 0] * 110.57]


def _kmeans(X: np.ndarray, k: int, w: np.ndarray | None = None, seed: int = 0, iters: int = 50):
    """Weighted Lloyd's k-means with k-means++ seeding (small inputs)."""
    rng = np.random.default_rng(seed)
    n = len(X)
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    C = [X[rng.choice(n, p=w / w.sum())]]
    for _ in range(1, k):
        d2 = np.min(((X[:, None, :] - np.array(C)[None]) ** 2).sum(-1), axis=1) * w
        C.append(X[rng.choice(n, p=d2 / d2.sum())] if d2.sum() > 0 else X[rng.integers(n)])
    C = np.array(C, dtype=float)
    lab = np.zeros(n, dtype=int)
    for _ in range(iters):
        lab = ((X[:, None, :] - C[None]) ** 2).sum(-1).argmin(1)
        newC = C.copy()
        for j in range(k):
            m = lab == j
            if m.any():
                newC[j] = (X[m] * w[m, None]).sum(0) / w[m].sum()
        if np.allclose(newC, C):
            break
        C = newC
    return lab


def territories(prep: Prepared, target_agents: int = 10, seed: int = 0) -> list[list[int]]:
    """Groups of agents (by start site) of about ``target_agents`` each."""
    nA = prep.n_agents
    k = max(1, round(nA / target_agents))
    if k <= 1:
        return [list(range(nA))] if nA else []
    sites, site_of = np.unique(prep.a_start, return_inverse=True)
    counts = np.bincount(site_of, minlength=len(sites))
    X = _plane_km(prep.problem.locations[sites])
    if len(sites) > k:
        lab = _kmeans(X, k, counts, seed)
        groups = [list(np.flatnonzero(lab[site_of] == j)) for j in range(k)]
    else:
        groups = [list(np.flatnonzero(site_of == s)) for s in range(len(sites))]
    out: list[list[int]] = []
    for g in groups:
        if not g:
            continue
        parts = max(1, round(len(g) / target_agents))
        if parts == 1:
            out.append([int(x) for x in g])
            continue
        # a big branch: cut into parts, each with a mix of shifts (sectors come from visits)
        g = sorted(g, key=lambda a: (int(prep.a_shift[a, 0]), int(prep.a_shift[a, 1]), a))
        for p in range(parts):
            out.append([int(x) for x in g[p::parts]])
    return out


def assign_visits(prep: Prepared, terrs: list[list[int]], balance: bool = True) -> np.ndarray:
    """Territory of each visit (-1 when nobody can serve it).

    Preference: the territory with the eligible agent whose start→visit→end round trip is
    shortest; territories cut from one big branch split its visits into angular sectors.
    With ``balance``, visits are placed highest priority first and a territory whose
    agents' time is already spoken for (x1.15) passes the visit to the next-nearest
    territory, if that one is not much farther — so valuable visits are not left behind
    in a crowded territory while the neighbour has room.
    """
    nV = prep.n_visits
    D = prep.D
    lv = prep.loc_v
    out = np.full(nV, -1, dtype=np.int64)
    if not terrs or nV == 0:
        return out
    cost_a = D[np.ix_(prep.a_start, lv)].T + D[np.ix_(lv, prep.a_end)]  # (nV, nA)
    big = np.iinfo(np.int64).max // 4
    cost_a = np.where(prep.elig, cost_a, big)
    cost_t = np.stack([cost_a[:, g].min(1) for g in terrs], 1)  # (nV, T)
    ok = cost_t.min(1) < big
    pref = cost_t.argmin(1)
    # territories sharing one start site tie: split their visits into angular sectors
    site_of_t = [tuple(sorted(set(int(prep.a_start[a]) for a in g))) for g in terrs]
    by_site: dict[tuple, list[int]] = {}
    for t, s in enumerate(site_of_t):
        by_site.setdefault(s, []).append(t)
    for s, ts in by_site.items():
        if len(ts) < 2:
            continue
        mine = np.flatnonzero(ok & np.isin(pref, ts))
        if not len(mine):
            continue
        center = _plane_km(prep.problem.locations[[s[0]]])[0]
        pts = _plane_km(prep.problem.locations[lv[mine]]) - center
        ang = np.arctan2(pts[:, 1], pts[:, 0])
        order = np.argsort(ang)
        a_sorted = ang[order]
        gaps = np.diff(np.r_[a_sorted, a_sorted[0] + 2 * np.pi])
        startj = (int(np.argmax(gaps)) + 1) % len(order)  # cut at the widest empty gap
        order = np.r_[order[startj:], order[:startj]]
        for p, chunk in enumerate(np.array_split(order, len(ts))):
            sel = mine[chunk]
            good = cost_t[sel, ts[p]] < big
            pref[sel[good]] = ts[p]
    if not balance:
        out[ok] = pref[ok]
        return out
    # capacity in agent-seconds; demand = service + a typical hop between visits
    cap = np.array([float((prep.a_shift[g, 1] - prep.a_shift[g, 0]).sum()) for g in terrs])
    sample = lv[:: max(1, nV // 400)]
    dd = D[np.ix_(sample, sample)].astype(float)
    np.fill_diagonal(dd, np.inf)
    hop = float(np.median(dd.min(1))) * 1.5 if len(sample) > 1 else 0.0
    demand = prep.service.astype(float) + hop
    load = np.zeros(len(terrs))
    key = cost_t.astype(float)
    key[np.arange(nV), pref] -= 0.5  # the preferred territory wins ties
    best = cost_t[np.arange(nV), pref].astype(float)
    for i in np.argsort(-prep.prio, kind="stable"):
        if not ok[i]:
            continue
        order = np.argsort(key[i])
        pick = int(pref[i])
        limit = best[i] * 1.5 + 1200.0
        for t in order:
            if key[i, t] >= big or key[i, t] > limit:
                break
            if load[t] + demand[i] <= 1.15 * cap[t]:
                pick = int(t)
                break
        out[i] = pick
        load[pick] += demand[i]
    return out


def _neighbour_pairs(prep: Prepared, terrs: list[list[int]], per: int = 3) -> list[tuple[int, int]]:
    """Pairs of territories worth re-solving together, nearest first."""
    T = len(terrs)
    C = np.array([_plane_km(prep.problem.locations[prep.a_start[g]]).mean(0) for g in terrs])
    d = np.sqrt(((C[:, None] - C[None]) ** 2).sum(-1))
    pairs: set[tuple[int, int]] = set()
    for a in range(T):
        for b in np.argsort(d[a])[1:per + 1]:
            pairs.add((min(a, int(b)), max(a, int(b))))
    return sorted(pairs, key=lambda p: d[p])


# ---------------------------------------------------------------------------------------
# strategies


class _Search:
    """Holds the incumbent plan; runs tasks on the pool until the deadline."""

    def __init__(self, prep: Prepared, pool: _Pool, deadline: float, seed: int):
        self.prep, self.pool, self.deadline, self.seed = prep, pool, deadline, seed
        self.routes: Routes = {k: [] for k in range(prep.n_agents)}
        self.log: list[dict] = []
        self._tid = 0

    def run(self, tasks: list[dict], on_result: Callable[[dict, dict], None],
            more: Callable[[], dict | None] | None = None) -> None:
        """Run tasks (then whatever ``more()`` yields) until done or the deadline."""
        queue = list(tasks)
        live: dict[int, dict] = {}
        while True:
            for w in self.pool.idle():
                if not queue and more is not None and time.perf_counter() < self.deadline:
                    nxt = more()
                    if nxt is not None:
                        queue.append(nxt)
                if not queue:
                    break
                task = queue.pop(0)
                now = time.perf_counter()
                # the worker must be done a little before the deadline: results that
                # arrive later are lost (the worker is killed)
                grace = 0.1 + 0.0002 * len(task["visits"])
                task["seconds"] = min(task["seconds"], self.deadline - now - grace)
                if task["seconds"] <= 0.05:
                    queue.clear()
                    break
                self._tid += 1
                live[self._tid] = task
                self.pool.submit(w, self._tid, task)
            if not live:
                return
            if time.perf_counter() >= self.deadline:
                return
            for tid, res in self.pool.wait(self.deadline):
                task = live.pop(tid)
                if "error" in res:
                    log.warning("routing task failed: %s", res["error"])
                    continue
                self.log.append({"what": task.get("what"), "engine": res["engine"],
                                 "wall": round(res["wall"], 2), "keys": res["keys"]})
                on_result(task, res)
            if time.perf_counter() >= self.deadline and live:
                return


# Share of the PyVRP phase kept for the last step of the whole-problem path (below).
PORTFOLIO_TAIL = 0.3


def _portfolio(S: _Search, agents: list[int], visits: list[int], budget: float, init: Routes | None):
    """The whole problem at once: VROOM on both cores at the highest exploration level
    expected to finish in 80 % of the budget, then PyVRP warm-started from the best plan,
    one seed per core. With two cores the last 30 % of the PyVRP time restarts from the
    best plan so far: one core goes on searching for priority, the other keeps exactly
    the visits that plan serves (required) and only shortens the travel. The best plan by
    (priority, travel) wins.

    Measured on the plain 20x240 day (9.2 s, as the command line leaves after start-up):
    10,436 in six of seven runs against 10,428 / 10,428 / 10,436 without the last step,
    where PyVRP alone (the peer, 10 s) gives 10,428 at 135,298 s of travel.
    (Tried on plain days: PyVRP from scratch — the peers' prize scale and penalties — on
    one core for the whole budget, next to VROOM → PyVRP on the other. Alternating runs
    on 20x240 at 10 s: 10,396 / 10,380 / 10,424 against 10,427 three times.)"""
    prep = S.prep
    W = S.pool.size

    def take(task: dict, res: dict) -> None:
        cand = dict(S.routes)
        cand.update(res["routes"])
        if _key(prep, cand) > _key(prep, S.routes):
            S.routes = cand

    vroom_fits = _vroom_ok(prep)
    # the greedy plan already serves everything: no prize trade-off left, only travel
    all_fit = set(visits) <= {i for seq in S.routes.values() for i in seq}
    level = vroom_level(len(visits), 0.8 * budget, threads=W) if vroom_fits else None
    if level is not None:
        S.run([dict(kind="vroom", agents=agents, visits=visits, seconds=0.8 * budget, threads=W,
                    level=level, init=init, what=f"vroom L{level}")], take)
    left = S.deadline - time.perf_counter()
    if left <= 0.1:
        return
    tail = PORTFOLIO_TAIL if W >= 2 and not all_fit else 0.0
    cur = {k: list(S.routes[k]) for k in agents}
    tuning = PYVRP_TUNING if all_fit else PORTFOLIO_TUNING  # history 50: measured with prizes
    S.run([dict(kind="pyvrp", agents=agents, visits=visits, seconds=left * (1 - tail), seed=S.seed + j,
                init=cur, required=all_fit, tuning=tuning, what=f"pyvrp seed {S.seed + j}")
           for j in range(W)], take)
    left = S.deadline - time.perf_counter()
    if not tail or left <= 0.3:
        return
    cur = {k: list(S.routes[k]) for k in agents}
    served = sorted(i for k in agents for i in cur[k])
    S.run([dict(kind="pyvrp", agents=agents, visits=visits, seconds=left, seed=S.seed + W,
                init=cur, tuning=PORTFOLIO_TUNING, what="pyvrp again"),
           dict(kind="pyvrp", agents=agents, visits=served, seconds=left, seed=S.seed + W + 1,
                init=cur, required=True, tuning=PORTFOLIO_TUNING, what="pyvrp travel")], take)


DECOMPOSE_TUNING = {"phase1": 0.5, "pair_neighbours": 3}


def _decompose(S: _Search, terrs: list[list[int]], budget: float, init: Routes | None,
               owner: np.ndarray | None = None):
    prep = S.prep
    T = len(terrs)
    if owner is None:
        owner = assign_visits(prep, terrs)  # territory of each visit
    terr_of_agent = np.empty(prep.n_agents, dtype=np.int64)
    for t, g in enumerate(terrs):
        terr_of_agent[g] = t
    # a visit already planned (warm start, greedy plan) belongs to its agent's territory
    for k, seq in S.routes.items():
        for i in seq:
            owner[i] = terr_of_agent[k]
    W = S.pool.size
    phase1 = budget * DECOMPOSE_TUNING["phase1"]
    per1 = min(budget, max(0.3, phase1 * W / T))

    def terr_task(t: int) -> dict:
        vis = [int(i) for i in np.flatnonzero(owner == t)]
        ini = {k: init.get(k, []) for k in terrs[t]} if init else None
        return dict(kind="chain", agents=terrs[t], visits=vis, seconds=per1, seed=S.seed + t,
                    init=ini, what=f"T{t}")

    def accept(task: dict, res: dict) -> None:
        agents = task["agents"]
        cur = {k: S.routes[k] for k in agents}
        new = res["routes"]
        if _key(prep, new) > _key(prep, cur):
            for k in agents:
                S.routes[k] = list(new.get(k, []))
                for i in S.routes[k]:
                    owner[i] = terr_of_agent[k]

    # sizes first so the two workers end together
    order = sorted(range(T), key=lambda t: -int((owner == t).sum()))
    S.run([terr_task(t) for t in order], accept)
    # phase 2: neighbouring pairs, warm-started from the incumbent, round-robin until time
    pairs = _neighbour_pairs(prep, terrs, DECOMPOSE_TUNING["pair_neighbours"])
    if not pairs:
        return
    running: dict[tuple[int, int], int] = {}  # pair -> copies in flight
    it = [0]
    left = S.deadline - time.perf_counter()
    sweep = max(1, len(pairs))
    per2 = float(np.clip(left * W / sweep, 0.4, 8.0))

    def pair_task(a: int, b: int) -> dict:
        agents = terrs[a] + terrs[b]
        vis = [int(i) for i in np.flatnonzero((owner == a) | (owner == b))]
        running[(a, b)] = running.get((a, b), 0) + 1
        it[0] += 1
        return dict(kind="pyvrp", agents=agents, visits=vis, seconds=per2,
                    seed=S.seed + 1000 + it[0], init={k: list(S.routes[k]) for k in agents},
                    what=f"T{a}+T{b}", pair=(a, b))

    def next_pair() -> dict | None:
        busy = {t for p, n in running.items() if n for t in p}
        for _ in range(len(pairs)):
            a, b = pairs[it[0] % len(pairs)]
            if a in busy or b in busy:
                it[0] += 1
                continue
            return pair_task(a, b)
        # every pair touches one in flight (few territories): run one of them again with
        # another seed — same agents, same visits, so both results stay comparable
        live = [p for p, n in running.items() if n]
        if len(live) == 1:
            return pair_task(*live[0])
        return None

    def accept_pair(task: dict, res: dict) -> None:
        running[task["pair"]] -= 1
        accept(task, res)

    S.run([], accept_pair, more=next_pair)


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


def solve(problem: Problem | Mapping[str, Any], seconds: float = 10.0, warm_start: Any = None, *,
          travel: TravelSettings | Mapping[str, Any] | None = None, workers: int | None = None,
          seed: int = 1, strategy: str = "auto", target_agents: int = 10) -> Solution:
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
    search_deadline = deadline - final_margin
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
        pool = _Pool(prep, workers)
        try:
            S = _Search(prep, pool, search_deadline, seed)
            S.routes.update(routes)
            budget = search_deadline - time.perf_counter()
            if budget > 0.05:
                if strategy == "decompose" and len(terrs) > 1:
                    _decompose(S, terrs, budget, init, owner)
                else:
                    _portfolio(S, list(range(prep.n_agents)), servable, budget, init)
        finally:
            pool.close()
        routes = S.routes
        stats["tasks"] = S.log
    # final pass: any slack left (between territories, after the engines) gets filled
    n_ins = insert_leftovers(prep, routes, deadline - 0.02)
    stats["inserted_after"] = n_ins
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
        sched = route_times(prep, k, seq) if seq else None
        if not seq or sched is None:
            out.append(PlannedRoute(a.id, [], 0))
            continue
        times, travel, back = sched
        # leave as late as the first stop allows, so nobody waits at the first door
        first = int(prep.loc_v[seq[0]])
        depart = max(int(a.shift[0]), times[0][1] - int(D[a.start, first]))
        times[0] = (depart + int(D[a.start, first]), times[0][1], times[0][2])
        stops = [Stop(P.visits[i].id, int(ar), int(st), int(en)) for i, (ar, st, en) in zip(seq, times)]
        out.append(PlannedRoute(a.id, stops, int(travel), depart, int(back)))
        served.update(seq)
        total += int(travel)
        prio += int(prep.prio[seq].sum())
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
    return Solution(out, un, total, time.perf_counter() - t0, prio, int(prep.prio.sum()), stats)
