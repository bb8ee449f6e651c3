"""Repayment plans: proposal (from the device), owner decisions, signatures and their bytes."""

from datetime import date
from decimal import Decimal

from sqlalchemy import exists, select

from ..cases.models import Case
from ..cases.services import _open_visit_agent_user_ids, agent_case_ids_subquery, agent_of, append_event, user_may_see_case
from ..common import canonical_json, sha256_hex, utcnow
from ..db import insert_ignoring_conflict
from ..errors import abort
from ..events import emit
from ..extensions import db
from ..feed import MARKS_OPTION, insert_row, record_change
from ..org.models import Agent
from ..policy.plan_policy import evaluate_plan
from .models import OPEN_STATUSES, Blob, Installment, RepaymentPlan, Signature

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def terms_hash_of(terms: dict) -> str:
    """R8: SHA-256 of the canonical JSON of the terms, exactly as the device hashed them."""
    return sha256_hex(canonical_json(terms))


def create_plan(
    *,
    case: Case,
    terms: dict,
    actor_id: int,
    role: str,
    visit_id: int | None = None,
    op_id: str | None = None,
    plan_ref: str | None = None,
) -> RepaymentPlan:
    """Check the terms against the plan policy and record the plan; it supersedes the open one.

    Within the proposer's authority the plan is active at once; beyond it, it waits for the
    case owner (pending_approval) — never blocked. Invalid terms abort 422 with the findings.
    """
    verdict = evaluate_plan(terms=terms, case=case, role=role)
    if verdict["status"] == "invalid":
        errors: dict = {}
        for finding in verdict["findings"]:
            errors.setdefault(f"terms.{finding['field']}", []).append(finding["message"])
        abort(422, "The plan breaks the plan policy.", errors=errors, code="plan_policy", findings=verdict["findings"])
    status = "pending_approval" if verdict["status"] == "pending_approval" else "active"
    discount = Decimal(str(terms.get("discount_pct", "0")))
    schedule = terms.get("schedule") or []
    values = dict(
        case_id=case.id,
        visit_id=visit_id,
        kind=terms["kind"],
        status=status,
        currency=terms.get("currency", "CNY"),
        total_amount=Decimal(str(terms.get("payable", terms["total"]))),
        down_payment=Decimal(str(terms.get("down_payment", "0"))),
        discount_pct=discount,
        term_months=len(schedule) if terms["kind"] != "promise" else 0,
        terms=terms,
        terms_hash=terms_hash_of(terms),
        policy_version=verdict["policy_version"],
        policy_findings=verdict["findings"],
        created_by_id=actor_id,
        op_id=op_id,
        plan_ref=plan_ref,
        created_at=utcnow(),
    )
    # a plain INSERT (the sync path's hot write): the plan returned is not in the session
    plan = insert_row(RepaymentPlan, values)
    if schedule:
        # one executemany, not one flushed INSERT per installment (a year's plan has twelve)
        db.session.connection().execute(
            _INSERT_INSTALLMENT,
            [
                {
                    "plan_id": plan.id,
                    "seq": int(item["seq"]),
                    "due_date": date.fromisoformat(str(item["due_date"])),
                    "amount": Decimal(str(item["amount"])),
                    "paid_amount": Decimal("0"),
                    "status": "due",
                }
                for item in schedule
            ],
            # the packets this touches are the case's (named here, so no plan -> case look-up at commit)
            execution_options={MARKS_OPTION: {"case": {case.id}}},
        )
    superseded = _supersede_open_plans(case_id=case.id, by=plan)
    append_event(
        case=case,
        kind="plan.proposed",
        actor_id=actor_id,
        data={
            "plan_id": plan.id,
            "kind": plan.kind,
            "status": plan.status,
            "terms_hash": plan.terms_hash,
            "payable": str(plan.total_amount),
            "superseded": superseded,
            "op_id": op_id,
        },
    )
    emit("plan.proposed", plan=plan)
    return plan


_INSERT_INSTALLMENT = Installment.__table__.insert()


def _supersede_open_plans(*, case_id: int, by: RepaymentPlan) -> list[int]:
    """One open plan or promise per account: the new one supersedes the old, history kept."""
    old = db.session.scalars(
        select(RepaymentPlan).where(
            RepaymentPlan.case_id == case_id,
            RepaymentPlan.status.in_(OPEN_STATUSES),
            RepaymentPlan.id != by.id,
        )
    ).all()
    for plan in old:
        plan.status = "superseded"
        plan.superseded_by_id = by.id
    return [plan.id for plan in old]


def plans_query(*, user, status: str | None = None, agent_id: int | None = None, case_id: int | None = None):
    stmt = select(RepaymentPlan).order_by(RepaymentPlan.id.desc())
    if user.role == "agent":
        stmt = stmt.where(RepaymentPlan.case_id.in_(agent_case_ids_subquery(agent_of(user))))
    if status:
        stmt = stmt.where(RepaymentPlan.status == status)
    if agent_id:
        stmt = stmt.where(RepaymentPlan.created_by_id.in_(select(Agent.user_id).where(Agent.id == agent_id)))
    if case_id:
        stmt = stmt.where(RepaymentPlan.case_id == case_id)
    return stmt


def get_plan_for_user(plan_id: int, *, user) -> RepaymentPlan:
    plan = db.session.get(RepaymentPlan, plan_id)
    if plan is None or not user_may_see_case(plan.case_id, user=user):
        abort(404, f"No plan {plan_id}.")
    return plan


def decide_plan(*, plan: RepaymentPlan, approve: bool, reason: str, actor) -> RepaymentPlan:
    """The case owner's decision on a plan beyond the agent's authority; the agent learns it in the delta feed."""
    if plan.status != "pending_approval":
        abort(409, f"Only a plan pending approval can be decided; this one is {plan.status}.", code="bad_transition")
    if approve:
        # other review reasons (a past first date, a token installment…) are what the approver
        # is there to judge; only a discount beyond the approver's own authority goes higher
        verdict = evaluate_plan(terms=plan.terms, case=db.session.get(Case, plan.case_id), role=actor.role)
        beyond = [f for f in verdict["findings"] if f.get("rule") == "discount_authority"]
        if beyond or verdict["status"] == "invalid":
            abort(
                403,
                beyond[0]["message"] if beyond else "The plan no longer passes the plan policy.",
                code="beyond_authority",
                findings=verdict["findings"],
                approver_role=verdict.get("approver_role"),
            )
    plan.status = "active" if approve else "rejected"
    plan.decided_by_id = actor.id
    plan.decided_at = utcnow()
    plan.decision_reason = reason
    case = db.session.get(Case, plan.case_id)
    append_event(
        case=case,
        kind="plan.approved" if approve else "plan.rejected",
        actor_id=actor.id,
        data={"plan_id": plan.id, "terms_hash": plan.terms_hash, "reason": reason},
    )
    user_ids = _plan_audience(plan)
    data = decision_payload(plan)
    for user_id in user_ids:
        record_change(user_id=user_id, kind="plan.decided", ref_type="plan", ref_id=plan.id, data=data)
    emit("plan.decided", plan=plan, user_ids=user_ids)
    return plan


def decision_payload(plan: RepaymentPlan) -> dict:
    return {
        "plan_id": plan.id,
        "plan_ref": plan.plan_ref,
        "case_id": plan.case_id,
        "status": plan.status,
        "terms_hash": plan.terms_hash,
        "reason": plan.decision_reason,
        "decided_at": plan.decided_at.isoformat() + "Z" if plan.decided_at else None,
    }


def _plan_audience(plan: RepaymentPlan) -> set[int]:
    """The proposing agent, and any agent holding an open visit on the case."""

    users = set(_open_visit_agent_user_ids(db.session.get(Case, plan.case_id)))
    if plan.created_by_id is not None and db.session.scalar(select(exists().where(Agent.user_id == plan.created_by_id))):
        users.add(plan.created_by_id)
    return users


# --- attachments ----------------------------------------------------------------


def store_blob(*, data: bytes, content_type: str) -> str:
    """Content-addressed: the same bytes are stored once, whoever sends them first."""
    digest = sha256_hex(data)
    # two devices may send the same bytes at once: the loser's insert is a no-op, not an error
    db.session.connection().execute(
        insert_ignoring_conflict(Blob, key=("sha256",)),
        {"sha256": digest, "content_type": content_type, "size": len(data), "data": data, "created_at": utcnow()},
    )
    return digest


def add_signature(
    *,
    case: Case,
    plan: RepaymentPlan,
    terms_hash: str,
    actor_id: int,
    signed_at,
    png: bytes | None = None,
    strokes: list | None = None,
    signer_name: str = "",
    refused_reason: str | None = None,
    visit_id: int | None = None,
    op_id: str | None = None,
) -> Signature:
    """The debtor's signature of the plan's terms (its image stored content-addressed), or the
    refusal to sign; on the timeline either way."""
    if terms_hash != plan.terms_hash:
        abort(
            422,
            "The signature is for other terms than the plan's.",
            errors={"terms_hash": [f"the plan's terms hash is {plan.terms_hash}"]},
            code="terms_hash_mismatch",
        )
    blob_sha256 = store_blob(data=png, content_type="image/png") if png is not None else None
    values = {
        "case_id": case.id,
        "plan_id": plan.id,
        "visit_id": visit_id or plan.visit_id,
        "blob_sha256": blob_sha256,
        "terms_hash": terms_hash,
        "strokes": strokes or [],
        "signer_name": signer_name,
        "refused": refused_reason is not None,
        "refused_reason": refused_reason,
        "signed_at": signed_at,
        "op_id": op_id,
    }
    # a plain INSERT: nothing reads the row back through the session in this transaction
    signature = insert_row(Signature, values)
    append_event(
        case=case,
        kind="plan.signature_refused" if signature.refused else "plan.signed",
        actor_id=actor_id,
        data={
            "plan_id": plan.id,
            "signature_id": signature.id,
            "terms_hash": terms_hash,
            "blob_sha256": blob_sha256,
            "reason": refused_reason,
            "op_id": op_id,
        },
    )
    return signature


def get_blob_for_user(sha256: str, *, user) -> Blob:
    """A blob is visible to whoever may see a case one of its signatures belongs to."""
    blob = db.session.get(Blob, sha256.lower())
    if blob is None:
        abort(404, "No such attachment.")
    if user.role == "agent":
        case_ids = db.session.scalars(select(Signature.case_id).where(Signature.blob_sha256 == blob.sha256)).all()
        if not any(user_may_see_case(case_id, user=user) for case_id in set(case_ids)):
            abort(404, "No such attachment.")
    return blob
