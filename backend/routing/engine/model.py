"""The engine's data: the result types, and the problem in array form with which agent
may take which visit (``prepare``) and why a visit nobody can take is left out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..problem import Problem

Routes = dict[int, list[int]]  # agent index -> ordered visit indices

REASON_NO_ROOM = "no room left: eligible agents' shifts are full with higher-value visits"
REASON_CAP = "eligible agents are all at max_visits"

# max_visits of an agent without a cap
NO_CAP = 1 << 30


# ---------------------------------------------------------------------------------------
# result types


@dataclass
class Stop:
    visit: str
    arrival: int
    start: int
    end: int
    p: float | None = None  # with contact data: the chance of finding someone home at start


@dataclass
class PlannedRoute:
    agent: str
    stops: list[Stop]
    travel_s: int
    depart: int | None = None  # when the agent leaves its start (None: no stops)
    back: int | None = None  # when the agent is back at its end
    work_s: int = 0  # working time: travel plus time at the door


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
    workload: dict[str, Any] = field(default_factory=dict)  # spread of stops and working time
    value: dict[str, Any] | None = None  # with a travel price: priority, hours, value of the day
    continuity: dict[str, Any] | None = None  # with preferred agents: the share kept with them
    contact: dict[str, Any] | None = None  # with contact data: expected priority and contacts

    def to_dict(self) -> dict:
        """The route-solution v1 document, with each route's working time, the plan's
        workload spread and, when travel has a price, the value of the day, with preferred
        agents the share of continuity kept, with contact data each stop's chance of contact
        and the plan's expected priority and contacts (fields a v1 checker ignores)."""
        doc = {
            "routes": [
                {
                    "agent": r.agent,
                    "stops": [
                        {"visit": s.visit, "arrival": s.arrival, "start": s.start, "end": s.end, **({"p": s.p} if s.p is not None else {})}
                        for s in r.stops
                    ],
                    "travel_s": r.travel_s,
                    "work_s": r.work_s,
                }
                for r in self.routes
            ],
            "unassigned": [{"visit": u.visit, "reason": u.reason} for u in self.unassigned],
            "travel_s": self.travel_s,
            "solve_s": round(self.solve_s, 3),
            "priority_served": self.priority_served,
            "workload": self.workload,
        }
        if self.value is not None:
            doc["value"] = self.value
        if self.continuity is not None:
            doc["continuity"] = self.continuity
        if self.contact is not None:
            doc["contact"] = self.contact
        return doc


# ---------------------------------------------------------------------------------------
# the chance of contact


# pieces of a visit's windows given to the engines: contact slots whose p differs by less
# than this are one piece
P_STEP = 0.05


@dataclass
class Contact:
    """A visit's chance of contact as a step function of the start time."""

    breaks: np.ndarray  # int64, increasing: the times where p changes
    p: np.ndarray  # float64: p on [breaks[j], breaks[j + 1]); 0 before the first, after the last

    @classmethod
    def of(cls, slots: tuple[tuple[int, int, float], ...]) -> Contact:
        breaks: list[int] = []
        p: list[float] = []
        for a, b, q in slots:
            if breaks and breaks[-1] == a:
                p[-1] = q
            else:  # the first slot, or one after a gap (p 0 in the gap)
                breaks.append(a)
                p.append(q)
            breaks.append(b)
            p.append(0.0)
        return cls(np.array(breaks, dtype=np.int64), np.array(p, dtype=np.float64))

    def at(self, t):
        """p at start time(s) t (a number or an array)."""
        j = np.searchsorted(self.breaks, t, side="right") - 1
        return np.where(j >= 0, self.p[np.maximum(j, 0)], 0.0)

    def pieces(self, windows: tuple[tuple[int, int], ...], keep: float = 0.0) -> list[tuple[int, int, float]]:
        """The windows cut where p changes: (first start, last start, p), keeping the
        pieces with p > 0 and p >= keep x the best p; neighbours within P_STEP merge."""
        out: list[list] = []
        edges = self.breaks.tolist()
        for w0, w1 in windows:
            cuts = [w0] + [b for b in edges if w0 < b <= w1] + [w1 + 1]
            for a, b in zip(cuts, cuts[1:], strict=False):
                q = float(self.at(a))
                if out and out[-1][1] + 1 == a and abs(out[-1][2] - q) < P_STEP:
                    out[-1][1] = b - 1
                else:
                    out.append([a, b - 1, q])
        best = max((q for _, _, q in out), default=0.0)
        return [(a, b, q) for a, b, q in out if q > 0 and q >= keep * best]


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
    pref: np.ndarray  # preferred agent index per visit (-1: none, or not in the problem)
    cont_w: np.ndarray  # seconds of travel worth keeping the visit with that agent (0 without one)
    contact: list[Contact | None] = field(default_factory=list)  # per visit (None: p = 1); [] in a plain problem
    pmax: np.ndarray | None = None  # best p in a window per visit (None in a plain problem)

    @property
    def has_contact(self) -> bool:
        return bool(self.contact)

    def p_at(self, i: int, t: int) -> float:
        """The chance of contact of visit i started at t (1 without contact data)."""
        c = self.contact[i] if self.contact else None
        return 1.0 if c is None else float(c.at(t))

    @property
    def n_agents(self) -> int:
        return len(self.a_start)

    @property
    def n_visits(self) -> int:
        return len(self.loc_v)


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
    a_cap = np.array([NO_CAP if a.max_visits is None else a.max_visits for a in P.agents], dtype=np.int64)
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
    reasons = {i: _reason(P, v, elig[i], windows[i], aidx, a_shift, a_cap) for i, v in enumerate(P.visits) if not feas[i].any()}
    pref = np.array([aidx.get(v.preferred_agent, -1) if v.preferred_agent else -1 for v in P.visits], dtype=np.int64)
    cont_w = np.array([v.continuity_weight for v in P.visits], dtype=np.int64) * (pref >= 0)
    contact: list[Contact | None] = []
    pmax = None
    if P.has_contact:
        contact = [None if v.contact is None else Contact.of(v.contact) for v in P.visits]
        pmax = np.array(
            [1.0 if c is None else max((q for _, _, q in c.pieces(w)), default=0.0) for c, w in zip(contact, windows, strict=True)]
        )
    return Prepared(P, D, feas, reasons, loc_v, service, prio, windows, a_start, a_end, a_shift, a_cap, pref, cont_w, contact, pmax)


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
