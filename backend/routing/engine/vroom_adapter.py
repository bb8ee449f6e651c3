"""VROOM (pyvroom) on a sub-problem: fast constructive + local search; models skills,
several time windows, priorities, shifts and ``max_visits`` natively. Pins and skills
are given to it as synthetic skills (one per distinct set of eligible agents). Also the
measured law of its run time, from which the exploration level is chosen.

pyvroom is imported on first use (it brings pandas): importing the engine stays cheap."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .model import NO_CAP, Prepared, Routes

log = logging.getLogger(__name__)

# With contact data VROOM (one priority per job) gets the pieces of a visit's windows where
# the chance of contact is at least this share of its best; PyVRP then refines.
CONTACT_NEAR = 0.85


def vroom_accepts(prep: Prepared) -> bool:
    """VROOM takes durations and times as uint32 (then scales them internally in 64 bits)."""
    lim = 4_000_000_000
    return int(prep.D.max(initial=0)) < lim and int(prep.a_shift.max(initial=0)) < lim and all(w[-1][1] < lim for w in prep.windows)


def run_vroom(
    prep: Prepared,
    agents: Sequence[int],
    visits: Sequence[int],
    seconds: float,
    threads: int = 1,
    exploration: int = 5,
    init: Routes | None = None,
) -> Routes:
    import vroom

    agents = list(agents)
    visits = [int(i) for i in visits if prep.elig[i, agents].any()] if agents else []
    if not agents or not visits:
        return {k: [] for k in agents}
    locs = np.unique(np.r_[prep.a_start[agents], prep.a_end[agents], prep.loc_v[visits]])
    lidx = {int(loc): j for j, loc in enumerate(locs)}
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
            if cap < NO_CAP:
                kw["max_tasks"] = cap
            seq = [i for i in (init or {}).get(k, []) if i in vset]
            if with_steps and seq:
                kw["steps"] = [vroom.VehicleStepStart()] + [vroom.VehicleStepSingle(int(i)) for i in seq] + [vroom.VehicleStepEnd()]
            inp.add_vehicle(
                vroom.Vehicle(
                    int(k),
                    start=lidx[int(prep.a_start[k])],
                    end=lidx[int(prep.a_end[k])],
                    skills=veh_skills[j] or None,
                    time_window=vroom.TimeWindow(int(prep.a_shift[k, 0]), int(prep.a_shift[k, 1])),
                    **kw,
                )
            )
        for r, i in enumerate(visits):
            prio, windows = int(prep.prio[i]), prep.windows[i]
            c = prep.contact[i] if prep.has_contact else None
            if c is not None:  # one priority per job: the windows where p is near its best
                pieces = c.pieces(windows, CONTACT_NEAR)
                if not pieces:
                    continue
                prio = min(100, round(prio * max(q for _, _, q in pieces)))
                windows = tuple((a, b) for a, b, _ in pieces)
            inp.add_job(
                vroom.Job(
                    int(i),
                    location=lidx[int(prep.loc_v[i])],
                    default_service=int(prep.service[i]),
                    priority=prio,
                    time_windows=[vroom.TimeWindow(int(a), int(b)) for a, b in windows],
                    skills={job_skill[r]} if job_skill[r] else None,
                )
            )
        return inp

    t0 = time.perf_counter()
    with_steps = bool(init) and any(init.get(k) for k in agents)
    try:
        inp = build(with_steps)
        sol = inp.solve(exploration_level=exploration, nb_threads=threads, timeout=datetime.timedelta(seconds=max(0.05, seconds)))
    except Exception:
        if not with_steps:
            raise
        log.debug("VROOM refused the initial routes; solving without", exc_info=True)
        left = seconds - (time.perf_counter() - t0)
        sol = build(False).solve(exploration_level=exploration, nb_threads=threads, timeout=datetime.timedelta(seconds=max(0.05, left)))
    arr = np.asarray(sol._routes_numpy())
    out: Routes = {k: [] for k in agents}
    for vid, typ, jid in zip(arr["vehicle_id"], arr["type"], arr["id"], strict=True):
        if typ in (b"job", "job"):
            out[int(vid)].append(int(jid))
    return out


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
