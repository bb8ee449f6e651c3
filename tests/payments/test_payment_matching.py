"""The promise state machine against the payment feed: open → grace → kept / partially kept /
broken; superseded by a newer plan; cancelled with its plan. Never set by an agent."""
from datetime import date, timedelta

from sqlalchemy import select

from backend.cases.models import TimelineEvent
from backend.payments.models import FollowUp, PromiseTrack
from backend.payments.services import evaluate_promises, import_payments
from backend.policy.strategies import recommend

DUE = date(2026, 11, 12)  # PLAN_DAY + 10


def _pay(feed, case, *rows):
    """rows: (reference, amount, paid_on)"""
    return import_payments(raw=feed(*[(ref, case.account.account_number, amt, day.isoformat()) for ref, amt, day in rows]),
                           actor_id=None, as_of=rows[0][2])


def _state(db, plan):
    db.session.expire_all()
    return db.session.scalar(select(PromiseTrack.state).where(PromiseTrack.plan_id == plan.id))


def test_paid_in_full_before_due_is_kept(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    _pay(feed, case, ("P1", "1000.00", DUE - timedelta(days=2)))
    assert _state(db, plan) == "kept" and plan.status == "kept"
    assert db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "plan.kept"))


def test_kept_within_the_95_percent_tolerance(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    _pay(feed, case, ("P1", "950.00", DUE))
    assert _state(db, plan) == "kept"


def test_short_of_tolerance_is_open_then_grace_then_partially_kept(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    _pay(feed, case, ("P1", "949.00", DUE - timedelta(days=1)))
    assert _state(db, plan) == "open"
    evaluate_promises(as_of=DUE + timedelta(days=3))
    assert _state(db, plan) == "grace"
    evaluate_promises(as_of=DUE + timedelta(days=8))  # grace (7 days) has passed
    assert _state(db, plan) == "partially_kept"
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id))
    assert follow_up is not None and db.session.get(type(case), case.id).broken_promises == 0


def test_a_payment_inside_grace_keeps_the_promise(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    evaluate_promises(as_of=DUE + timedelta(days=2))
    assert _state(db, plan) == "grace"
    _pay(feed, case, ("P1", "1000.00", DUE + timedelta(days=7)))
    assert _state(db, plan) == "kept"


def test_nothing_by_due_plus_grace_is_broken_with_a_follow_up_and_a_new_strategy(db, make_case, make_plan):
    case = make_case(days_past_due=90, overdue="8000.00", balance="20000.00")
    plan = make_plan(case, amounts=("1000.00",))
    before = [s["key"] for s in recommend(case, "en")["strategies"]]
    evaluate_promises(as_of=DUE + timedelta(days=7))
    assert _state(db, plan) == "grace"  # the last day of grace
    evaluate_promises(as_of=DUE + timedelta(days=8))
    assert _state(db, plan) == "broken"
    case = db.session.get(type(case), case.id)
    assert case.broken_promises == 1 and plan.status == "broken"
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id))
    assert follow_up.kind == "visit" and follow_up.due_on == DUE + timedelta(days=9) and "broken" in follow_up.reason
    after = [s["key"] for s in recommend(case, "en")["strategies"]]
    assert after != before and "sms_reminder" in after and "firm" in after
    # deciding again changes nothing (no second increment)
    evaluate_promises(as_of=DUE + timedelta(days=20))
    assert db.session.get(type(case), case.id).broken_promises == 1


def test_a_late_payment_does_not_unbreak_a_promise(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    _pay(feed, case, ("LATE", "1000.00", DUE + timedelta(days=8)))
    assert _state(db, plan) == "broken"


def test_a_blocked_case_gets_a_review_follow_up_not_a_visit(db, make_case, make_plan):
    from backend.cases.services import set_flag

    case = make_case()
    make_plan(case, amounts=("1000.00",))
    set_flag(case=case, flag="dispute", reason="disputes the amount", actor_id=None)
    db.session.commit()
    evaluate_promises(as_of=DUE + timedelta(days=8))
    assert db.session.scalar(select(FollowUp.kind).where(FollowUp.case_id == case.id)) == "review"


def test_a_case_with_no_visitable_day_gets_a_call(db, make_case, make_plan):
    case = make_case(stage="letter")  # no visits at the letter stage
    make_plan(case, amounts=("1000.00",))
    evaluate_promises(as_of=DUE + timedelta(days=8))
    assert db.session.scalar(select(FollowUp.kind).where(FollowUp.case_id == case.id)) == "call"


def test_installments_fill_oldest_first_and_one_missed_breaks_the_plan(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, kind="installments", amounts=("500.00", "500.00", "500.00"), down="300.00")
    _pay(feed, case, ("D", "300.00", date(2026, 11, 2)), ("I1", "500.00", DUE))
    assert _state(db, plan) == "open"
    assert [str(i.paid_amount) for i in plan.installments] == ["500.00", "0.00", "0.00"]
    evaluate_promises(as_of=DUE + timedelta(days=30 + 8))
    assert _state(db, plan) == "broken"
    detail = db.session.scalar(select(PromiseTrack.detail).where(PromiseTrack.plan_id == plan.id))
    assert (DUE + timedelta(days=30)).isoformat() in detail


def test_an_overpayment_covers_later_installments(db, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, kind="installments", amounts=("500.00", "500.00"))
    _pay(feed, case, ("BIG", "1000.00", DUE))
    assert _state(db, plan) == "kept"
    assert all(i.status == "paid" for i in plan.installments)


def test_a_new_plan_supersedes_the_old_one_and_history_is_kept(db, make_case, make_plan, feed):
    from backend.plans.models import RepaymentPlan

    case = make_case()
    old = make_plan(case, amounts=("1000.00",))
    _pay(feed, case, ("PART", "300.00", DUE - timedelta(days=5)))
    new = make_plan(case, kind="installments", amounts=("400.00", "400.00"), made=DUE - timedelta(days=2), first_due=DUE + timedelta(days=20))
    evaluate_promises(as_of=DUE)
    assert _state(db, old) == "superseded"
    old = db.session.get(RepaymentPlan, old.id)
    assert old.status == "superseded" and old.superseded_by_id == new.id
    # the old plan's payment stays with it; a new payment goes to the new plan
    _pay(feed, case, ("NEXT", "400.00", DUE + timedelta(days=1)))
    new = db.session.get(RepaymentPlan, new.id)
    assert str(new.installments[0].paid_amount) == "400.00"
    assert db.session.scalar(select(PromiseTrack.paid_amount).where(PromiseTrack.plan_id == old.id)) is not None


def test_a_cancelled_plan_stops_being_tracked(db, make_case, make_plan):
    from backend.plans.models import RepaymentPlan

    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    evaluate_promises(as_of=DUE - timedelta(days=1))
    db.session.get(RepaymentPlan, plan.id).status = "cancelled"
    db.session.commit()
    evaluate_promises(as_of=DUE + timedelta(days=20))
    assert _state(db, plan) == "cancelled"
    assert db.session.get(type(case), case.id).broken_promises == 0


def test_grace_days_and_tolerance_are_settings(db, make_case, make_plan, make_user, feed):
    from backend.policy.settings import change_setting

    admin = make_user(role="admin")
    change_setting(jurisdiction="CN", key="grace_days", value=2, reason="tighter", actor_id=admin.id)
    change_setting(jurisdiction="CN", key="kept_tolerance_pct", value="100", reason="exact", actor_id=admin.id)
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    _pay(feed, case, ("P", "990.00", DUE))
    evaluate_promises(as_of=DUE + timedelta(days=3))
    assert _state(db, plan) == "partially_kept"


def test_evaluate_and_follow_up_api(client, auth, make_user, make_case, make_plan, db):
    owner = make_user(role="owner")
    headers = auth(owner)
    case = make_case()
    make_plan(case, amounts=("1000.00",))
    response = client.post("/api/promises/evaluate", json={"as_of": (DUE + timedelta(days=8)).isoformat()}, headers=headers)
    assert response.status_code == 200 and response.get_json()["states"] == {"broken": 1}
    promises = client.get("/api/promises?state=broken", headers=headers).get_json()
    assert promises["total"] == 1 and promises["items"][0]["promised_amount"] == "1000.00"
    follow_ups = client.get("/api/follow-ups", headers=headers).get_json()["items"]
    assert follow_ups[0]["kind"] == "visit"
    done = client.post(f"/api/follow-ups/{follow_ups[0]['id']}/close", json={}, headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    again = client.post(f"/api/follow-ups/{follow_ups[0]['id']}/close", json={}, headers=headers)
    assert again.status_code == 409


def test_a_plan_superseded_by_the_plans_service_stops_being_tracked(db, make_case, make_plan):
    from backend.plans.models import RepaymentPlan

    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    evaluate_promises(as_of=DUE + timedelta(days=2))
    assert _state(db, plan) == "grace"
    db.session.get(RepaymentPlan, plan.id).status = "superseded"
    db.session.commit()
    evaluate_promises(as_of=DUE + timedelta(days=20))
    assert _state(db, plan) == "superseded"
    assert db.session.get(type(case), case.id).broken_promises == 0
