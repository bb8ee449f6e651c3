"""Plan policy (R13 and the credit-policy settings): one validator for the API, sync and device."""
from datetime import date, timedelta

import pytest

from backend.policy.plan_policy import evaluate_plan, policy_data
from backend.policy.settings import change_setting

TODAY = date(2026, 12, 1)


def _installments(total: str, n: int, down: str = "0", first=TODAY + timedelta(days=30), **extra) -> dict:
    from decimal import Decimal

    payable = Decimal(total)
    rest = payable - Decimal(down)
    each = (rest / n).quantize(Decimal("0.01"))
    schedule = [
        {"seq": i + 1, "due_date": (first + timedelta(days=30 * i)).isoformat(), "amount": str(each if i < n - 1 else rest - each * (n - 1))}
        for i in range(n)
    ]
    return {"kind": "installments", "total": total, "payable": total, "discount_pct": "0", "down_payment": down, "schedule": schedule, **extra}


def _evaluate(case, terms, role="agent"):
    return evaluate_plan(terms=terms, case=case, role=role, as_of=TODAY, hardship=False)


def test_a_plan_inside_every_rule_is_proposed(db, make_case):
    result = _evaluate(make_case(), _installments("12000.00", 12, down="1000.00"))
    assert result["status"] == "proposed" and result["findings"] == []
    assert result["policy_version"].startswith("CN-")


def test_amounts_that_do_not_add_up_are_invalid(db, make_case):
    terms = _installments("12000.00", 12, down="1000.00")
    terms["schedule"][0]["amount"] = "5.00"
    result = _evaluate(make_case(), terms)
    assert result["status"] == "invalid" and "schedule_sum" in {f["rule"] for f in result["findings"]}


def test_malformed_terms_are_invalid_with_fields(db, make_case):
    result = _evaluate(make_case(), {"kind": "loan", "total": "abc", "schedule": "x"})
    fields = {f["field"] for f in result["findings"]}
    assert result["status"] == "invalid" and {"kind", "total", "schedule"} <= fields


def test_discount_above_the_agents_authority_waits_for_the_owner(db, make_case):
    terms = {"kind": "settlement", "total": "10000.00", "discount_pct": "20", "payable": "8000.00", "down_payment": "0",
             "schedule": [{"due_date": (TODAY + timedelta(days=10)).isoformat(), "amount": "8000.00"}]}
    as_agent = _evaluate(make_case(), terms, role="agent")
    assert as_agent["status"] == "pending_approval" and as_agent["approver_role"] == "owner"
    assert _evaluate(make_case(), terms, role="owner")["status"] == "proposed"


def test_discount_beyond_every_role_still_pending_never_blocked(db, make_case):
    terms = {"kind": "settlement", "total": "10000.00", "discount_pct": "60", "payable": "4000.00", "down_payment": "0",
             "schedule": [{"due_date": (TODAY + timedelta(days=10)).isoformat(), "amount": "4000.00"}]}
    result = _evaluate(make_case(), terms, role="admin")
    assert result["status"] == "pending_approval" and result["approver_role"] == "credit_committee"


def test_authority_is_a_named_setting(db, make_case, make_user):
    admin = make_user(role="admin")
    change_setting(jurisdiction="CN", key="discount_authority_pct", value={"agent": "25", "owner": "30", "admin": "50"},
                   reason="campaign", actor_id=admin.id)
    terms = {"kind": "settlement", "total": "10000.00", "discount_pct": "20", "payable": "8000.00", "down_payment": "0",
             "schedule": [{"due_date": (TODAY + timedelta(days=10)).isoformat(), "amount": "8000.00"}]}
    assert _evaluate(make_case(), terms)["status"] == "proposed"
    assert policy_data("CN")["discount_authority_pct"]["agent"] == "25"


def test_too_long_a_term_needs_approval(db, make_case):
    result = _evaluate(make_case(), _installments("720000.00", 72, down="10000.00"))
    assert result["status"] == "pending_approval" and "max_term" in {f["rule"] for f in result["findings"]}


def test_r13_token_payments_are_an_approved_exception(db, make_case):
    small = _installments("1200.00", 24, down="50.00")  # ~48 a month, under the 100 floor
    plain = _evaluate(make_case(), small)
    assert plain["status"] == "pending_approval" and "min_installment" in {f["rule"] for f in plain["findings"]}
    token = _evaluate(make_case(), {**small, "token": True})
    assert token["status"] == "pending_approval" and "R13" in {f["rule"] for f in token["findings"]}


def test_r13_pay_all_now_on_a_hardship_case_goes_to_review(db, make_case):
    full = {"kind": "full", "total": "5000.00", "payable": "5000.00", "discount_pct": "0", "down_payment": "0",
            "schedule": [{"due_date": (TODAY + timedelta(days=3)).isoformat(), "amount": "5000.00"}]}
    case = make_case()
    assert evaluate_plan(terms=full, case=case, as_of=TODAY, hardship=False)["status"] == "proposed"
    result = evaluate_plan(terms=full, case=case, as_of=TODAY, hardship=True)
    assert result["status"] == "pending_approval" and result["findings"][0]["rule"] == "R13"


def test_r13_hardship_is_read_from_the_case_outcomes(db, make_case, make_outcome):
    full = {"kind": "full", "total": "5000.00", "payable": "5000.00", "discount_pct": "0", "down_payment": "0",
            "schedule": [{"due_date": (TODAY + timedelta(days=3)).isoformat(), "amount": "5000.00"}]}
    case = make_case()
    make_outcome(case, TODAY - timedelta(days=20), "hardship")
    assert evaluate_plan(terms=full, case=case, as_of=TODAY)["status"] == "pending_approval"


def test_down_payment_below_the_first_installment_needs_approval(db, make_case):
    result = _evaluate(make_case(), _installments("12000.00", 12, down="100.00"))
    assert result["status"] == "pending_approval" and "down_payment" in {f["rule"] for f in result["findings"]}


def test_promise_must_be_a_single_payment_within_the_horizon(db, make_case):
    near = {"kind": "promise", "total": "800.00", "payable": "800.00", "discount_pct": "0", "down_payment": "0",
            "schedule": [{"due_date": (TODAY + timedelta(days=10)).isoformat(), "amount": "800.00"}]}
    assert _evaluate(make_case(), near)["status"] == "proposed"
    far = {**near, "schedule": [{"due_date": (TODAY + timedelta(days=45)).isoformat(), "amount": "800.00"}]}
    assert _evaluate(make_case(), far)["status"] == "pending_approval"
    # recorded offline, synced after its date: kept for the owner to confirm, never refused
    past = {**near, "schedule": [{"due_date": (TODAY - timedelta(days=1)).isoformat(), "amount": "800.00"}]}
    assert _evaluate(make_case(), past)["status"] == "pending_approval"


@pytest.mark.parametrize("pay_by_days,waiver,status", [(10, "500.00", "proposed"), (40, "500.00", "pending_approval"),
                                                       (10, "5000.00", "pending_approval"), (-1, "500.00", "pending_approval")])
def test_early_repayment_incentive_needs_a_real_policy_date(db, make_case, pay_by_days, waiver, status):
    terms = {"kind": "full", "total": "10000.00", "payable": "10000.00", "discount_pct": "0", "down_payment": "0",
             "schedule": [{"due_date": (TODAY + timedelta(days=5)).isoformat(), "amount": "10000.00"}],
             "incentive": {"waiver_amount": waiver, "pay_by": (TODAY + timedelta(days=pay_by_days)).isoformat()}}
    assert _evaluate(make_case(), terms)["status"] == status


def test_policy_data_is_what_the_device_applies(db):
    data = policy_data("UK")
    assert data["jurisdiction"] == "UK" and data["min_installment_floor"] == "20.00"
    assert data["grace_days"] == 7 and data["kept_tolerance_pct"] == "95" and data["max_term_months"] == 60
    assert data["authority_order"] == ["agent", "owner", "admin"]


def test_plan_check_api_uses_the_callers_role(client, auth, make_user, make_case):
    owner = make_user(role="owner")
    case = make_case()
    terms = {"kind": "settlement", "total": "10000.00", "discount_pct": "20", "payable": "8000.00", "down_payment": "0",
             "schedule": [{"due_date": (date.today() + timedelta(days=10)).isoformat(), "amount": "8000.00"}]}
    response = client.post("/api/policy/plans/check", json={"case_id": case.id, "terms": terms}, headers=auth(owner))
    assert response.status_code == 200 and response.get_json()["status"] == "proposed"


def test_plan_check_api_hides_other_cases_from_agents(client, auth, make_agent, make_case):
    agent = make_agent()
    response = client.post("/api/policy/plans/check", json={"case_id": make_case().id, "terms": {}}, headers=auth(agent.user))
    assert response.status_code == 404


def _sync_propose(client, auth, visit, terms):
    import uuid

    from backend.common import canonical_json, sha256_hex

    op = {"id": str(uuid.uuid4()), "type": "plan.propose", "at": "2026-11-28T03:00:00Z",
          "payload": {"case_id": visit.case_id, "visit_id": visit.id, "plan_ref": str(uuid.uuid4()), "terms": terms,
                      "terms_hash": sha256_hex(canonical_json(terms))}}
    response = client.post("/api/sync/ops", json={"device_id": "d1", "ops": [op]}, headers=auth(visit.agent.user))
    assert response.status_code == 200
    return response.get_json()["results"][0]


def test_r13_at_sync_a_pay_all_now_plan_on_a_hardship_case_waits_for_review(client, auth, db, make_visit, make_outcome):
    from sqlalchemy import select

    from backend.plans.models import RepaymentPlan

    visit = make_visit()
    make_outcome(visit.case, date.today() - timedelta(days=20), "hardship")
    due = (date.today() + timedelta(days=5)).isoformat()
    terms = {"case_id": visit.case_id, "kind": "full", "currency": "CNY", "total": "5000.00", "discount_pct": "0",
             "payable": "5000.00", "down_payment": "0", "schedule": [{"seq": 1, "due_date": due, "amount": "5000.00"}]}
    result = _sync_propose(client, auth, visit, terms)
    assert result["status"] == "applied", result
    plan = db.session.scalar(select(RepaymentPlan).where(RepaymentPlan.case_id == visit.case_id))
    assert plan.status == "pending_approval" and plan.policy_findings[0]["rule"] == "R13"


def test_discount_authority_at_sync_is_pending_never_rejected(client, auth, db, make_visit):
    from sqlalchemy import select

    from backend.plans.models import RepaymentPlan

    visit = make_visit()
    due = (date.today() + timedelta(days=5)).isoformat()
    terms = {"case_id": visit.case_id, "kind": "settlement", "currency": "CNY", "total": "10000.00", "discount_pct": "35",
             "payable": "6500.00", "down_payment": "0", "schedule": [{"seq": 1, "due_date": due, "amount": "6500.00"}]}
    assert _sync_propose(client, auth, visit, terms)["status"] == "applied"
    plan = db.session.scalar(select(RepaymentPlan).where(RepaymentPlan.case_id == visit.case_id))
    assert plan.status == "pending_approval"
