"""The owner's queue of device ops kept as conflicts or rejections, and their review."""

from sqlalchemy import select

from ..auth.models import User
from ..cases.models import Case
from ..cases.services import append_event
from ..common import iso_z, utcnow
from ..errors import abort
from ..extensions import db
from ..org.models import Agent
from .models import SyncOp


def exceptions_query(*, status=None, reviewed=None, case_id=None, agent_id=None, owner_id=None, type=None):

    stmt = select(SyncOp).where(SyncOp.status.in_(("conflict", "rejected"))).order_by(SyncOp.received_at.desc(), SyncOp.id)
    if status:
        stmt = stmt.where(SyncOp.status == status)
    if reviewed is not None:
        stmt = stmt.where(SyncOp.reviewed_at.is_not(None) if reviewed else SyncOp.reviewed_at.is_(None))
    if case_id:
        stmt = stmt.where(SyncOp.case_id == case_id)
    if agent_id:
        stmt = stmt.where(SyncOp.user_id.in_(select(Agent.user_id).where(Agent.id == agent_id)))
    if owner_id:
        stmt = stmt.where(SyncOp.case_id.in_(select(Case.id).where(Case.owner_id == owner_id)))
    if type:
        stmt = stmt.where(SyncOp.type == type)
    return stmt


def exception_item(op: SyncOp) -> dict:

    user = db.session.get(User, op.user_id)
    case = db.session.get(Case, op.case_id) if op.case_id else None
    result = op.result or {}
    return {
        "op": {"id": op.id, "type": op.type, "at": iso_z(op.device_at), "payload": op.payload, "visit_id": op.visit_id},
        "status": op.status,
        "reason": result.get("detail"),
        "code": result.get("code"),
        "params": result.get("params") or {},
        "errors": result.get("errors") or {},
        "case": {"id": case.id, "debtor_name": case.account.debtor.name, "owner_id": case.owner_id, "stage": case.stage} if case else None,
        "device_id": op.device_id,
        "agent": {
            "user_id": user.id,
            "agent_id": user.agent.id if user.agent else None,
            "name": user.display_name,
        }
        if user
        else None,
        "received_at": op.received_at,
        "reviewed_at": op.reviewed_at,
        "reviewed_by_id": op.reviewed_by_id,
        "review_note": op.review_note,
    }


def review_exception(*, op_id: str, note: str, actor_id: int) -> SyncOp:
    """The owner has looked at a kept op: who, when and what they decided, also on the timeline."""

    op = db.session.get(SyncOp, op_id)
    if op is None or op.status not in ("conflict", "rejected"):
        abort(404, f"No conflict or rejection with op id {op_id}.")
    op.reviewed_at = utcnow()
    op.reviewed_by_id = actor_id
    op.review_note = note
    if op.case_id:
        append_event(
            case=db.session.get(Case, op.case_id),
            kind="sync.reviewed",
            actor_id=actor_id,
            data={"op_id": op.id, "type": op.type, "status": op.status, "note": note},
        )
    return op
