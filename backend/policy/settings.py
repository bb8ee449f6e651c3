"""Named policy settings per jurisdiction profile: defaults in code, changes in the database.

Every compliance and credit-policy number the product applies is one entry of SETTINGS:
its scope (rules | plan | cost), what it means, its default per profile and a validator. An admin's
change is an appended `PolicySetting` row (value, reason, who, when); the newest row wins,
the older ones are the history. See docs/playbook.md.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import g, has_app_context
from sqlalchemy import func, select

from ..cases.models import FLAGS
from ..common import canonical_json, sha256_hex, utcnow
from ..errors import abort
from ..extensions import db
from ..visits.models import OUTCOMES
from .models import PolicySetting

JURISDICTIONS = ("CN", "US", "UK", "IE")
ROLES_WITH_AUTHORITY = ("agent", "owner", "admin")
BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6+")


# --- validators: each returns an error message or None ----------------------------------------


def _hhmm(text) -> bool:
    try:
        time.fromisoformat(text)
        return isinstance(text, str) and len(text) == 5
    except (TypeError, ValueError):
        return False


def _hours(value) -> str | None:
    if not isinstance(value, dict) or set(value) != {str(d) for d in range(7)}:
        return 'give every weekday 0 (Monday) … 6 (Sunday): ["HH:MM", "HH:MM"] or null'
    for day, span in value.items():
        if span is None:
            continue
        if not (isinstance(span, list) and len(span) == 2 and all(_hhmm(t) for t in span)):
            return f'weekday {day}: expected ["HH:MM", "HH:MM"] or null'
        if span[0] >= span[1]:
            return f"weekday {day}: the start must be before the end"
    return None


def _dates(value) -> str | None:
    if not isinstance(value, list):
        return "expected a list of YYYY-MM-DD dates"
    for item in value:
        try:
            date.fromisoformat(item)
        except (TypeError, ValueError):
            return f"not a date: {item!r}"
    return None


def _int(low: int, high: int) -> Callable:
    def check(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"expected a whole number from {low} to {high}"
        return None

    return check


def _bool(value) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _money_text(value, low: Decimal = Decimal(0), high: Decimal | None = None) -> str | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "expected a decimal amount as a string"
    if not isinstance(value, str) or not amount.is_finite() or amount < low or (high is not None and amount > high):
        return f"expected a decimal string from {low}" + (f" to {high}" if high is not None else "")
    return None


def _pct(value) -> str | None:
    return _money_text(value, Decimal(0), Decimal(100))


def _pct_map(keys: tuple) -> Callable:
    def check(value) -> str | None:
        if not isinstance(value, dict) or set(value) != set(keys):
            return f"give a percentage string for each of {', '.join(keys)}"
        for key, pct in value.items():
            if _pct(pct):
                return f"{key}: {_pct(pct)}"
        return None

    return check


def _int_map(keys: tuple, low: int, high: int) -> Callable:
    def check(value) -> str | None:
        if not isinstance(value, dict) or set(value) != set(keys):
            return f"give a whole number for each of {', '.join(keys)}"
        for key, n in value.items():
            if _int(low, high)(n):
                return f"{key}: {_int(low, high)(n)}"
        return None

    return check


def _subset(allowed: tuple) -> Callable:
    def check(value) -> str | None:
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            return f"expected a non-empty list drawn from {', '.join(allowed)}"
        return None

    return check


def _codes(allowed: tuple) -> Callable:
    def check(value) -> str | None:
        if not isinstance(value, list) or any(v not in allowed for v in value) or len(set(value)) != len(value):
            return f"expected a list (possibly empty) of distinct values drawn from {', '.join(allowed)}"
        return None

    return check


def _one_of(allowed: tuple) -> Callable:
    return lambda value: None if value in allowed else f"expected one of {', '.join(allowed)}"


# --- the settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    scope: str  # rules | plan | cost
    rule: str  # the COMPLIANCE.md rule or plan-policy line it implements
    description: str
    defaults: dict  # jurisdiction -> value; "*" for all
    validate: Callable[[Any], str | None]

    def default_for(self, jurisdiction: str):
        return self.defaults.get(jurisdiction, self.defaults.get("*"))


def _every_day(start: str, end: str) -> dict:
    return {str(d): [start, end] for d in range(7)}


# Irish public holidays (CCA 1995 s.46: no visits on Sundays and public holidays). The
# compliance owner keeps this list current; it is a setting, not a calendar library guess.
IE_HOLIDAYS = [
    "2026-01-01",
    "2026-02-02",
    "2026-03-17",
    "2026-04-06",
    "2026-05-04",
    "2026-06-01",
    "2026-08-03",
    "2026-10-26",
    "2026-12-25",
    "2026-12-26",
    "2027-01-01",
    "2027-02-01",
    "2027-03-17",
    "2027-03-29",
    "2027-05-03",
    "2027-06-07",
    "2027-08-02",
    "2027-10-25",
    "2027-12-25",
    "2027-12-27",
]

SETTINGS: dict[str, Spec] = {
    "visiting_hours": Spec(
        "rules",
        "R1",
        "Visiting hours in the debtor's local time, per weekday (0 = Monday); null = no visits",
        {
            "US": _every_day("08:00", "21:00"),
            "IE": {**_every_day("09:00", "21:00"), "6": None},
            "UK": _every_day("09:00", "20:00"),
            "CN": _every_day("09:00", "20:00"),
        },
        _hours,
    ),
    "holidays": Spec("rules", "R1", "Dates with no visits at all (public holidays)", {"IE": IE_HOLIDAYS, "*": []}, _dates),
    "cap_7_days": Spec("rules", "R3", "Attempted visits per debtor within 7 days", {"*": 1}, _int(0, 7)),
    "cap_30_days": Spec("rules", "R3", "Attempted visits per debtor within 30 days", {"*": 4}, _int(0, 30)),
    "cool_off_days": Spec(
        "rules", "R3", "Days without a visit after a right-party contact, unless a follow-up was agreed", {"*": 7}, _int(0, 60)
    ),
    "visit_requires_contact": Spec(
        "rules",
        "ladder",
        "A visit needs the earlier rungs' work on the case's record first: a phone call, SMS or letter",
        {"*": False},
        _bool,
    ),
    "blocking_flags": Spec("rules", "R4", "Case flags that stop every visit (hard stop)", {"*": list(FLAGS)}, _subset(FLAGS)),
    "identity_factors": Spec("rules", "R5", "Identity factors checked before any disclosure (name + this many more)", {"*": 1}, _int(1, 3)),
    "disclosure_required": Spec(
        "rules", "R6", "Identity, organisation, purpose and how to dispute, acknowledged before an outcome", {"*": True}, _bool
    ),
    "legal_wording_stages": Spec(
        "rules",
        "R7",
        "Case stages at which legal-consequence wording may be used",
        {"*": ["legal"]},
        _subset(("phone", "letter", "field", "legal")),
    ),
    "retention_years": Spec(
        "rules",
        "R8",
        "Years records are kept after the last activity (an oral plan: until paid)",
        {"CN": 2, "US": 3, "UK": 6, "IE": 6},
        _int(1, 30),
    ),
    "visit_warn_minutes": Spec("rules", "R11", "A visit longer than this is flagged for review", {"*": 30}, _int(5, 240)),
    "min_agents_per_visit": Spec(
        "rules", "R9", "Agents at every visit of this jurisdiction (2: the planner sends a pair and both check in)", {"*": 1}, _int(1, 2)
    ),
    "two_agents_after_outcomes": Spec(
        "rules",
        "R9",
        "Risk: a case whose earlier visit ended with one of these outcomes is visited by two agents (e.g. asked_to_leave)",
        {"*": []},
        _codes(tuple(OUTCOMES)),
    ),
    "checkin_max_distance_m": Spec("rules", "R1", "Check-in farther than this from the address is flagged", {"*": 300}, _int(20, 5000)),
    "device_purge_days": Spec(
        "rules",
        "R15",
        "Days a device keeps a record after its acknowledgement (the server's answer, or the agent's for a problem); "
        "a past day's visits and drafts go with their last record",
        {"*": 1},
        _int(0, 30),
    ),
    "escalation_sla_hours": Spec(
        "rules",
        "R16",
        "Hours to resolve an escalation ticket, per queue",
        {"*": {"supervisor": 48, "legal": 120}},
        _int_map(("supervisor", "legal"), 1, 24 * 60),
    ),
    # --- repayment plan policy (credit-policy owned) ---
    "max_term_months": Spec("plan", "max term", "Longest installment plan, in months", {"*": 60}, _int(1, 120)),
    "min_installment_floor": Spec(
        "plan",
        "minimum installment",
        "Smallest regular installment; also at least the balance ÷ max term",
        {"CN": "100.00", "US": "25.00", "UK": "20.00", "IE": "20.00"},
        _money_text,
    ),
    "token_payment_min": Spec(
        "plan",
        "R13",
        "Smallest token payment accepted as an approved exception below the minimum installment",
        {"CN": "10.00", "*": "1.00"},
        _money_text,
    ),
    "down_payment_rule": Spec(
        "plan",
        "down payment",
        "first_installment: at least the first installment; pct_by_bucket: a % of the payable amount",
        {"*": "first_installment"},
        _one_of(("first_installment", "pct_by_bucket")),
    ),
    "down_payment_pct_by_bucket": Spec(
        "plan",
        "down payment",
        "Down payment as a % of the payable amount, by bucket (pct_by_bucket rule)",
        {"*": {"M1": "0", "M2": "0", "M3": "5", "M4": "5", "M5": "10", "M6+": "10"}},
        _pct_map(BUCKETS),
    ),
    "discount_authority_pct": Spec(
        "plan",
        "settlement discount authority",
        "Largest settlement discount each role may grant; above it the offer waits for approval (credit committee above all)",
        {"*": {"agent": "10", "owner": "25", "admin": "40"}},
        _pct_map(ROLES_WITH_AUTHORITY),
    ),
    "incentive_max_waiver_pct": Spec(
        "plan",
        "early-repayment incentive",
        "Largest fee/interest waiver, as a % of the payable amount, for paying by the date",
        {"*": "15"},
        _pct,
    ),
    "incentive_pay_by_days": Spec(
        "plan", "early-repayment incentive", "The incentive's pay-by date is at most this many days ahead", {"*": 14}, _int(1, 90)
    ),
    "grace_days": Spec("plan", "broken", "Days after a due date before a missed payment breaks the promise", {"*": 7}, _int(0, 60)),
    "kept_tolerance_pct": Spec(
        "plan", "kept", "A promise is kept when matched payments reach this % of the promised amount", {"*": "95"}, _pct
    ),
    "promise_max_days": Spec("plan", "promise to pay", "A promise's due date at most this many days ahead", {"*": 30}, _int(1, 90)),
    "cash_custody_days": Spec(
        "rules",
        "custody",
        "Cash taken at the door and not banked after this many days is an alert for the case owner",
        {"*": 2},
        _int(1, 30),
    ),
    # --- what a visit costs (the KPI screen's cost per visit; docs/consoles.md) ---
    "cost_per_km": Spec(
        "cost",
        "cost per visit",
        "What one km driven costs (fuel, wear, parking), in the jurisdiction's currency",
        {"CN": "0.80", "US": "0.45", "UK": "0.28", "IE": "0.40"},
        lambda v: _money_text(v, Decimal(0), Decimal(1000)),
    ),
    "cost_per_hour": Spec(
        "cost",
        "cost per visit",
        "What one hour of an agent's time costs (driving and at the door), in the jurisdiction's currency",
        {"CN": "60.00", "US": "28.00", "UK": "16.00", "IE": "18.00"},
        lambda v: _money_text(v, Decimal(0), Decimal(100000)),
    ),
}


def defaults_for(jurisdiction: str) -> dict:
    return {key: spec.default_for(jurisdiction) for key, spec in SETTINGS.items()}


def _cache() -> dict:
    # per app context: one lookup per request however many cases a planner checks
    if not has_app_context():
        return {}
    if "_policy_settings" not in g:
        g._policy_settings = {}
    return g._policy_settings


def _latest_rows(jurisdiction: str) -> dict[str, PolicySetting]:
    newest = (
        select(PolicySetting.key, func.max(PolicySetting.id).label("id"))
        .where(PolicySetting.jurisdiction == jurisdiction)
        .group_by(PolicySetting.key)
        .subquery()
    )
    rows = db.session.scalars(select(PolicySetting).join(newest, newest.c.id == PolicySetting.id)).all()
    return {row.key: row for row in rows if row.key in SETTINGS}


def effective_settings(jurisdiction: str) -> dict:
    """Every setting's value in force for the profile (defaults overlaid by changes)."""
    jurisdiction = jurisdiction if jurisdiction in JURISDICTIONS else "CN"
    cache = _cache()
    if jurisdiction not in cache:
        values = defaults_for(jurisdiction)
        values.update({key: row.value for key, row in _latest_rows(jurisdiction).items()})
        cache[jurisdiction] = values
    return cache[jurisdiction]


def settings_version(jurisdiction: str, scope: str) -> str:
    """A short fingerprint of one scope's values: devices and plans record which rules they used."""
    values = {k: v for k, v in effective_settings(jurisdiction).items() if SETTINGS[k].scope == scope}
    return f"{jurisdiction}-{sha256_hex(canonical_json(values))[:12]}"


def describe_settings(jurisdiction: str) -> list[dict]:
    rows = _latest_rows(jurisdiction)
    out = []
    for key, spec in SETTINGS.items():
        row = rows.get(key)
        out.append(
            {
                "jurisdiction": jurisdiction,
                "key": key,
                "scope": spec.scope,
                "rule": spec.rule,
                "description": spec.description,
                "value": row.value if row else spec.default_for(jurisdiction),
                "default": spec.default_for(jurisdiction),
                "source": "changed" if row else "default",
                "changed_by_id": row.changed_by_id if row else None,
                "changed_at": row.changed_at if row else None,
                "reason": row.reason if row else "",
            }
        )
    return out


def setting_history(*, jurisdiction: str, key: str) -> list[PolicySetting]:
    return db.session.scalars(
        select(PolicySetting).where(PolicySetting.jurisdiction == jurisdiction, PolicySetting.key == key).order_by(PolicySetting.id.desc())
    ).all()


def change_setting(*, jurisdiction: str, key: str, value, reason: str, actor_id: int | None) -> PolicySetting:
    """Record a new value (validated against the setting's spec); the old one stays as history."""
    if jurisdiction not in JURISDICTIONS:
        abort(404, f"No jurisdiction profile {jurisdiction}.")
    spec = SETTINGS.get(key)
    if spec is None:
        abort(404, f"No setting {key}.")
    problem = spec.validate(value)
    if problem:
        abort(422, f"Not a valid value for {key}.", errors={"value": [problem]})
    row = PolicySetting(jurisdiction=jurisdiction, key=key, value=value, reason=reason, changed_by_id=actor_id, changed_at=utcnow())
    db.session.add(row)
    db.session.flush()
    _cache().pop(jurisdiction, None)
    return row
