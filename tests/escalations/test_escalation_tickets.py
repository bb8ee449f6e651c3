"""R16: a case.escalate (device op or API) → ticket in the supervisor or legal queue with an SLA;
the case carries the blocking `escalated` flag until a resolution clears it."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.escalations.models import EscalationTicket
from backend.escalations.services import raise_ticket


@pytest.fixture
def owner(make_user):
    return make_user(role="owner")


@pytest.mark.parametrize("kind,queue,hours", [("complaint", "supervisor", 48), ("dispute", "supervisor", 48),
                                              ("legal_question", "legal", 120), ("lawyer_letter", "legal", 120)])
def test_api_escalation_lands_in_the_right_queue_with_its_sla(client, auth, owner, make_case, kind, queue, hours):
    case = make_case()
    response = client.post("/api/escalations", json={"case_id": case.id, "kind": kind, "reason": "raised at the door"}, headers=auth(owner))
    assert response.status_code == 201
    ticket = response.get_json()
    assert ticket["queue"] == queue and ticket["status"] == "open" and ticket["overdue"] is False
    from datetime import datetime

    raised = datetime.fromisoformat(ticket["raised_at"].rstrip("Z"))
    due = datetime.fromisoformat(ticket["sla_due_at"].rstrip("Z"))
    assert due - raised == timedelta(hours=hours)
    flags = client.get(f"/api/cases/{case.id}", headers=auth(owner)).get_json()
    assert "escalated" in str(flags)


def test_a_device_escalation_makes_a_ticket(db, make_case, make_agent):
    agent = make_agent()
    case = make_case()
    raise_ticket(case=case, reason="客户提出投诉", kind="complaint", actor_id=agent.user_id, source="device")
    db.session.commit()
    ticket = db.session.scalar(select(EscalationTicket).where(EscalationTicket.case_id == case.id))
    assert ticket.source == "device" and ticket.queue == "supervisor" and ticket.raised_by_id == agent.user_id
    assert any(f.flag == "escalated" for f in case.active_flags())


def test_an_unknown_kind_from_a_device_is_kept_as_other(db, make_case):
    case = make_case()
    raise_ticket(case=case, reason="something odd", kind="weird", actor_id=None, source="device")
    db.session.commit()
    assert db.session.scalar(select(EscalationTicket.kind).where(EscalationTicket.case_id == case.id)) == "other"


def test_claim_then_resolve_clears_the_flag_and_unblocks_visits(client, auth, owner, make_case, make_agent, make_user):
    headers = auth(owner)
    case = make_case()
    ticket = client.post("/api/escalations", json={"case_id": case.id, "kind": "complaint", "reason": "rude call"}, headers=headers).get_json()
    dispatcher = auth(make_user(role="dispatcher"))
    agent = make_agent()
    day = (case.created_at.date() + timedelta(days=20)).isoformat()
    blocked = client.post("/api/visits", json={"case_id": case.id, "date": day, "agent_id": agent.id}, headers=dispatcher)
    assert blocked.status_code == 409 and blocked.get_json()["flag"] == "escalated"
    assert blocked.get_json()["findings"][0]["source_rule"] == "R16"
    claimed = client.post(f"/api/escalations/{ticket['id']}/claim", headers=headers)
    assert claimed.status_code == 200 and claimed.get_json()["status"] == "claimed"
    assert client.post(f"/api/escalations/{ticket['id']}/claim", headers=headers).status_code == 409
    resolved = client.post(f"/api/escalations/{ticket['id']}/resolve", json={"resolution": "apologised, fee refunded"}, headers=headers)
    assert resolved.status_code == 200 and resolved.get_json()["flag_cleared"] is True
    assert client.post("/api/visits", json={"case_id": case.id, "date": day, "agent_id": agent.id}, headers=dispatcher).status_code == 201


def test_the_flag_stays_while_another_ticket_is_open(client, auth, owner, make_case, db):
    headers = auth(owner)
    case = make_case()
    first = client.post("/api/escalations", json={"case_id": case.id, "kind": "complaint", "reason": "one"}, headers=headers).get_json()
    client.post("/api/escalations", json={"case_id": case.id, "kind": "lawyer_letter", "reason": "two"}, headers=headers)
    resolved = client.post(f"/api/escalations/{first['id']}/resolve", json={"resolution": "done"}, headers=headers).get_json()
    assert resolved["flag_cleared"] is False
    db.session.expire_all()
    assert any(f.flag == "escalated" for f in case.active_flags())


def test_resolving_without_clearing_keeps_the_block(client, auth, owner, make_case, db):
    headers = auth(owner)
    case = make_case()
    ticket = client.post("/api/escalations", json={"case_id": case.id, "kind": "dispute", "reason": "amount"}, headers=headers).get_json()
    body = client.post(f"/api/escalations/{ticket['id']}/resolve", json={"resolution": "refer to dispute team", "clear_flag": False}, headers=headers).get_json()
    assert body["status"] == "resolved" and body["flag_cleared"] is False
    db.session.expire_all()
    assert any(f.flag == "escalated" for f in case.active_flags())


def test_queue_listing_filters_and_overdue(client, auth, owner, make_case, db):
    headers = auth(owner)
    legal = client.post("/api/escalations", json={"case_id": make_case().id, "kind": "litigation", "reason": "summons"}, headers=headers).get_json()
    client.post("/api/escalations", json={"case_id": make_case().id, "kind": "complaint", "reason": "noise"}, headers=headers)
    listing = client.get("/api/escalations?queue=legal", headers=headers).get_json()
    assert [t["id"] for t in listing["items"]] == [legal["id"]]
    row = db.session.get(EscalationTicket, legal["id"])
    row.sla_due_at = row.raised_at - timedelta(hours=1)
    db.session.commit()
    overdue = client.get("/api/escalations?overdue=true", headers=headers).get_json()
    assert [t["id"] for t in overdue["items"]] == [legal["id"]] and overdue["items"][0]["overdue"] is True


def test_agents_escalate_only_their_own_cases_and_do_not_work_queues(client, auth, make_visit, make_case):
    visit = make_visit()
    headers = auth(visit.agent.user)
    mine = client.post("/api/escalations", json={"case_id": visit.case_id, "kind": "legal_question", "reason": "asks about court"}, headers=headers)
    assert mine.status_code == 201
    other = client.post("/api/escalations", json={"case_id": make_case().id, "kind": "complaint", "reason": "xyz"}, headers=headers)
    assert other.status_code == 404
    assert client.get("/api/escalations", headers=headers).status_code == 403


def test_bad_input_is_a_422_per_field(client, auth, owner):
    response = client.post("/api/escalations", json={"case_id": "x", "kind": "shout", "reason": ""}, headers=auth(owner))
    assert response.status_code == 422 and {"case_id", "kind", "reason"} <= set(response.get_json()["errors"])


def test_sla_hours_are_a_setting(db, make_case, make_user):
    from backend.policy.settings import change_setting

    admin = make_user(role="admin")
    change_setting(jurisdiction="CN", key="escalation_sla_hours", value={"supervisor": 4, "legal": 24}, reason="faster", actor_id=admin.id)
    ticket = raise_ticket(case=make_case(), kind="complaint", reason="x", actor_id=None)
    assert ticket.sla_due_at - ticket.raised_at == timedelta(hours=4)


def test_the_sync_op_makes_one_ticket_and_one_flag(client, auth, make_visit, db):
    """End to end through POST /api/sync/ops: the sync op sets the flag and raises the ticket in its transaction."""
    import uuid

    from backend.cases.models import CaseFlag

    visit = make_visit()
    op = {"id": str(uuid.uuid4()), "type": "case.escalate", "at": "2026-11-28T03:00:00Z",
          "payload": {"case_id": visit.case_id, "visit_id": visit.id, "kind": "legal", "reason": "律师函已收到"}}
    response = client.post("/api/sync/ops", json={"device_id": "d1", "ops": [op]}, headers=auth(visit.agent.user))
    assert response.status_code == 200 and response.get_json()["results"][0]["status"] == "applied"
    tickets = db.session.scalars(select(EscalationTicket).where(EscalationTicket.case_id == visit.case_id)).all()
    assert [(t.queue, t.source) for t in tickets] == [("legal", "device")]
    flags = db.session.scalars(select(CaseFlag).where(CaseFlag.case_id == visit.case_id, CaseFlag.flag == "escalated")).all()
    assert len(flags) == 1
