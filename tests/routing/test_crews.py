"""Two-person visits (R9) through the route-plan API and the real solver: agents paired into
crews only as the two-person work needs, only crews take two-person visits, publishing sets
lead and partner, and a two-person visit no pair can serve is excluded with `route_no_pair`."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select

from backend.feed import Change
from backend.visits.models import Outcome, Visit

SECONDS = 1


def _risky(db, case, agent):
    """An earlier visit of the case that ended with the debtor refusing (the risk trigger)."""
    day = datetime.now().date() - timedelta(days=60)
    visit = Visit(case_id=case.id, address_id=case.account.debtor.addresses[0].id, agent_id=agent.id, date=day,
                  window_start=datetime.combine(day, datetime.min.time()), window_end=datetime.combine(day, datetime.max.time()),
                  status="completed")
    db.session.add(visit)
    db.session.flush()
    db.session.add(Outcome(visit_id=visit.id, case_id=case.id, agent_id=agent.id, code="refused", met="debtor",
                           recorded_at=datetime.combine(day, datetime.min.time())))
    db.session.commit()


@pytest.fixture
def crew_team(db, make_branch, make_agent, make_case, make_user, headers_for, client):
    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    # two agents start next to each other, two far apart: the close pair is the crew
    near1 = make_agent(branch=branch, daily_cap=6, start_lat=31.23, start_lon=121.47)
    near2 = make_agent(branch=branch, daily_cap=5, start_lat=31.231, start_lon=121.471)
    far1 = make_agent(branch=branch, daily_cap=6, start_lat=31.30, start_lon=121.40)
    far2 = make_agent(branch=branch, daily_cap=6, start_lat=31.16, start_lon=121.55)
    cases = [make_case(branch=branch, lat=31.22 + 0.01 * i, lon=121.46 + 0.008 * (i % 3), days_past_due=40 + 20 * i)
             for i in range(6)]
    for case in cases[:2]:
        _risky(db, case, far1)
    admin = make_user(role="admin")
    response = client.put("/api/policy/settings/CN/two_agents_after_outcomes",
                          json={"value": ["refused"], "reason": "safety review: refusals go as pairs"}, headers=headers_for(admin))
    assert response.status_code == 200, response.get_json()
    return {"branch": branch, "near1": near1, "near2": near2, "far1": far1, "far2": far2, "cases": cases,
            "headers": headers_for(make_user(role="dispatcher")), "admin_headers": headers_for(admin)}


def _history_reads(db, client, url, headers):
    """The response, and how many statements read the cases' outcome history (visits.services.outcome_history)."""
    seen = []

    def count(conn, cursor, statement, *args):
        if "outcomes.case_id IN" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), len(seen)


def test_the_board_and_the_visit_list_read_the_risk_trigger_in_one_query(client, db, crew_team, tomorrow, make_visit):
    t = crew_team
    visits = [make_visit(case=case, agent=t["near1"], day=tomorrow) for case in t["cases"]]
    board, reads = _history_reads(db, client, f"/api/board?date={tomorrow.isoformat()}&branch_id={t['branch'].id}", t["headers"])
    row = next(a for a in board["agents"] if a["id"] == t["near1"].id)
    assert {v["id"]: v["required_agents"] for v in row["visits"]} == {v.id: 2 if i < 2 else 1 for i, v in enumerate(visits)}
    assert reads == 2  # the day's visits, and the planner's candidates (routing.crews): not one per visit
    listed, reads = _history_reads(db, client, f"/api/visits?date={tomorrow.isoformat()}&per_page=50", t["headers"])
    assert {v["id"]: v["required_agents"] for v in listed["items"]} == {v.id: 2 if i < 2 else 1 for i, v in enumerate(visits)}
    assert reads == 1
    # one visit on its own still counts, and freshly (nothing kept from the page)
    _risky(db, t["cases"][2], t["far1"])
    one, _ = _history_reads(db, client, f"/api/visits/{visits[2].id}", t["headers"])
    assert one["required_agents"] == 2


def _draft(client, wait_plan, headers, branch, day):
    response = client.post("/api/route-plans", json={"date": day.isoformat(), "branch_id": branch.id, "seconds": SECONDS},
                           headers=headers)
    assert response.status_code == 202, response.get_json()
    plan = wait_plan(response.get_json()["id"], headers)
    assert plan["status"] == "draft", plan["error"]
    return plan


def test_crews_take_two_person_visits_and_publish_sets_lead_and_partner(client, db, crew_team, tomorrow, wait_plan, headers_for):
    t = crew_team
    two = {c.id for c in t["cases"][:2]}
    plan = _draft(client, wait_plan, t["headers"], t["branch"], tomorrow)
    routes = {r["agent_id"]: r for r in plan["routes"]}
    # one crew is enough for two visits: the closest pair, the lower id leading; the partner is no vehicle
    assert set(routes) == {t["near1"].id, t["far1"].id, t["far2"].id}
    crew = routes[t["near1"].id]
    assert (crew["partner_id"], crew["partner_name"]) == (t["near2"].id, t["near2"].user.display_name or t["near2"].user.username)
    assert routes[t["far1"].id]["partner_id"] is None and routes[t["far2"].id]["partner_id"] is None
    stops = [(r["agent_id"], s) for r in plan["routes"] for s in r["stops"]]
    assert {s["case_id"] for _, s in stops} | {u["case_id"] for u in plan["unassigned"]} == {c.id for c in t["cases"]}
    for agent_id, stop in stops:
        assert stop["required_agents"] == (2 if stop["case_id"] in two else 1)
        if stop["case_id"] in two:
            assert agent_id == t["near1"].id and "crew" in stop["skills"]
    assert {s["case_id"] for a, s in stops if a == t["near1"].id} >= two
    # the crew's cap is the smaller of the two (5), its shift the intersection
    assert len(crew["stops"]) <= 5
    assert plan["violations"] == [] and plan["excluded"] == []

    # a two-person visit moved to an agent working alone breaks the rule and blocks publishing
    two_stop = next(s for a, s in stops if s["case_id"] in two)
    moved = client.post(f"/api/route-plans/{plan['id']}/moves", json={"case_id": two_stop["case_id"], "agent_id": t["far1"].id},
                        headers=t["headers"]).get_json()
    assert [(v["rule"], "crew" in v["message"]) for v in moved["move"]["violations"]] == [("skills", True)]
    back = client.post(f"/api/route-plans/{plan['id']}/moves", json={"case_id": two_stop["case_id"], "agent_id": t["near1"].id},
                       headers=t["headers"])
    assert back.status_code == 200 and back.get_json()["violations"] == []

    response = client.post(f"/api/route-plans/{plan['id']}/publish", headers=t["headers"])
    assert response.status_code == 200, response.get_json()
    crew_visits = db.session.scalars(select(Visit).where(Visit.agent_id == t["near1"].id, Visit.date == tomorrow)).all()
    assert crew_visits and all(v.partner_id == t["near2"].id for v in crew_visits)
    assert {v.case_id for v in crew_visits} >= two
    alone = db.session.scalars(select(Visit).where(Visit.agent_id.in_([t["far1"].id, t["far2"].id]), Visit.date == tomorrow)).all()
    assert all(v.partner_id is None for v in alone) and not two & {v.case_id for v in alone}
    # the partner's phone is told of each crew visit
    told = set(db.session.scalars(select(Change.ref_id).where(Change.user_id == t["near2"].user_id, Change.kind == "visit.upsert")))
    assert told == {v.id for v in crew_visits}

    # the visit API and the board say how many agents each visit needs, and who partners it
    visit = client.get(f"/api/visits/{crew_visits[0].id}", headers=t["headers"]).get_json()
    assert visit["partner_id"] == t["near2"].id and visit["required_agents"] in (1, 2)
    two_visit = next(v for v in crew_visits if v.case_id in two)
    assert client.get(f"/api/visits/{two_visit.id}", headers=t["headers"]).get_json()["required_agents"] == 2
    board = client.get(f"/api/board?date={tomorrow.isoformat()}&branch_id={t['branch'].id}", headers=t["headers"]).get_json()
    row = next(a for a in board["agents"] if a["id"] == t["near1"].id)
    on_board = next(v for v in row["visits"] if v["id"] == two_visit.id)
    assert (on_board["required_agents"], on_board["partner_id"]) == (2, t["near2"].id)


def test_a_two_person_visit_without_a_pair_is_excluded_with_a_code(client, db, make_branch, make_agent, make_case, make_user,
                                                                  headers_for, tomorrow, wait_plan):
    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    make_agent(branch=branch, daily_cap=6)
    cases = [make_case(branch=branch, lat=31.22 + 0.01 * i, lon=121.47) for i in range(2)]
    admin_headers = headers_for(make_user(role="admin"))
    response = client.put("/api/policy/settings/CN/min_agents_per_visit", json={"value": 2, "reason": "pilot: pairs only"},
                          headers=admin_headers)
    assert response.status_code == 200 and response.get_json()["value"] == 2
    headers = headers_for(make_user(role="dispatcher"))
    plan = _draft(client, wait_plan, headers, branch, tomorrow)
    assert [s for r in plan["routes"] for s in r["stops"]] == [] and plan["unassigned"] == []
    assert [e["case_id"] for e in plan["excluded"]] == [c.id for c in cases]
    for entry in plan["excluded"]:
        (reason,) = entry["reasons"]
        assert (reason["rule"], reason["code"]) == ("R9", "route_no_pair") and "two agents" in reason["message"]


@pytest.mark.parametrize("key,value", [("min_agents_per_visit", 3), ("min_agents_per_visit", "2"),
                                       ("two_agents_after_outcomes", ["nope"]), ("two_agents_after_outcomes", "refused")])
def test_the_settings_are_validated(client, make_user, headers_for, key, value):
    response = client.put(f"/api/policy/settings/CN/{key}", json={"value": value, "reason": "trying"},
                          headers=headers_for(make_user(role="admin")))
    assert response.status_code == 422 and response.get_json()["errors"]["value"]


@pytest.fixture
def trio(db, client, make_branch, make_agent, make_case, make_user, headers_for):
    """Every visit needs two agents; three agents, the first two start side by side (the crew),
    the third far away; two cases."""
    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    lead = make_agent(branch=branch, daily_cap=6, start_lat=31.23, start_lon=121.47)
    partner = make_agent(branch=branch, daily_cap=6, start_lat=31.231, start_lon=121.471)
    third = make_agent(branch=branch, daily_cap=6, start_lat=31.40, start_lon=121.30)
    cases = [make_case(branch=branch, lat=31.22 + 0.01 * i, lon=121.47) for i in range(2)]
    admin = make_user(role="admin")
    response = client.put("/api/policy/settings/CN/min_agents_per_visit", json={"value": 2, "reason": "pilot: pairs only"},
                          headers=headers_for(admin))
    assert response.status_code == 200
    return {"branch": branch, "lead": lead, "partner": partner, "third": third, "cases": cases,
            "headers": headers_for(make_user(role="dispatcher"))}


def test_publishing_refuses_a_crew_whose_partner_is_no_longer_active(client, db, trio, tomorrow, wait_plan):
    t = trio
    plan = _draft(client, wait_plan, t["headers"], t["branch"], tomorrow)
    crew = next(r for r in plan["routes"] if r["stops"])
    assert (crew["agent_id"], crew["partner_id"]) == (t["lead"].id, t["partner"].id)
    t["partner"].user.active = False  # disabled between the solve and the publish
    db.session.commit()
    response = client.post(f"/api/route-plans/{plan['id']}/publish", headers=t["headers"])
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "plan_violations" and body["message"]
    (finding,) = body["violations"]
    assert finding["code"] == "crew_partner_inactive" and finding["rule"] == "agent"
    assert finding["params"] == {"lead_id": t["lead"].id, "partner_id": t["partner"].id}
    assert db.session.scalars(select(Visit).where(Visit.date == tomorrow, Visit.status == "published")).all() == []


def _changes(db, user_id, visit_id):
    return [c.kind for c in db.session.scalars(select(Change).where(Change.user_id == user_id, Change.ref_id == visit_id,
                                                                    Change.ref_type == "visit").order_by(Change.id))]


def test_a_new_partner_is_a_new_version_dropped_by_the_old_partner_and_given_to_the_new(client, db, trio, tomorrow, wait_plan):
    t = trio
    plan = _draft(client, wait_plan, t["headers"], t["branch"], tomorrow)
    assert client.post(f"/api/route-plans/{plan['id']}/publish", headers=t["headers"]).status_code == 200
    visits = db.session.scalars(select(Visit).where(Visit.date == tomorrow).order_by(Visit.id)).all()
    assert len(visits) == 2 and all((v.agent_id, v.partner_id) == (t["lead"].id, t["partner"].id) for v in visits)
    before = {v.id: (v.version, v.route_position, v.planned_arrival) for v in visits}

    # the partner now starts far off and the third agent next to the lead: the day is planned again
    t["partner"].start_lat, t["partner"].start_lon = 31.40, 121.30
    t["third"].start_lat, t["third"].start_lon = 31.231, 121.471
    db.session.commit()
    again = _draft(client, wait_plan, t["headers"], t["branch"], tomorrow)
    crew = next(r for r in again["routes"] if r["stops"])
    assert (crew["agent_id"], crew["partner_id"]) == (t["lead"].id, t["third"].id)
    assert client.post(f"/api/route-plans/{again['id']}/publish", headers=t["headers"]).status_code == 200
    db.session.expire_all()
    for visit in db.session.scalars(select(Visit).where(Visit.date == tomorrow)):
        assert (visit.agent_id, visit.partner_id) == (t["lead"].id, t["third"].id)
        version, position, arrival = before[visit.id]
        # the same stop of the same lead: only the partner changed, and that alone is a new version
        assert (visit.route_position, visit.planned_arrival) == (position, arrival)
        assert visit.version == version + 1
        assert _changes(db, t["partner"].user_id, visit.id)[-1] == "visit.remove"
        assert _changes(db, t["third"].user_id, visit.id) == ["visit.upsert"]
        assert _changes(db, t["lead"].user_id, visit.id)[-1] == "visit.upsert"
