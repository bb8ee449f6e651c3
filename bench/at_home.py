"""The chance of finding someone home: planning with the at-home model against the plain
planner and the peers, on simulated days scored by a hidden ground truth.

    python bench/at_home.py                     # 5 seeds of a 10 x 150 day, 10 s each
    python bench/at_home.py --seeds 1,2,3 --size 8x120 --budget 5 --engines ours,vroom,pyvrp
    python bench/routing.py --at-home           # the same, from the routing bench

For each seed:

1. a plain field day from ``gen_problems`` (the peers' generated set);
2. a hidden truth: every debtor is day-home, evening-home or rarely-home (hourly chance of
   contact), shifted by an area effect (the debtor's 2 km grid cell, on the logit scale)
   and a little personal noise;
3. a history drawn from the truth: past attempts at the debtors' doors (a few each, at
   random hours of past weekdays and weekends) and at neighbours' doors, met or not;
4. the estimator (``backend.routing.at_home``) fit on that history gives each visit its
   ``contact`` slots — the planner never sees the truth;
5. at the same budget: our planner on the plain day, our planner with the contact slots,
   and the peers (VROOM, PyVRP, optionally OR-Tools) on the plain day — every plan
   re-checked by the shared ``verify.py``;
6. every plan scored by the hidden truth at its planned starts (a plan without planned
   starts: the earliest, as verify.py times it): expected contacts (the sum of the chances
   of contact) and expected priority met (priority x chance).

Medians over the seeds; the target line: expected contacts with the model >= 1.15 x the
plain planner's.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

TARGET = 1.15
# hidden truth: chance of contact by hour of a weekday for each kind of debtor (share of
# debtors), before the area and personal effects
KINDS = {
    "day-home": (0.45, {range(0, 9): 0.35, range(9, 17): 0.7, range(17, 24): 0.5}),
    "evening-home": (0.35, {range(0, 9): 0.3, range(9, 17): 0.1, range(17, 18): 0.35, range(18, 24): 0.8}),
    "rarely-home": (0.20, {range(0, 24): 0.08}),
}
AREA_SD = 0.6  # logit shift of a 2 km cell
PERSON_SD = 0.3
WEEKEND_LIFT = 0.5  # logit lift at weekends (more people home)
ATTEMPTS_MEAN = 5  # past attempts per debtor of the day
NEIGHBOURS = 3  # past debtors per debtor of the day in the same cells (the area's history)


def _logit(p):
    return np.log(p / (1 - p))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hidden_truth(doc: dict, rng: np.random.Generator) -> tuple[np.ndarray, list, list[str]]:
    """(n_visits, 2, 24) chance of contact (weekday, weekend), each visit's area and kind."""
    from backend.routing.at_home import grid_area

    shares = np.array([s for s, _ in KINDS.values()])
    curves = []
    for _, shape in KINDS.values():
        c = np.zeros(24)
        for hours, p in shape.items():
            c[list(hours)] = p
        curves.append(_logit(c))
    area_shift: dict = {}
    truth, areas, kinds = [], [], []
    names = list(KINDS)
    for v in doc["visits"]:
        lat, lon = doc["locations"][v["location"]]
        area = grid_area(lat, lon)
        if area not in area_shift:
            area_shift[area] = rng.normal(0, AREA_SD)
        k = int(rng.choice(len(shares), p=shares))
        base = curves[k] + area_shift[area] + rng.normal(0, PERSON_SD)
        truth.append(np.stack([_sigmoid(base), _sigmoid(base + WEEKEND_LIFT)]))
        areas.append(area)
        kinds.append(names[k])
    return np.array(truth), areas, kinds


def history(truth: np.ndarray, areas: list, rng: np.random.Generator, attempts_mean: float = ATTEMPTS_MEAN) -> list:
    """Past attempts drawn from the truth: at the debtors' own doors, and at neighbours'
    doors in the same cells (other debtors, drawn like the cell's debtors of the day)."""
    from backend.routing.at_home import Attempt

    out = []

    def attempts(who, curve, n):
        for _ in range(n):
            weekend = rng.random() < 2 / 7
            hour = int(rng.integers(8, 21))
            out.append(Attempt(who, areas_of[who], hour, weekend, bool(rng.random() < curve[int(weekend), hour])))

    areas_of: dict = {}
    for i, curve in enumerate(truth):
        areas_of[i] = areas[i]
        attempts(i, curve, int(rng.poisson(attempts_mean)))
        for j in range(NEIGHBOURS):  # a neighbour: another debtor of the cell, same kinds
            other = truth[int(rng.integers(len(truth)))]
            who = ("n", i, j)
            areas_of[who] = areas[i]
            attempts(who, other, int(rng.poisson(attempts_mean)))
    return out


def with_contact(doc: dict, model, areas: list) -> dict:
    out = json.loads(json.dumps(doc))
    for i, v in enumerate(out["visits"]):
        v["contact"] = model.slots(i, areas[i], weekend=False)
    return out


def score(doc: dict, solution: dict, truth: np.ndarray) -> dict:
    """Expected contacts and priority met under the truth, at each stop's planned start
    when the plan gives one that fits (not before the earliest, inside a window), else
    at the earliest start (verify.py's timing)."""
    D = doc["durations"]
    agents = {a["id"]: a for a in doc["agents"]}
    vidx = {v["id"]: i for i, v in enumerate(doc["visits"])}
    contacts = prio = 0.0
    served = 0
    for r in solution["routes"]:
        a = agents[r["agent"]]
        t, here = a["shift"][0], a["start"]
        for s in r["stops"]:
            sid = s["visit"] if isinstance(s, dict) else s
            i = vidx[sid]
            v = doc["visits"][i]
            t += D[here][v["location"]]
            here = v["location"]
            start = min(max(t, w0) for w0, w1 in v["windows"] if max(t, w0) <= w1)
            planned = s.get("start") if isinstance(s, dict) else None
            if planned is not None and planned >= start and any(w0 <= planned <= w1 for w0, w1 in v["windows"]):
                start = planned
            p = float(truth[i, 0, min(23, start // 3600)])
            contacts += p
            prio += v["priority"] * p
            served += 1
            t = start + v["service"]
    return {"contacts": contacts, "exp_priority": prio, "served": served}


def run_seed(seed: int, na: int, nv: int, budget: float, engines: list[str], verify: Path, workdir: Path,
             attempts_mean: float = ATTEMPTS_MEAN) -> dict:
    from gen_problems import generate
    from routing import run_engine

    from backend.routing.at_home import fit

    rng = np.random.default_rng(1000 + seed)
    doc = generate(na, nv, seed=seed)
    truth, areas, kinds = hidden_truth(doc, rng)
    model = fit(history(truth, areas, rng, attempts_mean))
    plain = workdir / f"athome-{na}x{nv}-s{seed}.json"
    plain.write_text(json.dumps(doc, separators=(",", ":")))
    modelled = workdir / f"athome-{na}x{nv}-s{seed}-model.json"  # the plain day, another name for its plans
    shutil.copy(plain, modelled)
    ours_problem = workdir / f"athome-{na}x{nv}-s{seed}.ours-problem.json"
    ours_problem.write_text(json.dumps(with_contact(doc, model, areas), separators=(",", ":")))
    runs = {}
    for e in engines:
        if e == "ours":
            runs["plain"] = run_engine("ours", plain, budget, verify, workdir)
            runs["model"] = run_engine("ours", modelled, budget, verify, workdir, ours_problem)
            paths = {"plain": workdir / f"{plain.stem}.ours.json", "model": workdir / f"{modelled.stem}.ours.json"}
        else:
            runs[e] = run_engine(e, plain, budget, verify, workdir)
            paths = {e: workdir / f"{plain.stem}.{e}.json"}
        for name, path in paths.items():
            r = runs[name]
            if "error" in r or "skipped" in r or not r.get("feasible"):
                continue
            r.update(score(doc, json.loads(path.read_text()), truth))
    return {"seed": seed, "kinds": {k: kinds.count(k) for k in KINDS}, "attempts": model.attempts, "runs": runs}


def _fmt(r: dict | None) -> str:
    if r is None or "contacts" not in r:
        return "n/a" if r is None else (r.get("error") or r.get("skipped") or "INFEASIBLE")[:40]
    return f"{r['contacts']:.1f} / {r['exp_priority']:,.0f} / {r['priority']:,} / {r['served']}"


def report(rows: list[dict], names: list[str], file=sys.stdout) -> bool:
    print("| seed | " + " | ".join(names) + " | model ÷ plain (contacts, exp. priority) | model ÷ best peer |", file=file)
    print("|---" * (len(names) + 3) + "|", file=file)
    ratios, peer_ratios, exp_ratios, exp_peer = [], [], [], []
    for row in rows:
        runs = row["runs"]
        cells = [_fmt(runs.get(n)) for n in names]
        m, p = runs.get("model", {}), runs.get("plain", {})
        peers = [r for n, r in runs.items() if n not in ("model", "plain") and "contacts" in r]
        rc = re = pc = pe = None
        if "contacts" in m and "contacts" in p:
            rc, re = m["contacts"] / p["contacts"], m["exp_priority"] / p["exp_priority"]
            ratios.append(rc)
            exp_ratios.append(re)
        if "contacts" in m and peers:
            pc = m["contacts"] / max(r["contacts"] for r in peers)
            pe = m["exp_priority"] / max(r["exp_priority"] for r in peers)
            peer_ratios.append(pc)
            exp_peer.append(pe)
        f = (lambda x: "–" if x is None else f"{x:.3f}")
        print(f"| {row['seed']} | " + " | ".join(cells) + f" | {f(rc)}, {f(re)} | {f(pc)}, {f(pe)} |", file=file)
    print("\nCells: expected contacts / expected priority met (hidden truth) / priority served / stops.", file=file)
    if not ratios:
        print("no ratio: a run failed", file=file)
        return False
    med = statistics.median(ratios)
    print(f"\nmedian over {len(ratios)} seeds — model ÷ plain planner: expected contacts {med:.3f}, "
          f"expected priority {statistics.median(exp_ratios):.3f}", file=file)
    if peer_ratios:
        print(f"median — model ÷ best peer (by the same measure): expected contacts {statistics.median(peer_ratios):.3f}, "
              f"expected priority {statistics.median(exp_peer):.3f}", file=file)
    ok = med >= TARGET
    print(f"target: expected contacts with the model >= {TARGET} x the plain planner's: {'PASS' if ok else 'FAIL'} "
          f"({med:.3f})", file=file)
    return ok


def main(argv: list[str] | None = None, verify: Path | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--size", default="10x150", help="agents x visits")
    ap.add_argument("--budget", type=float, default=10.0, help="seconds, every engine alike")
    ap.add_argument("--engines", default="ours,vroom,pyvrp", help="ours runs twice: plain and with the model")
    ap.add_argument("--attempts", type=float, default=ATTEMPTS_MEAN, help="past attempts per debtor (Poisson mean)")
    ap.add_argument("--verify", default=str(verify or ROOT.parent / "shared" / "routing" / "verify.py"))
    ap.add_argument("--out", help="write the raw results as JSON here")
    a = ap.parse_args(argv)
    na, nv = (int(x) for x in a.size.lower().split("x"))
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    verify_path = Path(a.verify).resolve()
    if not verify_path.exists():
        print(f"verify.py not found at {verify_path} (use --verify)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="athome-bench-"))
    names = (["plain", "model"] if "ours" in engines else []) + [e for e in engines if e != "ours"]
    rows = []
    print(f"# at-home bench — {time.strftime('%Y-%m-%d %H:%M')}, {na} x {nv}, {a.budget:g} s, seeds {a.seeds}, "
          f"{a.attempts:g} past attempts per debtor", flush=True)
    try:
        for s in (int(x) for x in a.seeds.split(",")):
            rows.append(run_seed(s, na, nv, a.budget, engines, verify_path, workdir, a.attempts))
            print(f"seed {s}: " + ", ".join(f"{n} {_fmt(rows[-1]['runs'].get(n))}" for n in names), flush=True)
        print()
        ok = report(rows, names)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
