"""A price on travel: the problem field, the value of the day, and plans that drop the
visits not worth their detour."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.routing.engine import solve
from backend.routing.problem import ProblemError, parse_problem

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).resolve().parents[2]


def day():
    """Three visits next to the depot and one 20 km away (about 2 h there and back at
    the default 25 km/h x 1.3), worth 30 points."""
    return {
        "version": 1,
        "locations": [[31.23, 121.47], [31.231, 121.471], [31.232, 121.469], [31.229, 121.472], [31.41, 121.47]],
        "agents": [{"id": "A1", "start": 0, "end": 0, "shift": [28800, 72000]}],
        "visits": [{"id": f"V{i}", "location": i, "service": 900, "windows": [[28800, 72000]],
                    "priority": 30 if i == 4 else 50} for i in range(1, 5)],
    }


def test_travel_cost_is_parsed_and_checked():
    doc = day()
    assert parse_problem(doc).travel_cost is None
    doc["travel_cost"] = 40
    p = parse_problem(doc)
    assert p.travel_cost == 40.0 and parse_problem(p.to_dict()).travel_cost == 40.0
    for bad in (-1, "cheap", True):
        doc["travel_cost"] = bad
        with pytest.raises(ProblemError, match="travel_cost"):
            parse_problem(doc)


def test_a_price_drops_the_visit_not_worth_its_detour():
    plain = solve(day(), seconds=1.0, workers=1)
    assert plain.priority_served == 180 and plain.value is None
    assert "value" not in plain.to_dict()
    hours = plain.travel_s / 3600
    assert hours > 1.5  # the far visit is most of the driving

    cheap = solve({**day(), "travel_cost": 5}, seconds=1.0, workers=1)  # 2 h cost 10 < 30 points
    assert cheap.priority_served == 180

    doc = {**day(), "travel_cost": 40}  # 2 h cost 80 > 30 points
    priced = solve(doc, seconds=1.0, workers=1)
    assert priced.priority_served == 150
    assert [u.visit for u in priced.unassigned] == ["V4"]
    v = priced.value
    assert v == {"travel_cost": 40.0, "priority": 150, "hours": round(priced.travel_s / 3600, 2),
                 "value": round(150 - 40 * priced.travel_s / 3600, 1)}
    assert v["value"] > 180 - 40 * hours  # better than the plain plan under the same price
    assert priced.to_dict()["value"] == v


def test_cli_travel_cost_flag(tmp_path):
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(day()))
    p = subprocess.run([sys.executable, "-m", "backend.routing", "solve", str(prob), "--seconds", "1.5",
                        "--travel-cost", "40"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["value"]["priority"] == 150 and out["value"]["travel_cost"] == 40.0
    bad = subprocess.run([sys.executable, "-m", "backend.routing", "solve", str(prob), "--travel-cost", "-3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and ">= 0 points per hour" in bad.stderr
