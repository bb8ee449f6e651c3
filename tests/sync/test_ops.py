"""The ops protocol: exactly once, per-op answers, kept conflicts and rejections."""
import uuid

from sqlalchemy import func, select

from backend.cases.models import CaseFlag, Note, TimelineEvent
from backend.escalations.models import EscalationTicket
from backend.sync.models import SyncOp
from backend.visits.models import Outcome, Visit

from sync_ops_helpers import checkin_op, make_op, outcome_op


def _timeline_kinds(db, case_id):
    return db.session.scalars(select(TimelineEvent.kind).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)).all()


def test_checkin_outcome_checkout_apply_once_and_replay_is_duplicate(db, send, owned_visit):
    ops = [checkin_op(owned_visit), outcome_op(owned_visit, code="refused", met="debtor"),
           make_op("visit.checkout", {"visit_id": owned_visit.id})]
    status, body = send(ops)
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == ["applied", "applied", "applied"], body
    assert body["results"][1]["server"]["visit"]["status"] == "completed"

    # the same ops again, from another device, in another order: nothing changes
    status, again = send(list(reversed(ops)), device_id="phone-2")
    assert status == 200
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert again["results"][2]["server"] == body["results"][0]["server"]  # the first answer
    assert again["results"][2]["first"]["status"] == "applied"

    db.session.expire_all()
    visit = db.session.get(Visit, owned_visit.id)
    assert visit.status == "completed" and visit.checkout_at is not None
    assert db.session.scalar(select(func.count(Outcome.id))) == 1
    kinds = _timeline_kinds(db, visit.case_id)
    assert kinds.count("visit.checkin") == 1 and kinds.count("visit.outcome") == 1 and kinds.count("visit.checkout") == 1


def test_malformed_op_is_rejected_per_field_and_kept_while_the_rest_apply(db, send, owned_visit):
    bad = make_op("visit.outcome", {"visit_id": owned_visit.id, "code": "promise_to_pay", "met": "debtor"})
    unknown = make_op("visit.teleport", {"visit_id": owned_visit.id})
    no_time = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "x"}, at="yesterday-ish")
    good = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "Neighbour says evenings."})
    status, body = send([bad, unknown, no_time, good])
    assert status == 200
    results = {r["id"]: r for r in body["results"]}
    assert results[bad["id"]]["status"] == "rejected"
    errors = results[bad["id"]]["errors"]
    assert "payload.amount" in errors and "payload.due_date" in errors and "payload.disclosure_at" not in errors
    assert results[unknown["id"]]["errors"]["type"]
    assert results[no_time["id"]]["errors"]["at"]
    assert results[good["id"]]["status"] == "applied"
    kept = {op.id: op for op in db.session.scalars(select(SyncOp))}
    assert set(kept) == {bad["id"], unknown["id"], no_time["id"], good["id"]}
    assert kept[unknown["id"]].status == "rejected" and kept[unknown["id"]].payload["visit_id"] == owned_visit.id
    # the malformed ops are filed under their case, for the owner, and on its timeline
    assert kept[bad["id"]].case_id == owned_visit.case_id and kept[bad["id"]].visit_id == owned_visit.id
    assert _timeline_kinds(db, owned_visit.case_id).count("sync.rejected") == 3
    assert db.session.scalar(select(func.count(Note.id))) == 1


def test_malformed_envelope_is_422(client, agent_headers):
    for body in ({"ops": []}, {"device_id": "p", "ops": "nope"}, {"device_id": "p", "ops": [{"type": "note.add"}]},
                 {"device_id": "p", "ops": [{"id": "not-a-uuid"}]}):
        response = client.post("/api/sync/ops", json=body, headers=agent_headers)
        assert response.status_code == 422, body
        assert response.get_json()["errors"]


def test_office_users_cannot_send_ops(client, auth, owner):
    response = client.post("/api/sync/ops", json={"device_id": "x", "ops": []}, headers=auth(owner))
    assert response.status_code == 403


def test_someone_elses_visit_is_rejected_never_500(db, send, make_visit):
    other = make_visit()
    status, body = send([checkin_op(other), make_op("note.add", {"case_id": other.case_id, "visit_id": other.id, "text": "hi"}),
                         make_op("visit.checkin", {"visit_id": 999999, "lat": 1, "lon": 1, "accuracy_m": 5})])
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["rejected"] * 3
    assert body["results"][0]["detail"] == "Not your visit."
    # nothing on the other agent's case timeline
    assert "sync.rejected" not in _timeline_kinds(db, other.case_id)


def test_outcome_recorded_offline_on_a_visit_the_dispatcher_cancelled_is_kept_as_conflict(
    db, client, auth, send, owned_visit, owner, make_user
):
    """The issue's case: the office cancels while the agent, offline, records the outcome."""
    dispatcher = make_user(role="dispatcher")
    visit = owned_visit
    # the agent, offline at the door, checks in and records a promise; the office cancels meanwhile
    offline = [checkin_op(visit), outcome_op(visit, code="promise_to_pay", met="debtor", amount="500.00", due_date="2030-01-10")]
    response = client.post(f"/api/visits/{visit.id}/cancel", json={"reason": "debtor paid in branch"}, headers=auth(dispatcher))
    assert response.status_code == 200, response.get_json()
    status, body = send(offline)
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["conflict", "conflict"]
    assert "cancelled" in body["results"][1]["detail"] and "debtor paid in branch" in body["results"][1]["detail"]
    assert body["results"][1]["server"]["visit"]["status"] == "cancelled"

    # kept: the op record, the case timeline, the owner's queue — and not applied
    assert db.session.get(SyncOp, offline[1]["id"]).payload["amount"] == "500.00"
    assert db.session.scalar(select(func.count(Outcome.id)).where(Outcome.visit_id == visit.id)) == 0
    assert "sync.conflict" in _timeline_kinds(db, visit.case_id)
    queue = client.get(f"/api/sync/exceptions?owner_id={owner.id}", headers=auth(owner)).get_json()
    mine = [item for item in queue["items"] if item["op"]["id"] == offline[1]["id"]]
    assert len(mine) == 1
    item = mine[0]
    assert item["status"] == "conflict" and item["case"]["id"] == visit.case_id
    assert item["agent"]["agent_id"] == visit.agent_id and item["device_id"] == "phone-1"
    assert item["op"]["type"] == "visit.outcome" and "cancelled" in item["reason"]

    # the owner reviews it; the queue can then hide it
    response = client.post(f"/api/sync/exceptions/{offline[1]['id']}/review", json={"note": "promise taken by phone instead"}, headers=auth(owner))
    assert response.status_code == 200 and response.get_json()["reviewed_at"]
    open_items = client.get("/api/sync/exceptions?reviewed=false", headers=auth(owner)).get_json()["items"]
    assert offline[1]["id"] not in [i["op"]["id"] for i in open_items]
    assert "sync.reviewed" in _timeline_kinds(db, visit.case_id)
    # a replay still answers with the first answer
    assert send([offline[1]])[1]["results"][0]["status"] == "duplicate"


def test_exceptions_queue_is_for_owners(client, auth, agent_headers, make_user):
    assert client.get("/api/sync/exceptions", headers=agent_headers).status_code == 403
    assert client.get("/api/sync/exceptions", headers=auth(make_user(role="dispatcher"))).status_code == 403
    assert client.post(f"/api/sync/exceptions/{uuid.uuid4()}/review", json={"note": "x"}, headers=auth(make_user(role="admin"))).status_code == 404


def test_reassigned_visit_is_a_conflict(db, client, auth, send, owned_visit, make_agent, make_user):
    other = make_agent(branch=owned_visit.agent.branch)
    response = client.post(f"/api/visits/{owned_visit.id}/assign", json={"agent_id": other.id, "version": owned_visit.version},
                           headers=auth(make_user(role="dispatcher")))
    assert response.status_code == 200, response.get_json()
    status, body = send([checkin_op(owned_visit)])
    assert body["results"][0]["status"] == "conflict"
    assert "reassigned" in body["results"][0]["detail"]
    assert "sync.conflict" in _timeline_kinds(db, owned_visit.case_id)


def test_case_blocked_since_is_a_conflict_but_an_earlier_record_applies(db, send, owned_visit):
    from backend.cases.services import set_flag

    case = owned_visit.case
    set_flag(case=case, flag="dispute", reason="statement disputed by letter", actor_id=None)
    db.session.commit()
    status, body = send([checkin_op(owned_visit)])  # recorded (device time) after the flag
    assert body["results"][0]["status"] == "conflict", body
    assert "dispute" in body["results"][0]["detail"]
    # the code and the values it names, for the device to say it in the agent's language
    assert body["results"][0]["code"] == "case_blocked" and body["results"][0]["params"] == {"flags": ["dispute"], "n": 1}
    assert body["results"][0]["server"]["case"]["flags"][0]["flag"] == "dispute"

    # a note is not a visit record: it still applies; an escalation always applies
    note = make_op("note.add", {"case_id": case.id, "visit_id": owned_visit.id, "text": "Left before hearing of the dispute."})
    escalate = make_op("case.escalate", {"case_id": case.id, "visit_id": owned_visit.id, "kind": "dispute", "reason": "Debtor showed the dispute letter"})
    assert [r["status"] for r in send([note, escalate])[1]["results"]] == ["applied", "applied"]


def test_stale_version_is_a_conflict_but_own_ops_do_not_make_it_stale(db, send, owned_visit):
    base = owned_visit.version
    assert send([checkin_op(owned_visit, version=base)])[1]["results"][0]["status"] == "applied"
    # the device still holds version `base`; its own check-in bumped it, which is not staleness
    assert send([outcome_op(owned_visit, version=base)])[1]["results"][0]["status"] == "applied"


def test_stale_version_after_an_office_change(db, send, owned_visit):
    base = owned_visit.version
    visit = db.session.get(Visit, owned_visit.id)
    visit.version += 1  # an office edit the device has not seen
    db.session.commit()
    result = send([checkin_op(owned_visit, version=base)])[1]["results"][0]
    assert result["status"] == "conflict" and "changed in the office" in result["detail"]
    assert result["code"] == "stale_version" and result["params"] == {"base": base, "now": base + 1}


def test_far_checkin_is_applied_and_flagged_with_the_reason(db, send, owned_visit):
    far = checkin_op(owned_visit, lat=owned_visit.address.lat + 0.01, reason_far="Gate is round the block")
    result = send([far])[1]["results"][0]
    assert result["status"] == "applied"
    assert "Gate is round the block" in result["server"]["visit"]["checkin_flag"]
    assert result["server"]["visit"]["checkin_distance_m"] > 1000


def test_outcome_without_disclosure_is_rejected_r6(send, owned_visit):
    send([checkin_op(owned_visit)])
    op = outcome_op(owned_visit, code="refused", met="debtor", disclosure_at=None)
    result = send([op])[1]["results"][0]
    assert result["status"] == "rejected" and "payload.disclosure_at" in result["errors"]
    assert result["code"] == "no_disclosure" and result["params"] == {"rule": "R6", "finding": "no_disclosure"}


def test_third_party_cannot_record_a_debt_outcome_r5(send, owned_visit):
    send([checkin_op(owned_visit)])
    result = send([outcome_op(owned_visit, code="refused", met="third_party")])[1]["results"][0]
    assert result["status"] == "rejected" and "payload.met" in result["errors"]


def test_dispute_outcome_raises_the_flag_and_escalation_sets_escalated(db, send, owned_visit):
    send([checkin_op(owned_visit)])
    results = send([outcome_op(owned_visit, code="dispute", met="debtor", reason="Says the card was stolen"),
                    make_op("case.escalate", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "kind": "dispute", "reason": "Fraud claim"})])[1]["results"]
    assert [r["status"] for r in results] == ["applied", "applied"], results
    flags = set(db.session.scalars(select(CaseFlag.flag).where(CaseFlag.case_id == owned_visit.case_id)))
    assert flags == {"dispute", "escalated"}
    # the escalation is a ticket in the supervisor's queue, raised from the door, in the op's transaction
    ticket = db.session.scalars(select(EscalationTicket).where(EscalationTicket.case_id == owned_visit.case_id)).one()
    assert (ticket.kind, ticket.queue, ticket.source, ticket.reason) == ("dispute", "supervisor", "device", "Fraud claim")
    kinds = [e.kind for e in db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == owned_visit.case_id)
                                                .order_by(TimelineEvent.seq))]
    assert kinds.index("case.escalated") < kinds.index("escalation.raised")


def test_note_with_prohibited_phrase_is_flagged_for_review(db, send, owned_visit):
    result = send([make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "Told him the police would come"})])[1]["results"][0]
    assert result["status"] == "applied" and result["server"]["review_flag"].startswith("R7")


def test_every_applied_op_is_on_the_timeline_and_the_chain_holds(db, send, owned_visit):
    from backend.cases.services import verify_timeline

    ops = [checkin_op(owned_visit), make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "ok"}),
           outcome_op(owned_visit, code="not_home"), make_op("visit.checkout", {"visit_id": owned_visit.id})]
    send(ops)
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == owned_visit.case_id)).all()
    op_ids = [e.data.get("op_id") for e in events]
    for op in ops:
        assert op_ids.count(op["id"]) == 1
    assert verify_timeline(case_id=owned_visit.case_id)["verified"]


def test_a_value_the_database_cannot_hold_rejects_the_op_instead_of_stalling_the_outbox(db, send, owned_visit, monkeypatch):
    """A permanent data error (e.g. a number past its column) must not answer 503: the device
    would resend that batch forever. The op is kept as rejected; the rest of the batch applies."""
    from sqlalchemy.exc import DataError

    from backend.sync import handlers

    def out_of_range(ctx):
        raise DataError("INSERT INTO notes ...", {}, Exception("integer out of range"))

    monkeypatch.setitem(handlers.OPS, "note.add", (handlers.OPS["note.add"][0], out_of_range))
    bad = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "x"})
    good = checkin_op(owned_visit)
    status, body = send([bad, good])
    assert status == 200
    assert [(r["status"], r.get("code")) for r in body["results"]][0] == ("rejected", "out_of_range")
    assert body["results"][1]["status"] == "applied"
    assert db.session.get(SyncOp, bad["id"]).status == "rejected"


def test_content_no_column_can_hold_rejects_that_op_alone_and_keeps_it(db, send, owned_visit, client, auth, owner):
    """A NUL in a note, a number past 64 bits, a lone surrogate, an infinite accuracy: each op
    is rejected per field and kept (made readable), and the good op in the same batch applies.
    (Refusing the whole batch would stall the device's outbox behind the one bad op.)"""
    nul_note = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "gate code 4\u00002"})
    huge = make_op("visit.checkout", {"visit_id": owned_visit.id, "version": 2**70})
    surrogate = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "half \ud800 a pair"})
    infinite = checkin_op(owned_visit, accuracy_m=float("inf"))
    good = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "Neighbour says evenings."})
    status, body = send([nul_note, huge, surrogate, infinite, good])

    assert status == 200, body
    results = {r["id"]: r for r in body["results"]}
    assert results[nul_note["id"]]["status"] == "rejected" and "payload.text" in results[nul_note["id"]]["errors"]
    assert "out of range" in results[huge["id"]]["errors"]["payload.version"][0]
    assert "payload.text" in results[surrogate["id"]]["errors"]
    assert "payload.accuracy_m" in results[infinite["id"]]["errors"]
    assert results[good["id"]]["status"] == "applied"

    kept = {op.id: op for op in db.session.scalars(select(SyncOp))}
    assert set(kept) == {nul_note["id"], huge["id"], surrogate["id"], infinite["id"], good["id"]}
    assert kept[nul_note["id"]].payload["text"] == "gate code 4\\x002"  # what the agent typed, readable
    assert kept[huge["id"]].payload["version"] == str(2**70)
    assert kept[nul_note["id"]].case_id == owned_visit.case_id and kept[infinite["id"]].visit_id == owned_visit.id
    assert db.session.scalar(select(func.count(Note.id))) == 1
    queue = client.get("/api/sync/exceptions", headers=auth(owner)).get_json()
    assert {nul_note["id"], huge["id"], surrogate["id"], infinite["id"]} <= {item["op"]["id"] for item in queue["items"]}

    # the device resends (it never saw the answer): each is a duplicate with the first answer
    status, again = send([nul_note, infinite])
    assert status == 200 and [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
