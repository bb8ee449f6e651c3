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

Modules, each importing only from modules listed before it:

* ``model`` — result types; the problem in array form with eligibility (``prepare``);
* ``schedule`` — route schedules, plan figures and rank (``evaluate``), route repair;
* ``insertion`` — greedy cheapest insertion (the floor, and the last pass);
* ``balance`` — the spread of work between agents, and the pass that narrows it;
* ``price`` — the value of a day when travel has a price, and the pass that drops visits
  not worth their detour;
* ``vroom_adapter``, ``pyvrp_adapter`` — one solver library each, on a sub-problem;
* ``tasks`` — one engine job (VROOM, PyVRP or both in a chain) on a sub-problem;
* ``pool`` — forked workers running tasks to a deadline, and the incumbent plan;
* ``territories`` — agent groups, visits to territories, neighbouring pairs;
* ``portfolio``, ``decompose`` — the two strategies;
* ``planner`` — the entry point, ``solve()``.
"""

from ..problem import ProblemError
from .balance import spread
from .model import REASON_CAP, REASON_NO_ROOM, PlannedRoute, Solution, Stop, Unassigned, prepare
from .planner import solve
from .price import day_value
from .schedule import evaluate

__all__ = [
    "solve",
    "Solution",
    "PlannedRoute",
    "Stop",
    "Unassigned",
    "ProblemError",
    "prepare",
    "evaluate",
    "spread",
    "day_value",
    "REASON_CAP",
    "REASON_NO_ROOM",
]
