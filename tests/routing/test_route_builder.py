"""The problem builder: windows in the debtor's timezone, every exclusion with its
reasons, caps, skills, pins, priorities, and the day's done/under-way visits fixed."""
from datetime import datetime, timedelta

import pytest

from backend.cases.models import CaseFlag
from backend.common import utcnow
from backend.routing.builder import BuildError, build_problem, priority_for
from backend.routing.problem import Balance, parse_problem

SHANGHAI = "Asia/Shanghai"


def _visit(built, ref):
    return next(v for v in built.problem["visits"] if v["id"] == ref)


def _excluded(built, case_id):
    return next(e for e in built.excluded if e["case_id"] == case_id)


@pytest.fixture
def branch(make_branch):
    return make_branch(timezone=SHANGHAI, jurisdiction="CN")


def test_windows_are_visiting_hours_in_the_debtors_timezone(db, branch, make_agent, make_case, fixed_day):
    make_agent(branch=branch)
    local = make_case(branch=branch, tz=SHANGHAI)
    tokyo = make_case(branch=branch, tz="Asia/Tokyo", lat=31.25, lon=121.50)
    kolkata = make_case(branch=branch, tz="Asia/Kolkata", lat=31.22, lon=121.45)
    london = make_case(branch=branch, tz="Europe/London", lat=31.21, lon=121.44)

    built = build_problem(day=fixed_day, branch_id=branch.id)

    assert built.meta["timezone"] == SHANGHAI
    # CN hours 09:00–20:00, each in the debtor's clock, in seconds of the Shanghai day
    assert _visit(built, f"c{local.id}")["windows"] == [[9 * 3600, 20 * 3600]]
    assert _visit(built, f"c{tokyo.id}")["windows"] == [[8 * 3600, 19 * 3600]]  # Tokyo is 1 h ahead
    assert _visit(built, f"c{kolkata.id}")["windows"] == [[11 * 3600 + 1800, 22 * 3600 + 1800]]  # 2 h 30 behind
    # London (UTC+0 in January) is 8 h behind: yesterday's evening hours reach past our
    # midnight, today's start at 17:00 and are cut at the end of our day
    assert _visit(built, f"c{london.id}")["windows"] == [[0, 4 * 3600], [17 * 3600, 24 * 3600]]
    assert built.meta["visits"][f"c{london.id}"]["windows_utc"][1] == ["2030-01-15T09:00:00", "2030-01-15T16:00:00"]


def test_availability_narrows_the_window_and_a_day_without_it_is_excluded(db, branch, make_agent, make_case, fixed_day):
    make_agent(branch=branch)
    evenings = make_case(branch=branch)
    evenings.account.debtor.availability = {str(fixed_day.weekday()): [[18 * 3600, 21 * 3600]]}
    not_tuesdays = make_case(branch=branch)
    not_tuesdays.account.debtor.inconvenient = [{"days": [fixed_day.weekday()]}]
    lunch = make_case(branch=branch)
    lunch.account.debtor.inconvenient = [{"start": "12:00", "end": "14:00"}]
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)

    assert _visit(built, f"c{evenings.id}")["windows"] == [[18 * 3600, 20 * 3600]]
    assert _visit(built, f"c{lunch.id}")["windows"] == [[9 * 3600, 12 * 3600], [14 * 3600, 20 * 3600]]
    assert _excluded(built, not_tuesdays.id)["reasons"][0]["rule"] == "R2"


def test_every_exclusion_is_listed_with_all_its_reasons(db, branch, make_agent, make_case, make_visit, fixed_day):
    agent = make_agent(branch=branch)
    ok = make_case(branch=branch)
    phone = make_case(branch=branch, stage="phone")
    closed = make_case(branch=branch, stage="closed")
    blocked = make_case(branch=branch)
    db.session.add(CaseFlag(case_id=blocked.id, flag="dispute", reason="statement disputed", set_at=utcnow() - timedelta(days=1)))
    both = make_case(branch=branch, stage="letter")
    db.session.add(CaseFlag(case_id=both.id, flag="deceased", reason="", set_at=utcnow() - timedelta(days=1)))
    over_cap = make_case(branch=branch)
    make_visit(case=over_cap, agent=agent, day=fixed_day - timedelta(days=3))
    unlocated = make_case(branch=branch, lat=None, lon=None)
    elsewhere = make_case()  # another branch: not in this plan at all
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)

    refs = {v["id"] for v in built.problem["visits"]}
    assert refs == {f"c{ok.id}"}
    listed = {e["case_id"]: [r["rule"] for r in e["reasons"]] for e in built.excluded}
    assert listed == {
        phone.id: ["ladder"],
        blocked.id: ["R4"],
        both.id: ["ladder", "R4"],
        over_cap.id: ["R3"],
        unlocated.id: ["geocode"],
    }
    assert closed.id not in listed and elsewhere.id not in listed
    reasons = _excluded(built, blocked.id)["reasons"]
    assert "dispute" in reasons[0]["message"] and reasons[0]["flag"] == "dispute"
    assert "7 days" in _excluded(built, over_cap.id)["reasons"][0]["message"]


def test_one_candidate_per_debtor(db, branch, make_agent, make_case, fixed_day):
    from backend.cases.models import Account, Case

    make_agent(branch=branch)
    first = make_case(branch=branch, overdue="90000.00")
    account = Account(account_number="SECOND-CARD", card_masked="**** 1", debtor_id=first.account.debtor_id,
                      balance=1000, overdue_amount=500, days_past_due=40)
    db.session.add(account)
    db.session.flush()
    second = Case(account_id=account.id, stage="field", branch_id=branch.id)
    db.session.add(second)
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)

    assert [v["id"] for v in built.problem["visits"]] == [f"c{first.id}"]  # the more valuable one
    assert _excluded(built, second.id)["reasons"][0]["rule"] == "R3"
    assert _excluded(built, second.id)["reasons"][0]["params"] == {"case_id": first.id}


def test_agents_shift_cap_skills_and_start(db, make_branch, make_agent, fixed_day):
    shanghai = make_branch(timezone=SHANGHAI, lat=31.2, lon=121.4)
    tokyo = make_branch(timezone="Asia/Tokyo", lat=35.68, lon=139.76)
    home = make_agent(branch=shanghai, daily_cap=7, skills=["dialect"], start_lat=31.3, start_lon=121.5)
    office = make_agent(branch=shanghai, start_lat=None, start_lon=None)
    away = make_agent(branch=tokyo, shift_start_s=9 * 3600, shift_end_s=18 * 3600)
    make_agent(branch=shanghai, active=False)

    built = build_problem(day=fixed_day)  # all branches: two timezones → the default one

    assert built.meta["timezone"] == SHANGHAI
    agents = {a["id"]: a for a in built.problem["agents"]}
    assert set(agents) == {f"a{home.id}", f"a{office.id}", f"a{away.id}"}
    assert agents[f"a{home.id}"]["max_visits"] == 7 and agents[f"a{home.id}"]["skills"] == ["dialect"]
    assert agents[f"a{home.id}"]["shift"] == [9 * 3600, 18 * 3600]
    assert agents[f"a{away.id}"]["shift"] == [8 * 3600, 17 * 3600]  # Tokyo 09:00–18:00 in Shanghai time
    locations = built.problem["locations"]
    assert locations[agents[f"a{home.id}"]["start"]] == [31.3, 121.5]
    assert locations[agents[f"a{office.id}"]["start"]] == [31.2, 121.4]  # no start of its own: the branch
    assert len(built.problem["durations"]) == len(locations)


def test_skills_pins_and_existing_visits(db, branch, make_agent, make_case, make_visit, fixed_day):
    agent = make_agent(branch=branch)
    other = make_agent(branch=branch)
    cantonese = make_case(branch=branch)
    cantonese.account.debtor.language = "yue-HK"
    big = make_case(branch=branch, overdue="150000.00")
    promises = make_case(branch=branch, broken_promises=2)
    pinned = make_visit(case=make_case(branch=branch), agent=agent, day=fixed_day, publish=False, pinned=True)
    loose = make_visit(case=make_case(branch=branch), agent=other, day=fixed_day, publish=True)
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)

    assert _visit(built, f"c{cantonese.id}")["skills"] == ["dialect"]
    assert _visit(built, f"c{big.id}")["skills"] == ["senior"]
    assert _visit(built, f"c{promises.id}")["skills"] == ["senior"]
    assert "yue-HK" in built.meta["visits"][f"c{cantonese.id}"]["skills_why"]["dialect"]["message"]
    assert _visit(built, f"v{pinned.id}")["agent"] == f"a{agent.id}"
    assert _visit(built, f"v{loose.id}")["agent"] is None  # assigned but not pinned: the solver may move it
    assert f"c{pinned.case_id}" not in {v["id"] for v in built.problem["visits"]}
    # the published route is the engine's warm start
    assert built.warm_start == {"routes": [{"agent": f"a{other.id}", "stops": [{"visit": f"v{loose.id}"}]}]}


def test_agents_outside_the_plan_keep_their_visits(db, branch, make_agent, make_case, make_visit, fixed_day):
    mine = make_agent(branch=branch)
    theirs = make_agent(branch=branch)
    visit = make_visit(case=make_case(branch=branch), agent=theirs, day=fixed_day)

    built = build_problem(day=fixed_day, branch_id=branch.id, agent_ids=[mine.id])

    assert built.problem["visits"] == []
    assert _excluded(built, visit.case_id)["reasons"][0]["rule"] == "scope"
    assert _excluded(built, visit.case_id)["reasons"][0]["code"] == "route_other_agent"
    with pytest.raises(BuildError):
        build_problem(day=fixed_day, branch_id=branch.id, agent_ids=[mine.id, 999999])


def test_priority_is_explained_by_its_factors(db, branch, make_case):
    low = make_case(branch=branch, overdue="1000.00", days_past_due=35)
    high = make_case(branch=branch, overdue="80000.00", days_past_due=200, broken_promises=3)
    now = utcnow()
    high.last_contact_at = now - timedelta(days=45)
    low.last_contact_at = now - timedelta(days=2)

    p_low, f_low = priority_for(low, now)
    p_high, f_high = priority_for(high, now)

    assert 1 <= p_low < p_high <= 100
    assert p_high == round(sum(f["points"] for f in f_high.values()))
    assert f_high["days_past_due"] == {"value": 200, "points": 25.0}
    assert f_high["broken_promises"]["points"] == 15.0 and f_high["days_since_contact"]["points"] == 20.0
    assert f_low["overdue_amount"]["value"] == "1000.00"


def test_done_and_under_way_visits_are_fixed(db, branch, make_agent, make_case, make_visit, fixed_day):
    agent = make_agent(branch=branch, daily_cap=5)
    done = make_visit(case=make_case(branch=branch, lat=31.30, lon=121.50), agent=agent, day=fixed_day)
    going = make_visit(case=make_case(branch=branch, lat=31.28, lon=121.52), agent=agent, day=fixed_day)
    nine = datetime(2030, 1, 15, 1, 0)  # 09:00 in Shanghai, naive UTC
    done.status, done.checkin_at, done.checkout_at = "completed", nine, nine + timedelta(minutes=40)
    going.status, going.checkin_at = "checked_in", nine + timedelta(hours=1)
    fresh = make_case(branch=branch)
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id, now=nine + timedelta(hours=1, minutes=10))

    entry = built.problem["agents"][0]
    assert entry["max_visits"] == 3
    assert entry["shift"][0] == 10 * 3600 + going.service_s  # leaves the door it is at when done
    assert built.problem["locations"][entry["start"]] == [31.28, 121.52]
    fixed = built.meta["agents"][f"a{agent.id}"]["fixed"]
    assert [f["visit_id"] for f in fixed] == [done.id, going.id]
    assert [v["id"] for v in built.problem["visits"]] == [f"c{fresh.id}"]
    assert done.case_id not in {e["case_id"] for e in built.excluded}


@pytest.fixture
def table_server():
    """A local road-network table service (OSRM /table API): every leg takes 100 s per
    index step, so its answer is recognisable in the matrix."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen = []

    class Table(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            n = len(self.path.split("?")[0].rsplit("/", 1)[1].split(";"))
            body = {"code": "Ok", "durations": [[100 * abs(i - j) for j in range(n)] for i in range(n)],
                    "distances": [[1000 * abs(i - j) for j in range(n)] for i in range(n)]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Table)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_travel_times_come_from_the_configured_table_service(app, db, branch, make_agent, make_case, fixed_day, table_server, monkeypatch):
    url, seen = table_server
    make_agent(branch=branch)
    make_case(branch=branch)
    make_case(branch=branch, lat=31.3)
    monkeypatch.setitem(app.config, "ROUTING_OSRM_URL", url)

    built = build_problem(day=fixed_day, branch_id=branch.id)

    n = len(built.problem["locations"])
    assert built.problem["durations"] == [[100 * abs(i - j) for j in range(n)] for i in range(n)]
    assert seen and seen[0].startswith("/table/v1/driving/")
    assert built.meta["travel"]["osrm_url"] == url


def test_branch_circuity_and_speed_shape_the_model(db, make_branch, make_agent, make_case, fixed_day):
    slow = make_branch(circuity=2.0, speed_kmh=10.0)
    fast = make_branch(circuity=1.0, speed_kmh=40.0)
    legs = {}
    for branch in (slow, fast):
        make_agent(branch=branch, start_lat=31.20, start_lon=121.40)
        make_case(branch=branch, lat=31.30, lon=121.40)
        built = build_problem(day=fixed_day, branch_id=branch.id)
        legs[branch.id] = built.problem["durations"][0][2]
    assert legs[slow.id] == pytest.approx(8 * legs[fast.id], rel=0.01)  # 2x the road, a quarter of the speed


def test_the_branch_balance_and_travel_price_reach_the_problem(db, branch, make_agent, make_case, fixed_day):
    make_agent(branch=branch)
    make_case(branch=branch)
    assert "balance" not in build_problem(day=fixed_day, branch_id=branch.id).problem
    branch.balance_by, branch.balance_max_loss = "duration", 0.02
    db.session.flush()
    built = build_problem(day=fixed_day, branch_id=branch.id)
    assert built.problem["balance"] == {"by": "duration", "max_loss": 0.02}
    assert parse_problem(built.problem).balance == Balance("duration", 0.02)
    assert "travel_cost" not in built.problem
    branch.travel_cost = 60.0
    db.session.flush()
    assert parse_problem(build_problem(day=fixed_day, branch_id=branch.id).problem).travel_cost == 60.0


def test_a_visit_prefers_the_agent_who_last_met_the_debtor(db, branch, make_agent, make_case, fixed_day):
    from backend.visits.models import Outcome, Visit

    first, second = make_agent(branch=branch), make_agent(branch=branch)
    case = make_case(branch=branch)
    stranger = make_case(branch=branch)
    address = case.account.debtor.addresses[0]
    for agent, met, days in ((first, "debtor", 90), (second, "debtor", 60), (first, "nobody", 45)):
        at = datetime.combine(fixed_day - timedelta(days=days), datetime.min.time()) + timedelta(hours=3)
        visit = Visit(case_id=case.id, address_id=address.id, agent_id=agent.id, date=at.date(), window_start=at,
                      window_end=at + timedelta(hours=8), status="completed")
        db.session.add(visit)
        db.session.flush()
        db.session.add(Outcome(visit_id=visit.id, case_id=case.id, agent_id=agent.id, code="x", met=met,
                               recorded_at=at, received_at=at))
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)

    # the last time someone met the debtor in person: the second agent (nobody met after it does not count)
    assert _visit(built, f"c{case.id}")["preferred_agent"] == f"a{second.id}"
    assert built.meta["visits"][f"c{case.id}"]["last_met_agent_id"] == second.id
    assert "preferred_agent" not in _visit(built, f"c{stranger.id}")
    parsed = {v.id: v for v in parse_problem(built.problem).visits}
    assert parsed[f"c{case.id}"].continuity_weight == 1800


def test_follow_ups_due_go_first_and_one_that_cannot_be_planned_says_why(db, branch, make_agent, make_case, fixed_day):
    from backend.payments.models import FollowUp

    make_agent(branch=branch)
    agreed = make_case(branch=branch)
    overdue = make_case(branch=branch)
    blocked = make_case(branch=branch)
    db.session.add(CaseFlag(case_id=blocked.id, flag="dispute", reason="statement disputed", set_at=utcnow() - timedelta(days=1)))
    later = make_case(branch=branch)
    elsewhere = make_case()  # another branch: not this plan's
    follow_ups = [FollowUp(case_id=agreed.id, kind="visit", due_on=fixed_day, reason="Agreed at the door (visit 7)."),
                  FollowUp(case_id=overdue.id, kind="visit", due_on=fixed_day - timedelta(days=2), reason="Promise broken."),
                  FollowUp(case_id=blocked.id, kind="visit", due_on=fixed_day, reason="Promise broken."),
                  FollowUp(case_id=later.id, kind="visit", due_on=fixed_day + timedelta(days=1), reason="Next week."),
                  FollowUp(case_id=agreed.id, kind="call", due_on=fixed_day, reason="Call first."),
                  FollowUp(case_id=elsewhere.id, kind="visit", due_on=fixed_day, reason="Elsewhere.")]
    db.session.add_all(follow_ups)
    db.session.commit()

    built = build_problem(day=fixed_day, branch_id=branch.id)

    for case, follow_up in ((agreed, follow_ups[0]), (overdue, follow_ups[1])):
        assert _visit(built, f"c{case.id}")["priority"] == 100
        assert built.meta["visits"][f"c{case.id}"]["follow_up"]["reason"] == follow_up.reason
    assert built.meta["visits"][f"c{later.id}"]["follow_up"] is None
    listed = {f["case_id"]: f for f in built.meta["follow_ups"]}
    assert set(listed) == {agreed.id, overdue.id, blocked.id}
    assert listed[agreed.id]["ref"] == f"c{agreed.id}" and "why" not in listed[agreed.id]
    assert listed[overdue.id]["due_on"] == (fixed_day - timedelta(days=2)).isoformat()
    assert listed[blocked.id]["ref"] is None
    assert any("dispute" in why for why in listed[blocked.id]["why"])
