"""The case record keeps what the agent recorded (issue 15): an agreed return visit becomes a
follow-up the office sees and the R3 cool-off counts; the disclosure's place is stored; a field
the server does not know rejects the op with a per-field error instead of vanishing."""
from datetime import timedelta

from sqlalchemy import select

from backend.cases.models import TimelineEvent
from backend.payments.models import FollowUp
from backend.policy.rules import cap_findings, visit_allowance
from backend.sync.models import SyncOp
from backend.visits.models import Outcome

from sync_ops_helpers import checkin_op, make_op, outcome_op


def _kinds(db, case_id):
    return db.session.scalars(select(TimelineEvent.kind).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)).all()


def _cool_off(case, day):
    return [f for f in cap_findings(case, day) if "cool-off" in f.message]


def test_an_agreed_return_becomes_an_open_visit_follow_up_that_lifts_the_cool_off(db, client, auth, send, owned_visit, owner, day):
    back_on = day + timedelta(days=3)
    case = owned_visit.case
    status, body = send([checkin_op(owned_visit), outcome_op(owned_visit, code="refused", met="debtor",
                                                             follow_up_date=back_on.isoformat(), follow_up_note="after payday")])
    assert [r["status"] for r in body["results"]] == ["applied", "applied"], body

    listed = client.get(f"/api/follow-ups?case_id={case.id}", headers=auth(owner)).get_json()["items"]
    assert [(f["kind"], f["due_on"], f["status"], f["reason"]) for f in listed] == [("visit", back_on.isoformat(), "open", "after payday")]
    assert "follow_up.agreed" in _kinds(db, case.id)
    outcome = db.session.scalar(select(Outcome).where(Outcome.visit_id == owned_visit.id))
    assert outcome.data["follow_up_date"] == back_on.isoformat()

    # R3: the day agreed is free of the cool-off, the day before is not
    assert _cool_off(case, back_on) == []
    assert _cool_off(case, back_on - timedelta(days=1))
    assert visit_allowance(case, back_on)["cool_off_until"] is None

    # the office cancels the follow-up: the cool-off is back (one source of truth)
    closed = client.post(f"/api/follow-ups/{listed[0]['id']}/close", json={"status": "cancelled"}, headers=auth(owner))
    assert closed.status_code == 200, closed.get_json()
    assert _cool_off(case, back_on)


def test_a_return_agreed_for_a_day_not_after_the_visit_is_rejected_and_kept(db, send, owned_visit, day):
    op = outcome_op(owned_visit, code="refused", met="debtor", follow_up_date=day.isoformat())
    status, body = send([checkin_op(owned_visit), op])
    result = body["results"][1]
    assert result["status"] == "rejected" and "follow_up_date" in result["errors"], result
    assert db.session.get(SyncOp, op["id"]).payload["follow_up_date"] == day.isoformat()
    assert db.session.scalar(select(FollowUp)) is None


def test_a_return_needs_someone_met_and_a_note_needs_its_day(send, owned_visit, day):
    nobody = outcome_op(owned_visit, follow_up_date=(day + timedelta(days=2)).isoformat())
    note_only = outcome_op(owned_visit, code="refused", met="debtor", follow_up_note="call first")
    status, body = send([nobody, note_only])
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected"]
    assert "payload.follow_up_date" in body["results"][0]["errors"]
    assert "payload.follow_up_date" in body["results"][1]["errors"]


def test_the_disclosures_place_is_stored_on_the_outcome(db, send, owned_visit):
    status, body = send([checkin_op(owned_visit), outcome_op(owned_visit, code="refused", met="debtor",
                                                             disclosure_lat=31.2304, disclosure_lon=121.4737)])
    assert [r["status"] for r in body["results"]] == ["applied", "applied"], body
    outcome = db.session.scalar(select(Outcome).where(Outcome.visit_id == owned_visit.id))
    assert (outcome.disclosure_lat, outcome.disclosure_lon) == (31.2304, 121.4737)


def test_a_field_the_server_does_not_know_rejects_the_op_per_field_and_keeps_it(db, send, owned_visit):
    op = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": "evenings", "mood": "calm"})
    status, body = send([op])
    result = body["results"][0]
    assert result["status"] == "rejected" and result["errors"] == {"payload.mood": ["Unknown field."]}, result
    assert db.session.get(SyncOp, op["id"]).payload["mood"] == "calm"
    assert "sync.rejected" in _kinds(db, owned_visit.case_id)
