"""The whole problem at once (a day VROOM can still explore in the budget): VROOM on
both cores, then PyVRP warm-started from the best plan."""

from __future__ import annotations

import time

from .model import Routes
from .pool import Search
from .pyvrp_adapter import PYVRP_TUNING
from .schedule import plan_key
from .vroom_adapter import vroom_accepts, vroom_level

# The whole-problem path (PyVRP warm-started from VROOM on a day of a few hundred visits)
# uses a shorter late-acceptance history (the library's default is 300): measured on the
# plain 20x240 day, 7 s from VROOM's plan, eight seeds each: history 50 reached 10,417-10,436
# (mean 10,430) against 10,420-10,435 (mean 10,426) for 300, 10,424-10,429 for 100 and
# 10,413-10,424 for 1,000. Not used when every visit of the day is required (a plain VRPTW on
# travel): st70 at 5 s gave 680 / 675 / 680 with 50 and 675 in four runs of five with 300. The
# tail's travel-only run (required = the visits the best plan serves) keeps it, as measured.
PORTFOLIO_TUNING = {**PYVRP_TUNING, "history": 50}

# Share of the PyVRP phase kept for the last step of the whole-problem path (below).
PORTFOLIO_TAIL = 0.3


def portfolio(S: Search, agents: list[int], visits: list[int], budget: float, init: Routes | None):
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
        if plan_key(prep, cand) > plan_key(prep, S.routes):
            S.routes = cand

    vroom_fits = vroom_accepts(prep)
    # the greedy plan already serves everything: no prize trade-off left, only travel
    # (with a price on travel a visit may still be worth dropping)
    all_fit = not prep.problem.travel_cost and set(visits) <= {i for seq in S.routes.values() for i in seq}
    level = vroom_level(len(visits), 0.8 * budget, threads=W) if vroom_fits else None
    if level is not None:
        S.run(
            [
                dict(
                    kind="vroom",
                    agents=agents,
                    visits=visits,
                    seconds=0.8 * budget,
                    threads=W,
                    level=level,
                    init=init,
                    what=f"vroom L{level}",
                )
            ],
            take,
        )
    left = S.deadline - time.perf_counter()
    if left <= 0.1:
        return
    tail = PORTFOLIO_TAIL if W >= 2 and not all_fit else 0.0
    cur = {k: list(S.routes[k]) for k in agents}
    tuning = PYVRP_TUNING if all_fit else PORTFOLIO_TUNING  # history 50: measured with prizes
    S.run(
        [
            dict(
                kind="pyvrp",
                agents=agents,
                visits=visits,
                seconds=left * (1 - tail),
                seed=S.seed + j,
                init=cur,
                required=all_fit,
                tuning=tuning,
                what=f"pyvrp seed {S.seed + j}",
            )
            for j in range(W)
        ],
        take,
    )
    left = S.deadline - time.perf_counter()
    if not tail or left <= 0.3:
        return
    cur = {k: list(S.routes[k]) for k in agents}
    served = sorted(i for k in agents for i in cur[k])
    S.run(
        [
            dict(
                kind="pyvrp",
                agents=agents,
                visits=visits,
                seconds=left,
                seed=S.seed + W,
                init=cur,
                tuning=PORTFOLIO_TUNING,
                what="pyvrp again",
            ),
            dict(
                kind="pyvrp",
                agents=agents,
                visits=served,
                seconds=left,
                seed=S.seed + W + 1,
                init=cur,
                required=True,
                tuning=PORTFOLIO_TUNING,
                what="pyvrp travel",
            ),
        ],
        take,
    )
