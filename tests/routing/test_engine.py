"""Routing engine, travel model and problem validation — plain functions, no Flask."""
import copy
import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest
from geopy.distance import great_circle

from backend.routing import engine
from backend.routing.problem import ProblemError, load_problem, parse_problem
from backend.routing.travel import (OsrmTable, TravelError, TravelSettings, distance_km_matrix,
                                    haversine_seconds, km_matrix, travel_matrix)

pytestmark = pytest.mark.no_db

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "routing"

POINTS = [(31.2304, 121.4737), (31.2989, 121.5016), (31.1443, 121.8083), (39.9042, 116.4074),
          (22.5431, 114.0579), (51.5072, -0.1276), (-33.8688, 151.2093), (31.2305, 121.4738)]


def _verify():
    """The shared checker's score(), when the shared folder is there."""
    path = SHARED / "verify.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("shared_verify", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.score


def check(problem: dict, solution) -> dict:
    """Solution dict has exactly the v1 fields, and passes verify (or our own check)."""
    doc = solution.to_dict()
    assert set(doc) == {"routes", "unassigned", "travel_s", "solve_s", "priority_served", "workload"}
    for r in doc["routes"]:
        assert set(r) == {"agent", "stops", "travel_s", "work_s"}
        for s in r["stops"]:
            assert set(s) == {"visit", "arrival", "start", "end"}
            assert s["arrival"] <= s["start"] < s["end"] or s["start"] == s["end"]
    for u in doc["unassigned"]:
        assert set(u) == {"visit", "reason"} and u["reason"]
    p = copy.deepcopy(problem)
    if "durations" not in p:
        p["durations"] = travel_matrix(p["locations"]).tolist()
    score = _verify()
    if score is not None:
        m = score(p, doc)
        assert m["feasible"], m["errors"]
        assert m["travel_s"] == doc["travel_s"]
        return m
    prep = engine.prepare(parse_problem(p, allow_unknown_pins=True), np.array(p["durations"]))
    routes = {k: [] for k in range(len(p["agents"]))}
    vid = {v["id"]: i for i, v in enumerate(p["visits"])}
    aid = {a["id"]: k for k, a in enumerate(p["agents"])}
    for r in doc["routes"]:
        routes[aid[r["agent"]]] = [vid[s["visit"]] for s in r["stops"]]
    prio, travel, ok = engine.evaluate(prep, routes)
    assert ok and travel == doc["travel_s"]
    return {"priority_served": prio, "travel_s": travel, "priority_total": sum(v["priority"] for v in p["visits"])}


# --- travel model ----------------------------------------------------------------------


def test_km_matrix_matches_geopy_great_circle():
    km = km_matrix(POINTS)
    for i, a in enumerate(POINTS):
        for j, b in enumerate(POINTS):
            assert km[i, j] == pytest.approx(great_circle(a, b).km, abs=1e-3, rel=1e-6)
    assert (km == km.T).all() and (np.diag(km) == 0).all()


def test_travel_seconds_are_km_times_circuity_over_speed():
    km = km_matrix(POINTS[:3])
    s = haversine_seconds(POINTS[:3])
    assert s.dtype == np.int64
    assert np.abs(s - km * 1.3 / 25.0 * 3600).max() <= 0.5
    slow = travel_matrix(POINTS[:3], {"speed_kmh": 12.5, "circuity": 1.3})
    assert np.abs(slow - 2 * s).max() <= 1
    assert (travel_matrix(POINTS[:3], TravelSettings(circuity=1.0)) <= s).all()
    assert np.allclose(distance_km_matrix(POINTS[:3]), km * 1.3)
    assert travel_matrix([]).shape == (0, 0)


def test_settings_from_config_names():
    s = TravelSettings.from_mapping({"ROUTING_CIRCUITY": "1.5", "ROUTING_SPEED_KMH": 30,
                                     "ROUTING_OSRM_URL": "", "unrelated": 1})
    assert (s.circuity, s.speed_kmh, s.osrm_url) == (1.5, 30.0, None)
    with pytest.raises(ValueError):
        TravelSettings(speed_kmh=0)


def test_three_thousand_point_matrix_is_whole_and_symmetric():
    # its speed is a benchmark's business (bench/routing.py), not a unit test's
    rng = np.random.default_rng(3)
    pts = np.c_[31 + rng.random(3000) * 0.5, 121 + rng.random(3000) * 0.5]
    m = travel_matrix(pts)
    assert m.shape == (3000, 3000) and (m == m.T).all()
    assert (np.diag(m) == 0).all() and (m[~np.eye(3000, dtype=bool)] > 0).all()


class _Resp:
    def __init__(self, status, body):
        self.status_code, self._body, self.text = status, body, json.dumps(body)

    def json(self):
        return self._body


class _FakeOsrm:
    """Answers /table like OSRM: duration = 100 x |i - j| (i, j = longitude index)."""

    def __init__(self, fail=False, null_pair=None):
        self.calls, self.fail, self.null_pair = [], fail, null_pair

    def get(self, url, params=None, timeout=None):
        self.calls.append((url, dict(params or {})))
        if self.fail:
            return _Resp(503, {"code": "Busy"})
        coords = url.rsplit("/", 1)[1].split(";")
        ids = [round(float(c.split(",")[0]) * 1000) for c in coords]
        src = [int(x) for x in params["sources"].split(";")] if "sources" in params else range(len(ids))
        dst = [int(x) for x in params["destinations"].split(";")] if "destinations" in params else range(len(ids))
        dur = [[None if self.null_pair == (ids[a], ids[b]) else 100.0 * abs(ids[a] - ids[b]) for b in dst]
               for a in src]
        return _Resp(200, {"code": "Ok", "durations": dur, "distances": [[50.0 * abs(ids[a] - ids[b]) for b in dst]
                                                                          for a in src]})


def test_osrm_table_adapter_blocks_and_fills(monkeypatch):
    pts = [(0.0, k / 1000) for k in range(7)]
    fake = _FakeOsrm()
    dur, dist = OsrmTable("http://osrm.test/", block=4, session=fake).matrices(pts)
    assert len(fake.calls) > 1  # 7 points in blocks of 4 coordinates
    assert fake.calls[0][0].startswith("http://osrm.test/table/v1/driving/")
    assert fake.calls[0][1]["annotations"] == "duration,distance"
    want = 100.0 * np.abs(np.arange(7)[:, None] - np.arange(7)[None, :])
    assert np.array_equal(dur, want) and np.allclose(dist, want / 2 / 1000)
    # travel_matrix: the service's numbers; an unroutable pair (null) from the model
    import backend.routing.travel as travel

    fake2 = _FakeOsrm(null_pair=(1, 2))
    monkeypatch.setattr(travel, "OsrmTable", lambda url, *a, **k: OsrmTable(url, *a, session=fake2, **k))
    m = travel_matrix(pts, TravelSettings(osrm_url="http://osrm.test"))
    model = haversine_seconds(pts)
    assert m[0, 3] == 300 and m[1, 2] == model[1, 2]
    # the service down: the model (fallback) or an error (no fallback)
    fake3 = _FakeOsrm(fail=True)
    monkeypatch.setattr(travel, "OsrmTable", lambda url, *a, **k: OsrmTable(url, *a, session=fake3, **k))
    assert np.array_equal(travel_matrix(pts, TravelSettings(osrm_url="http://x")), model)
    with pytest.raises(TravelError):
        travel_matrix(pts, TravelSettings(osrm_url="http://x", fallback=False))


# --- problem validation ----------------------------------------------------------------


def base_problem() -> dict:
    """A depot and six doors east of it, two agents (one with 'legal'), 09:00–18:00."""
    locs = [[31.23, 121.47]] + [[31.23, 121.47 + 0.01 * k] for k in range(1, 7)]
    return {
        "version": 1,
        "locations": locs,
        "agents": [
            {"id": "A1", "start": 0, "end": 0, "shift": [32400, 64800], "max_visits": 14, "skills": []},
            {"id": "A2", "start": 0, "end": 0, "shift": [32400, 64800], "max_visits": 14, "skills": ["legal"]},
        ],
        "visits": [
            {"id": f"V{k}", "location": k, "service": 1800, "windows": [[28800, 75600]], "priority": 10 * k}
            for k in range(1, 7)
        ],
    }


BAD = [
    (lambda p: p.pop("version"), "version"),
    (lambda p: p.update(version=2), "unsupported"),
    (lambda p: p.update(locations=[]), "locations"),
    (lambda p: p["locations"].__setitem__(0, [95, 0]), "latitude"),
    (lambda p: p["locations"].__setitem__(0, ["31", 121]), "locations[0][0]"),
    (lambda p: p.update(durations=[[0] * 7] * 6), "square"),
    (lambda p: p.update(durations=[[0] * 7] * 6 + [[0] * 6]), "durations[6]"),
    (lambda p: p.update(durations=[[0] * 7] * 6 + [[0] * 6 + [-5]]), "negative"),
    (lambda p: p.update(durations=[[0] * 7] * 6 + [[0] * 6 + ["x"]]), "durations[6][6]"),
    (lambda p: p["agents"][0].update(start=7), "out of range"),
    (lambda p: p["agents"][1].update(id="A1"), "duplicate agent"),
    (lambda p: p["agents"][0].update(shift=[64800, 32400]), "after end"),
    (lambda p: p["agents"][0].update(shift=[1]), "[start, end]"),
    (lambda p: p["agents"][0].update(max_visits=-1), "max_visits"),
    (lambda p: p["agents"][0].update(skills="legal"), "expected a list"),
    (lambda p: p["agents"][0].pop("end"), "'end'"),
    (lambda p: p["visits"][0].update(location=99), "out of range"),
    (lambda p: p["visits"][0].update(location=True), "integer"),
    (lambda p: p["visits"][0].update(windows=[]), "at least one"),
    (lambda p: p["visits"][0].update(windows=[[40000, 30000]]), "after end"),
    (lambda p: p["visits"][0].update(priority=0), "priority"),
    (lambda p: p["visits"][0].update(priority=101), "priority"),
    (lambda p: p["visits"][0].update(service=1.5), "integer"),
    (lambda p: p["visits"][1].update(id="V1"), "duplicate visit"),
    (lambda p: p["visits"][0].update(agent="A9"), "unknown agent 'A9'"),
    (lambda p: p["visits"][0].update(skills=[3]), "string"),
    (lambda p: p.update(agents={"A1": {}}), "agents: expected a list"),
]


@pytest.mark.parametrize("mutate,message", BAD)
def test_invalid_problems_are_refused_with_a_clear_message(mutate, message):
    p = base_problem()
    mutate(p)
    with pytest.raises(ProblemError) as e:
        parse_problem(p)
    assert message in str(e.value)


def test_valid_problem_parses_into_typed_parts():
    p = base_problem()
    p["visits"][0]["windows"] = [[64800, 75600], [32400, 43200], [40000, 45000]]
    p["durations"] = haversine_seconds(p["locations"]).astype(float).tolist()
    prob = parse_problem(p)
    assert prob.durations.dtype == np.int64 and prob.durations.shape == (7, 7)
    assert prob.agents[1].skills == frozenset({"legal"})
    assert prob.visits[0].merged_windows() == ((32400, 45000), (64800, 75600))
    assert parse_problem(prob.to_dict()).visits == prob.visits
    assert parse_problem({**p, "visits": [{**p["visits"][0], "agent": "A9"}]}, allow_unknown_pins=True)


def test_load_problem_file_errors(tmp_path):
    with pytest.raises(ProblemError, match="no such file"):
        load_problem(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ProblemError, match="not valid JSON"):
        load_problem(str(bad))
    # the numpy fast path and the standard parser agree (ints, floats rounded up)
    p = base_problem()
    p["durations"] = haversine_seconds(p["locations"]).tolist()
    p["durations"][1][2] = 10.25
    f = tmp_path / "p.json"
    f.write_text(json.dumps(p, indent=2))
    a, b = load_problem(str(f)), parse_problem(json.loads(f.read_text()))
    assert (a.durations == b.durations).all() and a.durations[1][2] == 11
    assert a.visits == b.visits and a.agents == b.agents


# --- the engine ------------------------------------------------------------------------


def solve(p, seconds=1.0, **kw):
    kw.setdefault("workers", 1)
    sol = engine.solve(p, seconds=seconds, **kw)
    return sol, check(p, sol)


def routes_of(sol):
    return {r.agent: [s.visit for s in r.stops] for r in sol.routes}


def test_small_day_is_fully_served_and_verified():
    p = base_problem()
    sol, m = solve(p)
    assert m["priority_served"] == sum(v["priority"] for v in p["visits"])
    assert not sol.unassigned
    assert sol.solve_s < 2.0


def test_skills_pins_windows_and_max_visits_are_respected():
    p = base_problem()
    p["visits"][0]["skills"] = ["legal"]  # only A2
    p["visits"][1]["agent"] = "A1"  # pinned
    p["visits"][2]["windows"] = [[32400, 33000], [61000, 62000]]  # morning slot or late slot
    p["agents"][0]["max_visits"] = 2
    sol, m = solve(p)
    r = routes_of(sol)
    assert "V1" in r["A2"] and "V1" not in r["A1"]
    assert "V2" in r["A1"]
    assert len(r["A1"]) <= 2
    starts = {s.visit: s.start for route in sol.routes for s in route.stops}
    if "V3" in starts:
        assert 32400 <= starts["V3"] <= 33000 or 61000 <= starts["V3"] <= 62000


def test_each_unassigned_visit_says_why():
    p = base_problem()
    p["visits"][0]["skills"] = ["dialect"]
    p["visits"][1]["agent"] = "A9"
    p["visits"][2]["windows"] = [[70000, 75600]]  # after every shift
    p["visits"][3]["agent"] = "A1"
    p["visits"][3]["skills"] = ["legal"]  # A1 lacks it
    p["locations"].append([39.9, 116.4])  # Beijing: unreachable in a day from Shanghai
    p["visits"].append({"id": "FAR", "location": 7, "service": 600, "windows": [[28800, 75600]], "priority": 50})
    prob = parse_problem(p, allow_unknown_pins=True)
    sol = engine.solve(prob, seconds=1.0, workers=1)
    check(p, sol)
    why = {u.visit: u.reason for u in sol.unassigned}
    assert why["V1"] == "no agent has skill dialect"
    assert why["V2"] == "pinned agent A9 not in problem"
    assert why["V3"] == "window outside every shift"
    assert why["V4"] == "pinned agent A1 lacks skill legal"
    assert why["FAR"].startswith("too far")
    assert {"V5", "V6"} <= {s.visit for r in sol.routes for s in r.stops}


def test_capacity_and_time_reasons():
    p = base_problem()
    p["agents"] = [p["agents"][0] | {"max_visits": 2}]
    sol, _ = solve(p)
    assert sum(len(r.stops) for r in sol.routes) == 2
    assert {u.reason for u in sol.unassigned} == {engine.REASON_CAP}
    # no cap, but a short shift: time runs out first; the most valuable visits are kept
    p["agents"] = [p["agents"][0] | {"max_visits": None, "shift": [32400, 32400 + 3 * 3600]}]
    sol, m = solve(p)
    served = {s.visit for r in sol.routes for s in r.stops}
    assert served and len(served) < 6
    assert {u.reason for u in sol.unassigned} == {engine.REASON_NO_ROOM}
    assert "V6" in served  # priority 60, the highest


def test_priority_before_travel():
    """Two visits fit only one at a time: the valuable far one beats the cheap near one."""
    p = base_problem()
    p["agents"] = [p["agents"][0] | {"shift": [32400, 32400 + 2400 + 2 * 1300]}]
    p["visits"] = [
        {"id": "NEAR", "location": 1, "service": 1800, "windows": [[28800, 75600]], "priority": 5},
        {"id": "FARX", "location": 6, "service": 1800, "windows": [[28800, 75600]], "priority": 90},
    ]
    sol, m = solve(p)
    assert routes_of(sol)["A1"] == ["FARX"]


def test_no_durations_uses_the_travel_model():
    p = base_problem()
    assert "durations" not in p
    sol, m = solve(p)
    d = travel_matrix(p["locations"])
    r = routes_of(sol)["A1"] + routes_of(sol)["A2"]
    assert r and sol.travel_s == m["travel_s"]
    assert d.max() > 0


def test_warm_start_keeps_a_good_plan_and_its_agents():
    p = base_problem()
    first, m1 = solve(p, seconds=1.0)
    again, m2 = solve(p, seconds=0.6, warm_start=first.to_dict())
    assert (m2["priority_served"], -m2["travel_s"]) >= (m1["priority_served"], -m1["travel_s"])
    # a stale plan (unknown ids, a visit twice) is cleaned, never trusted
    stale = {"routes": [{"agent": "A1", "stops": [{"visit": "V1"}, {"visit": "GONE"}, {"visit": "V1"}]},
                        {"agent": "NOBODY", "stops": [{"visit": "V2"}]}]}
    sol, _ = solve(p, seconds=0.6, warm_start=stale)
    assert len(sol.unassigned) == 0


def test_empty_and_agentless_problems():
    p = base_problem()
    sol, _ = solve({**p, "visits": []})
    assert sol.unassigned == [] and all(not r.stops for r in sol.routes)
    sol = engine.solve({**p, "agents": []}, seconds=0.5, workers=1)
    assert {u.reason for u in sol.unassigned} == {"no agents in the problem"}
    assert sol.routes == []


def test_budget_is_kept_with_two_workers():
    """A 30-agent day on both cores: the wall time stays inside the budget."""
    if not (SHARED / "sample-30x360-rich.json").exists():
        pytest.skip("shared samples absent")
    problem = json.loads((SHARED / "sample-30x360-rich.json").read_text())
    t = time.perf_counter()
    sol = engine.solve(problem, seconds=3.0, workers=2)
    wall = time.perf_counter() - t
    assert wall < 3.0 + 0.5, wall
    m = check(problem, sol)
    assert m["priority_served"] > 0.75 * m["priority_total"]


def test_decomposition_on_a_branchy_day():
    """Several branches: territories, pairs re-solved, plan verified; reasons for the rest."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from gen_problems import generate

    problem = generate(40, 360, seed=5, rich=True)
    sol = engine.solve(problem, seconds=4.0, workers=2, strategy="decompose")
    assert sol.stats["strategy"] == "decompose" and sol.stats["territories"] == 4
    m = check(problem, sol)
    assert m["priority_served"] > 0.6 * m["priority_total"]
    assert all(u.reason for u in sol.unassigned)


def test_whole_day_ends_with_a_priority_run_and_a_travel_only_run(monkeypatch):
    """Two cores on a day that does not fit: after VROOM and PyVRP, one core searches on
    for priority while the other keeps exactly the visits served and shortens the travel;
    the plan returned is the best of them by (priority, travel)."""
    import sys

    from backend.routing.engine import portfolio

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from gen_problems import generate

    # VROOM at its quickest level: its running time is estimated for an idle machine, and on a
    # loaded one a deeper level eats the time the phases under test need
    monkeypatch.setattr(portfolio, "vroom_level", lambda n, seconds, threads=2: 0)
    problem = generate(5, 60, seed=1)
    sol = engine.solve(problem, seconds=4.0, workers=2, strategy="portfolio")
    tasks = {t["what"]: t["keys"] for t in sol.stats["tasks"]}
    assert {"pyvrp again", "pyvrp travel"} <= set(tasks)
    start, polished = tasks["pyvrp travel"]["init"], tasks["pyvrp travel"]["pyvrp"]
    # the travel-only run serves the same priority (its visits are required) at no more travel
    assert polished[0] == start[0] and polished[1] >= start[1]
    m = check(problem, sol)
    best = max(tuple(k) for t in sol.stats["tasks"] for k in t["keys"].values())
    assert (m["priority_served"], -m["travel_s"]) >= best  # (a last insertion pass may add more)
