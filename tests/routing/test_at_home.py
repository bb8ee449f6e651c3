"""The chance of finding someone home: the estimator on crafted histories, the exchange
format's ``contact`` slots, the engine planning for expected priority (and leaving plain
problems as they were), the plan's expected figures, and the builder turning past
outcomes into contact slots."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from backend.routing.at_home import Attempt, fit, grid_area
from backend.routing.engine import solve
from backend.routing.engine.insertion import insert_leftovers
from backend.routing.engine.model import prepare
from backend.routing.engine.schedule import evaluate, expected, planned_times, route_times
from backend.routing.problem import ProblemError, parse_problem

H = 3600
DAY, EVENING = range(9, 17), range(18, 21)


# --- the estimator -----------------------------------------------------------------------


def _crowd(area, n=30, seed=0):
    """Neighbours of an area: met by day and in the evening alike, half the time."""
    rng = np.random.default_rng(seed)
    return [Attempt(("n", area, d), area, int(h), False, bool(rng.random() < 0.5))
            for d in range(n) for h in rng.integers(9, 21, size=4)]


def test_a_debtor_only_ever_met_in_the_evening_gets_a_high_evening_chance():
    history = _crowd("A")
    history += [Attempt("eve", "A", h, False, False) for h in (10, 11, 14, 15)]
    history += [Attempt("eve", "A", h, False, True) for h in (19, 19, 20)]
    history += [Attempt("day", "A", h, False, True) for h in (10, 11, 14, 15)]
    history += [Attempt("day", "A", h, False, False) for h in (19, 19, 20)]
    model = fit(history)

    eve, day, new = model.hourly("eve", "A"), model.hourly("day", "A"), model.hourly("nobody", "A")
    assert eve[19] > 0.6 and eve[19] > eve[11] + 0.25
    assert day[11] > day[19] + 0.2
    # a debtor without history: the area's shape, between the two
    assert new[19] == pytest.approx(model.areas["A"][0, 19])
    assert eve[19] > new[19] > day[19]


def test_a_debtor_without_history_gets_the_areas_shape_and_an_unknown_area_the_whole_historys():
    # area E: people home in the evening; area D: by day
    history = []
    for d in range(25):
        history += [Attempt(("e", d), "E", h, False, h >= 18) for h in (10, 14, 19, 20)]
        history += [Attempt(("d", d), "D", h, False, h < 17) for h in (10, 14, 19, 20)]
    model = fit(history)

    in_e, in_d, nowhere = model.hourly("x", "E"), model.hourly("x", "D"), model.hourly("x", "Z")
    assert in_e[19] > in_e[10] + 0.3
    assert in_d[10] > in_d[19] + 0.3
    assert nowhere == pytest.approx(model.overall[0])
    assert np.all((0 < in_e) & (in_e < 1))


def test_no_history_gives_an_even_chance_and_slots_cover_the_day():
    model = fit([])
    slots = model.slots("x", "A", weekend=True, offset_s=-3600)
    assert len(slots) == 24 and slots[0] == {"start": -3600, "end": 0, "p": 0.5}
    assert all(b["start"] == a["end"] for a, b in zip(slots, slots[1:]))


def test_grid_area_pools_neighbours():
    assert grid_area(31.2301, 121.4701) == grid_area(31.2302, 121.4702)
    assert grid_area(31.23, 121.47) != grid_area(31.33, 121.47)


# --- the exchange format -----------------------------------------------------------------


def _doc(contact=None, service=1800, windows=((9 * H, 21 * H),), visits=1, agent_shift=(9 * H, 21 * H), max_visits=None):
    locs = [[31.23, 121.47]] + [[31.23 + 0.01 * (i + 1), 121.47] for i in range(visits)]
    n = len(locs)
    D = [[0 if a == b else 600 for b in range(n)] for a in range(n)]
    doc = {"version": 1, "locations": locs, "durations": D,
           "agents": [{"id": "A1", "start": 0, "end": 0, "shift": list(agent_shift), "max_visits": max_visits}],
           "visits": [{"id": f"V{i + 1}", "location": i + 1, "service": service, "windows": [list(w) for w in windows],
                       "priority": 50} for i in range(visits)]}
    if contact is not None:
        for v, c in zip(doc["visits"], contact):
            if c is not None:
                v["contact"] = c
    return doc


def _slots(day_p, evening_p):
    return [{"start": 0, "end": 18 * H, "p": day_p}, {"start": 18 * H, "end": 24 * H, "p": evening_p}]


def test_contact_slots_are_validated_and_round_trip():
    P = parse_problem(_doc([_slots(0.1, 0.9)]))
    assert P.has_contact and P.visits[0].contact == ((0, 18 * H, 0.1), (18 * H, 24 * H, 0.9))
    assert parse_problem(P.to_dict()).visits[0].contact == P.visits[0].contact
    assert not parse_problem(_doc()).has_contact
    assert "contact" not in parse_problem(_doc()).to_dict()["visits"][0]
    for bad, where in (
        ([{"start": 0, "end": 10, "p": 1.5}], "contact[0].p"),
        ([{"start": 10, "end": 10, "p": 0.5}], "contact[0]"),
        ([{"start": 0, "end": 10, "p": 0.5}, {"start": 5, "end": 20, "p": 0.5}], "overlap"),
        ([{"start": 0, "end": 10}], "missing 'p'"),
        ([{"start": 0, "end": 10, "p": 0.5, "q": 1}], "unknown field 'q'"),
    ):
        with pytest.raises(ProblemError, match=re.escape(where)):
            parse_problem(_doc([bad]))


# --- the engine --------------------------------------------------------------------------


def test_the_engine_waits_for_the_evening_when_the_debtor_is_home_then():
    sol = solve(_doc([_slots(0.1, 0.9)]), seconds=1, workers=1)
    (stop,) = sol.routes[0].stops
    assert stop.start == 18 * H and stop.p == 0.9  # could knock at 09:10; knocks at 18:00
    assert sol.contact == {"expected_priority": 45.0, "expected_contacts": 0.9}
    doc = sol.to_dict()
    assert doc["routes"][0]["stops"][0]["p"] == 0.9 and doc["contact"]["expected_contacts"] == 0.9


def test_the_engine_prefers_the_debtor_likely_home_over_a_higher_priority_one_rarely_home():
    doc = _doc([_slots(0.1, 0.1), _slots(0.9, 0.9)], visits=2, max_visits=1)
    doc["visits"][0]["priority"] = 80  # expected 8
    doc["visits"][1]["priority"] = 40  # expected 36
    sol = solve(doc, seconds=1, workers=1)
    assert [s.visit for s in sol.routes[0].stops] == ["V2"]
    plain = solve(_doc(visits=2, max_visits=1) | {"visits": [dict(v, priority=p) for v, p in zip(_doc(visits=2)["visits"], (80, 40))]},
                  seconds=1, workers=1)
    assert [s.visit for s in plain.routes[0].stops] == ["V1"]


def test_the_order_of_stops_follows_who_is_home_when():
    # V1 home in the morning only, V2 in the evening only: one agent, both served in their hours
    doc = _doc([[{"start": 9 * H, "end": 12 * H, "p": 0.8}], [{"start": 17 * H, "end": 21 * H, "p": 0.8}]], visits=2)
    sol = solve(doc, seconds=2, workers=1)
    stops = sol.routes[0].stops
    assert [s.visit for s in stops] == ["V1", "V2"]
    assert all(s.p == 0.8 for s in stops)
    assert sol.contact["expected_contacts"] == pytest.approx(1.6)


def test_plain_problems_plan_exactly_as_without_the_feature():
    """A plain problem never takes the contact path; a problem whose every visit has p = 1
    all day takes it and must come to the same plan and figures."""
    doc = _doc(visits=6, windows=((9 * H, 13 * H), (15 * H, 20 * H)), max_visits=4)
    for i, v in enumerate(doc["visits"]):
        v["priority"] = 10 + 15 * i
    ones = _doc([[{"start": 0, "end": 24 * H, "p": 1.0}]] * 6, visits=6, windows=((9 * H, 13 * H), (15 * H, 20 * H)), max_visits=4)
    for v, w in zip(ones["visits"], doc["visits"]):
        v["priority"] = w["priority"]
    P, Q = parse_problem(doc), parse_problem(ones)
    prep, prep1 = prepare(P, P.durations), prepare(Q, Q.durations)
    assert not prep.has_contact and prep.pmax is None and prep1.has_contact
    r0, r1 = {0: []}, {0: []}
    insert_leftovers(prep, r0, float("inf"))
    insert_leftovers(prep1, r1, float("inf"))
    assert r0 == r1
    assert evaluate(prep, r0) == (evaluate(prep1, r1)[0], evaluate(prep1, r1)[1], True)
    assert planned_times(prep, 0, r0[0]) == route_times(prep, 0, r0[0]) == planned_times(prep1, 0, r1[0])
    a, b = solve(doc, seconds=1, workers=1).to_dict(), solve(ones, seconds=1, workers=1).to_dict()
    assert "contact" not in a and all("p" not in s for r in a["routes"] for s in r["stops"])
    strip = lambda d: [[(s["visit"], s["start"]) for s in r["stops"]] for r in d["routes"]]  # noqa: E731
    assert strip(a) == strip(b) and a["priority_served"] == b["priority_served"] and a["travel_s"] == b["travel_s"]


def test_the_checker_arithmetic_reports_expected_priority_and_contacts():
    doc = _doc([_slots(0.2, 0.6), None, [{"start": 9 * H, "end": 10 * H, "p": 0.5}]], visits=3)
    P = parse_problem(doc)
    prep = prepare(P, P.durations)
    # V1 (p 0.2 by day, 0.6 from 18:00), V2 without contact data (p 1), V3 home 09-10 only
    routes = {0: [2, 1, 0]}
    times, travel, back = planned_times(prep, 0, routes[0])
    assert [st for _, st, _ in times] == [9 * H + 600, 9 * H + 600 + 1800 + 600, 18 * H]
    assert travel == route_times(prep, 0, routes[0])[1] == 2400
    assert expected(prep, routes) == {"expected_priority": 50 * (0.5 + 1 + 0.6), "expected_contacts": 2.1}
    assert evaluate(prep, routes) == (pytest.approx(105.0), 2400, True)
    # started at its earliest, V1 would be worth 0.2: the planned start waits for the evening
    assert route_times(prep, 0, routes[0])[0][2][1] < 18 * H


# --- the builder -------------------------------------------------------------------------


@pytest.fixture
def branch(make_branch):
    return make_branch(timezone="Asia/Shanghai", jurisdiction="CN")


def _attempt(db, case, agent, day, hour, met):
    from zoneinfo import ZoneInfo

    from backend.common import to_utc_naive
    from backend.visits.models import Outcome, Visit

    address = case.account.debtor.addresses[0]
    at = to_utc_naive(datetime.combine(day, datetime.min.time(), ZoneInfo("Asia/Shanghai")) + timedelta(hours=hour))
    visit = Visit(case_id=case.id, address_id=address.id, agent_id=agent.id, date=day, window_start=at,
                  window_end=at + timedelta(hours=1), status="completed" if met else "failed", checkin_at=at)
    db.session.add(visit)
    db.session.flush()
    db.session.add(Outcome(visit_id=visit.id, case_id=case.id, agent_id=agent.id, code="refused" if met else "not_home",
                           met="debtor" if met else "nobody", recorded_at=at, received_at=at))


def test_the_builder_turns_past_outcomes_into_contact_slots(db, branch, make_agent, make_case, fixed_day):
    from backend.routing.builder import build_problem

    agent = make_agent(branch=branch)
    evening, fresh = make_case(branch=branch), make_case(branch=branch)
    assert "contact" not in build_problem(day=fixed_day, branch_id=branch.id).problem["visits"][0]  # no history yet
    for weeks in range(5, 9):  # Tuesdays more than 30 days back (R3): nobody home at 10:00 or 14:00, met at 19:00
        day = fixed_day - timedelta(weeks=weeks)
        _attempt(db, evening, agent, day, 10, False)
        _attempt(db, evening, agent, day, 14, False)
        _attempt(db, evening, agent, day, 19, True)
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)
    visits = {v["id"]: v for v in built.problem["visits"]}
    slots = {s["start"] // 3600: s["p"] for s in visits[f"c{evening.id}"]["contact"]}
    assert slots[19] > slots[10] + 0.2 and slots[19] > slots[14] + 0.2
    assert len(visits[f"c{fresh.id}"]["contact"]) == 24  # no history of its own: the area's
    assert built.meta["at_home"] == {"attempts": 12, "debtors_with_history": 1, "visits": 2}
    assert parse_problem(built.problem).has_contact

    branch.at_home_model = False
    db.session.flush()
    assert all("contact" not in v for v in build_problem(day=fixed_day, branch_id=branch.id).problem["visits"])


def test_the_command_line_reports_contact_and_can_ignore_it(tmp_path, capsys):
    import json

    from backend.routing.__main__ import main

    path = tmp_path / "p.json"
    path.write_text(json.dumps(_doc([_slots(0.1, 0.9)])))
    assert main(["solve", str(path), "--seconds", "1", "--workers", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["contact"] == {"expected_priority": 45.0, "expected_contacts": 0.9}
    assert out["routes"][0]["stops"][0]["p"] == 0.9
    assert main(["solve", str(path), "--seconds", "1", "--workers", "1", "--ignore-contact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "contact" not in out and out["routes"][0]["stops"][0]["start"] < 18 * H


def test_the_plan_shows_each_stops_chance_and_the_expected_contacts(client, db, branch, make_agent, make_case, make_user,
                                                                    headers_for, tomorrow, wait_plan):
    agent = make_agent(branch=branch, shift_end_s=21 * H)
    cases = [make_case(branch=branch) for _ in range(2)]
    for days in (35, 42, 49):
        _attempt(db, cases[0], agent, tomorrow - timedelta(days=days), 10, False)
        _attempt(db, cases[0], agent, tomorrow - timedelta(days=days), 19, True)
    db.session.commit()
    headers = headers_for(make_user(role="dispatcher"))
    body = {"date": tomorrow.isoformat(), "branch_id": branch.id, "seconds": 2}
    response = client.post("/api/route-plans", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    plan = wait_plan(response.get_json()["id"], headers)
    assert plan["status"] == "draft", plan["error"]
    stops = [s for r in plan["routes"] for s in r["stops"]]
    assert stops and all(0 < s["at_home"] < 1 for s in stops)
    expected_contacts = plan["stats"]["contact"]["expected_contacts"]
    assert expected_contacts == pytest.approx(sum(s["at_home"] for s in stops), abs=0.01)
    # the debtor met only in the evening is visited in the evening, on the board's times too
    evening = next(s for s in stops if s["case_id"] == cases[0].id)
    start = datetime.fromisoformat(evening["start"].replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
    assert start.hour >= 18 and evening["at_home"] == max(s["at_home"] for s in stops)


def test_the_board_knocks_at_the_best_chance_the_route_allows():
    from backend.routing.at_home import best_start

    slots = [{"start": h * H, "end": (h + 1) * H, "p": p} for h, p in ((9, 0.2), (10, 0.2), (18, 0.7), (19, 0.9), (20, 0.3))]
    windows = [[9 * H, 21 * H]]
    assert best_start(slots, windows, 9 * H + 600, 21 * H) == 19 * H
    assert best_start(slots, windows, 9 * H + 600, 18 * H + 1800) == 18 * H  # the rest of the route needs it earlier
    assert best_start(slots, windows, 9 * H + 600, 17 * H) == 9 * H + 600
    assert best_start(slots, [[9 * H, 12 * H]], 9 * H + 600, 12 * H) == 9 * H + 600  # outside the window: no wait


def test_with_a_travel_price_a_visit_is_worth_its_expected_priority():
    doc = _doc([_slots(0.05, 0.05), _slots(0.9, 0.9)], visits=2)
    for v in doc["visits"]:
        v["priority"] = 40  # expected 2 and 36 points; each detour is 20 min, 20 points at 60 an hour
    doc["travel_cost"] = 60
    sol = solve(doc, seconds=1, workers=1)
    assert [s.visit for s in sol.routes[0].stops] == ["V2"]
    assert sol.value["priority"] == 40
