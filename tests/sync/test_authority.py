"""Authority follows the current assignment (issue 15): an agent reads and writes a case while
they hold a live visit on it (published, checked in, or done today). Case ops recorded offline
under a visit reassigned or cancelled since are kept as conflicts, never applied, never lost."""
from datetime import timedelta

from sqlalchemy import func, select

from backend.cases.models import Note, TimelineEvent
from backend.cases.services import agent_today
from backend.escalations.models import EscalationTicket
from backend.plans.models import RepaymentPlan
from backend.sync.models import SyncOp

from sync_ops_helpers import checkin_op, make_op, outcome_op, propose_op, signature_op


def _reads(client, headers, case_id):
    """The status of every agent read of one case."""
    listed = client.get("/api/cases", headers=headers).get_json()["items"]
    return {
        "case": client.get(f"/api/cases/{case_id}", headers=headers).status_code,
        "timeline": client.get(f"/api/cases/{case_id}/timeline", headers=headers).status_code,
        "list": case_id in [c["id"] for c in listed],
        "plans": len(client.get(f"/api/plans?case_id={case_id}", headers=headers).get_json()["items"]),
    }


def _case_ops(visit, text="Neighbour says evenings."):
    """Every case-level op type, recorded under `visit`."""
    propose = propose_op(visit)
    return [
        make_op("note.add", {"case_id": visit.case_id, "visit_id": visit.id, "text": text}),
        propose,
        signature_op(visit, propose["payload"]["plan_ref"], propose["payload"]["terms_hash"]),
        make_op("case.escalate", {"case_id": visit.case_id, "visit_id": visit.id, "kind": "complaint", "reason": "calls"}),
    ]


def test_reads_and_writes_end_with_a_reassignment_and_late_ops_are_kept_as_conflicts(
        db, client, auth, send, agent_headers, owned_visit, owner, make_agent, make_user):
    case_id = owned_visit.case_id
    assert send([checkin_op(owned_visit), outcome_op(owned_visit, code="refused", met="debtor")])[1]["results"][1]["status"] == "applied"
    assert _reads(client, agent_headers, case_id) == {"case": 200, "timeline": 200, "list": True, "plans": 0}

    # a second visit on the case, published to the agent and then handed to a colleague
    from backend.visits.services import create_visit
    second = create_visit(case_id=case_id, date=owned_visit.date + timedelta(days=8), actor_id=None,
                          agent_id=owned_visit.agent_id, publish=True)
    db.session.commit()
    offline = _case_ops(second)  # recorded on the phone before the reassignment reaches it
    other = make_agent(branch=owned_visit.agent.branch)
    response = client.post(f"/api/visits/{second.id}/assign", json={"agent_id": other.id, "version": second.version},
                           headers=auth(make_user(role="dispatcher")))
    assert response.status_code == 200, response.get_json()
    # the first visit was done on another day: no authority left on the case
    db.session.execute(type(owned_visit).__table__.update().where(type(owned_visit).id == owned_visit.id)
                       .values(date=agent_today(owned_visit.agent) - timedelta(days=1)))
    db.session.commit()
    assert _reads(client, agent_headers, case_id) == {"case": 404, "timeline": 404, "list": False, "plans": 0}

    results = send(offline)[1]["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("conflict", "reassigned")] * 4, results
    assert db.session.scalar(select(func.count(Note.id))) == 0
    assert db.session.scalar(select(func.count(RepaymentPlan.id))) == 0
    assert db.session.scalar(select(func.count(EscalationTicket.id))) == 0
    # kept: the records, the owner's queue and the timeline
    assert {op.id: op.status for op in db.session.scalars(select(SyncOp).where(SyncOp.id.in_([o["id"] for o in offline])))} == {
        o["id"]: "conflict" for o in offline}
    queue = client.get(f"/api/sync/exceptions?owner_id={owner.id}", headers=auth(owner)).get_json()["items"]
    assert {o["id"] for o in offline} <= {item["op"]["id"] for item in queue}
    kinds = db.session.scalars(select(TimelineEvent.kind).where(TimelineEvent.case_id == case_id)).all()
    assert kinds.count("sync.conflict") == 4


def test_case_ops_under_a_cancelled_visit_are_conflicts(db, client, auth, send, owned_visit, make_user):
    offline = _case_ops(owned_visit, text="Recorded before the cancellation reached the phone")
    response = client.post(f"/api/visits/{owned_visit.id}/cancel", json={"reason": "paid in branch"}, headers=auth(make_user(role="dispatcher")))
    assert response.status_code == 200
    results = send(offline)[1]["results"]
    assert [r.get("code") for r in results] == ["visit_cancelled"] * 4, results
    assert "paid in branch" in results[0]["detail"]
    assert db.session.scalar(select(func.count(Note.id))) == 0


def test_a_visit_done_today_still_gives_authority(db, client, auth, agent_headers, send, owned_visit, make_user):
    case_id = owned_visit.case_id
    db.session.execute(type(owned_visit).__table__.update().where(type(owned_visit).id == owned_visit.id).values(date=agent_today(owned_visit.agent)))
    db.session.commit()
    assert send([outcome_op(owned_visit, code="not_home")])[1]["results"][0]["status"] == "applied"
    assert _reads(client, agent_headers, case_id)["case"] == 200
    # written today under that visit: applied
    note = make_op("note.add", {"case_id": case_id, "visit_id": owned_visit.id, "text": "Came back at six, still out."})
    assert send([note])[1]["results"][0]["status"] == "applied"


def test_a_case_op_must_name_its_visit_of_that_case(send, owned_visit, make_visit):
    missing = make_op("note.add", {"case_id": owned_visit.case_id, "text": "x"})
    other = make_visit()
    foreign = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": other.id, "text": "x"})
    results = send([missing, foreign])[1]["results"]
    assert results[0]["status"] == "rejected" and "payload.visit_id" in results[0]["errors"]
    assert results[1]["status"] == "rejected" and results[1]["code"] == "not_your_case"
