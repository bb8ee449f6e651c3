"""The op types, each registered once as {type: (PayloadSchema, handler)}.

A handler checks the op's preconditions (sync.preconditions), then calls ONE domain service,
which does the work and writes the timeline: the sync layer adds the exactly-once record and
nothing else of its own.
"""

import base64
import binascii

from flask import current_app
from sqlalchemy import exists, select

from ..cases.services import add_note
from ..common import sha256_hex, utcnow
from ..escalations.services import escalate_from_door
from ..extensions import db
from ..payments.collections import record_collection
from ..plans.services import PNG_MAGIC, add_signature, create_plan, terms_hash_of
from ..policy.rules import Finding, jurisdiction_for, overlong_visit_findings, rules_snapshot
from ..presence.services import add_photo
from ..visits.services import checkin_visit, checkout_visit, record_outcome
from .context import OpContext, OpProblem
from .models import SyncOp
from .preconditions import case_state, ladder_open, own_case, own_visit, plan_from_ref, sync_rules, visit_state
from .schemas import (
    CheckinPayload,
    CheckoutPayload,
    EscalatePayload,
    NotePayload,
    OutcomePayload,
    PaymentRecordPayload,
    PhotoPayload,
    PlanProposePayload,
    SignaturePayload,
)


def _checkin(ctx: OpContext) -> dict:
    """The lead's check-in moves the visit on; its partner's (R9) is recorded as theirs."""
    visit = own_visit(ctx, partner=True)
    ladder_open(ctx, visit)
    findings = sync_rules(ctx, visit.case, visit)
    jurisdiction = jurisdiction_for(visit.case, visit.address)
    checkin_visit(
        visit=visit,
        at=ctx.device_at,
        lat=ctx.payload["lat"],
        lon=ctx.payload["lon"],
        accuracy_m=ctx.payload["accuracy_m"],
        reason_far=ctx.payload.get("reason_far"),
        max_distance_m=rules_snapshot(jurisdiction)["checkin_max_distance_m"],
        findings=[Finding(f["rule"], f["message"], code=f.get("code"), params=f.get("params") or {}) for f in findings],
        actor_id=ctx.user_id,
        op_id=ctx.op_id,
        agent_id=ctx.agent_id,
    )
    return {"visit": visit_state(visit)}


def _checkout(ctx: OpContext) -> dict:
    """R11: an overlong visit is checked out all the same, its warning kept for review."""
    visit = own_visit(ctx)
    warnings = overlong_visit_findings(case=visit.case, visit=visit, at=ctx.device_at)
    checkout_visit(
        visit=visit,
        at=ctx.device_at,
        lat=ctx.payload.get("lat"),
        lon=ctx.payload.get("lon"),
        actor_id=ctx.user_id,
        op_id=ctx.op_id,
        findings=warnings,
    )
    return {"visit": visit_state(visit), "warnings": [w.as_dict() for w in warnings]}


def _outcome(ctx: OpContext) -> dict:
    visit = own_visit(ctx)
    ladder_open(ctx, visit)
    p = ctx.payload
    findings = sync_rules(ctx, visit.case, visit)
    data = {
        k: str(p[k]) if k in ("amount", "due_date") else p[k]
        for k in ("amount", "due_date", "reason", "plan_id", "plan_ref")
        if p.get(k) is not None
    }
    plan = None
    if p.get("plan_id") is not None or p.get("plan_ref"):
        plan = plan_from_ref(ctx, plan_id=p.get("plan_id"), plan_ref=p.get("plan_ref"), field_name="plan_ref")
    outcome = record_outcome(
        visit=visit,
        code=p["code"],
        met=p["met"],
        disclosure_at=p.get("disclosure_at"),
        data=data,
        plan=plan,
        recorded_at=ctx.device_at,
        actor_id=ctx.user_id,
        compliance_flags=findings,
        op_id=ctx.op_id,
        disclosure_lat=p.get("disclosure_lat"),
        disclosure_lon=p.get("disclosure_lon"),
        follow_up_date=p.get("follow_up_date"),
        follow_up_note=p.get("follow_up_note"),
        strategy=p.get("strategy"),
        script=p.get("script"),
    )
    return {
        "visit": visit_state(visit),
        "outcome_id": outcome.id,
        "plan_id": outcome.data.get("plan_id"),
        "compliance_flags": outcome.compliance_flags,
    }


def _propose(ctx: OpContext) -> dict:
    case = own_case(ctx)
    ladder_open(ctx, ctx.visit)
    p = ctx.payload
    ctx.record.plan_ref = p["plan_ref"]
    raw_terms = ctx.raw["payload"]["terms"]
    computed = terms_hash_of(raw_terms)
    if computed != p["terms_hash"]:
        raise OpProblem(
            "rejected",
            "terms_hash is not the SHA-256 of the canonical terms.",
            errors={"payload.terms_hash": [f"the server computed {computed}"]},
            code="terms_hash_mismatch",
        )
    used = db.session.scalar(
        select(
            exists().where(
                SyncOp.plan_ref == p["plan_ref"], SyncOp.user_id == ctx.user_id, SyncOp.id != ctx.op_id, SyncOp.status == "applied"
            )
        )
    )
    if used:
        raise OpProblem(
            "rejected",
            "This plan_ref was already proposed; make a new one for new terms.",
            errors={"payload.plan_ref": ["already used"]},
            code="plan_ref_used",
        )
    sync_rules(ctx, case, ctx.visit)
    plan = create_plan(
        case=case, terms=raw_terms, actor_id=ctx.user_id, role="agent", visit_id=p["visit_id"], op_id=ctx.op_id, plan_ref=p["plan_ref"]
    )
    return {
        "plan_id": plan.id,
        "plan_ref": p["plan_ref"],
        "status": plan.status,
        "terms_hash": plan.terms_hash,
        "findings": plan.policy_findings,
    }


def _signature(ctx: OpContext) -> dict:
    case = own_case(ctx)
    ladder_open(ctx, ctx.visit)
    p = ctx.payload
    plan = plan_from_ref(
        ctx, plan_id=p.get("plan_id"), plan_ref=p.get("plan_ref"), field_name="plan_ref" if p.get("plan_ref") else "plan_id"
    )
    sync_rules(ctx, case, ctx.visit)
    if p["terms_hash"] != plan.terms_hash:
        raise OpProblem(
            "rejected",
            "The signature is for other terms than the plan's.",
            errors={"payload.terms_hash": [f"the plan's terms hash is {plan.terms_hash}"]},
            code="terms_hash_mismatch",
        )
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(str(p["strokes"])) > limit:
        raise OpProblem(
            "rejected",
            "The stroke data is too large.",
            errors={"payload.strokes": [f"over {limit} bytes"]},
            code="too_large",
            params={"limit": limit},
        )
    png = None if p["refused"] else _attachment(p["png_base64"], p["png_sha256"], field="png", magic=PNG_MAGIC, what="signature image")
    signature = add_signature(
        case=case,
        plan=plan,
        terms_hash=p["terms_hash"],
        actor_id=ctx.user_id,
        signed_at=ctx.device_at,
        png=png,
        strokes=p["strokes"],
        signer_name=p["signer_name"],
        refused_reason=p.get("reason") if p["refused"] else None,
        visit_id=p["visit_id"],
        op_id=ctx.op_id,
    )
    return {"signature_id": signature.id, "plan_id": plan.id, "blob_sha256": signature.blob_sha256, "refused": signature.refused}


def _attachment(encoded: str, claimed_sha: str, *, field: str, magic: bytes, what: str) -> bytes:
    """Size first (from the base64 length, before decoding or storing), then bytes, type and hash.
    `field`: the payload's prefix (png → png_base64 and png_sha256; jpeg → jpeg_base64 and sha256)."""
    data_field = f"payload.{field}_base64"
    sha_field = "payload.png_sha256" if field == "png" else "payload.sha256"
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    estimate = len(encoded) * 3 // 4 - encoded[-2:].count("=")
    if estimate > limit:
        raise OpProblem(
            "rejected",
            f"The {what} is {estimate} bytes, over the {limit}-byte limit; resize it on the device.",
            errors={data_field: [f"over {limit} bytes"]},
            code="too_large",
            params={"limit": limit},
        )
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpProblem(
            "rejected", f"{field}_base64 is not valid base64.", errors={data_field: ["not valid base64"]}, code="validation_error"
        ) from exc
    if not data.startswith(magic):
        raise OpProblem(
            "rejected", f"The {what} is not a {field.upper()}.", errors={data_field: [f"not a {field.upper()}"]}, code="validation_error"
        )
    if sha256_hex(data) != claimed_sha:
        raise OpProblem(
            "rejected",
            f"The {what}'s bytes do not match {sha_field.split('.')[1]} (damaged in transit?).",
            errors={sha_field: ["does not match the bytes"]},
            code="hash_mismatch",
        )
    return data


JPEG_MAGIC = b"\xff\xd8\xff"


def _photo(ctx: OpContext) -> dict:
    """A photo of the door or building; accepted on a blocked case too (it is evidence of the visit)."""
    visit = own_visit(ctx)
    p = ctx.payload
    data = _attachment(p["jpeg_base64"], p["sha256"], field="jpeg", magic=JPEG_MAGIC, what="photo")
    photo = add_photo(visit=visit, data=data, kind=p["kind"], taken_at=ctx.device_at or utcnow(), actor_id=ctx.user_id, op_id=ctx.op_id)
    return {"photo_id": photo.id, "sha256": photo.blob_sha256}


def _note(ctx: OpContext) -> dict:
    case = own_case(ctx)
    note = add_note(
        case=case,
        text=ctx.payload["text"],
        author_id=ctx.user_id,
        visit_id=ctx.payload["visit_id"],
        created_at=ctx.device_at,
        op_id=ctx.op_id,
    )
    return {"note_id": note.id, "review_flag": note.review_flag}


def _escalate(ctx: OpContext) -> dict:
    """R16: always accepted from the door, even on a blocked case; the playbook routes it to a ticket."""
    case = own_case(ctx)
    p = ctx.payload
    escalate_from_door(case=case, kind=p["kind"], reason=p["reason"], actor_id=ctx.user_id, visit_id=p["visit_id"], op_id=ctx.op_id)
    return {"case": case_state(case)}


def _payment(ctx: OpContext) -> dict:
    """Money taken at the door is recorded whatever the case's flags (refusing the record would
    not give the cash back); only the authority of the visit it was taken under is checked."""
    case = own_case(ctx)
    p = ctx.payload
    collection = record_collection(
        case=case,
        visit_id=p["visit_id"],
        agent_id=ctx.agent_id,
        actor_id=ctx.user_id,
        amount=p["amount"],
        currency=p["currency"],
        method=p["method"],
        reference=p.get("reference"),
        collected_at=ctx.device_at,
        op_id=ctx.op_id,
    )
    return {
        "collection": {
            "id": collection.id,
            "receipt_number": collection.receipt_number,
            "verify_code": collection.verify_code,
            "amount": str(collection.amount),
            "currency": collection.currency,
            "method": collection.method,
            "status": collection.status,
        }
    }


OPS = {
    "visit.checkin": (CheckinPayload, _checkin),
    "visit.checkout": (CheckoutPayload, _checkout),
    "visit.outcome": (OutcomePayload, _outcome),
    "plan.propose": (PlanProposePayload, _propose),
    "signature.add": (SignaturePayload, _signature),
    "note.add": (NotePayload, _note),
    "case.escalate": (EscalatePayload, _escalate),
    "payment.record": (PaymentRecordPayload, _payment),
    "photo.add": (PhotoPayload, _photo),
}
