"""Repayment-plan policy (COMPLIANCE.md, plan policy). One validator for the API, the sync
ops and — shipped as data in the day packet — the device.

Interface (stable):
    policy_data(jurisdiction) -> dict            # the settings, as shipped to devices
    evaluate_plan(*, terms, case, role, as_of=None) -> dict
        # {"status": "proposed"|"pending_approval"|"invalid", "findings": [{"rule", "field", "code", "params", "message"}],
        #  "policy_version", "approver_role"}

Every finding has a stable `code` (its message in the readers' catalogues is
`finding.<code>`) and the `params` that message names; `message` is the English text for
API clients.

"invalid" is only for terms that cannot be a plan (amounts that do not add up, dates that do
not exist, an unknown kind). Anything a person with more authority could accept — a deeper discount, a token
payment, a full-payment demand on a hardship case — is "pending_approval", never blocked.
"""

from datetime import date, timedelta
from decimal import ROUND_UP, Decimal, InvalidOperation

from ..cases.models import bucket_for
from .rules import jurisdiction_for
from .settings import ROLES_WITH_AUTHORITY, effective_settings, settings_version
from .strategies import hardship_signals

PLAN_KEYS = (
    "max_term_months",
    "min_installment_floor",
    "token_payment_min",
    "down_payment_rule",
    "down_payment_pct_by_bucket",
    "discount_authority_pct",
    "incentive_max_waiver_pct",
    "incentive_pay_by_days",
    "grace_days",
    "kept_tolerance_pct",
    "promise_max_days",
)
CENT = Decimal("0.01")


def policy_data(jurisdiction: str = "CN") -> dict:
    """The plan policy in force, as data: the device applies the same rules offline."""
    settings = effective_settings(jurisdiction)
    return {
        "jurisdiction": jurisdiction,
        "version": settings_version(jurisdiction, "plan"),
        **{key: settings[key] for key in PLAN_KEYS},
        "authority_order": list(ROLES_WITH_AUTHORITY),
        "kinds": ["full", "installments", "settlement", "promise"],
    }


def _dec(value, default: str = "0") -> Decimal | None:
    try:
        number = Decimal(str(value if value is not None else default))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def minimum_installment(*, payable: Decimal, settings: dict) -> Decimal:
    floor = Decimal(settings["min_installment_floor"])
    spread = (payable / settings["max_term_months"]).quantize(CENT, rounding=ROUND_UP)
    return max(floor, spread)


def approver_for(discount: Decimal, settings: dict) -> str:
    """The least role whose authority covers the discount; above all of them, the credit committee."""
    for role in ROLES_WITH_AUTHORITY:
        if discount <= Decimal(settings["discount_authority_pct"][role]):
            return role
    return "credit_committee"


def evaluate_plan(*, terms: dict, case, role: str = "agent", as_of: date | None = None, hardship: bool | None = None) -> dict:
    """Check a proposed plan or promise against the policy of the case's jurisdiction.

    `hardship` (default: read from the case's outcomes) makes a pay-all-now plan an R13 review.
    """
    jurisdiction = jurisdiction_for(case)
    s = effective_settings(jurisdiction)
    as_of = as_of or date.today()
    invalid: list[dict] = []
    review: list[dict] = []

    def bad(rule, field, code, message, **params):
        invalid.append(_finding(rule, field, code, message, params))

    def needs(rule, field, code, message, **params):
        review.append(_finding(rule, field, code, message, params))

    kind = terms.get("kind")
    if kind not in ("full", "installments", "settlement", "promise"):
        bad("kind", "kind", "plan_kind", "kind must be full, installments, settlement or promise")
    total = _dec(terms.get("total"))
    discount = _dec(terms.get("discount_pct"))
    down = _dec(terms.get("down_payment"))
    if total is None or total <= 0:
        bad("amount", "total", "plan_total", "total must be a positive amount")
    if discount is None or not (0 <= discount < 100):
        bad("discount", "discount_pct", "plan_discount_range", "discount must be from 0 to below 100 percent")
    if down is None or down < 0:
        bad("down_payment", "down_payment", "plan_down_payment_negative", "down payment must be zero or more")
    payable = _dec(terms.get("payable"), str(total) if total is not None else "0")
    if payable is None or payable <= 0:
        bad("amount", "payable", "plan_payable", "payable must be a positive amount")
    schedule = terms.get("schedule") or []
    items = []
    for n, item in enumerate(schedule if isinstance(schedule, list) else []):
        amount = _dec(item.get("amount") if isinstance(item, dict) else None)
        due = _day(item.get("due_date") if isinstance(item, dict) else None)
        if amount is None or amount <= 0 or due is None:
            bad("schedule", "schedule", "plan_schedule_item", f"item {n + 1}: needs a positive amount and a due_date YYYY-MM-DD", n=n + 1)
            continue
        items.append((due, amount))
    if not isinstance(schedule, list) or not schedule:
        bad("schedule", "schedule", "plan_schedule_required", "a schedule of at least one payment is required")
    if invalid:
        return _result("invalid", invalid, jurisdiction, "agent")

    dues = [d for d, _ in items]
    if dues != sorted(dues):
        bad("schedule", "schedule", "plan_schedule_order", "due dates must be in order")
    if dues and dues[0] < as_of:
        # a plan recorded offline may arrive after its first date: the owner confirms, nothing is lost
        needs("schedule", "schedule", "plan_first_due_passed", "the first due date has passed; the dates need confirming")
    if total is not None and discount is not None:
        expected = (total * (100 - discount) / 100).quantize(CENT)
        if abs(expected - payable) > CENT:
            bad(
                "discount",
                "payable",
                "plan_payable_after_discount",
                f"payable should be {expected} after a {discount}% discount",
                amount=str(expected),
                pct=str(discount),
            )
    if sum(a for _, a in items) + down != payable:
        bad("schedule_sum", "schedule", "plan_schedule_sum", "down payment and installments must add up to the payable amount")

    if kind == "promise":
        if len(items) != 1:
            bad("promise", "schedule", "plan_promise_one", "a promise to pay has exactly one payment")
        elif dues[0] > as_of + timedelta(days=s["promise_max_days"]):
            needs(
                "promise",
                "schedule",
                "plan_promise_days",
                f"a promise more than {s['promise_max_days']} days ahead needs approval",
                n=s["promise_max_days"],
            )
    if kind in ("installments", "settlement") and len(items) > s["max_term_months"]:
        needs(
            "max_term", "schedule", "plan_max_term", f"more than {s['max_term_months']} installments needs approval", n=s["max_term_months"]
        )
    if kind == "installments" and items:
        minimum = minimum_installment(payable=payable, settings=s)
        smallest = min(a for _, a in items[:-1]) if len(items) > 1 else items[0][1]
        if smallest < minimum:
            token_min = Decimal(s["token_payment_min"])
            if terms.get("token") and smallest >= token_min:
                # R13: token payments are allowed as an approved exception, never refused outright
                needs("R13", "schedule", "plan_token_below", f"token installments below {minimum} need approval", amount=str(minimum))
            elif terms.get("token"):
                bad("min_installment", "schedule", "plan_token_min", f"token installments of at least {token_min}", amount=str(token_min))
            else:
                needs(
                    "min_installment",
                    "schedule",
                    "plan_min_installment",
                    f"installments below {minimum} need approval (or mark them as token payments)",
                    amount=str(minimum),
                )
        if s["down_payment_rule"] == "first_installment":
            required = items[0][1]
        else:
            pct = Decimal(s["down_payment_pct_by_bucket"].get(_bucket(case), "0"))
            required = (payable * pct / 100).quantize(CENT)
        if down < required:
            needs(
                "down_payment", "down_payment", "plan_down_payment", f"a down payment below {required} needs approval", amount=str(required)
            )

    incentive = terms.get("incentive")
    if incentive:
        _check_incentive(incentive, payable=payable, as_of=as_of, s=s, bad=bad, needs=needs)

    if kind == "full" and _hardship(case, hardship):
        needs("R13", "kind", "plan_hardship_full", "hardship on record: a pay-all-now plan needs an affordability review")

    approver = approver_for(discount, s)
    authority = Decimal(s["discount_authority_pct"].get(role, "0"))
    if discount > authority:
        needs(
            "discount_authority",
            "discount_pct",
            "plan_discount_authority",
            f"discount above the {role}'s authority of {authority}% needs approval by {approver.replace('_', ' ')}",
            role=role,
            pct=str(authority),
            approver=approver,
        )
    if invalid:
        return _result("invalid", invalid + review, jurisdiction, approver)
    if review:
        approver = approver if discount > authority else _next_role(role)
        return _result("pending_approval", review, jurisdiction, approver)
    return _result("proposed", [], jurisdiction, role)


def _check_incentive(incentive, *, payable, as_of, s, bad, needs) -> None:
    """Early-repayment incentive: a waiver for paying by a real, policy-set date (never a false deadline)."""
    if not isinstance(incentive, dict):
        bad("incentive", "incentive", "plan_incentive_shape", "incentive must be an object with waiver_amount and pay_by")
        return
    waiver = _dec(incentive.get("waiver_amount"))
    pay_by = _day(incentive.get("pay_by"))
    if waiver is None or waiver <= 0 or pay_by is None:
        bad("incentive", "incentive", "plan_incentive_fields", "incentive needs a positive waiver_amount and a pay_by date")
        return
    if pay_by < as_of:
        needs("incentive", "incentive", "plan_incentive_passed", "the pay-by date has passed; the incentive needs confirming")
    elif pay_by > as_of + timedelta(days=s["incentive_pay_by_days"]):
        needs(
            "incentive",
            "incentive",
            "plan_incentive_days",
            f"a pay-by date more than {s['incentive_pay_by_days']} days ahead needs approval",
            n=s["incentive_pay_by_days"],
        )
    cap = (payable * Decimal(s["incentive_max_waiver_pct"]) / 100).quantize(CENT)
    if waiver > cap:
        needs("incentive", "incentive", "plan_incentive_cap", f"a waiver above {cap} needs approval", amount=str(cap))


def _finding(rule: str, field: str, code: str, message: str, params: dict) -> dict:
    return {"rule": rule, "field": field, "code": code, "params": params, "message": message}


def _next_role(role: str) -> str:
    order = list(ROLES_WITH_AUTHORITY)
    return order[min(order.index(role) + 1, len(order) - 1)] if role in order else "owner"


def _bucket(case) -> str:
    bucket = bucket_for(case.account.days_past_due)
    return "M1" if bucket == "M0" else bucket


def _hardship(case, hardship: bool | None) -> bool:
    if hardship is not None:
        return hardship
    return bool(hardship_signals(case))


def _result(status: str, findings: list, jurisdiction: str, approver: str) -> dict:
    return {
        "status": status,
        "findings": findings,
        "policy_version": settings_version(jurisdiction, "plan"),
        "approver_role": approver,
    }
