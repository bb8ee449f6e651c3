"""Repayment-plan policy (COMPLIANCE.md, plan policy). One validator for the API, the sync
ops and — shipped as data in the day packet — the device.

Interface (stable; [playbook] deepens the settings):
    policy_data(jurisdiction) -> dict            # the settings, as shipped to devices
    evaluate_plan(*, terms, case, role) -> dict  # {"status": "proposed"|"pending_approval"|"invalid",
                                                 #  "findings": [{"rule", "message", "field"}], "policy_version"}
"""
from decimal import Decimal

POLICY_VERSION = "default-1"
DEFAULTS = {
    "version": POLICY_VERSION,
    "max_term_months": 60,
    "min_installment_floor": "100.00",
    "down_payment_min_pct_of_payable": "0",  # and at least one installment
    "discount_authority_pct": {"agent": "10", "owner": "25", "admin": "40"},
    "grace_days": 7,
    "promise_max_days": 30,
}


def policy_data(jurisdiction: str = "CN") -> dict:
    return dict(DEFAULTS, jurisdiction=jurisdiction)


def evaluate_plan(*, terms: dict, case, role: str = "agent") -> dict:
    p = DEFAULTS
    findings: list[dict] = []
    kind = terms.get("kind")
    total = Decimal(str(terms.get("total", "0")))
    payable = Decimal(str(terms.get("payable", total)))
    discount = Decimal(str(terms.get("discount_pct", "0")))
    schedule = terms.get("schedule") or []
    if total <= 0:
        findings.append({"rule": "amount", "field": "total", "message": "total must be positive"})
    if len(schedule) > p["max_term_months"]:
        findings.append({"rule": "max_term", "field": "schedule", "message": f"at most {p['max_term_months']} installments"})
    amounts = [Decimal(str(item.get("amount", "0"))) for item in schedule]
    floor = Decimal(p["min_installment_floor"])
    if kind == "installments" and amounts and min(amounts) < floor:
        findings.append({"rule": "min_installment", "field": "schedule", "message": f"installments of at least {floor}"})
    down = Decimal(str(terms.get("down_payment", "0")))
    if kind == "installments" and amounts and down < amounts[0]:
        findings.append({"rule": "down_payment", "field": "down_payment", "message": "down payment at least the first installment"})
    if sum(amounts) + down != payable:
        findings.append({"rule": "schedule_sum", "field": "schedule", "message": "down payment and installments must add up to the payable amount"})
    status = "invalid" if findings else "proposed"
    authority = Decimal(p["discount_authority_pct"].get(role, "0"))
    if status == "proposed" and discount > authority:
        status = "pending_approval"
        findings.append({"rule": "discount_authority", "field": "discount_pct", "message": f"discount above the {role}'s authority of {authority}% needs approval"})
    return {"status": status, "findings": findings, "policy_version": POLICY_VERSION}
