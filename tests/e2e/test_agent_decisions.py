"""The agent sees the office's decisions on Today: a plan rejected (with the reason to act on)
and one approved, both reaching the phone through the delta feed."""
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def _pending_plan(db, case, visit, agent_user, discount):
    from backend.common import canonical_json, sha256_hex
    from backend.plans.models import RepaymentPlan

    payable = str((Decimal("6200.00") * (100 - discount) / 100).quantize(Decimal("0.01")))
    terms = {"case_id": case.id, "kind": "settlement", "currency": "CNY", "total": "6200.00", "discount_pct": str(discount),
             "payable": payable, "down_payment": "0.00",
             "schedule": [{"seq": 1, "due_date": (date.today() + timedelta(days=10)).isoformat(), "amount": payable}]}
    plan = RepaymentPlan(case_id=case.id, visit_id=visit.id, kind="settlement", status="pending_approval", total_amount=Decimal(payable),
                         discount_pct=Decimal(discount), terms=terms, terms_hash=sha256_hex(canonical_json(terms)), plan_ref=str(uuid.uuid4()),
                         created_by_id=agent_user.id)
    db.session.add(plan)
    db.session.commit()
    return plan


def test_today_shows_the_office_decisions(phone, agent_day, db, client, auth):
    rejected = _pending_plan(db, agent_day.cases[0], agent_day.visits[0], agent_day.user, 30)
    approved = _pending_plan(db, agent_day.cases[1], agent_day.visits[1], agent_day.user, 15)
    page = phone.page
    phone.login(agent_day.username)
    owner = auth(agent_day.owner, password=PASSWORD)
    assert client.post(f"/api/plans/{rejected.id}/reject", json={"reason": "折扣过大，请改为分期"}, headers=owner).status_code == 200
    answer = client.post(f"/api/plans/{approved.id}/approve", json={"reason": ""}, headers=owner)
    assert answer.status_code == 200, answer.get_json()
    phone.sync()
    page.reload()
    card = page.locator("section.decisions")
    expect(card.locator(f"li[data-plan-id='{rejected.id}']")).to_have_text("王秀英：还款方案被驳回——折扣过大，请改为分期")
    expect(card.locator(f"li[data-plan-id='{approved.id}']")).to_have_text("李建国：还款方案已批准，已生效。")
    phone.shot("agent-today-decisions")
