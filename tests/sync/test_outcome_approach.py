"""The strategy and approved script used at the door travel with the outcome op (what works)."""
from sqlalchemy import select

from backend.cases.models import TimelineEvent
from backend.sync.models import SyncOp
from backend.visits.models import Outcome
from sync_ops_helpers import checkin_op, outcome_op


def test_the_strategy_and_script_used_are_stored_with_the_outcome(db, send, owned_visit):
    send([checkin_op(owned_visit)])
    op = outcome_op(owned_visit, code="refused", met="debtor", strategy="firm", script="firm.consequences")
    result = send([op])[1]["results"][0]
    assert result["status"] == "applied", result
    outcome = db.session.scalar(select(Outcome).where(Outcome.visit_id == owned_visit.id))
    assert outcome.data["strategy"] == "firm" and outcome.data["script"] == "firm.consequences"
    event = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "visit.outcome")).one()
    assert event.data["data"]["strategy"] == "firm"


def test_a_script_alone_names_its_strategy(db, send, owned_visit):
    send([checkin_op(owned_visit)])
    result = send([outcome_op(owned_visit, code="refused", met="debtor", script="empathy.listen")])[1]["results"][0]
    assert result["status"] == "applied", result
    outcome = db.session.scalar(select(Outcome).where(Outcome.visit_id == owned_visit.id))
    assert outcome.data["strategy"] == "empathy" and outcome.data["script"] == "empathy.listen"


def test_an_unknown_strategy_is_rejected_per_field_and_kept(db, send, owned_visit):
    send([checkin_op(owned_visit)])
    op = outcome_op(owned_visit, code="refused", met="debtor", strategy="threaten")
    result = send([op])[1]["results"][0]
    assert result["status"] == "rejected" and result["code"] == "unknown_strategy", result
    assert result["errors"] == {"strategy": ["unknown strategy 'threaten'"]}, result
    kept = db.session.get(SyncOp, op["id"])
    assert kept.status == "rejected" and kept.payload["strategy"] == "threaten" and kept.case_id == owned_visit.case_id
    assert db.session.scalar(select(Outcome).where(Outcome.visit_id == owned_visit.id)) is None


def test_an_unknown_script_or_one_of_another_strategy_is_rejected(db, send, owned_visit):
    send([checkin_op(owned_visit)])
    unknown = send([outcome_op(owned_visit, code="refused", met="debtor", script="firm.shout")])[1]["results"][0]
    assert unknown["status"] == "rejected" and unknown["code"] == "unknown_script", unknown
    assert unknown["errors"] == {"script": ["unknown script 'firm.shout'"]}
    other = send([outcome_op(owned_visit, code="refused", met="debtor", strategy="empathy", script="firm.consequences")])[1]["results"][0]
    assert other["status"] == "rejected" and other["code"] == "script_of_another_strategy", other
    assert db.session.scalar(select(Outcome).where(Outcome.visit_id == owned_visit.id)) is None

