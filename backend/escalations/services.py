"""Escalation tickets (R16, seed playbook item 10): complaints, disputes, legal questions and
lawyer letters go to the supervisor or legal queue with an SLA; the case carries the blocking
`escalated` flag until a resolution clears it.

Raised by the API (POST /api/escalations: raise_ticket) or by the device's `case.escalate` op
(escalate_from_door).
"""

from datetime import timedelta

from sqlalchemy import select

from ..cases.models import Case
from ..cases.services import append_event, clear_flag, set_flag
from ..common import utcnow
from ..errors import abort
from ..extensions import db
from ..policy.rules import jurisdiction_for
from ..policy.settings import effective_settings
from .models import KINDS, EscalationTicket

FLAG = "escalated"


def queue_for(kind: str) -> str:
    return KINDS.get(kind, "supervisor")


def raise_ticket(*, case: Case, kind: str, reason: str, actor_id: int | None, source: str = "api") -> EscalationTicket:
    """Open a ticket in the right queue with its SLA, and block visits with the escalated flag."""
    kind = kind if kind in KINDS else "other"
    queue = queue_for(kind)
    hours = effective_settings(jurisdiction_for(case))["escalation_sla_hours"][queue]
    now = utcnow()
    ticket = EscalationTicket(
        case_id=case.id,
        queue=queue,
        kind=kind,
        reason=reason or kind,
        status="open",
        sla_due_at=now + timedelta(hours=hours),
        raised_by_id=actor_id,
        raised_at=now,
        source=source,
    )
    db.session.add(ticket)
    db.session.flush()
    # the caller may have set the flag a moment ago (the sync op does): read the flags afresh
    db.session.expire(case, ["flags"])
    if not any(f.flag == FLAG for f in case.active_flags()):
        set_flag(case=case, flag=FLAG, reason=f"{queue} ticket {ticket.id}: {ticket.reason}"[:500], actor_id=actor_id)
    append_event(
        case=case,
        kind="escalation.raised",
        actor_id=actor_id,
        data={"ticket_id": ticket.id, "queue": queue, "kind": kind, "reason": ticket.reason, "sla_due_at": ticket.sla_due_at.isoformat()},
    )
    return ticket


def escalate_from_door(
    *, case: Case, kind: str, reason: str, actor_id: int, visit_id: int | None = None, op_id: str | None = None
) -> EscalationTicket:
    """R16 from the device (the case.escalate op): always accepted, even on a blocked case; on the
    timeline as the agent raised it, then a ticket in its queue, which blocks visits."""
    append_event(
        case=case, kind="case.escalated", actor_id=actor_id, data={"kind": kind, "reason": reason, "visit_id": visit_id, "op_id": op_id}
    )
    return raise_ticket(case=case, kind=kind or "other", reason=reason or "", actor_id=actor_id, source="device")


def tickets_query(*, queue=None, status=None, case_id=None, overdue=None):
    stmt = select(EscalationTicket).order_by(EscalationTicket.sla_due_at, EscalationTicket.id)
    if queue:
        stmt = stmt.where(EscalationTicket.queue == queue)
    if status:
        stmt = stmt.where(EscalationTicket.status == status)
    if case_id:
        stmt = stmt.where(EscalationTicket.case_id == case_id)
    if overdue is not None:
        now = utcnow()
        late = (EscalationTicket.status != "resolved") & (EscalationTicket.sla_due_at < now)
        stmt = stmt.where(late if overdue else ~late)
    return stmt


def get_ticket(ticket_id: int) -> EscalationTicket:
    ticket = db.session.get(EscalationTicket, ticket_id)
    if ticket is None:
        abort(404, f"No escalation ticket {ticket_id}.")
    return ticket


def claim_ticket(*, ticket: EscalationTicket, actor_id: int) -> EscalationTicket:
    if ticket.status != "open":
        abort(409, f"This ticket is {ticket.status}.", code="bad_transition")
    ticket.status, ticket.claimed_by_id, ticket.claimed_at = "claimed", actor_id, utcnow()
    append_event(case=ticket.case, kind="escalation.claimed", actor_id=actor_id, data={"ticket_id": ticket.id})
    return ticket


def resolve_ticket(*, ticket: EscalationTicket, resolution: str, clear: bool, actor_id: int) -> EscalationTicket:
    """Close the ticket; with `clear`, lift the escalated flag once no other ticket on the case is open."""
    if ticket.status == "resolved":
        abort(409, "This ticket is already resolved.", code="bad_transition")
    ticket.status, ticket.resolution, ticket.resolved_by_id, ticket.resolved_at = "resolved", resolution, actor_id, utcnow()
    if ticket.claimed_by_id is None:
        ticket.claimed_by_id, ticket.claimed_at = actor_id, ticket.resolved_at
    db.session.flush()
    others = db.session.scalar(
        select(EscalationTicket.id)
        .where(EscalationTicket.case_id == ticket.case_id, EscalationTicket.status != "resolved", EscalationTicket.id != ticket.id)
        .limit(1)
    )
    case = ticket.case
    db.session.expire(case, ["flags"])
    if clear and others is None and any(f.flag == FLAG for f in case.active_flags()):
        clear_flag(case=case, flag=FLAG, reason=f"ticket {ticket.id} resolved: {resolution}"[:500], actor_id=actor_id)
        ticket.flag_cleared = True
    append_event(
        case=case,
        kind="escalation.resolved",
        actor_id=actor_id,
        data={
            "ticket_id": ticket.id,
            "resolution": resolution,
            "flag_cleared": ticket.flag_cleared,
            "open_tickets_left": others is not None,
        },
    )
    return ticket
