"""Balanced work: the spread of stops and working time between the agents on shift, and
the pass that narrows it on a finished plan.

Among plans within ``max_loss`` of the best priority served, the one with the smallest
spread is preferred. The engines find the best priority; this pass then moves visits from
busier agents to less busy ones (any position of the receiving route, every move checked
with verify.py's arithmetic), gives up low-priority visits of the busiest agent while the
priority lost stays within ``max_loss``, and refills the lighter agents with what is left.
The measure it lowers is the sum of squared loads (the variance at a fixed total), so
every accepted move narrows the spread and the pass ends.

Working time ("duration") is travel plus time at the door; waits are not work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .insertion import insert_leftovers
from .model import Prepared, Routes
from .schedule import evaluate, latest_arrivals, route_ok, route_times

BIG = np.iinfo(np.int64).max // 4


def on_shift(prep: Prepared) -> list[int]:
    """Agents whose work counts: a non-empty shift, room for a visit and at least one
    visit they may take."""
    return [k for k in range(prep.n_agents) if prep.a_shift[k, 1] > prep.a_shift[k, 0] and prep.a_cap[k] > 0 and prep.elig[:, k].any()]


def route_work(prep: Prepared, k: int, seq: Sequence[int]) -> int:
    """Working seconds of a route: travel plus time at the door."""
    if not seq:
        return 0
    sched = route_times(prep, k, seq)
    travel = sched[1] if sched is not None else 0
    return int(travel + prep.service[list(seq)].sum())


def spread(values: Sequence[float]) -> dict:
    """min, max, max/min (None when the least loaded has nothing and another has work) and
    the coefficient of variation (population standard deviation / mean)."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return {"min": 0, "max": 0, "max_min": None, "cv": None}
    lo, hi, mean = float(v.min()), float(v.max()), float(v.mean())
    ratio = (hi / lo if lo > 0 else None) if hi > 0 else 1.0
    return {
        "min": _num(lo),
        "max": _num(hi),
        "max_min": None if ratio is None else round(ratio, 3),
        "cv": round(float(v.std()) / mean, 3) if mean > 0 else 0.0,
    }


def _num(x: float) -> int | float:
    return int(x) if x == int(x) else round(x, 1)


def workload(prep: Prepared, routes: Routes) -> dict:
    """The plan's spread of stops and of working time between the agents on shift."""
    ks = on_shift(prep)
    stops = [len(routes.get(k, [])) for k in ks]
    work = [route_work(prep, k, routes.get(k, [])) for k in ks]
    return {"agents": len(ks), "stops": spread(stops), "work_s": spread(work)}


class _Balancer:
    def __init__(self, prep: Prepared, routes: Routes, by: str):
        self.prep, self.routes, self.by = prep, routes, by
        self.ks = on_shift(prep)
        self.load = {k: self._load(k) for k in self.ks}
        nw = max((len(w) for w in prep.windows), default=1)
        self.w0 = np.full((prep.n_visits, nw), 0, dtype=np.int64)
        self.w1 = np.full((prep.n_visits, nw), -1, dtype=np.int64)
        for i, ws in enumerate(prep.windows):
            for j, (a, b) in enumerate(ws):
                self.w0[i, j], self.w1[i, j] = a, b

    def _load(self, k: int) -> int:
        seq = self.routes.get(k, [])
        return len(seq) if self.by == "stops" else route_work(self.prep, k, seq)

    def _donors(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Visits of routes busier than b: (visit, donor agent, travel saved by removing it)."""
        prep, D = self.prep, self.prep.D
        gap = 2 if self.by == "stops" else 1
        vis, ag, save = [], [], []
        for a in self.ks:
            seq = self.routes.get(a, [])
            if a == b or not seq or self.load[a] - self.load[b] < gap:
                continue
            nodes = [int(prep.a_start[a])] + [int(prep.loc_v[i]) for i in seq] + [int(prep.a_end[a])]
            n = np.asarray(nodes)
            vis.extend(seq)
            ag.extend([a] * len(seq))
            save.extend((D[n[:-2], n[1:-1]] + D[n[1:-1], n[2:]] - D[n[:-2], n[2:]]).tolist())
        return np.asarray(vis, dtype=np.int64), np.asarray(ag, dtype=np.int64), np.asarray(save, dtype=np.int64)

    def pull(self, b: int) -> bool:
        """Move one visit from a busier route into b, the move that narrows the spread at
        the least extra travel (stops) or narrows it most (working time)."""
        prep, D = self.prep, self.prep.D
        seq_b = self.routes.get(b, [])
        if len(seq_b) >= prep.a_cap[b]:
            return False
        C, A, save = self._donors(b)
        if not len(C):
            return False
        keep = prep.elig[C, b]
        C, A, save = C[keep], A[keep], save[keep]
        if not len(C):
            return False
        times = route_times(prep, b, seq_b)
        if times is None:
            return False
        P_ = np.array([int(prep.a_start[b])] + [int(prep.loc_v[i]) for i in seq_b])
        Q_ = np.array([int(prep.loc_v[i]) for i in seq_b] + [int(prep.a_end[b])])
        dep = np.array([int(prep.a_shift[b, 0])] + [e for (_, _, e) in times[0]], dtype=np.int64)
        L = np.array(latest_arrivals(prep, b, seq_b), dtype=np.int64)
        loc = prep.loc_v[C]
        arr = dep[None, :] + D[P_[None, :], loc[:, None]]
        st = np.full(arr.shape, -1, dtype=np.int64)
        for j in reversed(range(self.w0.shape[1])):
            w0, w1 = self.w0[C, j][:, None], self.w1[C, j][:, None]
            st = np.where(arr <= w1, np.maximum(arr, w0), st)
        svc = prep.service[C][:, None]
        feas = (st >= 0) & (st + svc + D[loc[:, None], Q_[None, :]] <= L[None, :])
        if not feas.any():
            return False
        ins = D[P_[None, :], loc[:, None]] + D[loc[:, None], Q_[None, :]] - D[P_, Q_][None, :]
        if self.by == "stops":
            score = ins - save[:, None]  # extra travel of the move
        else:
            la = np.array([self.load[int(a)] for a in A], dtype=np.int64)[:, None]
            lb = self.load[b]
            na, nb = la - save[:, None] - svc, lb + ins + svc
            score = na * na + nb * nb - la * la - lb * lb  # < 0: the move narrows the spread
            feas &= score < 0
        score = np.where(feas, score, BIG)
        for flat in np.argsort(score, axis=None, kind="stable")[:8]:
            r, p = divmod(int(flat), score.shape[1])
            if score[r, p] >= BIG:
                break
            i, a = int(C[r]), int(A[r])
            new_a = [x for x in self.routes[a] if x != i]
            new_b = seq_b[:p] + [i] + seq_b[p:]
            if route_ok(prep, a, new_a) and route_ok(prep, b, new_b):
                self.routes[a], self.routes[b] = new_a, new_b
                self.load[a], self.load[b] = self._load(a), self._load(b)
                return True
        return False

    def relocate(self, deadline: float) -> int:
        moves = 0
        while time.perf_counter() < deadline:
            for b in sorted(self.ks, key=lambda k: self.load[k]):
                if time.perf_counter() >= deadline or self.pull(b):
                    break
            else:
                return moves
            moves += 1
        return moves

    def drop(self, budget: float) -> int:
        """Give up the least valuable visit of the busiest agent (within ``budget``
        priority points) when it leaves the spread narrower; its priority, else 0."""
        if len(self.ks) < 2:
            return 0
        a = max(self.ks, key=lambda k: self.load[k])
        lo = min(self.load[k] for k in self.ks)
        seq = self.routes.get(a, [])
        if not seq or (self.by == "stops" and self.load[a] - lo < 2) or self.load[a] <= lo:
            return 0
        for j in sorted(range(len(seq)), key=lambda j: self.prep.prio[seq[j]]):
            p = int(self.prep.prio[seq[j]])
            if p > budget:
                return 0
            new = seq[:j] + seq[j + 1 :]
            if route_ok(self.prep, a, new) and (self.by == "stops" or self._work(a, new) >= lo):
                self.routes[a] = new
                self.load[a] = self._load(a)
                return p
        return 0

    def _work(self, k: int, seq: list[int]) -> int:
        return route_work(self.prep, k, seq)

    def refill(self, deadline: float) -> int:
        """Insert left-over visits into agents below the busiest, never above it."""
        prep = self.prep
        top = max(self.load[k] for k in self.ks)
        allowed = np.zeros_like(prep.elig)
        for k in self.ks:
            if self.by == "stops":
                allowed[:, k] = self.load[k] < top
            else:
                allowed[:, k] = self.load[k] + prep.service <= top
        n = insert_leftovers(prep, self.routes, deadline, allowed)
        self.load = {k: self._load(k) for k in self.ks}
        return n


def balance_routes(prep: Prepared, routes: Routes, by: str, max_loss: float, deadline: float) -> dict:
    """Narrow the spread of ``by`` in place, keeping priority within ``max_loss`` of the
    plan's; returns what was done."""
    best = evaluate(prep, routes)[0]
    budget = int(math.floor(best * max_loss + 1e-9))
    for k in range(prep.n_agents):
        routes.setdefault(k, [])
    B = _Balancer(prep, routes, by)
    stats: dict[str, Any] = {"by": by, "moved": 0, "dropped": 0, "refilled": 0, "priority_before": best}
    if len(B.ks) < 2:
        return stats
    while time.perf_counter() < deadline:
        stats["moved"] += B.relocate(deadline)
        lost = best - evaluate(prep, routes)[0]
        p = B.drop(budget - lost)
        if not p:
            break
        stats["dropped"] += 1
    stats["refilled"] = B.refill(deadline)
    stats["moved"] += B.relocate(deadline)
    return stats
