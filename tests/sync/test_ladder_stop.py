"""Closing a case, moving it back down the ladder or handing it to legal reaches the phone like a
stop-work flag (issue 15): the feed and the packet carry it, and a visit record made afterwards
is kept as a conflict (`case_closed` / `stage_changed`), never applied."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from backend.sync.models import SyncOp
from backend.visits.models import Visit

from sync_ops_helpers import checkin_op, make_op, outcome_op, propose_op


def _move(client, auth, owner, case, stage, reason):
    response = client.patch(f"/api/cases/{case.id}", json={"stage": stage, "version": case.version, "reason": reason}, headers=auth(owner))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_closed_case_stops_the_visit_on_the_phone_and_at_sync(db, client, auth, agent_headers, send, owned_visit, owner, day):
    cursor = client.get(f"/api/sync/packet?date={day}", headers=agent_headers).get_json()["cursor"]
    _move(client, auth, owner, owned_visit.case, "closed", "Settled with the bank directly")

    changes = client.get(f"/api/sync/changes?since={cursor}", headers=agent_headers).get_json()["changes"]
    stop = next(c for c in changes if c["kind"] == "case.stop_work")
    assert stop["ref_id"] == owned_visit.case_id
    assert stop["data"] | {"flags": []} == {"stop_work": True, "code": "case_closed", "stage": "closed",
                                          "reason": "Settled with the bank directly", "flags": []}
    brief = client.get(f"/api/sync/packet?date={day}", headers=agent_headers).get_json()["visits"][0]
    assert brief["stopped"]["code"] == "case_closed" and brief["stopped"]["stage"] == "closed"

    # a check-in and a plan recorded after the closure: conflicts, kept, not applied
    checkin, propose = checkin_op(owned_visit), propose_op(owned_visit)
    note = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "Gate locked, left."})
    results = send([checkin, propose, note])[1]["results"]
    assert [(r["status"], r.get("code")) for r in results[:2]] == [("conflict", "case_closed")] * 2, results
    assert results[0]["server"]["case"] == {"id": owned_visit.case_id, "stage": "closed"}
    assert results[2]["status"] == "applied"  # what happened at the door is always written down
    db.session.expire_all()
    assert db.session.get(Visit, owned_visit.id).checkin_at is None
    assert db.session.get(SyncOp, checkin["id"]).status == "conflict"


def test_a_record_made_at_the_door_before_the_move_still_applies(db, client, auth, send, owned_visit, owner):
    before = datetime.now(timezone.utc) - timedelta(minutes=5)
    checkin = checkin_op(owned_visit)
    checkin["at"] = before.isoformat()
    _move(client, auth, owner, owned_visit.case, "legal", "Handed to the lawyers")
    result = send([checkin])[1]["results"][0]
    assert result["status"] == "applied", result


def test_handing_to_legal_stops_a_visit_published_before(db, client, auth, agent_headers, send, owned_visit, owner, day):
    case = owned_visit.case
    cursor = client.get(f"/api/sync/packet?date={day}", headers=agent_headers).get_json()["cursor"]
    _move(client, auth, owner, case, "legal", "Handed to the lawyers")
    changes = client.get(f"/api/sync/changes?since={cursor}", headers=agent_headers).get_json()["changes"]
    assert [(c["kind"], c["data"]["code"], c["data"]["stage"]) for c in changes if c["kind"] == "case.stop_work"] == [
        ("case.stop_work", "stage_changed", "legal")]
    results = send([checkin_op(owned_visit), outcome_op(owned_visit)])[1]["results"]
    assert [(r["status"], r.get("code")) for r in results] == [("conflict", "stage_changed")] * 2, results
    assert db.session.scalar(select(func.count()).select_from(SyncOp).where(SyncOp.status == "applied")) == 0


def test_a_visit_published_after_the_move_is_not_stopped(db, client, auth, send, make_case, make_visit, field_agent, owner, day):
    case = make_case(branch=field_agent.branch, owner_id=owner.id, stage="letter")
    _move(client, auth, owner, case, "field", "Letters unanswered")
    visit = make_visit(case=case, agent=field_agent, day=day)
    assert send([checkin_op(visit)])[1]["results"][0]["status"] == "applied"
