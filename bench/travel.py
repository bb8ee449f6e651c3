"""Travel matrix speed: the planner's whole-matrix haversine against geopy's per-pair great
circle, in the same run, on the same points.

    .venv/bin/python bench/travel.py [--points 500 1000 3000] [--repeat 5]

For each size it prints the median time of ``travel_matrix`` (all n x n pairs at once), the
time geopy takes per pair (measured on a 150-point subset, so the run stays short) scaled to
n x n, their ratio, and the largest difference between the two in metres. A 3,000-point day
must stay a fraction of a second: it is built before every solve.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from geopy.distance import great_circle

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.routing.travel import km_matrix, travel_matrix  # noqa: E402 (the repository root goes on the path first)

SUBSET = 150


def points(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.c_[31 + rng.random(n) * 0.5, 121 + rng.random(n) * 0.5]


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def geopy_matrix(pts: np.ndarray) -> np.ndarray:
    return np.array([[great_circle(a, b).km for b in pts] for a in pts])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, nargs="+", default=[500, 1000, 3000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    sub = points(SUBSET)
    per_pair = median_seconds(lambda: geopy_matrix(sub), max(1, args.repeat // 2)) / SUBSET**2
    diff_m = float(np.abs(km_matrix(sub) - geopy_matrix(sub)).max() * 1000)
    print(f"geopy great_circle: {per_pair * 1e6:.2f} µs a pair (median over a {SUBSET}-point matrix); "
          f"largest difference from the planner's matrix {diff_m:.4f} m")
    print(f"{'points':>7} {'planner s':>10} {'geopy s (scaled)':>17} {'ratio':>8}")
    for n in args.points:
        pts = points(n)
        ours = median_seconds(lambda pts=pts: travel_matrix(pts), args.repeat)
        theirs = per_pair * n * n
        print(f"{n:>7} {ours:>10.3f} {theirs:>17.1f} {theirs / ours:>7.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
