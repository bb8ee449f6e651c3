"""Command line: plan a route problem, or fill in its travel times.

    python -m backend.routing solve PROBLEM.json [--seconds T] > SOLUTION.json
    python -m backend.routing fill PROBLEM.json > WITH_DURATIONS.json

``solve`` prints one route-solution v1 document on stdout and exits 0 within T seconds
of wall time (default 10), start-up included: the budget counts from the moment the
process started (Linux: its start time in /proc/self/stat), so interpreter start-up,
package imports and reading the file come out of the solver's time. A problem that
cannot be read or is invalid: a message on stderr, exit status 2.

Visits may carry ``contact`` slots, the chance of finding someone home by hour
(docs/routing.md): the plan then maximises the expected priority met, and the output
gives each stop's ``p`` and the plan's ``contact`` figures (expected priority and
contacts); ``--ignore-contact`` plans the plain way, as if the slots were absent.

``fill`` prints the problem with ``durations`` computed by the travel model (haversine x
circuity / speed, or the road table service with --osrm-url) — what the planner uses when
the problem has none, so that any checker can score the plan on the same matrix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

# what is left of the budget after the solver returns: printing the plan and leaving
EXIT_S = 0.05
EXIT_S_PER_VISIT = 0.00002


def process_age() -> float:
    """Seconds since this process started (0 where /proc is not available).

    Field 22 of /proc/self/stat is the start time in clock ticks since boot (counted on
    the boot-time clock); the fields are counted after the command name's ')'."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            stat = fh.read()
        start = int(stat[stat.rindex(b")") + 2 :].split()[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - start)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return v


def _share(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1, got {text!r}")
    return v


def _points(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= v < float("inf"):
        raise argparse.ArgumentTypeError(f"must be >= 0 points per hour, got {text!r}")
    return v


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m backend.routing", description="Doorstep route planner (route-problem v1 → route-solution v1)."
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="{solve,fill}")
    s = sub.add_parser("solve", help="plan the day; prints route-solution v1 JSON")
    s.add_argument("problem", help="route-problem v1 JSON file")
    s.add_argument("--seconds", type=_positive, default=10.0, help="wall-time budget (default 10)")
    s.add_argument("--warm-start", metavar="SOLUTION.json", help="a previous plan to start from")
    s.add_argument("--workers", type=int, default=None, help="processes (default: up to 2 cores)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--strategy", choices=("auto", "portfolio", "decompose"), default="auto")
    s.add_argument("--stats", action="store_true", help="engine figures on stderr")
    s.add_argument(
        "--balance",
        choices=("stops", "duration"),
        default=None,
        help='balance work by stops or working time (sets the problem\'s "balance")',
    )
    s.add_argument("--max-loss", type=_share, default=None, help="share of the best priority the balance may give up (default 0.01)")
    s.add_argument(
        "--travel-cost", type=_points, default=None, help='price of travel in priority points per hour driven (sets "travel_cost")'
    )
    s.add_argument("--ignore-contact", action="store_true", help="plan without the visits' contact slots (priority, not expected priority)")
    _travel_args(s)
    f = sub.add_parser("fill", help="print the problem with durations from the travel model")
    f.add_argument("problem", help="route-problem v1 JSON file")
    f.add_argument("--force", action="store_true", help="replace durations already present")
    _travel_args(f)
    return ap


def _travel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--circuity", type=_positive, default=None, help="road km / straight km (1.3)")
    p.add_argument("--speed-kmh", type=_positive, default=None, help="average speed (25)")
    p.add_argument("--osrm-url", default=None, help="OSRM-style /table service base URL")


def _settings(a: argparse.Namespace):
    from .travel import TravelSettings

    kw = {}
    if a.circuity is not None:
        kw["circuity"] = a.circuity
    if a.speed_kmh is not None:
        kw["speed_kmh"] = a.speed_kmh
    if a.osrm_url:
        kw["osrm_url"] = a.osrm_url
    try:
        return TravelSettings(**kw)
    except ValueError as e:
        raise SystemExit(_fail(str(e))) from e


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """``started``: perf_counter() time from which the budget counts (default: now; the
    command line passes the process start)."""
    t0 = time.perf_counter() if started is None else started
    a = _parser().parse_args(argv)  # usage errors: exit 2 (argparse)
    from .problem import ProblemError, load_problem

    try:
        problem = load_problem(a.problem)
    except ProblemError as e:
        return _fail(str(e))
    settings = _settings(a)
    if a.command == "fill":
        from .travel import travel_matrix

        doc = problem.to_dict()
        if problem.durations is None or a.force:
            doc["durations"] = travel_matrix(problem.locations, settings).tolist()
        if problem.name is None:
            doc.pop("name", None)
        doc.update(problem.extra)
        json.dump(doc, sys.stdout, separators=(",", ":"), ensure_ascii=False)
        sys.stdout.write("\n")
        return 0

    from .engine import solve
    from .problem import Balance

    if a.balance or a.max_loss is not None:
        base = problem.balance or Balance()
        problem.balance = Balance(a.balance or base.by, base.max_loss if a.max_loss is None else a.max_loss)
    if a.travel_cost is not None:
        problem.travel_cost = a.travel_cost
    if a.ignore_contact:
        problem.visits = [replace(v, contact=None) for v in problem.visits]
    warm = None
    if a.warm_start:
        try:
            with open(a.warm_start, encoding="utf-8") as fh:
                warm = json.load(fh)
        except (OSError, ValueError) as e:
            return _fail(f"{a.warm_start}: cannot read the warm start ({e})")
    left = a.seconds - (time.perf_counter() - t0) - EXIT_S - EXIT_S_PER_VISIT * len(problem.visits)
    sol = solve(problem, seconds=max(0.1, left), warm_start=warm, travel=settings, workers=a.workers, seed=a.seed, strategy=a.strategy)
    json.dump(sol.to_dict(), sys.stdout, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
    if a.stats:
        print(json.dumps({k: v for k, v in sol.stats.items() if k != "tasks"}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    rc = main(started=time.perf_counter() - process_age())
    sys.stdout.flush()
    sys.stderr.flush()
    # nothing is left to clean up (the workers are joined, the plan is written): skip the
    # interpreter's teardown of what the backend package imports (Flask, SQLAlchemy,
    # pandas through pyvroom) — 0.2-0.35 s measured, which would come after the budget
    os._exit(rc)
