"""Seeded generator of clustered field-visit days in route-problem v1 format.

Modelled on the shared samples (Shanghai-like city, agents leaving from branch offices,
visits clustered in neighbourhoods around the branches, 30–60 min at the door, legal
visiting hours 08:00–21:00 with morning / evening availability, priority 1–100,
max 14 visits a day, 9-hour shifts). One branch per ~10 agents; the area grows with
the number of branches so that density stays like the 30 × 360 sample.

``plain`` days (the PEERS.md generated set) have no skills, pins or second windows;
``rich=True`` adds them in the samples' proportions.

    python bench/gen_problems.py 20 240 --seed 7 [--rich] > day.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.routing.travel import km_matrix  # noqa: E402 (the repository root goes on the path first)

CENTER = (31.23, 121.47)
KM_PER_DEG_LAT = 111.2

SHIFTS = [((32400, 64800), 0.6), ((43200, 75600), 0.2), ((28800, 61200), 0.2)]
SERVICES = [1800, 2400, 2700, 3600]
ALL_DAY, MORNING, EVENING = (28800, 75600), (32400, 43200), (64800, 75600)


def _km_to_deg(lat: float, dx_km: np.ndarray, dy_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return dy_km / KM_PER_DEG_LAT, dx_km / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))


def generate(n_agents: int, n_visits: int, seed: int = 0, rich: bool = False,
             circuity: float = 1.3, speed_kmh: float = 25.0, with_durations: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    n_branches = max(1, round(n_agents / 10))
    # city radius: ~22 km for up to 3 branches, growing with sqrt(branches) beyond
    radius_km = 22.0 * math.sqrt(max(1.0, n_branches / 3))
    # branch offices: spread over the inner part of the area, not too close to each other
    branches: list[tuple[float, float]] = []
    min_gap = radius_km * 1.2 / math.sqrt(n_branches) if n_branches > 1 else 0
    while len(branches) < n_branches:
        r = radius_km * 0.75 * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        x, y = r * math.cos(a), r * math.sin(a)
        if all(math.hypot(x - bx, y - by) >= min_gap for bx, by in branches) or rng.random() < 0.02:
            branches.append((x, y))
    # agents split over branches as evenly as possible
    agent_branch = np.sort(np.arange(n_agents) % n_branches)
    # neighbourhood hot spots around each branch
    spots: list[tuple[float, float, float, int]] = []  # x, y, sigma, branch
    for b, (bx, by) in enumerate(branches):
        for _ in range(rng.integers(3, 7)):
            r = 12.0 * math.sqrt(rng.random())
            a = rng.random() * 2 * math.pi
            spots.append((bx + r * math.cos(a), by + r * math.sin(a), 1.5 + 2.5 * rng.random(), b))
    agents_per_branch = np.bincount(agent_branch, minlength=n_branches).astype(float)
    spot_w = np.array([agents_per_branch[s[3]] for s in spots])
    spot_w /= spot_w.sum()
    vx = np.empty(n_visits)
    vy = np.empty(n_visits)
    for i in range(n_visits):
        if rng.random() < 0.15:  # scattered cases anywhere in the area
            r = radius_km * math.sqrt(rng.random())
            a = rng.random() * 2 * math.pi
            vx[i], vy[i] = r * math.cos(a), r * math.sin(a)
        else:
            x, y, s, _ = spots[rng.choice(len(spots), p=spot_w)]
            vx[i], vy[i] = x + rng.normal(0, s), y + rng.normal(0, s)
    bxy = np.array(branches)
    lat0, lon0 = CENTER
    dlat, dlon = _km_to_deg(lat0, np.r_[bxy[:, 0], vx], np.r_[bxy[:, 1], vy])
    locations = np.c_[lat0 + dlat, lon0 + dlon].round(6)

    agents = []
    for k in range(n_agents):
        shift = SHIFTS[rng.choice(len(SHIFTS), p=[s[1] for s in SHIFTS])][0]
        b = int(agent_branch[k])
        a = {"id": f"A{k + 1}", "start": b, "end": b, "shift": list(shift), "max_visits": 14}
        if rich:
            u = rng.random()
            a["skills"] = (["dialect"] if u < 0.17 else ["legal"] if u < 0.24
                           else ["legal", "dialect"] if u < 0.34 else [])
        agents.append(a)
    visits = []
    for i in range(n_visits):
        u = rng.random()
        if rich and u < 0.14:
            windows = [list(MORNING), list(EVENING)]
        elif u < 0.6:
            windows = [list(ALL_DAY)]
        elif u < 0.8:
            windows = [list(EVENING)]
        else:
            windows = [list(MORNING)]
        v = {"id": f"V{i + 1}", "location": n_branches + i, "service": int(rng.choice(SERVICES)),
             "windows": windows, "priority": int(rng.integers(1, 101))}
        if rich:
            u = rng.random()
            v["skills"] = ["dialect"] if u < 0.04 else ["legal"] if u < 0.085 else []
            if rng.random() < 0.05:
                cand = [a["id"] for a in agents if set(v["skills"]) <= set(a["skills"])]
                v["agent"] = str(rng.choice(cand)) if cand else None
        visits.append(v)
    doc = {"version": 1, "name": f"field-{n_agents}x{n_visits}-s{seed}{'-rich' if rich else ''}",
           "locations": locations.tolist()}
    if with_durations:
        doc["durations"] = _durations(locations, rng, circuity, speed_kmh).tolist()
    doc["agents"] = agents
    doc["visits"] = visits
    return doc


def _durations(locations: np.ndarray, rng: np.random.Generator, circuity: float,
               speed_kmh: float) -> np.ndarray:
    """Model travel times with a little symmetric street-network noise (+0–8 %)."""
    km = km_matrix(locations)
    noise = rng.uniform(1.0, 1.08, size=km.shape)
    noise = np.triu(noise, 1)
    noise = noise + noise.T + np.eye(len(km))
    s = np.rint(km * circuity / speed_kmh * 3600.0 * noise).astype(np.int64)
    np.fill_diagonal(s, 0)
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("agents", type=int)
    ap.add_argument("visits", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rich", action="store_true", help="add skills, pins and second windows")
    ap.add_argument("--no-durations", action="store_true", help="leave the matrix to the planner")
    a = ap.parse_args(argv)
    json.dump(generate(a.agents, a.visits, a.seed, a.rich, with_durations=not a.no_durations),
              sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
