"""Reconciliation and cash custody (issue 18, point 4): the payment feed confirms or disputes money
taken at the door by reference, amount and date; the deposits import shows cash banked; cash held
past the jurisdiction's setting is an alert in the owner's queue and a KPI; a promise is judged
from confirmed money, and a confirmed collection counts once."""
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.cases.models import TimelineEvent
from backend.common import canonical_json, sha256_hex, utcnow
from backend.payments.models import Collection, Payment, PromiseTrack
from sync_ops_helpers import checkin_op, in_window, make_op


def payment_op(visit, amount="500.00", method="cash", **kw):
    payload = {"case_id": visit.case_id, "visit_id": visit.id, "amount": amount, "currency": "CNY", "method": method, **kw}
    return make_op("payment.record", payload, at=in_window(visit, 75))


def collect(send, visit, **kw) -> dict:
    results = send([checkin_op(visit), payment_op(visit, **kw)])[1]["results"]
    assert results[1]["status"] == "applied", results
    return results[1]["server"]["collection"]


def upload(client, headers, path, lines, query=""):
    raw = ("\n".join(lines) + "\n").encode()
    response = client.post(f"{path}{query}", data={"file": (io.BytesIO(raw), "f.csv")}, headers=headers,
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


FEED = "reference,account_number,amount,paid_on"
DEPOSITS = "reference,receipt_number,amount,deposited_on"


@pytest.fixture
def office(auth, owner):
    return auth(owner)


def test_the_feed_reconciles_by_reference_amount_and_date_and_a_reimport_changes_nothing(send, client, office, owned_visit, day, db):
    taken = collect(send, owned_visit, amount="500.00", reference="BT-7781", method="bank_transfer")
    account = owned_visit.case.account.account_number
    later = (day + timedelta(days=2)).isoformat()
    report = upload(client, office, "/api/payments/import", [FEED, f"BT-7781,{account},500.00,{later}"])
    assert report["collections"] == {"reconciled": 1, "disputed": 0}
    assert report["rows"][0]["collection"] == {"id": taken["id"], "receipt_number": taken["receipt_number"], "status": "reconciled"}
    collection = db.session.get(Collection, taken["id"])
    payment = db.session.scalar(select(Payment).where(Payment.reference == "BT-7781"))
    assert (collection.status, collection.payment_id, collection.bank_paid_on) == ("reconciled", payment.id, day + timedelta(days=2))
    assert db.session.scalar(select(TimelineEvent).where(TimelineEvent.kind == "payment.reconciled")).data["collection_id"] == taken["id"]
    again = upload(client, office, "/api/payments/import", [FEED, f"BT-7781,{account},500.00,{later}"])
    assert (again["duplicate"], again["collections"]) == (1, {"reconciled": 0, "disputed": 0})
    # confirmed money is counted once: the bank's payment; the collection no longer holds the balance
    listed = client.get("/api/collections?status=reconciled", headers=office).get_json()
    assert [c["id"] for c in listed["items"]] == [taken["id"]] and listed["items"][0]["in_hand"] is False
    by_method = [client.get(f"/api/collections?method={m}", headers=office).get_json()["total"] for m in ("bank_transfer", "cash")]
    assert by_method == [1, 0]


def test_the_receipt_number_as_reference_matches_and_a_wrong_amount_or_date_disputes(send, client, office, make_case, make_visit,
                                                                                        field_agent, owner, day, db):
    visits = [make_visit(case=make_case(branch=field_agent.branch, owner_id=owner.id), agent=field_agent, day=day) for _ in range(3)]
    taken = [collect(send, v, amount="300.00") for v in visits]
    rows = [FEED,
            f"B-1,{visits[0].case.account.account_number},300.00,{day.isoformat()}",
            f"B-2,{visits[1].case.account.account_number},250.00,{day.isoformat()}",
            f"B-3,{visits[2].case.account.account_number},300.00,{(day - timedelta(days=1)).isoformat()}"]
    rows[1] = rows[1].replace("B-1", taken[0]["receipt_number"])
    rows[2] = rows[2].replace("B-2", taken[1]["receipt_number"])
    rows[3] = rows[3].replace("B-3", taken[2]["receipt_number"])
    report = upload(client, office, "/api/payments/import", rows)
    assert report["created"] == 3 and report["collections"] == {"reconciled": 1, "disputed": 2}
    statuses = [db.session.get(Collection, t["id"]) for t in taken]
    assert [c.status for c in statuses] == ["reconciled", "disputed", "disputed"]
    assert "250.00" in statuses[1].dispute_reason and "dated" in statuses[2].dispute_reason
    assert statuses[1].payment_id is None  # the bank's payment stands on its own, unlinked
    disputed = client.get("/api/collections?status=disputed", headers=office).get_json()
    assert {c["id"] for c in disputed["items"]} == {taken[1]["id"], taken[2]["id"]}
    queue = client.get("/api/review-queue", headers=office).get_json()["money"]
    assert {(i["kind"], i["id"]) for i in queue["items"]} == {("disputed", taken[1]["id"]), ("disputed", taken[2]["id"])}
    bad = client.get("/api/collections?status=lost", headers=office)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_an_agent_lists_only_money_they_took(send, client, owned_visit, make_agent, make_case, make_visit, auth, owner, day):
    mine = collect(send, owned_visit, amount="100.00")
    other = make_agent(branch=owned_visit.case.branch)
    other_visit = make_visit(case=make_case(branch=other.branch, owner_id=owner.id), agent=other, day=day)
    collect(lambda ops, **kw: (None, client.post("/api/sync/ops", json={"device_id": "p2", "ops": ops},
                                                  headers=auth(other.user)).get_json()), other_visit, amount="50.00")
    seen = client.get("/api/collections", headers=auth(owned_visit.agent.user)).get_json()
    assert [c["id"] for c in seen["items"]] == [mine["id"]]
    assert seen["items"][0]["in_hand"] is True and seen["items"][0]["status"] == "unreconciled"


def test_deposits_end_custody_and_stale_cash_is_an_alert_and_a_kpi(send, client, office, make_case, make_visit, field_agent,
                                                                   owner, day, db):
    visits = [make_visit(case=make_case(branch=field_agent.branch, owner_id=owner.id), agent=field_agent, day=day) for _ in range(3)]
    taken = [collect(send, v, amount="200.00") for v in visits]
    # the money changed hands three days ago (the default custody limit is two days)
    for t in taken:
        db.session.get(Collection, t["id"]).collected_at = utcnow() - timedelta(days=3)
    db.session.commit()
    deposited_on = date.today().isoformat()
    report = upload(client, office, "/api/deposits/import", [
        DEPOSITS,
        f"SLIP-9,{taken[0]['receipt_number']},200.00,{deposited_on}",
        f"SLIP-9,{taken[1]['receipt_number']},150.00,{deposited_on}",
        f"SLIP-9,NOPE-000001,10.00,{deposited_on}",
    ])
    assert (report["created"], report["rejected"]) == (2, 1)
    assert report["collections"] == {"banked": 1, "disputed": 1}
    assert report["rows"][2]["errors"] == {"receipt_number": ["no such receipt"]}
    progress = client.get(f"/api/deposits/imports/{report['import_id']}", headers=office).get_json()
    assert (progress["status"], progress["processed_rows"], progress["total_rows"]) == ("done", 3, 3)
    again = upload(client, office, "/api/deposits/import", [DEPOSITS, f"SLIP-9,{taken[0]['receipt_number']},200.00,{deposited_on}"])
    assert again["duplicate"] == 1

    banked = db.session.get(Collection, taken[0]["id"])
    assert banked.banked_on == date.today() and banked.status == "unreconciled"
    queue = client.get("/api/review-queue", headers=office).get_json()
    items = {(i["kind"], i["id"]) for i in queue["money"]["items"]}
    # the banked one is no longer held; the short deposit is disputed and still in hand; the third is simply held
    assert items == {("cash_held", taken[1]["id"]), ("cash_held", taken[2]["id"]), ("disputed", taken[1]["id"])}
    assert queue["counts"]["money"] == 3
    held = next(i for i in queue["money"]["items"] if i["kind"] == "cash_held")
    assert held["held_days"] == 3 and held["amount"] == "200.00"

    kpis = client.get("/api/kpis", headers=office).get_json()
    [row] = kpis["cash_in_hand"]
    assert (row["agent_id"], row["amount"], row["collections"], row["stale"], row["stale_amount"]) == (
        field_agent.id, "400.00", 2, 2, "400.00")
    in_hand = client.get("/api/collections?in_hand=true", headers=office).get_json()
    assert {c["id"] for c in in_hand["items"]} == {taken[1]["id"], taken[2]["id"]}


def test_the_custody_limit_is_a_setting_per_jurisdiction(send, client, auth, make_user, office, owned_visit, db):
    taken = collect(send, owned_visit, amount="200.00")
    db.session.get(Collection, taken["id"]).collected_at = utcnow() - timedelta(days=3)
    db.session.commit()
    assert client.get("/api/review-queue", headers=office).get_json()["counts"]["money"] == 1
    admin = auth(make_user(role="admin"))
    jurisdiction = owned_visit.case.branch.jurisdiction
    response = client.put(f"/api/policy/settings/{jurisdiction}/cash_custody_days", json={"value": 5, "reason": "weekly banking"},
                          headers=admin)
    assert response.status_code == 200, response.get_json()
    assert client.get("/api/review-queue", headers=office).get_json()["counts"]["money"] == 0
    bad = client.put(f"/api/policy/settings/{jurisdiction}/cash_custody_days", json={"value": 0, "reason": "x"}, headers=admin)
    assert bad.status_code == 422


def _promise(db, case, amount, due, made):
    from backend.plans.models import Installment, RepaymentPlan

    terms = {"case_id": case.id, "kind": "promise", "total": amount, "schedule": [{"seq": 1, "due_date": due.isoformat(), "amount": amount}]}
    plan = RepaymentPlan(case_id=case.id, kind="promise", status="active", total_amount=Decimal(amount), down_payment=Decimal(0),
                         term_months=1, terms=terms, terms_hash=sha256_hex(canonical_json(terms)),
                         created_at=datetime.combine(made, time(0, 30)))
    db.session.add(plan)
    db.session.flush()
    db.session.add(Installment(plan_id=plan.id, seq=1, due_date=due, amount=Decimal(amount)))
    db.session.commit()
    return plan


def test_a_promise_is_judged_from_confirmed_money_dated_by_the_receipt(send, client, office, owned_visit, day, db):
    """Paid at the door on the due day, confirmed by the bank after the deadline: kept, and the
    money counted once. Before the confirmation the promise waits instead of breaking."""
    plan = _promise(db, owned_visit.case, "500.00", due=day, made=day - timedelta(days=3))
    taken = collect(send, owned_visit, amount="500.00", reference="CASH-1")
    after_deadline = (day + timedelta(days=10)).isoformat()
    waiting = client.post("/api/promises/evaluate", json={"as_of": after_deadline, "case_id": owned_visit.case_id}, headers=office)
    assert waiting.get_json()["states"] == {"grace": 1}
    assert "awaits the bank" in db.session.scalar(select(PromiseTrack).where(PromiseTrack.plan_id == plan.id)).detail
    account = owned_visit.case.account.account_number
    report = upload(client, office, "/api/payments/import", [FEED, f"CASH-1,{account},500.00,{after_deadline}"],
                    query=f"?as_of={after_deadline}")
    assert report["collections"]["reconciled"] == 1 and report["promises"] == {"kept": 1}
    track = db.session.scalar(select(PromiseTrack).where(PromiseTrack.plan_id == plan.id))
    assert (track.state, track.paid_amount) == ("kept", Decimal("500.00"))
    assert db.session.get(Collection, taken["id"]).status == "reconciled"


def test_without_the_receipt_a_late_bank_row_breaks_the_promise(client, office, make_case, day, db):
    case = make_case()
    plan = _promise(db, case, "500.00", due=day, made=day - timedelta(days=3))
    after_deadline = (day + timedelta(days=10)).isoformat()
    report = upload(client, office, "/api/payments/import", [FEED, f"LATE-1,{case.account.account_number},500.00,{after_deadline}"],
                    query=f"?as_of={after_deadline}")
    assert report["promises"] == {"broken": 1}
    assert db.session.scalar(select(PromiseTrack).where(PromiseTrack.plan_id == plan.id)).state == "broken"
