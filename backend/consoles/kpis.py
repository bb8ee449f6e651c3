"""Case-owner KPIs (COMPLIANCE.md "Case-owner KPIs"; R18: never recovery amount alone).

Everything is counted from records, never from what an agent says it did: visits and their
outcomes, plans and their promise tracks (kept / broken as the payment feed decided), the
payment feed itself, check-in coordinates, notes, escalation tickets and quarantined sync
records. Each rate carries its numerator and denominator so a reader can check it.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from geopy.distance import great_circle
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import selectinload

from ..cases.models import Case, Note
from ..common import to_utc_naive, utcnow
from ..csvexport import csv_text
from ..escalations.models import EscalationTicket
from ..extensions import db
from ..org.models import Agent, Branch
from ..payments.collections import in_hand_clause, stale_cash
from ..payments.models import Collection, Payment, PaymentAllocation, PromiseTrack
from ..payments.what_works import CONFIDENCE, MIN_VISITS, RECOVERY_DAYS, what_works
from ..plans.models import RepaymentPlan
from ..policy.settings import effective_settings
from ..policy.strategies import approved_script_rows, playbook
from ..presence.score import presence_scores
from ..sync.models import SyncOp
from ..visits.models import Outcome, Visit

ASSIGNED = ("published", "checked_in", "completed", "failed")  # given to an agent (a draft is not)
DONE = ("completed", "failed")
PROMISE_CODES = ("promise_to_pay", "plan_agreed")
DECIDED = ("kept", "partially_kept", "broken")  # promise tracks the payment feed has settled
BROKEN_WINDOW = timedelta(days=90)

# key, numerator, denominator, scale, unit, description — one table drives JSON, CSV and the UI
DEFINITIONS = [
    ("completion_rate", "done", "assigned", 1, "ratio", "visits done (completed or failed with an outcome) ÷ visits assigned"),
    ("contact_rate", "contacts", "attempts", 1, "ratio", "outcomes where someone was met ÷ outcomes recorded"),
    ("rpc_rate", "rpc", "attempts", 1, "ratio", "right-party contacts (the debtor met) ÷ outcomes recorded"),
    ("promise_rate", "promises", "rpc", 1, "ratio", "promises to pay and plans agreed ÷ right-party contacts"),
    (
        "kept_rate_count",
        "plans_kept",
        "plans_decided",
        1,
        "ratio",
        "plans made at these visits that the payment feed marked kept ÷ those decided (kept, partly kept, broken)",
    ),
    ("kept_rate_amount", "amount_paid_decided", "amount_promised_decided", 1, "ratio", "amount paid ÷ amount promised, on decided plans"),
    ("broken_90d_rate", "plans_broken_90d", "plans_made", 1, "ratio", "plans broken within 90 days of being made ÷ plans made"),
    (
        "km_per_visit",
        "km",
        "arrivals",
        1,
        "km",
        "straight-line km × branch circuity from the agent's start through its check-ins, per visit reached",
    ),
    ("arrivals_in_window_rate", "arrivals_in_window", "arrivals", 1, "ratio", "check-ins inside the visit's legal window ÷ check-ins"),
    (
        "disclosure_rate",
        "disclosures",
        "rpc",
        1,
        "ratio",
        "right-party outcomes with the disclosure acknowledged first (R6) ÷ right-party contacts",
    ),
    (
        "complaints_per_100",
        "complaints",
        "attempts",
        100,
        "per 100",
        "complaints (outcomes or tickets, one per case and day) per 100 visits with an outcome",
    ),
    (
        "reconciled_rate_amount",
        "door_reconciled",
        "door_collected",
        1,
        "ratio",
        "money taken at the door that the bank's feed confirmed ÷ money taken at the door (receipts of these visits)",
    ),
    (
        "cost_per_visit",
        "cost",
        "arrivals",
        1,
        "money",
        "(km × the branch's cost_per_km + hours driving and at the door × its cost_per_hour) ÷ visits reached",
    ),
    (
        "presence_avg",
        "presence_points",
        "presence_scored",
        1,
        "score",
        "mean presence score (0–100, docs/presence.md) of visits with an outcome",
    ),
    (
        "low_presence_rate",
        "presence_low",
        "presence_scored",
        1,
        "ratio",
        "visits with an outcome scored below 60 for presence ÷ those scored",
    ),
]
COUNTS = [
    "assigned",
    "done",
    "attempts",
    "contacts",
    "rpc",
    "promises",
    "plans_made",
    "plans_kept",
    "plans_decided",
    "plans_broken_90d",
    "amount_promised_decided",
    "amount_paid_decided",
    "collected_on_plans",
    "km",
    "arrivals",
    "arrivals_in_window",
    "disclosures",
    "complaints",
    "flagged_notes",
    "quarantined",
    "presence_points",
    "presence_scored",
    "presence_low",
    "door_collected",
    "door_receipts",
    "door_reconciled",
    "door_reconciled_receipts",
    "door_disputed",
    "travel_hours",
    "door_hours",
    "cost",
]
PRESENCE_LOW = 60
# the currency a jurisdiction's cost settings are in
CURRENCIES = {"CN": "CNY", "US": "USD", "UK": "GBP", "IE": "EUR"}


def default_range(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    today = datetime.now(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
    date_to = date_to or (date_from + timedelta(days=29) if date_from else today)
    date_from = date_from or date_to - timedelta(days=29)
    return date_from, date_to


class _Tally:
    """Counters per row: the totals, one row per agent, one per agent's branch, one per day."""

    def __init__(self, branch_of_agent: dict[int, int]):
        self.branch_of_agent = branch_of_agent
        self.total: dict[str, float] = defaultdict(float)
        self.agents: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.branches: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.days: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(self, name: str, amount: float = 1, *, agent_id: int | None = None, day: date | None = None) -> None:
        self.total[name] += amount
        if agent_id is not None:
            self.agents[agent_id][name] += amount
            if agent_id in self.branch_of_agent:
                self.branches[self.branch_of_agent[agent_id]][name] += amount
        if day is not None:
            self.days[day][name] += amount


def _rates(counts: dict[str, float]) -> dict:
    out = {}
    for key, num, den, scale, _unit, _text in DEFINITIONS:
        n, d = counts.get(num, 0.0), counts.get(den, 0.0)
        out[key] = {"value": round(n / d * scale, 4) if d else None, "num": round(n, 2), "den": round(d, 2)}
    return out


def _row(counts: dict[str, float], **ident) -> dict:
    return {**ident, "counts": {name: round(counts.get(name, 0.0), 2) for name in COUNTS}, "rates": _rates(counts)}


def kpi_report(
    *, branch_id: int | None = None, agent_id: int | None = None, date_from: date | None = None, date_to: date | None = None
) -> dict:
    date_from, date_to = default_range(date_from, date_to)
    start = to_utc_naive_day(date_from)
    end = to_utc_naive_day(date_to + timedelta(days=1))

    def scoped(stmt, case_column):
        if branch_id:
            stmt = stmt.where(case_column.in_(select(Case.id).where(Case.branch_id == branch_id)))
        return stmt

    visit_scope = scoped(select(Visit.id).where(Visit.date >= date_from, Visit.date <= date_to), Visit.case_id)
    if agent_id:
        visit_scope = visit_scope.where(Visit.agent_id == agent_id)
    visits = db.session.scalars(select(Visit).where(Visit.id.in_(visit_scope)).options(selectinload(Visit.outcome))).all()
    agents = {a.id: a for a in db.session.scalars(select(Agent).options(selectinload(Agent.user), selectinload(Agent.branch)))}
    agent_of_user = {a.user_id: a.id for a in agents.values()}
    tally = _Tally({a.id: a.branch_id for a in agents.values()})
    visit_agent = {}
    complaint_keys: dict[tuple[int, date], int | None] = {}

    for visit in visits:
        visit_agent[visit.id] = (visit.agent_id, visit.date)
        who = dict(agent_id=visit.agent_id, day=visit.date)
        if visit.agent_id is not None and visit.status in ASSIGNED:
            tally.add("assigned", **who)
            if visit.status in DONE:
                tally.add("done", **who)
        if visit.checkin_at is not None:
            tally.add("arrivals", **who)
            if visit.window_start <= visit.checkin_at <= visit.window_end:
                tally.add("arrivals_in_window", **who)
        outcome = visit.outcome
        if outcome is None:
            continue
        tally.add("attempts", **who)
        if outcome.met in ("debtor", "third_party"):
            tally.add("contacts", **who)
        if outcome.met == "debtor":
            tally.add("rpc", **who)
            if outcome.disclosure_at is not None:
                tally.add("disclosures", **who)
            if outcome.code in PROMISE_CODES:
                tally.add("promises", **who)
        if outcome.code == "complaint":
            complaint_keys[(visit.case_id, visit.date)] = visit.agent_id

    _add_travel(tally, visits, agents)
    _add_door_money(tally, visit_scope, visit_agent)
    _add_presence(tally, [v for v in visits if v.outcome is not None])
    _add_plans(tally, visit_scope, visit_agent, date_from, date_to)
    _add_complaint_tickets(tally, complaint_keys, scoped, agent_of_user, agent_id, start, end)
    _add_flagged_notes(tally, scoped, agent_of_user, agent_id, start, end)
    _add_quarantined(tally, scoped, agent_of_user, agent_id, start, end, branch_id)
    collected = _collected(scoped, agent_id, tally, date_from, date_to)
    cash = cash_in_hand(agents, branch_id=branch_id, agent_id=agent_id)

    rows = []
    for aid in sorted(tally.agents, key=lambda a: _agent_name(agents.get(a))):
        agent = agents.get(aid)
        rows.append(_row(tally.agents[aid], agent_id=aid, agent=_agent_name(agent), branch_id=agent.branch_id if agent else None))
    days = [_row(tally.days[d], date=d) for d in sorted(tally.days)]
    branches = {b.id: b for b in db.session.scalars(select(Branch).where(Branch.id.in_(list(tally.branches))))} if tally.branches else {}
    branch_rows = [
        _row(tally.branches[bid], branch_id=bid, branch=branches[bid].name, currency=_currency(branches[bid]))
        for bid in sorted(tally.branches, key=lambda b: branches[b].name)
    ]
    return {
        "filters": {"branch_id": branch_id, "agent_id": agent_id, "from": date_from.isoformat(), "to": date_to.isoformat()},
        "definitions": [{"key": k, "num": n, "den": d, "scale": s, "unit": u, "description": text} for k, n, d, s, u, text in DEFINITIONS],
        "collected": collected,
        "cash_in_hand": cash,
        "totals": _row(tally.total, agent_id=None, agent=None, branch_id=branch_id),
        "agents": rows,
        "branches": branch_rows,
        "daily": days,
    }


def to_utc_naive_day(day: date) -> datetime:
    """Midnight of `day` in the default timezone, as naive UTC (for timestamp filters)."""
    return to_utc_naive(datetime.combine(day, time.min, ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])))


def _agent_name(agent: Agent | None) -> str:
    if agent is None:
        return ""
    return agent.user.display_name or agent.user.username


def _add_presence(tally: _Tally, visits) -> None:
    """R18: how believable the agent's visits are, beside what they brought in."""
    scores = presence_scores(visits)
    for visit in visits:
        presence = scores[visit.id]
        who = dict(agent_id=visit.agent_id, day=visit.date)
        tally.add("presence_scored", **who)
        tally.add("presence_points", presence["score"], **who)
        if presence["score"] < PRESENCE_LOW:
            tally.add("presence_low", **who)


def _add_travel(tally: _Tally, visits, agents) -> None:
    """km from the agent's start through its check-ins of the day, in check-in order, and what
    that day cost: km × the branch's cost_per_km, plus the hours driving (km ÷ the branch's
    speed) and at the door (check-in to check-out) × its cost_per_hour (policy settings of the
    branch's jurisdiction)."""
    paths: dict[tuple[int, date], list] = defaultdict(list)
    for visit in visits:
        if visit.agent_id is not None and visit.checkin_at is not None and visit.checkin_lat is not None:
            paths[(visit.agent_id, visit.date)].append((visit.checkin_at, visit.checkin_lat, visit.checkin_lon))
    for (aid, day), points in paths.items():
        agent = agents.get(aid)
        points.sort()
        here = (agent.start_lat, agent.start_lon) if agent and agent.start_lat is not None else (points[0][1], points[0][2])
        circuity = agent.branch.circuity if agent else 1.0
        km = 0.0
        for _at, lat, lon in points:
            km += great_circle(here, (lat, lon)).km * circuity
            here = (lat, lon)
        tally.add("km", km, agent_id=aid, day=day)
        rates = _cost_rates(agent.branch if agent else None)
        hours = km / agent.branch.speed_kmh if agent and agent.branch.speed_kmh else 0.0
        tally.add("travel_hours", hours, agent_id=aid, day=day)
        tally.add("cost", km * rates[0] + hours * rates[1], agent_id=aid, day=day)
    for visit in visits:
        if visit.agent_id is None or visit.checkin_at is None or visit.checkout_at is None or visit.checkout_at < visit.checkin_at:
            continue
        agent = agents.get(visit.agent_id)
        hours = (visit.checkout_at - visit.checkin_at).total_seconds() / 3600
        tally.add("door_hours", hours, agent_id=visit.agent_id, day=visit.date)
        tally.add("cost", hours * _cost_rates(agent.branch if agent else None)[1], agent_id=visit.agent_id, day=visit.date)


def _cost_rates(branch: Branch | None) -> tuple[float, float]:
    """(per km, per hour) of the branch's jurisdiction."""
    settings = effective_settings(branch.jurisdiction if branch else "CN")
    return float(settings["cost_per_km"]), float(settings["cost_per_hour"])


def _currency(branch: Branch) -> str:
    return CURRENCIES.get(branch.jurisdiction, "CNY")


def _add_door_money(tally: _Tally, visit_scope, visit_agent) -> None:
    """Money taken at the door at these visits (receipts), on the visit's agent and day, and how
    much of it the bank's feed has confirmed (reconciled) or contradicts (disputed)."""
    rows = db.session.execute(
        select(Collection.visit_id, Collection.amount, Collection.status).where(Collection.visit_id.in_(visit_scope))
    ).all()
    for visit_id, amount, status in rows:
        aid, day = visit_agent.get(visit_id, (None, None))
        who = dict(agent_id=aid, day=day)
        tally.add("door_collected", float(amount), **who)
        tally.add("door_receipts", **who)
        if status == "reconciled":
            tally.add("door_reconciled", float(amount), **who)
            tally.add("door_reconciled_receipts", **who)
        elif status == "disputed":
            tally.add("door_disputed", float(amount), **who)


def _add_plans(tally: _Tally, visit_scope, visit_agent, date_from: date, date_to: date) -> None:
    rows = db.session.execute(
        select(RepaymentPlan, PromiseTrack)
        .outerjoin(PromiseTrack, PromiseTrack.plan_id == RepaymentPlan.id)
        .where(RepaymentPlan.visit_id.in_(visit_scope))
    ).all()
    plan_ids = [plan.id for plan, _track in rows]
    allocated = (
        dict(
            db.session.execute(
                select(PaymentAllocation.plan_id, func.sum(PaymentAllocation.amount))
                .join(Payment, Payment.id == PaymentAllocation.payment_id)
                .where(PaymentAllocation.plan_id.in_(plan_ids), Payment.paid_on >= date_from, Payment.paid_on <= date_to)
                .group_by(PaymentAllocation.plan_id)
            ).all()
        )
        if plan_ids
        else {}
    )
    for plan, track in rows:
        aid, day = visit_agent.get(plan.visit_id, (None, None))
        who = dict(agent_id=aid, day=day)
        # a plan replaced by a newer one or cancelled is not a promise the debtor failed or kept
        if plan.status in ("superseded", "cancelled", "rejected"):
            continue
        tally.add("plans_made", **who)
        tally.add("collected_on_plans", float(allocated.get(plan.id) or 0), **who)
        if track is None or track.state not in DECIDED:
            continue
        tally.add("plans_decided", **who)
        tally.add("amount_promised_decided", float(track.promised_amount), **who)
        tally.add("amount_paid_decided", float(min(track.paid_amount, track.promised_amount)), **who)
        if track.state == "kept":
            tally.add("plans_kept", **who)
        if track.state == "broken" and track.decided_at is not None and track.decided_at - plan.created_at <= BROKEN_WINDOW:
            tally.add("plans_broken_90d", **who)


def _add_complaint_tickets(tally, complaint_keys, scoped, agent_of_user, agent_id, start, end) -> None:
    """A complaint is counted once per case and day, whether an outcome, a ticket or both carry it."""
    stmt = scoped(
        select(EscalationTicket.case_id, EscalationTicket.raised_at, EscalationTicket.raised_by_id).where(
            EscalationTicket.kind == "complaint", EscalationTicket.raised_at >= start, EscalationTicket.raised_at < end
        ),
        EscalationTicket.case_id,
    )
    for case_id, raised_at, raised_by in db.session.execute(stmt):
        aid = agent_of_user.get(raised_by)
        if agent_id and aid != agent_id:
            continue
        complaint_keys.setdefault((case_id, _local_day(raised_at)), aid)
    for (_case_id, day), aid in complaint_keys.items():
        tally.add("complaints", agent_id=aid, day=day)


def _local_day(at: datetime) -> date:
    return at.replace(tzinfo=UTC).astimezone(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()


def _add_flagged_notes(tally, scoped, agent_of_user, agent_id, start, end) -> None:
    stmt = scoped(
        select(Note.author_id, Note.created_at).where(Note.review_flag.is_not(None), Note.created_at >= start, Note.created_at < end),
        Note.case_id,
    )
    for author_id, created_at in db.session.execute(stmt):
        aid = agent_of_user.get(author_id)
        if agent_id and aid != agent_id:
            continue
        tally.add("flagged_notes", agent_id=aid, day=_local_day(created_at))


def _add_quarantined(tally, scoped, agent_of_user, agent_id, start, end, branch_id) -> None:
    """Sync records kept as conflict or rejected, and outcomes that arrived with compliance findings."""
    ops = select(SyncOp.user_id, SyncOp.received_at).where(
        SyncOp.status.in_(("conflict", "rejected")), SyncOp.received_at >= start, SyncOp.received_at < end
    )
    if branch_id:
        ops = scoped(ops, SyncOp.case_id)
    for user_id, received_at in db.session.execute(ops):
        aid = agent_of_user.get(user_id)
        if agent_id and aid != agent_id:
            continue
        tally.add("quarantined", agent_id=aid, day=_local_day(received_at))
    flagged = scoped(
        select(Outcome.agent_id, Outcome.received_at).where(
            _has_findings(Outcome.compliance_flags), Outcome.received_at >= start, Outcome.received_at < end
        ),
        Outcome.case_id,
    )
    if agent_id:
        flagged = flagged.where(Outcome.agent_id == agent_id)
    for aid, received_at in db.session.execute(flagged):
        tally.add("quarantined", agent_id=aid, day=_local_day(received_at))


def _has_findings(column):
    """A JSON list that is not empty, portable across SQLite and PostgreSQL."""
    text = func.replace(cast(column, String), " ", "")
    return (column.is_not(None)) & (text != "[]") & (text != "null")


def _collected(scoped, agent_id, tally: _Tally, date_from: date, date_to: date) -> dict:
    """From the payment feed: every payment on the cases in scope (or, for one agent, what was
    allocated to the plans made at its visits — a payment is not an agent's by itself)."""
    if agent_id:
        return {
            "amount": round(tally.total.get("collected_on_plans", 0.0), 2),
            "payments": None,
            "source": "payments feed, allocated to plans made at this agent's visits",
        }
    stmt = scoped(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.paid_on >= date_from, Payment.paid_on <= date_to
        ),
        Payment.case_id,
    )
    count, amount = db.session.execute(stmt).one()
    return {"amount": round(float(Decimal(amount)), 2), "payments": count, "source": "payments feed, all payments on the cases in scope"}


def cash_in_hand(agents: dict, *, branch_id: int | None, agent_id: int | None) -> list[dict]:
    """Now, per agent: cash taken at the door and neither banked nor confirmed by the bank, and how
    much of it is past the jurisdiction's cash_custody_days (the owner's queue shows those)."""
    stmt = select(Collection).where(in_hand_clause())
    if branch_id:
        stmt = stmt.where(Collection.branch_id == branch_id)
    if agent_id:
        stmt = stmt.where(Collection.agent_id == agent_id)
    now = utcnow()
    stale = {c.id for c, _days in stale_cash(now=now, branch_id=branch_id)}
    rows: dict[int, dict] = {}
    for c in db.session.scalars(stmt.order_by(Collection.collected_at)):
        row = rows.setdefault(
            c.agent_id,
            {
                "agent_id": c.agent_id,
                "agent": _agent_name(agents.get(c.agent_id)),
                "currency": c.currency,
                "amount": Decimal("0.00"),
                "collections": 0,
                "stale_amount": Decimal("0.00"),
                "stale": 0,
                "oldest_collected_at": c.collected_at.isoformat() + "Z",
            },
        )
        row["amount"] += Decimal(c.amount)
        row["collections"] += 1
        if c.id in stale:
            row["stale_amount"] += Decimal(c.amount)
            row["stale"] += 1
    return [
        {**r, "amount": str(r["amount"]), "stale_amount": str(r["stale_amount"])} for r in sorted(rows.values(), key=lambda r: r["agent"])
    ]


# --- what works ------------------------------------------------------------------------------

WHAT_WORKS_DAYS = 180  # the default span of visits: enough for promises to be judged
SCRIPT_LABEL_CHARS = 60


def what_works_report(*, branch_id: int | None = None, since: date | None = None, until: date | None = None, locale: str = "zh-CN") -> dict:
    """Per strategy and per script used at the door: visits, promises kept (Wilson interval) and
    money recovered within RECOVERY_DAYS, labelled in the reader's language."""
    until = until or datetime.now(ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])).date()
    since = since or until - timedelta(days=WHAT_WORKS_DAYS - 1)
    figures = what_works(since=since, until=until, branch_id=branch_id)
    locale = "en" if locale.startswith("en") else "zh-CN"
    book = playbook()["strategies"]
    texts = approved_script_rows(locale)
    for row in figures["strategies"]:
        row["label"] = book[row["key"]]["label"][locale] if row["key"] in book else row["key"]
    for row in figures["scripts"]:
        text = texts[row["key"]]["text"] if row["key"] in texts else row["key"]
        row["label"] = text if len(text) <= SCRIPT_LABEL_CHARS else text[: SCRIPT_LABEL_CHARS - 1] + "…"
    return {
        "filters": {"branch_id": branch_id, "since": since.isoformat(), "until": until.isoformat()},
        "recovery_days": RECOVERY_DAYS,
        "min_visits": MIN_VISITS,
        "confidence": CONFIDENCE,
        **figures,
    }


# --- CSV -------------------------------------------------------------------------------------


def kpi_csv(report: dict) -> str:
    """One row per agent and a total row; counts, then each rate with its value."""
    rate_keys = [d["key"] for d in report["definitions"]]
    f = report["filters"]

    def row_of(row, label):
        return [
            row.get("agent_id") or "",
            label,
            row.get("branch_id") or "",
            f["from"],
            f["to"],
            *(_fmt(row["counts"][name]) for name in COUNTS),
            *("" if row["rates"][k]["value"] is None else _fmt(row["rates"][k]["value"]) for k in rate_keys),
        ]

    rows = [["agent_id", "agent", "branch_id", "from", "to", *COUNTS, *rate_keys]]
    rows += [row_of(row, row["agent"]) for row in report["agents"]]
    rows.append(row_of(report["totals"], "TOTAL"))
    # a byte-order mark so spreadsheet programs read the Chinese names as UTF-8
    return "\ufeff" + csv_text(rows)


def _fmt(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
