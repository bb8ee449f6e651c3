"""Routing benchmark: our planner against peer engines at the same wall budget.

    python bench/routing.py                      # samples + 5x60, 20x240, 60x720, 200x2400 + TSPLIB
    python bench/routing.py --quick              # samples 1x12 / 8x96, 5x60, 20x240, TSPLIB
    python bench/routing.py --sizes 60x720 --repeat 3 --engines ours,pyvrp
    python bench/routing.py --ortools            # add the OR-Tools peer
    python bench/routing.py --at-home            # the at-home model on simulated days (bench/at_home.py)

Engines (each run in its own subprocess, one after the other, so that wall time and
peak RSS are per engine):

* ours   — ``python -m backend.routing solve P --seconds T`` as its own subprocess: the
           wall time is the whole process from launch to exit (interpreter start-up,
           imports, reading the file, solving, printing). Memory is sampled from /proc
           every 0.1 s over the process tree: the planner's peak RSS (VmHWM), the largest
           worker's, and the peak of the tree's summed RSS and PSS at one instant.
* vroom  — VROOM through pyvroom, exploration 5, 2 threads, timeout = budget; skills as
           VROOM skills, pins as one extra skill per agent, several windows natively.
* pyvrp  — PyVRP 0.14 Model API, optional clients with prize = priority x 100,000,
           MaxRuntime(budget), capacity = max_visits (plain problems only: it does not model
           skills, pins or several windows directly — the same rule as PEERS.md).
* ortools — OR-Tools routing, parallel cheapest insertion + guided local search,
           disjunction penalty = priority x 100,000, allowed vehicles for skills/pins.

Peers' wall time is measured from the problem already parsed (JSON loading excluded) to
their solution; ours is the whole command, start-up and reading the file included. Every plan is re-checked by the shared
``verify.py`` (subprocess); infeasible plans are flagged and never counted as best.

The machine is shared: the load average is printed with every problem; use --repeat to
quote medians.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
SHARED = ROOT.parent / "shared" / "routing"
DEFAULT_VERIFY = ROOT / ".." / "shared" / "routing" / "verify.py"

SAMPLES = [("sample-1x12.json", 2.0), ("sample-8x96-rich.json", 10.0), ("sample-30x360-rich.json", 30.0)]
SIZES = {"5x60": 5.0, "20x240": 10.0, "60x720": 30.0, "200x2400": 30.0}
QUICK_SAMPLES = SAMPLES[:2]
QUICK_SIZES = ["5x60", "20x240"]
TSPLIB_BUDGET = 5.0
PRIZE = 100_000


# ---------------------------------------------------------------------------------------
# peers (run inside the runner subprocess)


def _plain(problem: dict) -> bool:
    return not any(v.get("skills") or v.get("agent") or len(v["windows"]) > 1 for v in problem["visits"])


def peer_vroom(problem: dict, seconds: float) -> dict:
    import datetime

    import numpy as np
    import vroom

    agents, visits = problem["agents"], problem["visits"]
    skill_id: dict[str, int] = {}
    for x in agents + visits:
        for s in x.get("skills") or []:
            skill_id.setdefault(s, len(skill_id) + 1)
    pin_base = len(skill_id) + 1
    inp = vroom.Input()
    inp.set_durations_matrix("car", np.asarray(problem["durations"], dtype=np.uint32))
    for k, a in enumerate(agents):
        skills = {skill_id[s] for s in a.get("skills") or []} | {pin_base + k}
        kw = {"max_tasks": a["max_visits"]} if a.get("max_visits") is not None else {}
        inp.add_vehicle(vroom.Vehicle(k, start=a["start"], end=a["end"], skills=skills,
                                      time_window=vroom.TimeWindow(*a["shift"]), **kw))
    aidx = {a["id"]: k for k, a in enumerate(agents)}
    for i, v in enumerate(visits):
        skills = {skill_id[s] for s in v.get("skills") or []}
        if v.get("agent"):
            skills.add(pin_base + aidx.get(v["agent"], 10**6))
        inp.add_job(vroom.Job(i, location=v["location"], default_service=v.get("service", 0),
                              priority=v.get("priority", 1),
                              time_windows=[vroom.TimeWindow(*w) for w in sorted(v["windows"])],
                              skills=skills or None))
    sol = inp.solve(exploration_level=5, nb_threads=2, timeout=datetime.timedelta(seconds=seconds))
    arr = np.asarray(sol._routes_numpy())
    routes: dict[int, list[int]] = {}
    for vid, typ, jid in zip(arr["vehicle_id"], arr["type"], arr["id"]):
        if typ in (b"job", "job"):
            routes.setdefault(int(vid), []).append(int(jid))
    return _solution(problem, routes)


def peer_pyvrp(problem: dict, seconds: float) -> dict:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    agents, visits = problem["agents"], problem["visits"]
    D = problem["durations"]
    m = pyvrp.Model()
    locs = [m.add_location(x=lon, y=lat) for lat, lon in problem["locations"]]
    dep_of: dict[int, object] = {}
    for a in agents:
        for l in (a["start"], a["end"]):
            if l not in dep_of:
                dep_of[l] = m.add_depot(locs[l])
    cl_loc = {i: v["location"] for i, v in enumerate(visits)}
    cap = any(a.get("max_visits") is not None for a in agents)
    clients = []
    for i, v in enumerate(visits):
        (w0, w1), = v["windows"]
        clients.append(m.add_client(locs[cl_loc[i]], delivery=[1] if cap else [],
                                    service_duration=v.get("service", 0), tw_early=w0, tw_late=w1,
                                    prize=v.get("priority", 1) * PRIZE, required=False))
    for a in agents:
        m.add_vehicle_type(num_available=1, capacity=[a["max_visits"] if a.get("max_visits") is not None
                                                      else len(visits)] if cap else [],
                           start_depot=dep_of[a["start"]], end_depot=dep_of[a["end"]],
                           tw_early=a["shift"][0], tw_late=a["shift"][1])
    used = sorted(set(dep_of) | set(cl_loc.values()))
    for i in used:
        row = D[i]
        for j in used:
            if i != j:
                m.add_edge(locs[i], locs[j], distance=row[j], duration=row[j])
    res = m.solve(stop=MaxRuntime(seconds), seed=1, display=False)
    routes: dict[int, list[int]] = {}
    if res.best.is_feasible():
        for r in res.best.routes():
            routes[r.vehicle_type()] = [act.idx for act in r if act.is_client()]
    return _solution(problem, routes)


def peer_ortools(problem: dict, seconds: float) -> dict:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    agents, visits = problem["agents"], problem["visits"]
    D = problem["durations"]
    nA, nV = len(agents), len(visits)
    # nodes: visits 0..nV-1, then per agent a start and an end node
    node_loc = [v["location"] for v in visits]
    starts, ends = [], []
    for a in agents:
        starts.append(len(node_loc)); node_loc.append(a["start"])
        ends.append(len(node_loc)); node_loc.append(a["end"])
    man = pywrapcp.RoutingIndexManager(len(node_loc), nA, starts, ends)
    rm = pywrapcp.RoutingModel(man)
    service = [v.get("service", 0) for v in visits] + [0] * (2 * nA)

    def transit(i, j):
        a, b = man.IndexToNode(i), man.IndexToNode(j)
        return D[node_loc[a]][node_loc[b]] + service[a]

    cb = rm.RegisterTransitCallback(transit)
    rm.SetArcCostEvaluatorOfAllVehicles(rm.RegisterTransitCallback(
        lambda i, j: D[node_loc[man.IndexToNode(i)]][node_loc[man.IndexToNode(j)]]))
    horizon = max(max(a["shift"][1] for a in agents), max(w[1] for v in visits for w in v["windows"])) + 1
    rm.AddDimension(cb, horizon, horizon, False, "time")
    tdim = rm.GetDimensionOrDie("time")
    aidx = {a["id"]: k for k, a in enumerate(agents)}
    for i, v in enumerate(visits):
        idx = man.NodeToIndex(i)
        ws = sorted(v["windows"])
        tdim.CumulVar(idx).SetRange(ws[0][0], ws[-1][1])
        for (a0, a1), (b0, b1) in zip(ws, ws[1:]):
            if a1 + 1 <= b0 - 1:
                tdim.CumulVar(idx).RemoveInterval(a1 + 1, b0 - 1)
        rm.AddDisjunction([idx], v.get("priority", 1) * PRIZE)
        allowed = [k for k, a in enumerate(agents) if set(v.get("skills") or []) <= set(a.get("skills") or [])]
        if v.get("agent"):
            allowed = [k for k in allowed if k == aidx.get(v["agent"])]
        if not allowed:
            rm.ActiveVar(idx).SetValue(0)  # nobody may serve it
        elif len(allowed) < nA:
            rm.VehicleVar(idx).SetValues([-1] + allowed)  # -1: unperformed
    for k, a in enumerate(agents):
        tdim.CumulVar(rm.Start(k)).SetRange(a["shift"][0], a["shift"][1])
        tdim.CumulVar(rm.End(k)).SetRange(a["shift"][0], a["shift"][1])
    if any(a.get("max_visits") is not None for a in agents):
        one = rm.RegisterUnaryTransitCallback(lambda i: 1 if man.IndexToNode(i) < nV else 0)
        rm.AddDimensionWithVehicleCapacity(
            one, 0, [a["max_visits"] if a.get("max_visits") is not None else nV for a in agents], True, "count")
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    p.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = rm.SolveWithParameters(p)
    routes: dict[int, list[int]] = {}
    if sol:
        for k in range(nA):
            i = rm.Start(k)
            seq = []
            while not rm.IsEnd(i):
                n = man.IndexToNode(i)
                if n < nV:
                    seq.append(n)
                i = sol.Value(rm.NextVar(i))
            routes[k] = seq
    return _solution(problem, routes)


def _solution(problem: dict, routes: dict[int, list[int]]) -> dict:
    agents, visits = problem["agents"], problem["visits"]
    served = {i for seq in routes.values() for i in seq}
    return {
        "routes": [{"agent": agents[k]["id"], "stops": [{"visit": visits[i]["id"]} for i in seq]}
                   for k, seq in sorted(routes.items())],
        "unassigned": [{"visit": v["id"], "reason": "not served"} for i, v in enumerate(visits) if i not in served],
    }


PEERS = {"vroom": peer_vroom, "pyvrp": peer_pyvrp, "ortools": peer_ortools}


def _peak_rss_mb() -> float:
    """This process's peak RSS since its exec (VmHWM; ru_maxrss would include the
    benchmark driver's memory, which Linux carries across exec)."""
    peak_kb = _proc_kb("/proc/self/status", ("VmHWM",)).get("VmHWM")
    return peak_kb / 1024 if peak_kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _runner(engine: str, problem_path: str, out_path: str, seconds: float) -> None:
    """Subprocess body for a peer: run it, write its plan, print its figures as JSON."""
    t_start = time.perf_counter()
    with open(problem_path) as fh:
        problem = json.load(fh)
    if engine == "pyvrp" and not _plain(problem):
        print(json.dumps({"skipped": "PyVRP does not model skills, pins or several windows"}))
        return
    t0 = time.perf_counter()
    sol = PEERS[engine](problem, seconds)
    wall = time.perf_counter() - t0
    sol["solve_s"] = wall
    with open(out_path, "w") as fh:
        json.dump(sol, fh)
    print(json.dumps({"wall_s": wall, "process_s": time.perf_counter() - t_start,
                      "rss_mb": _peak_rss_mb()}))


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    out = [pid]
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as fh:
                for c in fh.read().split():
                    out += _tree(int(c))
    except OSError:
        pass
    return out


def _proc_kb(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    got: dict[str, int] = {}
    try:
        with open(path) as fh:
            for line in fh:
                k = line.split(":", 1)[0]
                if k in keys:
                    got[k] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return got


def run_ours(problem_path: Path, out: Path, seconds: float) -> dict:
    """Our command line as one subprocess: wall from launch to exit, memory sampled."""
    cmd = [sys.executable, "-m", "backend.routing", "solve", str(problem_path), "--seconds", str(seconds)]
    hwm: dict[int, int] = {}  # pid -> peak RSS (VmHWM) seen, kB
    tree_rss = tree_pss = 0
    t0 = time.perf_counter()
    with open(out, "w") as fh, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=fh, stderr=err, cwd=ROOT)
        while True:
            try:
                p.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            rss = pss = 0
            for pid in _tree(p.pid):
                st = _proc_kb(f"/proc/{pid}/status", ("VmHWM", "VmRSS"))
                if "VmHWM" in st:
                    hwm[pid] = max(hwm.get(pid, 0), st["VmHWM"])
                rss += st.get("VmRSS", 0)
                pss += _proc_kb(f"/proc/{pid}/smaps_rollup", ("Pss",)).get("Pss", 0)
            tree_rss, tree_pss = max(tree_rss, rss), max(tree_pss, pss)
        wall = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read()
    if p.returncode != 0:
        raise RuntimeError((stderr.strip().splitlines() or ["failed"])[-1][:200])
    # VmHWM is each process's own high-water mark, so a sample taken after the peak still
    # sees it; only growth in the last 0.1 s before a process exits can be missed
    planner = hwm.get(p.pid, 0)
    workers = max((v for k, v in hwm.items() if k != p.pid), default=0)
    return {"wall_s": wall, "process_s": wall, "rss_mb": planner / 1024, "rss_workers_mb": workers / 1024,
            "tree_rss_mb": tree_rss / 1024, "tree_pss_mb": tree_pss / 1024}


# ---------------------------------------------------------------------------------------
# driver


def _spread(values: list[float]) -> dict:
    lo, hi = min(values), max(values)
    mean = statistics.fmean(values)
    return {"max_min": (hi / lo if lo else None) if hi else 1.0,
            "cv": statistics.pstdev(values) / mean if mean else 0.0}


def workload(problem: dict, solution: dict) -> dict:
    """Spread of stops and of working time (travel + time at the door) between the
    problem's agents, recomputed from the problem's matrix for every engine alike."""
    D = problem["durations"]
    visits = {v["id"]: v for v in problem["visits"]}
    by_agent = {r["agent"]: [s["visit"] for s in r["stops"]] for r in solution["routes"]}
    stops, work = [], []
    for a in problem["agents"]:
        seq = [visits[v] for v in by_agent.get(a["id"], [])]
        nodes = [a["start"]] + [v["location"] for v in seq] + [a["end"]]
        travel = sum(D[x][y] for x, y in zip(nodes, nodes[1:])) if seq else 0
        stops.append(len(seq))
        work.append(travel + sum(v.get("service", 0) for v in seq))
    out = {"stops": _spread(stops), "work": _spread(work)}
    prefs = [(v.get("preferred_agent"), a) for a, seq in by_agent.items() for v in map(visits.get, seq)
             if v.get("preferred_agent")]
    if prefs:
        out["continuity"] = sum(1 for want, got in prefs if want == got) / len(prefs)
    return out


def with_preferences(doc: dict, weight: int, seed: int) -> dict:
    """Each visit prefers an agent of its nearest start site (its branch), drawn at random:
    who met the debtor last."""
    import random

    rng = random.Random(seed)
    D = doc["durations"]
    starts: dict[int, list[str]] = {}
    for a in doc["agents"]:
        starts.setdefault(a["start"], []).append(a["id"])
    for v in doc["visits"]:
        site = min(starts, key=lambda s: D[s][v["location"]])
        v["preferred_agent"] = rng.choice(starts[site])
        v["continuity_weight"] = weight
    return doc


def run_engine(engine: str, problem_path: Path, seconds: float, verify: Path, workdir: Path,
               ours_path: Path | None = None) -> dict:
    """``ours_path``: the problem with our extra fields (balance, travel price); peers and
    the checker get the plain one."""
    out = workdir / f"{problem_path.stem}.{engine}.json"
    if engine == "ours":
        try:
            fig = run_ours(ours_path or problem_path, out, seconds)
        except RuntimeError as e:
            return {"engine": engine, "error": str(e)}
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "_run", engine, str(problem_path), str(out),
               str(seconds)]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 4 + 120, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return {"engine": engine, "error": "timed out"}
        outer = time.perf_counter() - t0
        if p.returncode != 0:
            return {"engine": engine, "error": (p.stderr.strip().splitlines() or ["failed"])[-1][:200]}
        fig = json.loads(p.stdout.strip().splitlines()[-1])
        if "skipped" in fig:
            return {"engine": engine, "skipped": fig["skipped"]}
        fig["outer_s"] = outer
    v = subprocess.run([sys.executable, str(verify), str(problem_path), str(out)], capture_output=True, text=True)
    try:
        m = json.loads(v.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"engine": engine, "error": f"verify failed: {v.stderr.strip()[-200:]}"}
    fig.update(engine=engine, feasible=m["feasible"] and v.returncode == 0, errors=m["errors"],
               priority=m["priority_served"], priority_total=m["priority_total"],
               served=m["served"], visits=m["visits"], travel_s=m["travel_s"])
    if ours_path is not None:
        with open(problem_path) as fh, open(out) as fs:
            fig["workload"] = workload(json.load(fh), json.load(fs))
    return fig


def _median_run(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r and "skipped" not in r]
    if not ok:
        return runs[0]
    out = dict(ok[0])
    for k in ("priority", "travel_s", "wall_s", "rss_mb", "rss_workers_mb", "tree_rss_mb", "tree_pss_mb",
              "served"):
        if k in out:
            out[k] = statistics.median(r[k] for r in ok)
    out["feasible"] = all(r["feasible"] for r in ok)
    if "workload" in out:  # the median run by stops spread
        out["workload"] = sorted((r["workload"] for r in ok),
                                 key=lambda w: w["stops"]["max_min"] or float("inf"))[len(ok) // 2]
    out["runs"] = [(r["priority"], r["travel_s"], round(r["wall_s"], 1)) for r in ok]
    return out


def _best_peer(res: dict[str, dict]) -> tuple[str, dict] | None:
    peers = [(n, r) for n, r in res.items() if n != "ours" and r.get("feasible")]
    if not peers:
        return None
    return max(peers, key=lambda nr: (nr[1]["priority"], -nr[1]["travel_s"]))


def _fmt(r: dict) -> str:
    if "skipped" in r:
        return "n/a (skills/pins/windows)"
    if "error" in r:
        return f"ERROR {r['error']}"
    rss = f"{r['rss_mb']:.0f}"
    if r.get("rss_workers_mb"):
        rss += f"+{r['rss_workers_mb']:.0f} (tree {r['tree_rss_mb']:.0f} RSS, {r['tree_pss_mb']:.0f} PSS)"
    flag = "" if r["feasible"] else " INFEASIBLE"
    return f"{r['priority']:,.0f} / {r['travel_s'] / 3600:.1f} h / {r['wall_s']:.1f} s / {rss} MB{flag}"


def bench_problem(name: str, path: Path, seconds: float, engines: list[str], repeat: int,
                  verify: Path, workdir: Path, ours_path: Path | None = None) -> dict:
    load0 = os.getloadavg()[0]
    res = {}
    for e in engines:
        runs = []
        for _ in range(repeat):
            r = run_engine(e, path, seconds, verify, workdir, ours_path)
            runs.append(r)
            if "skipped" in r or "error" in r:
                break
        res[e] = _median_run(runs)
    row = {"problem": name, "budget_s": seconds, "load": (round(load0, 1), round(os.getloadavg()[0], 1)),
           "results": res}
    bp = _best_peer(res)
    ours = res.get("ours")
    if bp and ours and "priority" in ours:
        n, r = bp
        row["best_peer"] = n
        row["prio_ratio"] = ours["priority"] / r["priority"] if r["priority"] else float("nan")
        row["travel_ratio"] = ours["travel_s"] / r["travel_s"] if r["travel_s"] else float("nan")
    return row


def print_table(rows: list[dict], engines: list[str], file=sys.stdout) -> None:
    head = ["problem", "budget"] + engines + ["ours / best peer (priority, travel)", "load"]
    print("| " + " | ".join(head) + " |", file=file)
    print("|" + "---|" * len(head), file=file)
    for row in rows:
        cells = [row["problem"], f"{row['budget_s']:g} s"]
        for e in engines:
            r = row["results"].get(e)
            cells.append(_fmt(r) if r else "")
        if "prio_ratio" in row:
            cells.append(f"{row['prio_ratio']:.4f}, {row['travel_ratio']:.3f} (vs {row['best_peer']})")
        else:
            cells.append("")
        cells.append(f"{row['load'][0]}→{row['load'][1]}")
        print("| " + " | ".join(cells) + " |", file=file)
    print("\nCells: priority served / travel / wall / peak RSS (ours: planner+largest worker, and the peak of "
          "the whole process tree's summed RSS and PSS). "
          "Ratios: ours ÷ best feasible peer (priority ≥ 1 is better; travel ≤ 1 is better at equal priority).",
          file=file)


def print_workload(rows: list[dict], engines: list[str], file=sys.stdout) -> None:
    """Stops and working time per agent: max/min and coefficient of variation."""
    print("\n| problem | " + " | ".join(f"{e}: priority, stops max/min, cv; work max/min, cv" for e in engines)
          + " | ours priority / best peer's |", file=file)
    print("|---|" + "---|" * len(engines) + "---|", file=file)

    def ratio(x):
        return "inf" if x is None else f"{x:.2f}"

    for row in rows:
        cells = [row["problem"]]
        for e in engines:
            r = row["results"].get(e, {})
            w = r.get("workload")
            kept = f"; kept {w['continuity']:.0%}" if w and "continuity" in w else ""
            cells.append(f"{r['priority']:,.0f}, {ratio(w['stops']['max_min'])}, {w['stops']['cv']:.2f}; "
                         f"{ratio(w['work']['max_min'])}, {w['work']['cv']:.2f}{kept}" if w else _fmt(r) if r else "")
        cells.append(f"{row['prio_ratio']:.4f}" if "prio_ratio" in row else "")
        print("| " + " | ".join(cells) + " |", file=file)


def print_value(rows: list[dict], engines: list[str], cost: float, file=sys.stdout) -> None:
    """Value of the day under a travel price: priority − price x hours, for every plan."""
    print(f"\n| problem | " + " | ".join(f"{e}: priority / hours / value" for e in engines)
          + f" | ours value / best peer's (price {cost:g} points/h) |", file=file)
    print("|---|" + "---|" * len(engines) + "---|", file=file)
    for row in rows:
        cells, values = [row["problem"]], {}
        for e in engines:
            r = row["results"].get(e, {})
            if r.get("feasible"):
                hours = r["travel_s"] / 3600
                values[e] = r["priority"] - cost * hours
                cells.append(f"{r['priority']:,.0f} / {hours:.1f} / {values[e]:,.0f}")
            else:
                cells.append(_fmt(r) if r else "")
        peers = [v for e, v in values.items() if e != "ours"]
        ratio = values["ours"] / max(peers) if "ours" in values and peers and max(peers) > 0 else None
        cells.append("" if ratio is None else f"{ratio:.4f}")
        print("| " + " | ".join(cells) + " |", file=file)


def print_tsplib(rows: list[dict], engines: list[str], file=sys.stdout) -> None:
    print("\n| instance | optimum | " + " | ".join(engines) + " |", file=file)
    print("|---|---|" + "---|" * len(engines), file=file)
    for row in rows:
        cells = [row["problem"], f"{row['optimum']:,}"]
        for e in engines:
            r = row["results"].get(e, {})
            if "travel_s" in r and r.get("served") == r.get("visits"):
                gap = 100.0 * (r["travel_s"] / row["optimum"] - 1)
                cells.append(f"{r['travel_s']:,.0f} (+{gap:.2f} %) / {r['wall_s']:.1f} s")
            else:
                cells.append(_fmt(r) if r else "")
        print("| " + " | ".join(cells) + " |", file=file)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_run":
        _runner(argv[1], argv[2], argv[3], float(argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=",".join(SIZES), help="generated days AxV, comma separated")
    ap.add_argument("--quick", action="store_true", help="small set: 1x12, 8x96, 5x60, 20x240, TSPLIB")
    ap.add_argument("--no-samples", action="store_true")
    ap.add_argument("--no-generated", action="store_true")
    ap.add_argument("--no-tsplib", action="store_true")
    ap.add_argument("--engines", default="ours,vroom,pyvrp")
    ap.add_argument("--ortools", action="store_true", help="add the OR-Tools peer")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine; medians are shown")
    ap.add_argument("--seed", type=int, default=1, help="generator seed")
    ap.add_argument("--rich", action="store_true", help="generated days with skills, pins, second windows")
    ap.add_argument("--budget", type=float, default=None, help="override every budget (s)")
    ap.add_argument("--shared", default=str(SHARED), help="folder with the samples and tsplib/")
    ap.add_argument("--verify", default=str(DEFAULT_VERIFY), help="path to verify.py")
    ap.add_argument("--out", help="write the raw results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the generated problems and plans")
    ap.add_argument("--balance", choices=("stops", "duration"),
                    help="our planner gets \"balance\" (peers the plain day); spreads are compared")
    ap.add_argument("--max-loss", type=float, default=0.01, help="the balance's max_loss (default 0.01)")
    ap.add_argument("--continuity", type=int, default=None, metavar="SECONDS",
                    help="every visit prefers an agent of its branch, with this continuity weight; "
                         "the share kept is compared (peers get the plain day)")
    ap.add_argument("--travel-cost", type=float, default=None,
                    help="points per hour driven: ours gets \"travel_cost\"; every plan's value is compared")
    ap.add_argument("--at-home", action="store_true",
                    help="planning with the chance of finding someone home against the plain planner and the peers, "
                         "on simulated days scored by a hidden truth (bench/at_home.py; --budget, --engines apply)")
    a = ap.parse_args(argv)
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    if a.ortools and "ortools" not in engines:
        engines.append("ortools")
    if a.at_home:
        sys.path.insert(0, str(BENCH))
        from at_home import main as at_home_main

        extra = ["--budget", str(a.budget)] if a.budget else []
        return at_home_main(["--engines", ",".join(engines), "--verify", a.verify, *extra])
    verify = Path(a.verify).resolve()
    if not verify.exists():
        print(f"verify.py not found at {verify} (use --verify)", file=sys.stderr)
        return 2
    shared = Path(a.shared)
    sys.path.insert(0, str(BENCH))
    from gen_problems import generate

    workdir = Path(tempfile.mkdtemp(prefix="routing-bench-"))
    jobs: list[tuple[str, Path, float]] = []
    if not a.no_samples:
        for fn, budget in (QUICK_SAMPLES if a.quick else SAMPLES):
            if (shared / fn).exists():
                jobs.append((fn.removesuffix(".json"), shared / fn, budget))
    if not a.no_generated:
        sizes = QUICK_SIZES if a.quick else [s.strip() for s in a.sizes.split(",") if s.strip()]
        for s in sizes:
            na, nv = (int(x) for x in s.lower().split("x"))
            kind = "rich" if a.rich else "gen"
            p = workdir / f"{kind}-{na}x{nv}-s{a.seed}.json"
            with open(p, "w") as fh:
                json.dump(generate(na, nv, seed=a.seed, rich=a.rich), fh, separators=(",", ":"))
            jobs.append((f"{kind} {na}x{nv} (seed {a.seed})", p, SIZES.get(f"{na}x{nv}", 10.0)))
    rows = []
    print(f"# routing bench — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, repeat {a.repeat}", flush=True)
    for name, path, budget in jobs:
        budget = a.budget or budget
        ours_path = None
        if a.balance or a.travel_cost is not None or a.continuity is not None:
            with open(path) as fh:
                doc = json.load(fh)
            if a.balance:
                doc["balance"] = {"by": a.balance, "max_loss": a.max_loss}
            if a.travel_cost is not None:
                doc["travel_cost"] = a.travel_cost
            if a.continuity is not None:
                with open(path, "w") as fh:  # the checker and the peers ignore the preferences
                    json.dump(with_preferences(doc, a.continuity, a.seed), fh, separators=(",", ":"))
            ours_path = workdir / f"{path.stem}.ours-problem.json"
            ours_path.write_text(json.dumps(doc, separators=(",", ":")))
        row = bench_problem(name, path, budget, engines, a.repeat, verify, workdir, ours_path)
        rows.append(row)
        print_table([row], engines)
        if a.balance or a.continuity is not None:
            print_workload([row], engines)
        if a.travel_cost is not None:
            print_value([row], engines, a.travel_cost)
        sys.stdout.flush()
    tsp_rows = []
    if not a.no_tsplib and (shared / "tsplib").is_dir():
        for p in sorted((shared / "tsplib").glob("*.json")):
            with open(p) as fh:
                opt = json.load(fh).get("optimum_travel")
            if not opt:
                continue
            row = bench_problem(p.stem, p, a.budget or TSPLIB_BUDGET, engines, a.repeat, verify, workdir)
            row["optimum"] = opt
            tsp_rows.append(row)
            print(f"tsplib {p.stem}: " + ", ".join(f"{e} {r.get('travel_s')}" for e, r in row["results"].items()),
                  flush=True)
    print("\n## Summary\n")
    if rows:
        print_table(rows, engines)
        if a.balance or a.continuity is not None:
            print_workload(rows, engines)
        if a.travel_cost is not None:
            print_value(rows, engines, a.travel_cost)
    if tsp_rows:
        print_tsplib(tsp_rows, engines)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"rows": rows, "tsplib": tsp_rows}, fh, indent=1)
    if a.keep:
        print(f"\nproblems and plans kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
