"""Balanced work: the problem field, the spread figures, the balancing pass and the CLI."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.routing.engine import solve
from backend.routing.engine.balance import spread
from backend.routing.problem import Balance, ProblemError, parse_problem

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "routing"


def day(n_visits=8, agents=2, pinned=0, service=600):
    """A depot and visits on a small ring around it; a long shift, no caps: a single
    agent doing every visit is the least travel."""
    locs = [[31.23, 121.47]] + [[31.23 + 0.01 * np.cos(t), 121.47 + 0.01 * np.sin(t)]
                                for t in np.linspace(0, 2 * np.pi, n_visits, endpoint=False)]
    return {
        "version": 1, "locations": locs,
        "agents": [{"id": f"A{k}", "start": 0, "end": 0, "shift": [28800, 72000]} for k in range(agents)],
        "visits": [{"id": f"V{i}", "location": i + 1, "service": service, "windows": [[28800, 72000]],
                    "priority": 10 + i, "agent": "A0" if i < pinned else None} for i in range(n_visits)],
    }


def stops(sol):
    return sorted(len(r.stops) for r in sol.routes)


def served_prio(sol):
    return sol.priority_served


def test_balance_field_is_parsed_and_checked():
    doc = day()
    assert parse_problem(doc).balance is None
    doc["balance"] = {"by": "duration"}
    p = parse_problem(doc)
    assert p.balance == Balance("duration", 0.01)
    assert parse_problem(p.to_dict()).balance == p.balance
    for bad, msg in [({"by": "km"}, "balance.by"), ({"max_loss": 2}, "balance.max_loss"),
                     ({"max_loss": "x"}, "balance.max_loss"), ({"weight": 1}, "unknown field 'weight'"),
                     ("stops", "balance: expected an object")]:
        doc["balance"] = bad
        with pytest.raises(ProblemError, match=msg):
            parse_problem(doc)


def test_spread_figures():
    assert spread([4, 6, 8]) == {"min": 4, "max": 8, "max_min": 2.0, "cv": 0.272}
    assert spread([0, 5])["max_min"] is None  # someone has nothing to do
    assert spread([0, 0]) == {"min": 0, "max": 0, "max_min": 1.0, "cv": 0.0}


def test_plain_day_is_lopsided_and_balance_by_stops_evens_it():
    plain = solve(day(), seconds=1.5, workers=1)
    assert stops(plain) == [0, 8]  # one tour is the least travel
    assert plain.workload["stops"]["max_min"] is None
    doc = day()
    doc["balance"] = {"by": "stops", "max_loss": 0.0}
    bal = solve(doc, seconds=1.5, workers=1)
    assert stops(bal) == [4, 4]
    assert served_prio(bal) == served_prio(plain)  # nothing given up
    assert bal.workload == {"agents": 2, "stops": spread([4, 4]),
                            "work_s": spread([r.work_s for r in bal.routes])}
    assert all(r.work_s == r.travel_s + 600 * len(r.stops) for r in bal.routes)
    assert bal.stats["balance"]["moved"] >= 4


def test_balance_by_duration_evens_working_time():
    doc = day(n_visits=9)
    doc["visits"][0]["service"] = 4 * 3600  # one long visit: stops and time disagree
    doc["balance"] = {"by": "duration", "max_loss": 0.0}
    sol = solve(doc, seconds=1.5, workers=1)
    assert sol.priority_served == sum(10 + i for i in range(9))
    long_route = next(r for r in sol.routes if any(s.visit == "V0" for s in r.stops))
    assert len(long_route.stops) == 1  # 4 h at one door against 8 x 10 min and the driving
    by_stops = solve({**doc, "balance": {"by": "stops", "max_loss": 0.0}}, seconds=1.5, workers=1)
    assert sol.workload["work_s"]["cv"] < by_stops.workload["work_s"]["cv"]


def test_max_loss_bounds_what_balance_gives_up():
    """Visits pinned to A0 cannot move: only dropping them narrows the spread, and only
    as many as max_loss allows (the least valuable first)."""
    doc = day(n_visits=10, pinned=10)
    doc["agents"].append({"id": "A2", "start": 0, "end": 0, "shift": [28800, 72000]})
    doc["visits"].append({"id": "W", "location": 1, "service": 600, "windows": [[28800, 72000]],
                          "priority": 5})
    total = sum(10 + i for i in range(10)) + 5  # 150
    for loss, dropped in ((0.0, 0), (0.15, 2), (0.5, 6)):  # 10 + 11 <= 22.5; 10 + … + 15 <= 75
        doc["balance"] = {"by": "stops", "max_loss": loss}
        sol = solve(doc, seconds=1.0, workers=1)
        assert sol.priority_served >= (1 - loss) * total
        a0 = next(r for r in sol.routes if r.agent == "A0")
        assert len(a0.stops) == 10 - dropped, (loss, sol.stats["balance"])
        gone = {u.visit for u in sol.unassigned}
        assert gone == {f"V{i}" for i in range(dropped)}  # the least valuable


@pytest.mark.skipif(not (SHARED / "verify.py").exists(), reason="shared routing folder absent")
def test_cli_balance_flag_reports_the_spread_and_verifies(tmp_path):
    prob = tmp_path / "p.json"
    doc = day()
    p = subprocess.run([sys.executable, "-m", "backend.routing", "fill", "/dev/stdin"], input=json.dumps(doc),
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    prob.write_text(p.stdout)
    p = subprocess.run([sys.executable, "-m", "backend.routing", "solve", str(prob), "--seconds", "3",
                        "--balance", "stops", "--max-loss", "0"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["workload"]["stops"] == spread([4, 4])
    assert [len(r["stops"]) for r in out["routes"]] == [4, 4]
    sol = tmp_path / "s.json"
    sol.write_text(p.stdout)
    v = subprocess.run([sys.executable, str(SHARED / "verify.py"), str(prob), str(sol)], capture_output=True,
                       text=True, timeout=60)
    assert v.returncode == 0, v.stdout
    bad = subprocess.run([sys.executable, "-m", "backend.routing", "solve", str(prob), "--max-loss", "3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "share between 0 and 1" in bad.stderr
