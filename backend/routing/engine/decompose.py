"""A big day by territories: each territory solved on its own (VROOM → PyVRP), then
pairs of neighbouring territories re-solved together, warm-started from the incumbent,
so that visits move across borders."""

from __future__ import annotations

import time

import numpy as np

from .model import Routes
from .pool import Search
from .schedule import plan_key
from .territories import assign_visits, neighbour_pairs

DECOMPOSE_TUNING = {"phase1": 0.5, "pair_neighbours": 3}


def decompose(S: Search, terrs: list[list[int]], budget: float, init: Routes | None, owner: np.ndarray | None = None):
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
        return dict(kind="chain", agents=terrs[t], visits=vis, seconds=per1, seed=S.seed + t, init=ini, what=f"T{t}")

    def accept(task: dict, res: dict) -> None:
        agents = task["agents"]
        cur = {k: S.routes[k] for k in agents}
        new = res["routes"]
        if plan_key(prep, new) > plan_key(prep, cur):
            for k in agents:
                S.routes[k] = list(new.get(k, []))
                for i in S.routes[k]:
                    owner[i] = terr_of_agent[k]

    # sizes first so the two workers end together
    order = sorted(range(T), key=lambda t: -int((owner == t).sum()))
    S.run([terr_task(t) for t in order], accept)
    # phase 2: neighbouring pairs, warm-started from the incumbent, round-robin until time
    pairs = neighbour_pairs(prep, terrs, DECOMPOSE_TUNING["pair_neighbours"])
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
        return dict(
            kind="pyvrp",
            agents=agents,
            visits=vis,
            seconds=per2,
            seed=S.seed + 1000 + it[0],
            init={k: list(S.routes[k]) for k in agents},
            what=f"T{a}+T{b}",
            pair=(a, b),
        )

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
