"""R4 "plan active and performing" (issue 15, point 6) follows the payments: the payment
evaluation sets the flag while an active plan is being paid as agreed and clears it when the plan
falls behind or ends; while it is set, a new visit is refused under R4. Shown through a payments
import and through money taken at the door that the bank's feed confirms."""
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from backend.cases.models import CaseFlag, TimelineEvent
from backend.common import canonical_json, sha256_hex
from sync_ops_helpers import checkin_op, in_window, make_op

FEED = "reference,account_number,amount,paid_on"


def installment_plan(db, case, dues, amount="1000.00", made=None):
    from backend.plans.models import Installment, RepaymentPlan

    made = made or dues[0] - timedelta(days=10)
    schedule = [{"seq": n + 1, "due_date": due.isoformat(), "amount": amount} for n, due in enumerate(dues)]
    total = Decimal(amount) * len(dues)
    terms = {"case_id": case.id, "kind": "installments", "total": str(total), "schedule": schedule}
    plan = RepaymentPlan(case_id=case.id, kind="installments", status="active", total_amount=total, down_payment=Decimal(0),
                         term_months=len(dues), terms=terms, terms_hash=sha256_hex(canonical_json(terms)),
                         created_at=datetime.combine(made, time(0, 30)))
    db.session.add(plan)
    db.session.flush()
    for n, due in enumerate(dues):
        db.session.add(Installment(plan_id=plan.id, seq=n + 1, due_date=due, amount=Decimal(amount)))
    db.session.commit()
    return plan


def import_feed(client, headers, lines, as_of):
    raw = ("\n".join([FEED, *lines]) + "\n").encode()
    response = client.post(f"/api/payments/import?as_of={as_of.isoformat()}", data={"file": (io.BytesIO(raw), "feed.csv")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def performing(db, case) -> bool:
    db.session.expire_all()
    return any(f.flag == "plan_performing" and f.cleared_at is None for f in db.session.scalars(select(CaseFlag).where(CaseFlag.case_id == case.id)))


def test_an_import_sets_the_flag_which_blocks_visits_and_a_missed_installment_clears_it(client, auth, make_user, make_case, owner, day, db):
    office, dispatcher = auth(owner), auth(make_user(role="dispatcher"))
    case = make_case(owner_id=owner.id)
    plan = installment_plan(db, case, [day - timedelta(days=10), day + timedelta(days=20), day + timedelta(days=50)])
    account = case.account.account_number
    report = import_feed(client, office, [f"P-1,{account},1000.00,{(day - timedelta(days=12)).isoformat()}"], as_of=day)
    assert report["promises"] == {"open": 1}
    assert performing(db, case)
    event = db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "flag.set"))
    assert event.data["flag"] == "plan_performing" and f"installments {plan.id}" in event.data["reason"]

    refused = client.post("/api/visits", json={"case_id": case.id, "date": (day + timedelta(days=1)).isoformat()}, headers=dispatcher)
    assert refused.status_code == 409, refused.get_json()
    assert (refused.get_json()["rule"], refused.get_json()["flag"]) == ("R4", "plan_performing")

    # the second installment is missed past its grace days: the plan breaks and the flag goes
    after = day + timedelta(days=30)
    states = client.post("/api/promises/evaluate", json={"as_of": after.isoformat(), "case_id": case.id}, headers=office).get_json()
    assert states["states"] == {"broken": 1}
    assert not performing(db, case)
    cleared = db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "flag.cleared"))
    assert cleared.data["flag"] == "plan_performing" and "broken" in cleared.data["reason"]
    allowed = client.post("/api/visits", json={"case_id": case.id, "date": (after + timedelta(days=1)).isoformat()}, headers=dispatcher)
    assert allowed.status_code == 201, allowed.get_json()


def test_a_plan_with_nothing_paid_yet_is_not_performing(client, auth, make_case, owner, day, db):
    case = make_case(owner_id=owner.id)
    installment_plan(db, case, [day + timedelta(days=10), day + timedelta(days=40)])
    states = client.post("/api/promises/evaluate", json={"as_of": day.isoformat(), "case_id": case.id}, headers=auth(owner)).get_json()
    assert states["states"] == {"open": 1}
    assert not performing(db, case)


def test_money_taken_at_the_door_counts_once_the_bank_confirms_it(client, auth, send, make_user, make_case, make_visit,
                                                                  field_agent, owner, day, db):
    office, dispatcher = auth(owner), auth(make_user(role="dispatcher"))
    case = make_case(branch=field_agent.branch, owner_id=owner.id)
    installment_plan(db, case, [day, day + timedelta(days=30)], made=day - timedelta(days=5))
    visit = make_visit(case=case, agent=field_agent, day=day)
    payment = make_op("payment.record", {"case_id": case.id, "visit_id": visit.id, "amount": "1000.00", "currency": "CNY",
                                         "method": "cash"}, at=in_window(visit, 75))
    results = send([checkin_op(visit), payment])[1]["results"]
    assert [r["status"] for r in results] == ["applied", "applied"], results
    receipt = results[1]["server"]["collection"]["receipt_number"]

    # receipted but not confirmed: not money yet, so not performing
    client.post("/api/promises/evaluate", json={"as_of": day.isoformat(), "case_id": case.id}, headers=office)
    assert not performing(db, case)

    report = import_feed(client, office, [f"{receipt},{case.account.account_number},1000.00,{(day + timedelta(days=2)).isoformat()}"],
                         as_of=day + timedelta(days=2))
    assert report["collections"]["reconciled"] == 1 and report["promises"] == {"open": 1}
    assert performing(db, case)
    refused = client.post("/api/visits", json={"case_id": case.id, "date": (day + timedelta(days=10)).isoformat()}, headers=dispatcher)
    assert refused.status_code == 409 and refused.get_json()["flag"] == "plan_performing"
