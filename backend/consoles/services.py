"""The case owner's review queue and the dispatcher's day board: read models over the domains."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..auth.models import Token, User
from ..cases.models import Account, Case, Note
from ..cases.services import append_event
from ..common import utcnow
from ..errors import abort
from ..escalations.models import EscalationTicket
from ..extensions import db
from ..org.models import Agent, Branch
from ..payments.collections import stale_cash
from ..payments.models import Collection
from ..plans.models import RepaymentPlan
from ..presence.score import presence_scores
from ..routing.builder import build_problem
from ..routing.models import RoutePlan
from ..sync.models import SyncOp
from ..visits.models import Outcome, Visit
from ..visits.services import required_agents_by_visit
from .kpis import _has_findings

# a stop not checked in this long after its planned arrival is shown late
LATE_GRACE = timedelta(minutes=15)
# visits whose presence score is below this wait in the review queue (lowest first)
PRESENCE_REVIEW_BELOW = 60
PRESENCE_CANDIDATES = 500


def _case_brief(case: Case | None) -> dict:
    if case is None:
        return {"case_id": None, "debtor_name": "", "card_masked": "", "branch_id": None, "owner_id": None}
    return {
        "case_id": case.id,
        "debtor_name": case.account.debtor.name,
        "card_masked": case.account.card_masked,
        "branch_id": case.branch_id,
        "owner_id": case.owner_id,
    }


def _user_name(user: User | None) -> str | None:
    return (user.display_name or user.username) if user else None


# --- review queue ----------------------------------------------------------------------------


def review_queue(*, owner_id: int | None = None, branch_id: int | None = None, limit: int = 100) -> dict:
    """Everything waiting for a case owner, oldest first: outcomes to review, plans to decide,
    sync records kept as conflicts or rejections, open escalations by SLA, compliance exceptions,
    and visits hard to believe (presence score, lowest first)."""

    def scoped(stmt, case_column):
        cases = select(Case.id)
        if owner_id:
            cases = cases.where(Case.owner_id == owner_id)
        if branch_id:
            cases = cases.where(Case.branch_id == branch_id)
        if owner_id or branch_id:
            stmt = stmt.where(case_column.in_(cases))
        return stmt

    def section(stmt, order, to_item):
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = db.session.scalars(stmt.order_by(*order).limit(limit)).all()
        return {"total": total, "items": [to_item(row) for row in rows]}

    cases: dict[int, Case] = {}
    users: dict[int, User] = {}

    def case_of(case_id):
        if case_id is None:
            return None
        if case_id not in cases:
            cases[case_id] = db.session.get(Case, case_id)
        return cases[case_id]

    def user_of(user_id):
        if user_id is None:
            return None
        if user_id not in users:
            users[user_id] = db.session.get(User, user_id)
        return users[user_id]

    def outcome_item(o: Outcome) -> dict:
        agent = db.session.get(Agent, o.agent_id) if o.agent_id else None
        return {
            **_case_brief(case_of(o.case_id)),
            "id": o.id,
            "visit_id": o.visit_id,
            "agent_id": o.agent_id,
            "agent": _user_name(agent.user) if agent else None,
            "code": o.code,
            "met": o.met,
            "data": o.data,
            "disclosure_at": o.disclosure_at,
            "recorded_at": o.recorded_at,
            "received_at": o.received_at,
            "compliance_flags": o.compliance_flags or [],
        }

    def plan_item(p: RepaymentPlan) -> dict:
        return {
            **_case_brief(case_of(p.case_id)),
            "id": p.id,
            "kind": p.kind,
            "status": p.status,
            "currency": p.currency,
            "total_amount": p.total_amount,
            "discount_pct": p.discount_pct,
            "term_months": p.term_months,
            "terms_hash": p.terms_hash,
            "policy_findings": p.policy_findings or [],
            "created_at": p.created_at,
            "agent": _user_name(user_of(p.created_by_id)),
        }

    def sync_item(op: SyncOp) -> dict:
        result = op.result or {}
        return {
            **_case_brief(case_of(op.case_id)),
            "id": op.id,
            "type": op.type,
            "status": op.status,
            "device_id": op.device_id,
            "user": _user_name(user_of(op.user_id)),
            "device_at": op.device_at,
            "received_at": op.received_at,
            "reason": _reason_of(result),
            "result": result,
            "payload": _safe_payload(op.payload or {}),
        }

    now = utcnow()

    def ticket_item(t: EscalationTicket) -> dict:
        return {
            **_case_brief(case_of(t.case_id)),
            "id": t.id,
            "queue": t.queue,
            "kind": t.kind,
            "reason": t.reason,
            "status": t.status,
            "raised_at": t.raised_at,
            "sla_due_at": t.sla_due_at,
            "overdue": t.overdue,
            "sla_left_s": int((t.sla_due_at - now).total_seconds()),
        }

    outcomes = section(
        scoped(select(Outcome).where(Outcome.reviewed_at.is_(None)), Outcome.case_id),
        (Outcome.received_at, Outcome.id),
        outcome_item,
    )
    plans = section(
        scoped(select(RepaymentPlan).where(RepaymentPlan.status == "pending_approval"), RepaymentPlan.case_id),
        (RepaymentPlan.created_at, RepaymentPlan.id),
        plan_item,
    )
    sync = section(
        scoped(select(SyncOp).where(SyncOp.status.in_(("conflict", "rejected")), SyncOp.reviewed_at.is_(None)), SyncOp.case_id),
        (SyncOp.received_at, SyncOp.id),
        sync_item,
    )
    escalations = section(
        scoped(select(EscalationTicket).where(EscalationTicket.status != "resolved"), EscalationTicket.case_id),
        (EscalationTicket.sla_due_at, EscalationTicket.id),
        ticket_item,
    )
    compliance = _compliance_section(scoped, limit, case_of)
    money = _money_section(scoped, limit, case_of, now, owner_id=owner_id, branch_id=branch_id)
    presence = _presence_section(scoped, limit, case_of)
    sections = {
        "outcomes": outcomes,
        "plans": plans,
        "sync": sync,
        "escalations": escalations,
        "compliance": compliance,
        "money": money,
        "presence": presence,
    }
    return {"counts": {k: v["total"] for k, v in sections.items()}, **sections}


def _compliance_section(scoped, limit: int, case_of) -> dict:
    """Outcomes that arrived with compliance findings (R1, R4, R6 …) and are not reviewed yet,
    and notes flagged for prohibited wording (R7) in the last 30 days."""
    outcomes = scoped(select(Outcome).where(Outcome.reviewed_at.is_(None), _has_findings(Outcome.compliance_flags)), Outcome.case_id)
    since = utcnow() - timedelta(days=30)
    notes = scoped(select(Note).where(Note.review_flag.is_not(None), Note.created_at >= since), Note.case_id)
    total = db.session.scalar(select(func.count()).select_from(outcomes.subquery())) + db.session.scalar(
        select(func.count()).select_from(notes.subquery())
    )
    items = [
        {
            **_case_brief(case_of(o.case_id)),
            "kind": "outcome",
            "id": o.id,
            "at": o.received_at,
            "findings": o.compliance_flags or [],
            "text": o.code,
            "reviewed": False,
        }
        for o in db.session.scalars(outcomes.order_by(Outcome.received_at).limit(limit))
    ] + [
        {
            **_case_brief(case_of(n.case_id)),
            "kind": "note",
            "id": n.id,
            "at": n.created_at,
            "findings": [{"rule": "R7", "message": n.review_flag}],
            "text": n.text,
            "reviewed": False,
        }
        for n in db.session.scalars(notes.order_by(Note.created_at.desc()).limit(limit))
    ]
    items.sort(key=lambda item: item["at"])
    return {"total": total, "items": items[:limit]}


def _money_section(scoped, limit: int, case_of, now: datetime, *, owner_id: int | None, branch_id: int | None) -> dict:
    """Cash an agent has held past the jurisdiction's cash_custody_days (oldest first), then
    collections the bank's feed or a deposit disputed."""
    held = stale_cash(now=now, branch_id=branch_id, owner_id=owner_id)
    disputed = db.session.scalars(
        scoped(select(Collection).where(Collection.status == "disputed"), Collection.case_id).order_by(Collection.collected_at)
    ).all()

    def item(collection: Collection, kind: str, held_days: int | None) -> dict:
        agent = db.session.get(Agent, collection.agent_id)
        return {
            **_case_brief(case_of(collection.case_id)),
            "kind": kind,
            "id": collection.id,
            "receipt_number": collection.receipt_number,
            "agent_id": collection.agent_id,
            "agent": _user_name(agent.user) if agent else None,
            "amount": collection.amount,
            "currency": collection.currency,
            "method": collection.method,
            "collected_at": collection.collected_at,
            "held_days": held_days,
            "reason": collection.dispute_reason if kind == "disputed" else f"cash held {held_days} days, not banked",
        }

    items = [item(c, "cash_held", days) for c, days in held] + [item(c, "disputed", None) for c in disputed]
    return {"total": len(items), "items": items[:limit]}


def _presence_section(scoped, limit: int, case_of) -> dict:
    """Visits whose outcome is not reviewed yet and whose presence score is below
    PRESENCE_REVIEW_BELOW, lowest first; reviewing the outcome takes the visit off the list."""
    visits = db.session.scalars(
        scoped(select(Visit).join(Outcome, Outcome.visit_id == Visit.id).where(Outcome.reviewed_at.is_(None)), Visit.case_id)
        .order_by(Outcome.received_at.desc())
        .limit(PRESENCE_CANDIDATES)
        .options(selectinload(Visit.outcome), selectinload(Visit.agent).selectinload(Agent.user))
    ).all()
    scores = presence_scores(visits)
    low = sorted((v for v in visits if scores[v.id]["score"] < PRESENCE_REVIEW_BELOW), key=lambda v: (scores[v.id]["score"], v.id))
    items = [
        {
            **_case_brief(case_of(v.case_id)),
            "visit_id": v.id,
            "outcome_id": v.outcome.id,
            "date": v.date.isoformat(),
            "agent_id": v.agent_id,
            "agent": _user_name(v.agent.user) if v.agent else None,
            "code": v.outcome.code,
            **scores[v.id],
        }
        for v in low[:limit]
    ]
    return {"total": len(low), "items": items}


def _reason_of(result: dict) -> str | None:
    detail = result.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, dict):
        return detail.get("message") or detail.get("reason") or ", ".join(f"{k}: {v}" for k, v in detail.items())
    return result.get("reason") or result.get("message")


def _safe_payload(payload: dict) -> dict:
    """The op as the device sent it, minus attachment bytes (shown as their size)."""
    out = {}
    for key, value in payload.items():
        if isinstance(value, str) and len(value) > 500:
            out[key] = f"<{len(value)} characters>"
        else:
            out[key] = value
    return out


def review_outcome(*, outcome_id: int, actor: User, note: str = "") -> Outcome:
    """Mark an outcome reviewed; the review is on the case's timeline with who and when."""
    outcome = db.session.get(Outcome, outcome_id)
    if outcome is None:
        abort(404, f"No outcome {outcome_id}.")
    if outcome.reviewed_at is not None:
        abort(
            409,
            "This outcome was already reviewed.",
            code="already_reviewed",
            reviewed_at=outcome.reviewed_at.isoformat() + "Z",
            reviewed_by_id=outcome.reviewed_by_id,
        )
    outcome.reviewed_at = utcnow()
    outcome.reviewed_by_id = actor.id
    append_event(
        case=db.session.get(Case, outcome.case_id),
        kind="outcome.reviewed",
        actor_id=actor.id,
        data={
            "outcome_id": outcome.id,
            "visit_id": outcome.visit_id,
            "code": outcome.code,
            "compliance_flags": outcome.compliance_flags or [],
            "note": note,
        },
    )
    return outcome


# --- dispatcher day board ---------------------------------------------------------------------


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def visit_progress(visit: Visit, now: datetime) -> tuple[str, int | None]:
    """Where a stop stands in the day, and by how much it is (or was) late against its planned arrival."""
    arrival = visit.planned_arrival
    if visit.status == "cancelled":
        return "cancelled", None
    if visit.status in ("checked_in", "completed", "failed"):
        late = None
        if arrival and visit.checkin_at and visit.checkin_at - arrival > LATE_GRACE:
            late = int((visit.checkin_at - arrival).total_seconds())
        progress = {"checked_in": "checked_in", "completed": "done", "failed": "failed"}[visit.status]
        return progress, late
    if arrival and now - arrival > LATE_GRACE:
        return "late", int((now - arrival).total_seconds())
    return "waiting", None


def _board_visit(visit: Visit, now: datetime, required_agents: int) -> dict:
    progress, late = visit_progress(visit, now)
    address = visit.address
    return {
        "id": visit.id,
        "case_id": visit.case_id,
        "agent_id": visit.agent_id,
        "debtor_name": visit.case.account.debtor.name,
        "address": f"{address.city}{address.line}" if address else "",
        "lat": address.lat if address else None,
        "lon": address.lon if address else None,
        "status": visit.status,
        "progress": progress,
        "late_by_s": late,
        "pinned": visit.pinned,
        "route_position": visit.route_position,
        "planned_arrival": visit.planned_arrival,
        "window_start": visit.window_start,
        "window_end": visit.window_end,
        "checkin_at": visit.checkin_at,
        "checkout_at": visit.checkout_at,
        # R9: a two-person visit, its partner and the partner's own check-in
        "required_agents": required_agents,
        "partner_id": visit.partner_id,
        "partner_checkin_at": visit.partner_checkin_at,
        "outcome": visit.outcome.code if visit.outcome else None,
        "priority": visit.priority,
        "version": visit.version,
    }


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def day_board(*, day: date | None = None, branch_id: int | None = None) -> dict:
    branch = None
    if branch_id is not None:
        branch = db.session.get(Branch, branch_id)
        if branch is None:
            abort(422, "No such branch.", errors={"branch_id": ["unknown branch"]})
    tz = branch.timezone if branch else current_app.config["DEFAULT_TIMEZONE"]
    day = day or today_in(tz)
    now = utcnow()

    agent_stmt = select(Agent).where(Agent.active.is_(True)).options(selectinload(Agent.user)).order_by(Agent.id)
    if branch_id:
        agent_stmt = agent_stmt.where(Agent.branch_id == branch_id)
    agents = db.session.scalars(agent_stmt).all()
    agent_ids = [a.id for a in agents]

    visit_stmt = (
        select(Visit)
        .where(Visit.date == day, Visit.status != "cancelled")
        .options(selectinload(Visit.outcome), selectinload(Visit.address))
        .order_by(Visit.agent_id, Visit.route_position, Visit.planned_arrival, Visit.id)
    )
    if branch_id:
        visit_stmt = visit_stmt.where(
            or_(Visit.agent_id.in_(agent_ids), Visit.case_id.in_(select(Case.id).where(Case.branch_id == branch_id)))
        )
    visits = db.session.scalars(visit_stmt).all()
    sessions = dict(
        db.session.execute(
            select(Token.user_id, func.count(Token.id))
            .where(Token.user_id.in_([a.user_id for a in agents]), Token.revoked_at.is_(None), Token.expires_at > now)
            .group_by(Token.user_id)
        ).all()
    )

    by_agent: dict[int, list[dict]] = {a.id: [] for a in agents}
    unassigned = []
    counts = {"visits": 0, "waiting": 0, "late": 0, "checked_in": 0, "done": 0, "failed": 0, "unassigned": 0}
    need = required_agents_by_visit(visits)
    for visit in visits:
        item = _board_visit(visit, now, need[visit.id])
        counts["visits"] += 1
        counts[item["progress"]] = counts.get(item["progress"], 0) + 1
        if visit.agent_id is None:
            unassigned.append(item)
            counts["unassigned"] += 1
        else:
            by_agent.setdefault(visit.agent_id, []).append(item)

    agent_rows = []
    for agent in agents:
        stops = by_agent.get(agent.id, [])
        tally = {"stops": len(stops)}
        for stop in stops:
            tally[stop["progress"]] = tally.get(stop["progress"], 0) + 1
        agent_rows.append(
            {
                "id": agent.id,
                "name": _user_name(agent.user),
                "username": agent.user.username,
                "branch_id": agent.branch_id,
                "shift_start": _hhmm(agent.shift_start_s),
                "shift_end": _hhmm(agent.shift_end_s),
                "daily_cap": agent.daily_cap,
                "skills": agent.skills or [],
                "start_lat": agent.start_lat,
                "start_lon": agent.start_lon,
                "active_sessions": sessions.get(agent.user_id, 0),
                "counts": tally,
                "visits": stops,
            }
        )

    candidates = day_candidates(day=day, branch_id=branch_id)
    counts["eligible"] = sum(1 for c in candidates if c["eligible"])
    counts["excluded"] = len(candidates) - counts["eligible"]
    return {
        "date": day,
        "branch_id": branch_id,
        "timezone": tz,
        "now": now,
        "route_plan": _latest_route_plan(day, branch_id),
        "agents": agent_rows,
        "unassigned": unassigned,
        "candidates": candidates,
        "counts": counts,
    }


def _latest_route_plan(day: date, branch_id: int | None) -> dict | None:
    stmt = select(RoutePlan).where(RoutePlan.date == day, RoutePlan.status != "superseded").order_by(RoutePlan.id.desc()).limit(1)
    if branch_id:
        stmt = stmt.where(RoutePlan.branch_id == branch_id)
    plan = db.session.scalar(stmt)
    if plan is None:
        return None
    return {"id": plan.id, "status": plan.status, "progress": plan.progress, "published_at": plan.published_at}


def day_candidates(*, day: date, branch_id: int | None) -> list[dict]:
    """The routing builder's own view of the day: every case it would offer the planner (with
    the collectability points that make its priority) and every case it leaves out, with
    every rule that excludes it. Cases that already have a visit that day are on the board."""
    built = build_problem(day=day, branch_id=branch_id)
    locations = built.problem["locations"]
    problem_visits = {v["id"]: v for v in built.problem["visits"]}
    offered = {ref: info for ref, info in built.meta["visits"].items() if info["visit_id"] is None}
    case_ids = {info["case_id"] for info in offered.values()} | {e["case_id"] for e in built.excluded}
    cases = {
        c.id: c
        for c in db.session.scalars(
            select(Case).where(Case.id.in_(case_ids)).options(selectinload(Case.account).selectinload(Account.debtor))
        )
    }
    out = []
    for ref, info in offered.items():
        visit = problem_visits[ref]
        lat, lon = locations[visit["location"]]
        reasons = [_priority_text(visit["priority"], info["priority_factors"])] + [
            f"needs {skill}: {why['message']}" for skill, why in info["skills_why"].items()
        ]
        why = _priority_reasons(visit["priority"], info["priority_factors"]) + list(info["skills_why"].values())
        out.append(
            _candidate(
                cases[info["case_id"]],
                lat=lat,
                lon=lon,
                eligible=True,
                reasons=reasons,
                why=why,
                rules=[],
                priority=visit["priority"],
                visit_id=None,
            )
        )
    for item in built.excluded:
        case = cases.get(item["case_id"])
        address = case.account.debtor.addresses[0] if case and case.account.debtor.addresses else None
        out.append(
            _candidate(
                case,
                lat=address.lat if address else None,
                lon=address.lon if address else None,
                eligible=False,
                reasons=[r["message"] for r in item["reasons"]],
                why=item["reasons"],
                rules=sorted({r["rule"] for r in item["reasons"]}),
                priority=None,
                visit_id=item.get("visit_id"),
            )
        )
    out.sort(key=lambda c: (not c["eligible"], -(c["priority"] or 0), c["case_id"]))
    return out


FACTOR_LABELS = {
    "overdue_amount": "overdue",
    "days_past_due": "days past due",
    "broken_promises": "broken promises",
    "days_since_contact": "days since contact",
}


def _priority_text(priority: int, factors: dict) -> str:
    """priority 49 = overdue 5000.00 (8.0) + days past due 150 (20.8) + … — the points behind it."""
    parts = []
    for name, factor in factors.items():
        value = "never" if factor["value"] is None else factor["value"]
        parts.append(f"{FACTOR_LABELS.get(name, name)} {value} ({factor['points']})")
    return f"priority {priority} = " + " + ".join(parts)


def _priority_reasons(priority: int, factors: dict) -> list[dict]:
    """The priority and the points behind it, as coded reasons (the board's own sentences)."""
    out = [{"code": "route_priority", "params": {"n": priority}, "message": f"priority {priority}"}]
    for name, factor in factors.items():
        never = factor["value"] is None
        out.append(
            {
                "code": "route_priority_factor_never" if never else "route_priority_factor",
                "params": {"factor": name, "value": factor["value"], "points": factor["points"]},
                "message": f"{FACTOR_LABELS.get(name, name)} {'never' if never else factor['value']} ({factor['points']})",
            }
        )
    return out


def _candidate(case: Case, *, lat, lon, eligible: bool, reasons: list[str], why: list[dict], rules: list[str], priority, visit_id) -> dict:
    account = case.account
    address = account.debtor.addresses[0] if account.debtor.addresses else None
    return {
        "case_id": case.id,
        "visit_id": visit_id,
        "debtor_name": account.debtor.name,
        "address": f"{address.city}{address.line}" if address else None,
        "lat": lat,
        "lon": lon,
        "overdue_amount": account.overdue_amount,
        "days_past_due": account.days_past_due,
        "bucket": account.bucket,
        "stage": case.stage,
        "priority": priority,
        "eligible": eligible,
        "reasons": reasons,
        "why": why,
        "rules": rules,
    }
