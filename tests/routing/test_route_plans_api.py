"""The dispatcher's day through the API: draft (solved in the background) → adjust
(valid and violating moves) → publish (visits on the agents' days and feeds) → in-day
re-plan with done and under-way visits fixed; roles and bad input."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend import events
from backend.routing.models import RoutePlan
from backend.feed import Change
from backend.visits.models import Visit
from backend.visits.services import create_visit

SECONDS = 1


@pytest.fixture
def team(db, make_branch, make_user, make_agent, make_case, headers_for, tomorrow):
    """A branch with two agents (one speaks the dialect), six field cases around it, one
    of them needing the dialect, and one visit already planned but not assigned."""
    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    plain = make_agent(branch=branch, daily_cap=6)
    dialect = make_agent(branch=branch, daily_cap=6, skills=["dialect"])
    cases = [make_case(branch=branch, lat=31.23 + 0.01 * i, lon=121.47 + 0.008 * (i % 3), days_past_due=40 + 20 * i)
             for i in range(6)]
    cases[2].account.debtor.language = "yue-HK"
    blocked = make_case(branch=branch, stage="phone")
    db.session.commit()
    planned = create_visit(case_id=cases[5].id, date=tomorrow, actor_id=None)
    db.session.commit()
    dispatcher = make_user(role="dispatcher")
    return {
        "branch": branch, "plain": plain, "dialect": dialect, "cases": cases, "blocked": blocked, "planned": planned,
        "headers": headers_for(dispatcher), "dispatcher": dispatcher,
        "plain_headers": headers_for(plain.user), "owner_headers": headers_for(make_user(role="owner")),
    }


def _draft(client, wait_plan, team, day, **extra):
    body = {"date": day.isoformat(), "branch_id": team["branch"].id, "seconds": SECONDS, **extra}
    response = client.post("/api/route-plans", json=body, headers=team["headers"])
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] in ("queued", "solving", "draft")
    plan = wait_plan(response.get_json()["id"], team["headers"])
    assert plan["status"] == "draft", plan["error"]
    return plan


def _route(plan, agent):
    return next(r for r in plan["routes"] if r["agent_id"] == agent.id)


def _move(client, team, plan_id, **body):
    return client.post(f"/api/route-plans/{plan_id}/moves", json=body, headers=team["headers"])


def test_draft_adjust_publish_and_replan(client, db, team, tomorrow, wait_plan, monkeypatch):
    plain, dialect, cases = team["plain"], team["dialect"], team["cases"]
    plan = _draft(client, wait_plan, team, tomorrow)

    # every case of the branch is planned, unassigned or excluded — with its reasons
    stops = [s for r in plan["routes"] for s in r["stops"]]
    assert {s["case_id"] for s in stops} | {u["case_id"] for u in plan["unassigned"]} == {c.id for c in cases}
    assert [(e["case_id"], [r["rule"] for r in e["reasons"]]) for e in plan["excluded"]] == [(team["blocked"].id, ["ladder"])]
    assert "phone stage" in plan["excluded"][0]["reasons"][0]["message"]
    assert plan["stats"]["assigned"] == 6 and plan["violations"] == []
    assert plan["stats"]["priority_served"] == plan["stats"]["priority_total"]
    assert next(s for s in stops if s["case_id"] == team["planned"].case_id)["visit_id"] == team["planned"].id
    dialect_stop = next(s for s in stops if s["case_id"] == cases[2].id)
    assert dialect_stop["skills"] == ["dialect"] and dialect_stop in _route(plan, dialect)["stops"]
    for route in plan["routes"]:
        assert [s["position"] for s in route["stops"]] == list(range(1, len(route["stops"]) + 1))
        for stop in route["stops"]:
            assert stop["window"]["start"] <= stop["start"] <= stop["window"]["end"]
            assert stop["arrival"] <= stop["start"] < stop["end"]
            assert set(stop["priority_factors"]) == {"overdue_amount", "days_past_due", "broken_promises", "days_since_contact"}
        assert route["km"] > 0 and route["travel_s"] > 0 if route["stops"] else route["travel_s"] == 0
    # the board's workload figures: each route's working time, the plan's spread
    def door_s(stop):
        return int((datetime.fromisoformat(stop["end"]) - datetime.fromisoformat(stop["start"])).total_seconds())

    work = [r["travel_s"] + sum(door_s(s) for s in r["stops"]) for r in plan["routes"]]
    assert [r["work_s"] for r in plan["routes"]] == work
    counts = [len(r["stops"]) for r in plan["routes"]]
    assert plan["stats"]["workload"]["agents"] == len(plan["routes"])
    assert plan["stats"]["workload"]["stops"]["max"] == max(counts)
    assert plan["stats"]["workload"]["stops"]["min"] == min(counts)
    assert plan["stats"]["workload"]["work_s"]["max"] == max(work)

    # a valid move: re-timed, nothing broken
    movable = next((s for s in _route(plan, plain)["stops"]), None) or next(
        s for s in _route(plan, dialect)["stops"] if s["case_id"] != cases[2].id)
    target = dialect if movable in _route(plan, plain)["stops"] else plain
    response = _move(client, team, plan["id"], case_id=movable["case_id"], agent_id=target.id, position=1, version=plan["version"])
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["move"]["violations"] == [] and moved["violations"] == []
    first = _route(moved, target)["stops"][0]
    assert first["case_id"] == movable["case_id"] and first["position"] == 1
    assert moved["version"] == plan["version"] + 1

    # a violating move is kept, listed, and blocks publishing
    response = _move(client, team, plan["id"], case_id=cases[2].id, agent_id=plain.id)
    assert response.status_code == 200
    broken = response.get_json()
    assert [(v["rule"], v["agent"]) for v in broken["move"]["violations"]] == [("skills", f"a{plain.id}")]
    assert "dialect" in broken["violations"][0]["message"]
    assert (broken["violations"][0]["code"], broken["violations"][0]["params"]) == ("route_skills_missing", {"skills": ["dialect"]})
    response = client.post(f"/api/route-plans/{plan['id']}/publish", headers=team["headers"])
    assert response.status_code == 409 and response.get_json()["code"] == "plan_violations"
    assert response.get_json()["violations"][0]["rule"] == "skills"
    assert db.session.get(RoutePlan, plan["id"]).violations[0]["rule"] == "skills"  # stored, not only answered
    assert db.session.scalar(select(Visit).where(Visit.status == "published")) is None

    # an old copy of the plan cannot be acted on
    response = _move(client, team, plan["id"], case_id=cases[2].id, agent_id=dialect.id, version=plan["version"])
    assert response.status_code == 409 and response.get_json()["code"] == "stale_version"
    response = _move(client, team, plan["id"], case_id=cases[2].id, agent_id=dialect.id, pin=True)
    assert response.status_code == 200 and response.get_json()["violations"] == []

    published_events = []
    monkeypatch.setitem(events._listeners, "route.published", [lambda **kw: published_events.append(kw)])
    response = client.post(f"/api/route-plans/{plan['id']}/publish", headers=team["headers"])
    assert response.status_code == 200, response.get_json()
    final = response.get_json()
    assert final["status"] == "published"

    # the plan became the agents' day: visits published in route order, feeds told
    for route in final["routes"]:
        rows = db.session.scalars(select(Visit).where(Visit.agent_id == route["agent_id"], Visit.date == tomorrow)
                                  .order_by(Visit.route_position)).all()
        assert [v.case_id for v in rows] == [s["case_id"] for s in route["stops"]]
        assert [s["visit_id"] for s in route["stops"]] == [v.id for v in rows]
        assert all(v.status == "published" and v.planned_arrival is not None for v in rows)
        assert [v.route_position for v in rows] == list(range(1, len(rows) + 1))
    assert db.session.scalar(select(Visit).where(Visit.case_id == cases[2].id)).pinned is True
    assert db.session.get(Visit, team["planned"].id).status == "published"
    for agent in (plain, dialect):
        fed = db.session.scalars(select(Change.ref_id).where(Change.user_id == agent.user_id, Change.kind == "visit.upsert")).all()
        assert sorted(fed) == sorted(s["visit_id"] for s in _route(final, agent)["stops"])
    assert len(published_events) == 1
    assert published_events[0]["user_ids"] == {a.user_id for a in (plain, dialect) if _route(final, a)["stops"]}
    assert published_events[0]["date"] == tomorrow
    seen = client.get(f"/api/visits?date={tomorrow.isoformat()}", headers=team["plain_headers"]).get_json()["items"]
    assert [v["id"] for v in seen] == [s["visit_id"] for s in _route(final, plain)["stops"]]
    assert client.post(f"/api/route-plans/{plan['id']}/publish", headers=team["headers"]).status_code == 409

    # the day moves on: one visit done, the next under way; the rest is re-planned
    busy = max((plain, dialect), key=lambda a: len(_route(final, a)["stops"]))
    route = _route(final, busy)["stops"]
    done, going = db.session.get(Visit, route[0]["visit_id"]), db.session.get(Visit, route[1]["visit_id"])
    done.status, done.checkin_at, done.checkout_at = "completed", done.planned_arrival, done.planned_arrival + timedelta(minutes=30)
    going.status, going.checkin_at = "checked_in", done.planned_arrival + timedelta(minutes=45)
    db.session.commit()
    response = client.post(f"/api/route-plans/{plan['id']}/replan", json={"seconds": SECONDS}, headers=team["headers"])
    assert response.status_code == 202, response.get_json()
    replan = wait_plan(response.get_json()["id"], team["headers"])
    assert replan["status"] == "draft" and replan["replan_of_id"] == plan["id"]
    fixed = [s for s in _route(replan, busy)["stops"] if s["fixed"]]
    assert [(s["visit_id"], s["status"], s["position"]) for s in fixed] == [(done.id, "completed", 1), (going.id, "checked_in", 2)]
    rest = [s for r in replan["routes"] for s in r["stops"] if not s["fixed"]]
    assert {done.id, going.id}.isdisjoint({s["visit_id"] for s in rest})
    assert {s["visit_id"] for s in rest} | {u["visit_id"] for u in replan["unassigned"]} == (
        {s["visit_id"] for s in stops_of(final)} - {done.id, going.id})
    after = [s for s in _route(replan, busy)["stops"] if not s["fixed"]]
    if after:
        assert after[0]["position"] == 3 and after[0]["arrival"] >= fixed[1]["end"]
    response = _move(client, team, replan["id"], visit_id=going.id, agent_id=busy.id)
    assert response.status_code == 409 and response.get_json()["code"] == "fixed_stop"

    response = client.post(f"/api/route-plans/{replan['id']}/publish", headers=team["headers"])
    assert response.status_code == 200, response.get_json()
    assert db.session.get(RoutePlan, plan["id"]).status == "superseded"
    db.session.expire_all()
    assert (db.session.get(Visit, done.id).status, db.session.get(Visit, going.id).status) == ("completed", "checked_in")
    listed = client.get(f"/api/route-plans?date={tomorrow.isoformat()}", headers=team["owner_headers"]).get_json()
    assert [(p["id"], p["status"]) for p in listed["items"]] == [(replan["id"], "published"), (plan["id"], "superseded")]


def stops_of(plan):
    return [s for r in plan["routes"] for s in r["stops"]]


def test_violations_of_windows_and_caps_are_reported(client, db, make_branch, make_agent, make_case, make_user, headers_for, tomorrow, wait_plan):
    branch = make_branch(lat=31.23, lon=121.47)
    agent = make_agent(branch=branch, daily_cap=3)
    narrow = make_case(branch=branch, lat=31.24, lon=121.48)
    narrow.account.debtor.inconvenient = [{"start": "09:30", "end": "20:00"}]  # only 09:00–09:30 left
    others = [make_case(branch=branch, lat=31.22 + 0.01 * i, lon=121.46, days_past_due=30 + i) for i in range(3)]
    db.session.commit()
    team = {"branch": branch, "headers": headers_for(make_user(role="dispatcher"))}
    plan = _draft(client, wait_plan, team, tomorrow)
    assert plan["stats"]["assigned"] == 3 and len(plan["unassigned"]) == 1
    assert "value" not in plan["stats"]  # no price on travel
    assert _route(plan, agent)["stops"][0]["case_id"] == narrow.id

    response = _move(client, team, plan["id"], case_id=narrow.id, agent_id=agent.id, position=3)
    late = response.get_json()
    assert response.status_code == 200
    assert [v["rule"] for v in late["move"]["violations"]] == ["R1"]
    assert "09:30" in late["move"]["violations"][0]["message"]
    assert late["move"]["violations"][0]["code"] == "route_late" and late["move"]["violations"][0]["params"]["last"] == "09:30"

    spare = plan["unassigned"][0]["case_id"]
    response = _move(client, team, plan["id"], case_id=spare, agent_id=agent.id)
    assert sorted(v["rule"] for v in response.get_json()["violations"]) == ["R1", "cap"]
    cap = next(v for v in response.get_json()["violations"] if v["rule"] == "cap")
    assert cap["code"] == "route_over_cap" and cap["params"]["n"] > cap["params"]["cap"]
    response = _move(client, team, plan["id"], case_id=spare, agent_id=None)
    assert response.get_json()["unassigned"][0]["reason"] == "unassigned by the dispatcher"
    assert response.get_json()["unassigned"][0]["code"] == "route_unassigned_by_dispatcher"
    response = _move(client, team, plan["id"], case_id=narrow.id, agent_id=agent.id, position=1)
    assert response.get_json()["violations"] == []
    assert {o.id for o in others} >= {s["case_id"] for s in _route(response.get_json(), agent)["stops"][1:]}


def test_value_of_the_day_continuity_kept_and_follow_ups(client, db, make_branch, make_agent, make_case, make_user, headers_for, tomorrow, wait_plan):
    from backend.payments.models import FollowUp
    from backend.visits.models import Outcome, Visit

    branch = make_branch(lat=31.23, lon=121.47)
    agent = make_agent(branch=branch)
    cases = [make_case(branch=branch, lat=31.22 + 0.01 * i, lon=121.46) for i in range(3)]
    branch.travel_cost = 2.0
    # the agent met the first debtor two months ago
    at = datetime.combine(tomorrow - timedelta(days=60), time(3))
    visit = Visit(case_id=cases[0].id, address_id=cases[0].account.debtor.addresses[0].id, agent_id=agent.id,
                  date=at.date(), window_start=at, window_end=at + timedelta(hours=8), status="completed")
    db.session.add(visit)
    db.session.flush()
    db.session.add(Outcome(visit_id=visit.id, case_id=cases[0].id, agent_id=agent.id, code="x", met="debtor",
                           recorded_at=at, received_at=at))
    follow_up = FollowUp(case_id=cases[1].id, kind="visit", due_on=tomorrow, reason="Agreed at the door.")
    db.session.add(follow_up)
    db.session.commit()
    team = {"branch": branch, "headers": headers_for(make_user(role="dispatcher"))}
    plan = _draft(client, wait_plan, team, tomorrow)
    stats = plan["stats"]
    stop = next(s for s in plan["routes"][0]["stops"] if s["case_id"] == cases[1].id)
    assert stop["follow_up"]["reason"] == "Agreed at the door." and stop["priority"] == 100
    assert plan["follow_ups"] == [{"follow_up_id": follow_up.id, "case_id": cases[1].id, "due_on": tomorrow.isoformat(),
                                   "reason": "Agreed at the door.", "status": "planned", "agent_id": agent.id,
                                   "start": stop["start"]}]
    hours = stats["travel_s"] / 3600
    assert stats["value"] == {"travel_cost": 2.0, "priority": stats["priority_served"], "hours": round(hours, 2),
                              "value": round(stats["priority_served"] - 2.0 * hours, 1)}
    assert stats["assigned"] == 3  # a few km cost a few points: every visit is still worth it
    assert stats["continuity"] == {"preferred": 1, "kept": 1, "share": 1.0}


def test_plan_and_publish_day_gives_the_demo_real_routes(db, make_branch, make_agent, make_case, tomorrow):
    """Today, planned as of this morning whatever the time now (the demo's seed)."""
    from backend.common import to_utc_naive
    from backend.routing.services import plan_and_publish_day

    branch = make_branch(timezone="Asia/Shanghai")
    agent = make_agent(branch=branch)
    cases = [make_case(branch=branch, lat=31.22 + 0.01 * i, lon=121.47) for i in range(3)]
    today = tomorrow - timedelta(days=1)
    morning = to_utc_naive(datetime.combine(today, time(0), ZoneInfo("Asia/Shanghai")))

    plans = plan_and_publish_day(day=today, seconds=SECONDS, as_of=morning)

    assert [(p.branch_id, p.status) for p in plans] == [(branch.id, "published")]
    visits = db.session.scalars(select(Visit).where(Visit.agent_id == agent.id).order_by(Visit.route_position)).all()
    assert sorted(v.case_id for v in visits) == sorted(c.id for c in cases)
    assert [v.status for v in visits] == ["published"] * 3 and [v.route_position for v in visits] == [1, 2, 3]
    assert visits[0].planned_arrival >= morning + timedelta(seconds=agent.shift_start_s)


@pytest.mark.parametrize("role,get_status,post_status", [("agent", 403, 403), ("owner", 200, 403), ("admin", 200, 202)])
def test_roles(client, db, team, tomorrow, make_user, headers_for, role, get_status, post_status):
    headers = team["plain_headers"] if role == "agent" else headers_for(make_user(role=role))
    assert client.get("/api/route-plans", headers=headers).status_code == get_status
    response = client.post("/api/route-plans", json={"date": tomorrow.isoformat(), "branch_id": team["branch"].id, "seconds": SECONDS}, headers=headers)
    assert response.status_code == post_status
    plan_id = response.get_json().get("id") or client.post(
        "/api/route-plans", json={"date": tomorrow.isoformat(), "branch_id": team["branch"].id, "seconds": SECONDS},
        headers=team["headers"]).get_json()["id"]
    assert client.get(f"/api/route-plans/{plan_id}", headers=headers).status_code == get_status
    for action in ("moves", "publish", "replan"):
        status = client.post(f"/api/route-plans/{plan_id}/{action}", json={}, headers=headers).status_code
        assert (status == 403) == (role != "admin")


@pytest.mark.parametrize("body,field", [
    ({}, "date"),
    ({"date": "2020-01-01"}, "date"),
    ({"date": "tomorrow"}, "date"),
    ({"branch_id": 999999}, "branch_id"),
    ({"agent_ids": [999999]}, "agent_ids"),
    ({"agent_ids": []}, "agent_ids"),
    ({"seconds": 0}, "seconds"),
])
def test_bad_requests_name_the_field(client, team, tomorrow, body, field):
    body = {"date": tomorrow.isoformat(), **body} if "date" not in body and body != {} else body
    response = client.post("/api/route-plans", json=body, headers=team["headers"])
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_bad_moves(client, db, team, tomorrow, wait_plan):
    plan = _draft(client, wait_plan, team, tomorrow)
    case_id = team["cases"][0].id
    cases = [
        ({"agent_id": team["plain"].id}, 422, "visit_id"),
        ({"case_id": case_id, "visit_id": 1, "agent_id": None}, 422, "visit_id"),
        ({"case_id": team["blocked"].id, "agent_id": team["plain"].id}, 422, "case_id"),
        ({"case_id": case_id, "agent_id": 999999}, 422, "agent_id"),
        ({"case_id": case_id, "agent_id": team["plain"].id, "position": 99}, 422, "position"),
        ({"case_id": case_id, "agent_id": None, "pin": True}, 422, "pin"),
    ]
    for body, status, field in cases:
        response = _move(client, team, plan["id"], **body)
        assert response.status_code == status, (body, response.get_json())
        assert field in response.get_json()["errors"], (body, response.get_json())
    assert _move(client, team, 999999, case_id=case_id, agent_id=None).status_code == 404
    assert client.get("/api/route-plans/999999", headers=team["headers"]).status_code == 404
    draft_replan = client.post(f"/api/route-plans/{plan['id']}/replan", json={}, headers=team["headers"])
    assert draft_replan.status_code == 409  # only the published day is re-planned


def test_a_plan_whose_worker_died_is_marked_failed(client, db, team, tomorrow):
    from backend.common import utcnow

    plan = RoutePlan(date=tomorrow, branch_id=team["branch"].id, status="solving", seconds=5, params={}, stats={},
                     meta={}, excluded=[], violations=[], updated_at=utcnow() - timedelta(minutes=10))
    db.session.add(plan)
    db.session.commit()
    body = client.get(f"/api/route-plans/{plan.id}", headers=team["headers"]).get_json()
    assert body["status"] == "failed" and "worker" in body["error"]


def test_percent_is_shown_while_solving(client, team, tomorrow):
    import time

    body = {"date": tomorrow.isoformat(), "branch_id": team["branch"].id, "seconds": 2}
    plan_id = client.post("/api/route-plans", json=body, headers=team["headers"]).get_json()["id"]
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        plan = client.get(f"/api/route-plans/{plan_id}", headers=team["headers"]).get_json()
        seen.append((plan["status"], plan["percent"]))
        if plan["status"] not in ("queued", "solving"):
            break
        time.sleep(0.1)
    assert seen[-1] == ("draft", 100)
    solving = [p for s, p in seen if s == "solving"]
    assert any(10 <= p < 100 for p in solving), seen
    assert solving == sorted(solving)


def test_publish_rechecks_compliance_as_of_now(client, db, team, tomorrow, wait_plan):
    from backend.cases.models import CaseFlag
    from backend.common import utcnow

    plan = _draft(client, wait_plan, team, tomorrow)
    flagged = stops_of(plan)[0]
    db.session.add(CaseFlag(case_id=flagged["case_id"], flag="complaint", reason="complaint filed this morning",
                            set_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    response = client.post(f"/api/route-plans/{plan['id']}/publish", headers=team["headers"])
    assert response.status_code == 409
    assert [(v["rule"], v["visit"], v.get("flag")) for v in response.get_json()["violations"]] == [("R4", flagged["ref"], "complaint")]
    assert db.session.scalar(select(Visit).where(Visit.status == "published")) is None

    response = _move(client, team, plan["id"], case_id=flagged["case_id"], agent_id=None)
    assert response.status_code == 200
    response = client.post(f"/api/route-plans/{plan['id']}/publish", headers=team["headers"])
    assert response.status_code == 200, response.get_json()
    assert flagged["case_id"] not in {s["case_id"] for s in stops_of(response.get_json())}


VERIFY = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "routing" / "verify.py"


@pytest.mark.skipif(not VERIFY.exists(), reason="the shared plan checker is not here")
def test_our_checks_agree_with_the_shared_plan_checker(client, db, team, tomorrow, wait_plan):
    """The stored plan, exported in the exchange format, passes verify.py with the same
    figures; after a violating move verify.py rejects it too."""
    import importlib.util

    from backend.routing.services import plan_travel_settings
    from backend.routing.travel import travel_matrix

    spec = importlib.util.spec_from_file_location("verify", VERIFY)
    verify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verify)

    def exported(plan_id):
        stored = db.session.get(RoutePlan, plan_id)
        db.session.refresh(stored)
        problem = {**stored.problem, "durations": travel_matrix(stored.problem["locations"], plan_travel_settings(stored)).tolist()}
        return problem, {"routes": [{"agent": r["agent"], "stops": [s["visit"] for s in r["stops"]]} for r in stored.solution["routes"]],
                         "unassigned": stored.solution["unassigned"]}

    plan = _draft(client, wait_plan, team, tomorrow)
    verdict = verify.score(*exported(plan["id"]))
    assert verdict["feasible"], verdict["errors"]
    assert (verdict["priority_served"], verdict["travel_s"]) == (plan["stats"]["priority_served"], plan["stats"]["travel_s"])

    moved = _move(client, team, plan["id"], case_id=team["cases"][2].id, agent_id=team["plain"].id).get_json()
    assert moved["violations"]
    verdict = verify.score(*exported(plan["id"]))
    assert not verdict["feasible"] and "skills" in verdict["errors"][0]


def test_no_transaction_is_held_open_while_the_engine_solves(db, make_branch, make_agent, make_case, tomorrow, monkeypatch):
    """A transaction open through a long solve would queue every exclusive lock behind it
    (TRUNCATE, ALTER TABLE) and with them the progress ticker: a wait no database detects."""
    from backend.routing import services

    branch = make_branch(timezone="Asia/Shanghai")
    make_agent(branch=branch)
    make_case(branch=branch)
    seen = []
    real = services.run_engine

    def spy(problem, **kwargs):
        seen.append(db.session().in_transaction())
        return real(problem, **kwargs)

    monkeypatch.setattr(services, "run_engine", spy)
    plans = services.plan_and_publish_day(day=tomorrow, seconds=SECONDS)
    assert plans[0].status == "published", (plans[0].status, plans[0].error)
    assert seen == [False]
