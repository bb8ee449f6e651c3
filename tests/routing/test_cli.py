"""`python -m backend.routing` — the exchange-format contract of the shared README."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_db
MODULE_LOADED = time.perf_counter()

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "routing"
# the budget counts from the process start (imports and reading the file included); the
# test's own clock also counts spawning the interpreter, measured in the same run because a
# loaded box takes far longer than an idle one
SPAWN_SLACK_S = 0.3


def spawn_seconds() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
    return time.perf_counter() - t


def cli(*args, timeout=120):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "backend.routing", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout)
    return p, time.perf_counter() - t


def verify(problem: Path, solution: Path) -> dict:
    p = subprocess.run([sys.executable, str(SHARED / "verify.py"), str(problem), str(solution)],
                       capture_output=True, text=True, timeout=60)
    m = json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode == 0 and m["feasible"], m
    return m


needs_shared = pytest.mark.skipif(not (SHARED / "verify.py").exists(), reason="shared routing folder absent")


@needs_shared
@pytest.mark.parametrize("name,seconds", [("sample-1x12.json", 2), ("sample-8x96-rich.json", 3),
                                          ("sample-30x360-rich.json", 5)])
def test_samples_solve_within_budget_and_verify(tmp_path, name, seconds):
    spawn = spawn_seconds()
    p, wall = cli("solve", SHARED / name, "--seconds", seconds)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc) == {"routes", "unassigned", "travel_s", "solve_s", "priority_served", "workload"}
    assert doc["solve_s"] <= seconds
    assert wall <= seconds + 2 * spawn + SPAWN_SLACK_S, (wall, spawn)  # the whole command, start-up included
    out = tmp_path / "solution.json"
    out.write_text(p.stdout)
    m = verify(SHARED / name, out)
    assert m["travel_s"] == doc["travel_s"]
    assert m["served"] + len(doc["unassigned"]) == m["visits"]
    if name == "sample-1x12.json":
        assert m["priority_served"] == 575  # what every peer engine reaches (PEERS.md)


def test_unreadable_or_invalid_problem_exits_2(tmp_path):
    p, _ = cli("solve", tmp_path / "missing.json")
    assert p.returncode == 2 and "no such file" in p.stderr and p.stdout == ""
    bad = tmp_path / "bad.json"
    bad.write_text("{\"version\": 1, ")
    p, _ = cli("solve", bad)
    assert p.returncode == 2 and "not valid JSON" in p.stderr
    bad.write_text(json.dumps({"version": 1, "locations": [[0, 0]], "agents": [],
                               "visits": [{"id": "V1", "location": 3, "windows": [[0, 1]]}]}))
    p, _ = cli("solve", bad)
    assert p.returncode == 2 and "visits[0] (V1).location" in p.stderr
    p, _ = cli("solve", bad, "--seconds", "soon")
    assert p.returncode == 2 and "usage" in p.stderr
    p, _ = cli("solve")
    assert p.returncode == 2


def test_fill_then_solve_a_problem_without_durations(tmp_path):
    locs = [[31.23, 121.47]] + [[31.23 + 0.005 * k, 121.47 + 0.01 * k] for k in range(1, 6)]
    problem = {"version": 1, "locations": locs,
               "agents": [{"id": "A1", "start": 0, "end": 0, "shift": [32400, 64800]}],
               "visits": [{"id": f"V{k}", "location": k, "service": 1800, "windows": [[32400, 75600]],
                           "priority": k} for k in range(1, 6)]}
    src = tmp_path / "nodur.json"
    src.write_text(json.dumps(problem))
    p, _ = cli("solve", src, "--seconds", 1)
    assert p.returncode == 0, p.stderr
    sol = tmp_path / "sol.json"
    sol.write_text(p.stdout)
    f, _ = cli("fill", src)
    assert f.returncode == 0, f.stderr
    filled = json.loads(f.stdout)
    assert len(filled["durations"]) == 6 and filled["durations"][0][0] == 0
    full = tmp_path / "filled.json"
    full.write_text(f.stdout)
    if (SHARED / "verify.py").exists():
        m = verify(full, sol)
        assert m["served"] == 5 and m["travel_s"] == json.loads(p.stdout)["travel_s"]


def test_process_age_counts_from_the_process_start():
    from backend.routing.__main__ import process_age

    before = process_age()
    # this test process started before the test module was even collected
    assert before >= time.perf_counter() - MODULE_LOADED > 0
    time.sleep(0.2)
    assert 0.19 <= process_age() - before <= 1.0
