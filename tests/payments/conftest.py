"""Fixtures for the payment feed and promise matching."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

PLAN_DAY = date(2026, 11, 2)  # a Monday


@pytest.fixture
def plan_day():
    return PLAN_DAY


@pytest.fixture
def make_plan(db):
    """make_plan(case, kind, amounts, first_due, down="0", every_days=30, made=PLAN_DAY, status="active")."""
    from backend.common import canonical_json, sha256_hex
    from backend.plans.models import Installment, RepaymentPlan

    def make(case, kind="promise", amounts=("1000.00",), first_due=None, down="0", every_days=30, made=PLAN_DAY, status="active"):
        first_due = first_due or made + timedelta(days=10)
        schedule = [{"seq": i + 1, "due_date": (first_due + timedelta(days=every_days * i)).isoformat(), "amount": a}
                    for i, a in enumerate(amounts)]
        total = sum(Decimal(a) for a in amounts) + Decimal(down)
        terms = {"case_id": case.id, "kind": kind, "total": str(total), "payable": str(total), "discount_pct": "0",
                 "down_payment": down, "schedule": schedule}
        plan = RepaymentPlan(case_id=case.id, kind=kind, status=status, total_amount=total, down_payment=Decimal(down),
                             term_months=len(amounts), terms=terms, terms_hash=sha256_hex(canonical_json(terms)),
                             created_at=datetime.combine(made, time(3, 0)))
        db.session.add(plan)
        db.session.flush()
        for item in schedule:
            db.session.add(Installment(plan_id=plan.id, seq=item["seq"], due_date=date.fromisoformat(item["due_date"]),
                                       amount=Decimal(item["amount"])))
        db.session.commit()
        return plan

    return make


@pytest.fixture
def feed():
    """feed(rows) -> CSV bytes; rows are (reference, account_number, amount, paid_on)."""

    def build(*rows, header="reference,account_number,amount,paid_on,channel"):
        lines = [header] + [",".join(str(v) for v in row) + ("," + "bank" if len(row) == 4 else "") for row in rows]
        return ("\n".join(lines) + "\n").encode()

    return build
