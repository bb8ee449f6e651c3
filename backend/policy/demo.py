"""Demo data for the playbook: one case per strategy, each on an agent's route for the day, so the
PWA shows every strategy with its reason and scripts, and one approved letter template per locale
(data/letters.json) for the ladder's letter rung; and the one way the demo writes a past visit
(past_visit, past_outcome), for these cases and for backend/demo.py's history. Called from
backend/demo.py:

    from .policy.demo import seed_playbook_demo
    seed_playbook_demo(day=today)            # after top_up_day(); idempotent

Each case's history (outcomes, notes, a plan, broken promises, stage) is what makes the engine's
rules put its strategy first; tests/policy/test_strategies.py holds that true. In the full demo
the track record of what works (backend/demo.py's history) may then reorder the strategies the
rules chose, as it does for any case.
"""

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..cases.models import Account, Address, Case, Debtor, Note
from ..cases.services import append_event
from ..common import canonical_json, sha256_hex, to_utc_naive
from ..extensions import db
from ..org.models import Agent
from ..plans.models import Installment, RepaymentPlan
from ..visits.models import Outcome, Visit
from .models import ScriptTemplate
from .rules import check_visit, sync_findings, visiting_window
from .services import decide_script, propose_script
from .strategies import DATA

# strategy -> (debtor, days past due, overdue, balance, stage, broken promises, past outcomes [(days ago, code, met, data)], note)
PROFILES = {
    "empathy": ("周慧敏", 90, "8000.00", "20000.00", "field", 0, [], None),
    "home_visit": ("郑国强", 210, "26000.00", "30000.00", "field", 0, [(15, "not_home", "nobody", {})], None),
    "sms_reminder": (
        "吴晓燕",
        95,
        "9000.00",
        "21000.00",
        "field",
        0,
        [(24, "not_home", "nobody", {}), (12, "not_home", "nobody", {})],
        None,
    ),
    "installment_plan": (
        "陈建华",
        130,
        "42000.00",
        "60000.00",
        "field",
        0,
        [(20, "hardship", "debtor", {})],
        "客户失业三个月，家庭困难，希望分期。Unemployed for three months; asks for installments.",
    ),
    "firm": ("刘志强", 160, "30000.00", "45000.00", "field", 2, [(22, "refused", "debtor", {})], None),
    "early_repayment_incentive": ("林思远", 45, "2600.00", "18000.00", "field", 0, [(25, "paid", "debtor", {"amount": "500.00"})], None),
    "legal_deterrence": ("黄海燕", 400, "52000.00", "52000.00", "legal", 1, [(28, "refused", "debtor", {})], None),
    "customer_care": ("徐子涵", 100, "15000.00", "36000.00", "field", 0, [(10, "plan_agreed", "debtor", {})], None),
}


def _account_number(strategy: str) -> str:
    return ("PB-" + strategy.upper().replace("_", "-"))[:32]


def seed_playbook_demo(*, day: date | None = None, agent: Agent | None = None) -> str:
    """Make sure a case exists for each strategy and has a published visit on `day` for `agent`."""
    agent = agent or db.session.scalar(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id).limit(1))
    if agent is None:
        return "playbook demo: no agent"
    tz = agent.branch.timezone
    day = day or datetime.now(ZoneInfo(tz)).date()
    created = visits = 0
    for strategy, profile in PROFILES.items():
        case = db.session.scalar(
            select(Case).join(Account, Account.id == Case.account_id).where(Account.account_number == _account_number(strategy))
        )
        if case is None:
            case = _build_case(strategy, profile, agent, day)
            created += 1
        visits += _ensure_visit(case, agent, day)
    letters = seed_letter_templates()
    db.session.commit()
    return (
        f"playbook demo: {created} strategy cases created, {visits} visits published for {day.isoformat()}, "
        f"{letters} letter templates approved"
    )


def seed_letter_templates() -> int:
    """The demo's letter templates, each proposed and approved through the R7 scan (once)."""
    made = 0
    for item in json.loads((DATA / "letters.json").read_text(encoding="utf-8"))["letters"]:
        exists = db.session.scalar(
            select(ScriptTemplate.id).where(ScriptTemplate.key == item["key"], ScriptTemplate.locale == item["locale"]).limit(1)
        )
        if exists is None:
            row = propose_script(
                key=item["key"], locale=item["locale"], text=item["text"], kind="letter", actor_id=None, note="demo letter template"
            )
            decide_script(template_id=row.id, decision="approve", actor_id=None)
            made += 1
    return made


def _build_case(strategy: str, profile: tuple, agent: Agent, day: date) -> Case:
    name, dpd, overdue, balance, stage, broken, history, note = profile
    branch = agent.branch
    n = list(PROFILES).index(strategy)
    debtor = Debtor(name=name, phone=f"1380000{n:04d}", id_last4=f"{1000 + n}")
    db.session.add(debtor)
    db.session.flush()
    address = Address(
        debtor_id=debtor.id,
        line=f"示范路{100 + n}号 Demo Road {100 + n}",
        city="上海",
        country="CN",
        lat=round(branch.lat + 0.004 * (n - 4), 6),
        lon=round(branch.lon + 0.005 * ((n % 3) - 1), 6),
        geocode_status="provided",
        timezone=branch.timezone,
    )
    db.session.add(address)
    account = Account(
        account_number=_account_number(strategy),
        card_masked=f"**** **** **** 90{n:02d}",
        debtor_id=debtor.id,
        balance=Decimal(balance),
        overdue_amount=Decimal(overdue),
        days_past_due=dpd,
    )
    db.session.add(account)
    db.session.flush()
    case = Case(account_id=account.id, branch_id=branch.id, stage=stage, broken_promises=broken)
    db.session.add(case)
    db.session.flush()
    append_event(case=case, kind="case.imported", actor_id=None, data={"account_number": account.account_number, "demo": strategy})
    for days_ago, code, met, data in history:
        visit = past_visit(case, agent, day - timedelta(days=days_ago))
        if code == "plan_agreed":
            data = {"plan_id": _active_plan(case, visit, agent, day - timedelta(days=days_ago)).id}
        past_outcome(visit, code, met, data)
    if note:
        db.session.add(Note(case_id=case.id, author_id=agent.user_id, text=note))
        append_event(case=case, kind="note.added", actor_id=agent.user_id, data={"text": note})
    db.session.flush()
    return case


def past_visit(
    case: Case,
    agent: Agent,
    day: date,
    *,
    after: timedelta = timedelta(hours=2),
    stay: timedelta | None = timedelta(minutes=20),
    accuracy_m: float | None = None,
    distance_m: float | None = None,
) -> Visit:
    """A visit of the demo's past at the case's first address: published, checked in `after` the
    legal window opened (negative: before it) and checked out `stay` later; `stay=None`: the
    agent never got there (published, nothing more)."""
    address = case.account.debtor.addresses[0]
    start, end = visiting_window(jurisdiction=agent.branch.jurisdiction, tz=address.timezone, day=day)
    arrival = start + after
    visit = Visit(
        case_id=case.id,
        address_id=address.id,
        agent_id=agent.id,
        date=day,
        window_start=start,
        window_end=end,
        status="published",
        planned_arrival=arrival,
        published_at=start - timedelta(hours=3),
    )
    if stay is not None:
        visit.status = "checked_in"
        visit.checkin_at, visit.checkin_lat, visit.checkin_lon = arrival, address.lat, address.lon
        visit.checkin_accuracy_m, visit.checkin_distance_m = accuracy_m, distance_m
        visit.checkout_at = arrival + stay
    db.session.add(visit)
    db.session.flush()
    if stay is not None:
        append_event(case=case, kind="visit.checkin", actor_id=agent.user_id, data={"visit_id": visit.id})
    return visit


def past_outcome(
    visit: Visit,
    code: str,
    met: str,
    data: dict,
    *,
    disclosed_after: timedelta = timedelta(minutes=1),
    reviewed_by_id: int | None = None,
) -> Outcome:
    """The outcome of a past visit, recorded at its check-out, with the disclosure acknowledged
    `disclosed_after` the check-in when the debtor was met and the findings the sync would have
    kept on it (R1 outside the hours), as the timeline shows it."""
    case = visit.case
    disclosure_at = visit.checkin_at + disclosed_after if met == "debtor" else None
    payload = {"code": code, "met": met, "disclosure_at": disclosure_at.isoformat() if disclosure_at else None}
    findings = sync_findings(case=case, visit=visit, op_type="visit.outcome", device_at=visit.checkout_at, payload=payload)
    outcome = Outcome(
        visit_id=visit.id,
        case_id=case.id,
        agent_id=visit.agent_id,
        code=code,
        met=met,
        disclosure_at=disclosure_at,
        data=data,
        recorded_at=visit.checkout_at,
        received_at=visit.checkout_at,
        compliance_flags=[f.as_dict() for f in findings if f.rule != "R4"],
        reviewed_at=visit.checkout_at + timedelta(days=1) if reviewed_by_id else None,
        reviewed_by_id=reviewed_by_id,
    )
    db.session.add(outcome)
    visit.outcome = outcome
    visit.status = "completed" if met == "debtor" else "failed"
    if met in ("debtor", "third_party"):
        case.last_contact_at = visit.checkin_at
    append_event(
        case=case,
        kind="visit.outcome",
        actor_id=visit.agent.user_id if visit.agent else None,
        data={"visit_id": visit.id, "code": code, "met": met, "data": data, "compliance_flags": outcome.compliance_flags},
    )
    db.session.flush()
    return outcome


def _active_plan(case: Case, visit: Visit, agent: Agent, day: date) -> RepaymentPlan:
    total = Decimal(case.account.overdue_amount)
    down = Decimal("1500.00")
    months = 9
    each = ((total - down) / months).quantize(Decimal("0.01"))
    schedule = [
        {
            "seq": m + 1,
            "due_date": (day + timedelta(days=30 * (m + 1))).isoformat(),
            "amount": str(each if m < months - 1 else total - down - each * (months - 1)),
        }
        for m in range(months)
    ]
    terms = {
        "case_id": case.id,
        "kind": "installments",
        "currency": "CNY",
        "total": str(total),
        "discount_pct": "0",
        "payable": str(total),
        "down_payment": str(down),
        "schedule": schedule,
    }
    plan = RepaymentPlan(
        case_id=case.id,
        visit_id=visit.id,
        kind="installments",
        status="active",
        total_amount=total,
        down_payment=down,
        term_months=months,
        terms=terms,
        terms_hash=sha256_hex(canonical_json(terms)),
        created_by_id=agent.user_id,
        created_at=to_utc_naive(datetime.combine(day, time(11, 0), ZoneInfo(agent.branch.timezone))),
    )
    db.session.add(plan)
    db.session.flush()
    for item in schedule:
        db.session.add(
            Installment(plan_id=plan.id, seq=item["seq"], due_date=date.fromisoformat(item["due_date"]), amount=Decimal(item["amount"]))
        )
    append_event(case=case, kind="plan.proposed", actor_id=agent.user_id, data={"plan_id": plan.id, "terms_hash": plan.terms_hash})
    return plan


def _ensure_visit(case: Case, agent: Agent, day: date) -> int:
    from ..visits.services import create_visit

    exists = db.session.scalar(select(Visit.id).where(Visit.case_id == case.id, Visit.date == day, Visit.status != "cancelled"))
    if exists or check_visit(case, day):
        return 0
    last = db.session.scalar(
        select(Visit.route_position)
        .where(Visit.agent_id == agent.id, Visit.date == day)
        .order_by(Visit.route_position.desc().nulls_last())
        .limit(1)
    )
    # pinned: the planner keeps these showcase visits with this agent
    visit = create_visit(case_id=case.id, date=day, actor_id=None, agent_id=agent.id, publish=True, pinned=True)
    visit.route_position = (last or 0) + 1
    # after the agent's routed stops: late afternoon, inside the legal window
    visit.planned_arrival = min(
        visit.window_end - timedelta(seconds=visit.service_s),
        visit.window_start + timedelta(hours=6, minutes=25 * (visit.route_position % 12)),
    )
    return 1
