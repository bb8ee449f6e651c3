"""One engine job on a sub-problem, as a worker process (or the planner inline) runs it:
VROOM, PyVRP, or the chain of both (PyVRP from the better of VROOM's plan and the warm
start). Every candidate is ranked with the shared schedule arithmetic."""

from __future__ import annotations

import time

from .model import Prepared, Routes
from .pyvrp_adapter import run_pyvrp
from .schedule import make_feasible, plan_key
from .vroom_adapter import run_vroom, vroom_accepts, vroom_level

# VROOM's part of a chain task's time; PyVRP gets the rest
CHAIN_VROOM_SHARE = 0.5


def run_task(prep: Prepared, task: dict) -> dict:
    """One engine job on a sub-problem. Task keys: kind ('chain' | 'pyvrp' | 'vroom'),
    agents, visits, seconds, seed, init (Routes or None), level (VROOM exploration; None:
    by size), threads (VROOM), required and tuning (PyVRP)."""
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
    if kind in ("chain", "vroom") and vroom_accepts(prep):
        share = seconds if kind == "vroom" else seconds * CHAIN_VROOM_SHARE
        level = task.get("level")
        if level is None:
            level = vroom_level(len(visits), share, threads)
        if level is not None:
            r = run_vroom(prep, agents, visits, share, threads, level, init)
            cands.append(("vroom", r))
            if start is None or plan_key(prep, r) > plan_key(prep, start):
                start = r
    if kind in ("chain", "pyvrp"):
        left = seconds - (time.perf_counter() - t0)
        if left > 0.05:
            servable = {int(i) for i in visits if prep.elig[i, agents].any()}
            # a start serving everything makes every visit required — unless travel has a
            # price, when a visit may still be worth dropping
            required = bool(task.get("required")) or (
                not prep.problem.travel_cost and bool(start) and servable == {i for seq in start.values() for i in seq}
            )
            cands.append(("pyvrp", run_pyvrp(prep, agents, visits, left, seed, start, required, task.get("tuning"))))
    best_name, best = max(cands, key=lambda c: plan_key(prep, c[1])) if cands else ("none", {})
    return {"routes": best, "engine": best_name, "wall": time.perf_counter() - t0, "keys": {n: plan_key(prep, r) for n, r in cands}}
