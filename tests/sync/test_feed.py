"""Day packet (size budget, only own cases) and the delta feed (monotonic cursor, stop-work)."""
import json
from datetime import date


def _fifteen_visit_day(db, make_case, field_agent, day):
    from backend.visits.services import create_visit

    visits = []
    for n in range(15):
        case = make_case(branch=field_agent.branch, lat=31.2 + n * 0.003, lon=121.45 + n * 0.002,
                         debtor_name=f"王小明 {n} with a long-ish name")
        visit = create_visit(case_id=case.id, date=day, actor_id=None, agent_id=field_agent.id, publish=True)
        visit.route_position = 15 - n  # the packet orders by route position, not by id
        visits.append(visit)
    db.session.commit()
    return visits


def test_packet_for_a_fifteen_visit_day_is_ordered_complete_and_under_budget(db, client, agent_headers, make_case, make_visit, field_agent, day):
    visits = _fifteen_visit_day(db, make_case, field_agent, day)
    someone_else = make_visit(day=day)
    response = client.get(f"/api/sync/packet?date={day.isoformat()}", headers=agent_headers)
    assert response.status_code == 200, response.get_json()
    assert len(response.data) <= 200 * 1024
    packet = response.get_json()
    assert [v["route_position"] for v in packet["visits"]] == list(range(1, 16))
    assert {v["id"] for v in packet["visits"]} == {v.id for v in visits}
    assert someone_else.case_id not in {v["case_id"] for v in packet["visits"]}
    first = packet["visits"][0]
    for key in ("id", "case_id", "version", "status", "window", "timezone", "debtor", "address", "account", "flags",
                "history", "plan_policy", "recommended", "planned_arrival", "service_s"):
        assert key in first, key
    assert first["debtor"]["name"].startswith("王小明")
    assert first["account"]["card_masked"].startswith("****") and "account_number" not in json.dumps(first)
    assert first["window"]["start"].endswith("Z")
    assert packet["rules"]["valid_until"] and packet["rules"]["jurisdiction"] == "CN"
    assert packet["cursor"] >= 15  # the publish changes are behind the cursor


def test_packet_is_for_agents_and_defaults_to_the_branch_day(client, agent_headers, field_agent, auth, make_user, day):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # no date: today in the agent's branch timezone, never the phone's
    branch_today = datetime.now(ZoneInfo(field_agent.branch.timezone)).date().isoformat()
    assert client.get("/api/sync/packet", headers=agent_headers).get_json()["date"] == branch_today
    assert client.get("/api/sync/packet?date=31-12-2030", headers=agent_headers).status_code == 422
    assert client.get(f"/api/sync/packet?date={day}", headers=auth(make_user(role="dispatcher"))).status_code == 403


def test_changes_carry_cancel_reassign_and_stop_work_from_a_monotonic_cursor(db, client, auth, agent_headers, owned_visit, make_visit, make_agent, make_user, field_agent, day):
    dispatcher = auth(make_user(role="dispatcher"))
    packet = client.get(f"/api/sync/packet?date={day}", headers=agent_headers).get_json()
    cursor = packet["cursor"]
    assert client.get(f"/api/sync/changes?since={cursor}", headers=agent_headers).get_json()["changes"] == []

    second = make_visit(agent=field_agent, day=day)  # a new visit published to the agent
    client.post(f"/api/visits/{owned_visit.id}/cancel", json={"reason": "paid at branch"}, headers=dispatcher)
    owner = auth(make_user(role="owner"))
    response = client.post(f"/api/cases/{second.case_id}/flags", json={"flag": "bankruptcy", "reason": "court notice"}, headers=owner)
    assert response.status_code in (200, 201), response.get_json()

    feed = client.get(f"/api/sync/changes?since={cursor}", headers=agent_headers).get_json()
    kinds = [c["kind"] for c in feed["changes"]]
    assert kinds == ["visit.upsert", "visit.cancel", "case.stop_work"], kinds
    seqs = [c["seq"] for c in feed["changes"]]
    assert seqs == sorted(seqs) and feed["cursor"] >= seqs[-1]
    upsert, cancel, stop = feed["changes"]
    assert upsert["visit"]["id"] == second.id and upsert["visit"]["debtor"]["name"]
    assert cancel["visit"]["status"] == "cancelled" and cancel["data"]["reason"] == "paid at branch"
    assert stop["ref_id"] == second.case_id and stop["data"]["stop_work"] is True

    # the next call from the returned cursor is empty; another agent sees none of it
    assert client.get(f"/api/sync/changes?since={feed['cursor']}", headers=agent_headers).get_json()["changes"] == []
    other = make_agent()
    assert client.get(f"/api/sync/changes?since={cursor}", headers=auth(other.user)).get_json()["changes"] == []

    # reassigned away: the device is told to drop it, without the brief
    third = make_visit(agent=field_agent, day=day)
    mark = client.get(f"/api/sync/changes?since={feed['cursor']}", headers=agent_headers).get_json()["cursor"]
    client.post(f"/api/visits/{third.id}/assign", json={"agent_id": other.id, "version": third.version}, headers=dispatcher)
    removed = client.get(f"/api/sync/changes?since={mark}", headers=agent_headers).get_json()["changes"]
    assert [c["kind"] for c in removed] == ["visit.remove"] and "visit" not in removed[0]


def test_unknown_cursor_is_422(client, agent_headers):
    for since in ("-1", "abc", "999999999", ""):
        response = client.get(f"/api/sync/changes?since={since}", headers=agent_headers)
        assert response.status_code == 422, since
        assert "since" in response.get_json()["errors"]


def test_changes_page_with_more(db, client, agent_headers, field_agent):
    from backend.feed import record_change

    for n in range(5):
        record_change(user_id=field_agent.user_id, kind="case.flags", ref_type="case", ref_id=n + 1, data={})
    db.session.commit()
    page = client.get("/api/sync/changes?since=0&limit=3", headers=agent_headers).get_json()
    assert page["more"] is True and len(page["changes"]) == 3
    rest = client.get(f"/api/sync/changes?since={page['cursor']}&limit=3", headers=agent_headers).get_json()
    assert rest["more"] is False and len(rest["changes"]) == 2


def test_packet_carries_the_script_book_organisation_and_map_settings(client, app, make_visit, auth):
    visit = make_visit(day=date.today())
    packet = client.get(f"/api/sync/packet?date={date.today().isoformat()}", headers=auth(visit.agent.user)).get_json()
    assert packet["organisation"] == {"name": app.config["ORG_NAME"], "complaint_phone": app.config["ORG_COMPLAINT_PHONE"]}
    assert packet["settings"] == {"map_tile_url": app.config["MAP_TILE_URL"], "map_tile_attribution": app.config["MAP_TILE_ATTRIBUTION"],
                                  "badge_ttl_s": app.config["BADGE_TTL_S"]}
    assert {s["key"] for s in packet["strategies"]["strategies"]} >= {"empathy", "installment_plan"}
