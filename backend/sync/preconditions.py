"""Preconditions of an op, checked inside its transaction before any effect: the visit or case
is the agent's (own visit, own case; a visit taken away or cancelled is a conflict, someone
else's is a rejection), the version the device based it on still holds, and the compliance
rules' SYNC re-check (policy.rules.sync_findings) lets it through. A failed precondition raises
OpProblem: the op is kept as conflict or rejected, never applied and never lost."""

from typing import NoReturn

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import joinedload

from ..cases.models import Case
from ..common import utcnow
from ..db import lock_case, lock_case_of_visit
from ..extensions import db
from ..feed import Change
from ..plans.models import RepaymentPlan
from ..policy.rules import sync_findings
from ..visits.models import Visit
from ..visits.services import work_stopped
from .context import OpContext, OpProblem, loaded
from .models import SyncOp


def _ever_held_visit(user_id: int, visit_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Change.user_id == user_id, Change.ref_type == "visit", Change.ref_id == visit_id))))


# what the partner of a two-person visit (R9) records from the door besides its own check-in:
# an escalation (R16: a safety or vulnerability concern, R12, goes up at once, whoever saw it)
# and a note of what it saw (R11); the outcome, the plan, the signature and the money stay the lead's
PARTNER_CASE_OPS = frozenset({"note.add", "case.escalate"})


def _partners(ctx: OpContext, visit: Visit) -> bool:
    return visit.partner_id == ctx.agent_id and visit.agent_id != ctx.agent_id


def _partner_refused(ctx: OpContext, visit: Visit) -> NoReturn:
    ctx.case, ctx.visit, ctx.case_related = visit.case, visit, True
    raise OpProblem(
        "rejected",
        "The lead records this two-person visit; the partner's phone checks in, adds notes and escalates.",
        errors={"payload.visit_id": ["you partner this visit; its lead records it"]},
        code="partner_checks_in_only",
    )


def own_visit(ctx: OpContext, *, partner: bool = False) -> Visit:
    """The op's visit, locked; someone else's → rejected; taken away or cancelled → conflict.
    `partner`: the visit's partner (R9) may act too (their own check-in); the lead's version
    moves under the partner's phone, which bases nothing on it, so it is not checked."""
    visit_id = ctx.payload["visit_id"]
    lock_case_of_visit(visit_id)  # before anything of the case is read
    visit = loaded(ctx, Visit, visit_id) or db.session.scalars(_OWN_VISIT, {"visit_id": visit_id}).unique().first()
    if visit is None:
        raise OpProblem("rejected", "Not your visit.", errors={"payload.visit_id": ["no such visit on your route"]}, code="not_your_visit")
    is_partner = _partners(ctx, visit)
    if is_partner and not partner:
        _partner_refused(ctx, visit)
    as_partner = partner and is_partner
    if visit.agent_id != ctx.agent_id and not as_partner:
        if _ever_held_visit(ctx.user_id, visit.id):
            ctx.case, ctx.visit, ctx.case_related = visit.case, visit, True
            raise OpProblem(
                "conflict",
                "The visit was reassigned to another agent.",
                server={"visit": {"id": visit.id, "removed": True}},
                code="reassigned",
            )
        raise OpProblem("rejected", "Not your visit.", errors={"payload.visit_id": ["no such visit on your route"]}, code="not_your_visit")
    ctx.case, ctx.visit, ctx.case_related = visit.case, visit, True
    if visit.status == "cancelled":
        raise OpProblem(
            "conflict",
            f"The visit was cancelled by the office: {visit.cancelled_reason or 'no reason given'}",
            server=conflict_server(ctx),
            code="visit_cancelled",
            params={"reason": visit.cancelled_reason or ""},
        )
    if not as_partner:
        _check_version(ctx, visit)
    return visit


# built once (a statement keeps its cache key). One round trip for what every visit op reads
# (case with its account, branch and flags; address; outcome), so nothing lazy-loads later;
# row-locked against a concurrent office edit (PostgreSQL; SQLite writers are serialized anyway)
_CASE_WITH = (joinedload(Case.account), joinedload(Case.branch), joinedload(Case.flags))
_OWN_VISIT = (
    select(Visit)
    .where(Visit.id == bindparam("visit_id"))
    .options(joinedload(Visit.case).options(*_CASE_WITH), joinedload(Visit.address), joinedload(Visit.outcome))
    .with_for_update(of=Visit)
)
# a case op naming its visit: the visit (a plan proposed at the door reads whom it met, R5) and its case
_VISIT_WITH_CASE = (
    select(Visit).where(Visit.id == bindparam("visit_id")).options(joinedload(Visit.case).options(*_CASE_WITH), joinedload(Visit.outcome))
)


def _check_version(ctx: OpContext, visit: Visit) -> None:
    """Stale version: the office changed the visit after the version the device based the op on.

    The device's own ops also bump the version; those applied after its base are discounted.
    """
    base = ctx.payload.get("version")
    if base is None or visit.version <= base:
        return
    own = db.session.scalars(
        select(SyncOp.result).where(
            SyncOp.visit_id == visit.id,
            SyncOp.user_id == ctx.user_id,
            SyncOp.status == "applied",
            SyncOp.type.in_(("visit.checkin", "visit.outcome")),
        )
    ).all()
    own_after = sum(1 for r in own if ((r.get("server") or {}).get("visit") or {}).get("version", 0) > base)
    if visit.version - base - own_after > 0:
        raise OpProblem(
            "conflict",
            f"The visit changed in the office since version {base} (now {visit.version}).",
            server=conflict_server(ctx),
            code="stale_version",
            params={"base": base, "now": visit.version},
        )


def own_case(ctx: OpContext) -> Case:
    """A case-level op (note, plan, signature, escalation) is judged by the visit it was recorded
    under: that visit of this case still the agent's and not cancelled → the case, the visit in
    ctx; reassigned since → conflict `reassigned`; cancelled since → conflict `visit_cancelled`;
    never theirs or not of this case → rejected. Kept either way, never applied on stale authority.
    The visit's partner (R9) holds it for PARTNER_CASE_OPS; any other case op of theirs is
    rejected with `partner_checks_in_only`."""
    case_id, visit_id = ctx.payload["case_id"], ctx.payload["visit_id"]
    lock_case(case_id)
    # visit, outcome and the case graph in one round trip
    visit = loaded(ctx, Visit, visit_id) or db.session.scalars(_VISIT_WITH_CASE, {"visit_id": visit_id}).unique().first()
    if visit is None or visit.case_id != case_id:
        raise OpProblem(
            "rejected", "Not your case.", errors={"payload.visit_id": ["no visit of this case on your route"]}, code="not_your_case"
        )
    as_partner = _partners(ctx, visit)
    if as_partner and ctx.type not in PARTNER_CASE_OPS:
        _partner_refused(ctx, visit)
    if visit.agent_id != ctx.agent_id and not as_partner:
        if _ever_held_visit(ctx.user_id, visit.id):
            ctx.case, ctx.case_related = visit.case, True
            raise OpProblem(
                "conflict",
                "The visit this was recorded under was reassigned to another agent.",
                server={"visit": {"id": visit.id, "removed": True}},
                code="reassigned",
            )
        raise OpProblem(
            "rejected", "Not your case.", errors={"payload.visit_id": ["no visit of this case on your route"]}, code="not_your_case"
        )
    ctx.case, ctx.visit, ctx.case_related = visit.case, visit, True
    if visit.status == "cancelled":
        raise OpProblem(
            "conflict",
            f"The visit this was recorded under was cancelled by the office: {visit.cancelled_reason or 'no reason given'}",
            server=conflict_server(ctx),
            code="visit_cancelled",
            params={"reason": visit.cancelled_reason or ""},
        )
    return visit.case


def sync_rules(ctx: OpContext, case: Case, visit: Visit | None) -> list:
    """SYNC re-check (policy.rules.sync_findings): a blocking flag in force when the record was
    made → conflict; a record that breaks R5/R6/R8 → rejected; outside the hours (R1) → applied
    and flagged for review. Returns the findings kept on the record."""
    now = utcnow()
    # a device clock ahead of the server must not make a flag set later look earlier
    at = min(ctx.device_at, now) if ctx.device_at else now
    raw = ctx.raw.get("payload") or {}
    # the rules read the payload as sent (terms exactly as hashed), with times already parsed
    payload = {**raw, **{k: ctx.payload[k] for k in ("disclosure_at",) if k in ctx.payload}}
    findings = sync_findings(case=case, visit=visit, op_type=ctx.type, device_at=ctx.device_at, payload=payload)
    blocked = []
    for finding in findings:
        if finding.rule != "R4":
            continue
        # a flag this agent raised itself (an escalation or an outcome at this door) does not block its own record
        if any(f.flag == finding.flag and f.is_active(at) and f.set_by_id != ctx.user_id for f in case.flags):
            blocked.append(finding)
    if blocked:
        raise OpProblem(
            "conflict",
            "The case was blocked before this was recorded: " + "; ".join(f.message for f in blocked),
            server={"case": case_state(case), **conflict_server(ctx)},
            code="case_blocked",
            params={"flags": [f.flag for f in blocked], "n": len(blocked)},
        )
    refused = [f for f in findings if f.rule in REFUSING_RULES]
    if refused:
        errors: dict = {}
        for f in refused:
            errors.setdefault(REFUSING_RULES[f.rule], []).append(f.message)
        first = refused[0]
        raise OpProblem(
            "rejected",
            first.message,
            errors=errors,
            code="no_disclosure" if first.rule == "R6" else "compliance",
            params={"rule": first.rule, "finding": first.code, **first.params},
        )
    return [f.as_dict() for f in findings if f.rule != "R4"]


# rules whose finding refuses the record (the field it is about), rather than flagging it
REFUSING_RULES = {"R5": "payload.met", "R6": "payload.disclosure_at", "R8": "payload.terms_hash"}


def case_state(case: Case) -> dict:
    return {"id": case.id, "version": case.version, "flags": [{"flag": f.flag, "reason": f.reason} for f in case.active_flags()]}


def visit_state(visit: Visit) -> dict:
    return {
        "id": visit.id,
        "case_id": visit.case_id,
        "version": visit.version,
        "status": visit.status,
        "date": visit.date.isoformat(),
        "agent_id": visit.agent_id,
        "cancelled_reason": visit.cancelled_reason,
        "checkin_at": visit.checkin_at.isoformat() + "Z" if visit.checkin_at else None,
        "checkin_distance_m": visit.checkin_distance_m,
        "checkin_flag": visit.checkin_flag,
        "partner_id": visit.partner_id,
        "partner_checkin_at": visit.partner_checkin_at.isoformat() + "Z" if visit.partner_checkin_at else None,
        "checkout_at": visit.checkout_at.isoformat() + "Z" if visit.checkout_at else None,
        "outcome": visit.outcome.code if visit.outcome is not None else None,
    }


def ladder_open(ctx: OpContext, visit: Visit) -> None:
    """A record made after the case was closed, or moved on the ladder since its visit was
    published (back down, handed to legal) → conflict `case_closed` / `stage_changed`; one made
    at the door before the move applies. Notes and escalations are not held back (R16)."""
    now = utcnow()
    stop = work_stopped(visit, min(ctx.device_at, now) if ctx.device_at else now)
    if stop is None:
        return
    detail = (
        "The case was closed by the office."
        if stop["code"] == "case_closed"
        else f"The case moved to the {stop['stage']} stage; field work on this visit stopped."
    )
    raise OpProblem(
        "conflict",
        detail,
        server={**conflict_server(ctx), "case": {"id": visit.case_id, "stage": stop["stage"]}},
        code=stop["code"],
        params={"stage": stop["stage"]},
    )


def conflict_server(ctx: OpContext) -> dict:
    if ctx.visit is not None and ctx.agent_id is not None and ctx.agent_id in (ctx.visit.agent_id, ctx.visit.partner_id):
        return {"visit": visit_state(ctx.visit)}
    return {}


def plan_from_ref(ctx: OpContext, *, plan_id: int | None, plan_ref: str | None, field_name: str) -> RepaymentPlan:
    """A plan named by the device's plan_ref (proposed offline) or by its server id."""
    if plan_id is None:
        first = db.session.connection().execute(_FIRST_PROPOSAL, {"plan_ref": plan_ref, "user_id": ctx.user_id}).first()
        if first is None:
            raise OpProblem(
                "rejected",
                "Unknown plan_ref: send its plan.propose first.",
                errors={f"payload.{field_name}": ["no plan.propose with this plan_ref"]},
                code="unknown_plan",
            )
        if first.status != "applied":
            raise OpProblem(
                "conflict",
                f"The plan it refers to was not accepted ({first.status}): {first.result.get('detail')}",
                code="plan_not_applied",
                params={"opstate": first.status},
            )
        plan_id = first.result["server"]["plan_id"]
    plan = db.session.scalars(_PLAN, {"plan_id": plan_id}).first()
    if plan is None or plan.case_id != ctx.case.id:
        raise OpProblem(
            "rejected", "No such plan on this case.", errors={f"payload.{field_name}": ["not a plan of this case"]}, code="unknown_plan"
        )
    return plan


# the op that first proposed a plan_ref: its answer names the plan (only the columns read)
_FIRST_PROPOSAL = (
    select(SyncOp.status, SyncOp.result)
    .where(SyncOp.plan_ref == bindparam("plan_ref"), SyncOp.user_id == bindparam("user_id"))
    .order_by(SyncOp.received_at)
    .limit(1)
)
_PLAN = select(RepaymentPlan).where(RepaymentPlan.id == bindparam("plan_id"))
