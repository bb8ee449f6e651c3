from datetime import date, datetime, timedelta

from sqlalchemy import select

from backend.feed import Change


def test_agent_sees_only_cases_of_its_own_visits(client, make_agent, make_case, make_visit, auth):
    mine, other = make_agent(), make_agent()
    my_case, other_case, unvisited = make_case(), make_case(), make_case()
    make_visit(case=my_case, agent=mine)
    other_visit = make_visit(case=other_case, agent=other)
    headers = auth(mine.user)
    listing = client.get("/api/cases", headers=headers).get_json()
    assert [c["id"] for c in listing["items"]] == [my_case.id]
    assert listing["items"][0]["account"]["account_number"] is None  # masked card only on devices
    assert client.get(f"/api/cases/{my_case.id}", headers=headers).status_code == 200
    for case in (other_case, unvisited):
        for url in (f"/api/cases/{case.id}", f"/api/cases/{case.id}/timeline"):
            response = client.get(url, headers=headers)
            assert response.status_code == 404  # not 403: existence does not leak
    assert client.get(f"/api/visits/{other_visit.id}", headers=headers).status_code == 404
    visits = client.get("/api/visits", headers=headers).get_json()
    assert {v["agent_id"] for v in visits["items"]} == {mine.id}
    # an agent cannot widen its view with a filter
    assert client.get(f"/api/visits?agent_id={other.id}", headers=headers).get_json()["total"] == 1


def test_case_filters_and_pagination(client, make_case, make_user, auth):
    for dpd in (10, 45, 45, 200):
        make_case(days_past_due=dpd)
    make_case(stage="legal", days_past_due=400)
    headers = auth(make_user(role="owner"))
    assert client.get("/api/cases?bucket=M2", headers=headers).get_json()["total"] == 2
    assert client.get("/api/cases?bucket=M6%2B", headers=headers).get_json()["total"] == 2
    assert client.get("/api/cases?stage=legal", headers=headers).get_json()["total"] == 1
    page = client.get("/api/cases?per_page=2&page=2", headers=headers).get_json()
    assert (page["total"], len(page["items"]), page["page"]) == (5, 2, 2)
    bad = client.get("/api/cases?bucket=M9&per_page=0", headers=headers)
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"bucket", "per_page"}


def test_flag_set_and_clear_are_timeline_events_and_reach_the_agent(client, make_visit, make_user, auth, db):
    visit = make_visit()
    owner = auth(make_user(role="owner"))
    response = client.post(f"/api/cases/{visit.case_id}/flags", json={"flag": "dispute", "reason": "statement disputed"}, headers=owner)
    assert response.status_code == 201
    assert client.post(f"/api/cases/{visit.case_id}/flags", json={"flag": "dispute", "reason": "again"}, headers=owner).status_code == 409
    stop = db.session.scalars(select(Change).where(Change.kind == "case.stop_work")).one()
    assert stop.user_id == visit.agent.user_id and stop.data["flag"] == "dispute"
    listing = client.get("/api/cases?flag=dispute", headers=owner).get_json()
    assert listing["total"] == 1
    assert client.delete(f"/api/cases/{visit.case_id}/flags/dispute?reason=resolved", headers=owner).status_code == 204
    kinds = [e["kind"] for e in client.get(f"/api/cases/{visit.case_id}/timeline", headers=owner).get_json()["events"]]
    assert kinds[-2:] == ["flag.set", "flag.cleared"]
    assert client.get("/api/cases?flag=dispute", headers=owner).get_json()["total"] == 0


def test_flag_validation(client, make_case, make_user, auth):
    case = make_case()
    response = client.post(f"/api/cases/{case.id}/flags", json={"flag": "angry"}, headers=auth(make_user(role="owner")))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"flag", "reason"}


def test_visit_window_is_in_the_debtors_timezone(client, make_case, make_agent, make_user, auth, make_branch):
    branch = make_branch(jurisdiction="US", timezone="America/New_York", lat=40.7, lon=-74.0)
    case = make_case(branch=branch, lat=34.05, lon=-118.24, tz="America/Los_Angeles", country="US")
    headers = auth(make_user(role="dispatcher"))
    day = date(2026, 12, 2)
    response = client.post("/api/visits", json={"case_id": case.id, "date": day.isoformat()}, headers=headers)
    assert response.status_code == 201, response.get_json()
    window = response.get_json()["window"]
    # 08:00–21:00 in Los Angeles (PST, UTC-8), not New York
    assert window == {"start": "2026-12-02T16:00:00Z", "end": "2026-12-03T05:00:00Z"}


def test_visit_to_a_blocked_or_over_cap_case_is_refused_naming_the_rule(client, make_case, make_user, auth):
    headers = auth(make_user(role="dispatcher"))
    owner = auth(make_user(role="owner"))
    case = make_case()
    client.post(f"/api/cases/{case.id}/flags", json={"flag": "bankruptcy", "reason": "filed"}, headers=owner)
    day = (date.today() + timedelta(days=3)).isoformat()
    blocked = client.post("/api/visits", json={"case_id": case.id, "date": day}, headers=headers)
    assert blocked.status_code == 409
    assert (blocked.get_json()["rule"], blocked.get_json()["flag"]) == ("R4", "bankruptcy")
    busy = make_case()
    assert client.post("/api/visits", json={"case_id": busy.id, "date": day}, headers=headers).status_code == 201
    again = client.post("/api/visits", json={"case_id": busy.id, "date": day}, headers=headers)
    assert again.status_code == 409 and again.get_json()["rule"] == "R3"
    phone_stage = make_case(stage="phone")
    assert client.post("/api/visits", json={"case_id": phone_stage.id, "date": day}, headers=headers).status_code == 409


def test_cancel_reaches_the_agents_feed(client, make_visit, make_user, auth, db):
    visit = make_visit()
    headers = auth(make_user(role="dispatcher"))
    response = client.post(f"/api/visits/{visit.id}/cancel", json={"reason": "debtor paid"}, headers=headers)
    assert response.get_json()["status"] == "cancelled"
    assert db.session.scalars(select(Change).where(Change.kind == "visit.cancel")).one().user_id == visit.agent.user_id
    again = client.post(f"/api/visits/{visit.id}/cancel", json={"reason": "twice"}, headers=headers)
    assert again.status_code == 409


def test_case_update_is_version_checked(client, make_case, make_user, auth):
    case = make_case(stage="field")
    headers = auth(make_user(role="owner"))
    read_version = case.version
    ok = client.patch(f"/api/cases/{case.id}", json={"stage": "legal", "version": read_version, "reason": "referred"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["stage"] == "legal"
    stale = client.patch(f"/api/cases/{case.id}", json={"stage": "closed", "version": read_version}, headers=headers)
    assert stale.status_code == 409


def test_one_error_shape(client, make_user, auth):
    headers = auth(make_user(role="owner"))
    for response, status in (
        (client.get("/api/nope", headers=headers), 404),
        (client.get("/api/cases/999", headers=headers), 404),
        (client.delete("/api/cases", headers=headers), 405),
        (client.post("/api/auth/login", data="{not json", content_type="application/json"), 400),
        (client.get("/api/cases?page=x", headers=headers), 422),
    ):
        assert response.status_code == status
        assert set(response.get_json()) >= {"code", "message", "errors"}, response.get_json()


def test_stop_work_carries_the_flag_just_set(client, make_visit, make_user, auth, db):
    visit = make_visit()
    client.post(f"/api/cases/{visit.case_id}/flags", json={"flag": "deceased", "reason": "family"}, headers=auth(make_user(role="owner")))
    stop = db.session.scalars(select(Change).where(Change.kind == "case.stop_work")).one()
    assert [f["flag"] for f in stop.data["flags"]] == ["deceased"]
