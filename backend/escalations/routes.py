from flask import g
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, roles
from ..cases.services import get_case_for_user
from ..common import paginate
from ..extensions import db
from .schemas import TicketCreateSchema, TicketPageSchema, TicketQuerySchema, TicketResolveSchema, TicketSchema
from .services import claim_ticket, get_ticket, raise_ticket, resolve_ticket, tickets_query

blp = Blueprint("escalations", __name__, url_prefix="/api/escalations", description="Escalation queues (R16)")
WORKERS = ("owner", "admin")


@blp.route("", methods=["POST"])
@roles(*ANY_ROLE)
@blp.arguments(TicketCreateSchema)
@blp.response(201, TicketSchema)
def post_ticket(args):
    """Escalate a case: a ticket in the supervisor or legal queue, and visits blocked until cleared"""
    case = get_case_for_user(args["case_id"], user=g.user)
    ticket = raise_ticket(case=case, kind=args["kind"], reason=args["reason"], actor_id=g.user.id)
    db.session.commit()
    return ticket


@blp.route("", methods=["GET"])
@roles(*WORKERS)
@blp.arguments(TicketQuerySchema, location="query")
@blp.response(200, TicketPageSchema)
def get_tickets(args):
    """The queues: tickets by queue, status, case, and whether past their SLA (earliest due first)"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(tickets_query(**args), page, per_page)


@blp.route("/<int:ticket_id>", methods=["GET"])
@roles(*WORKERS)
@blp.response(200, TicketSchema)
def get_one_ticket(ticket_id):
    """One ticket"""
    return get_ticket(ticket_id)


@blp.route("/<int:ticket_id>/claim", methods=["POST"])
@roles(*WORKERS)
@blp.response(200, TicketSchema)
def post_claim(ticket_id):
    """Take a ticket from its queue"""
    ticket = claim_ticket(ticket=get_ticket(ticket_id), actor_id=g.user.id)
    db.session.commit()
    return ticket


@blp.route("/<int:ticket_id>/resolve", methods=["POST"])
@roles(*WORKERS)
@blp.arguments(TicketResolveSchema)
@blp.response(200, TicketSchema)
def post_resolve(args, ticket_id):
    """Resolve a ticket; by default the case's escalated flag is cleared when no other ticket is open"""
    ticket = resolve_ticket(ticket=get_ticket(ticket_id), resolution=args["resolution"], clear=args["clear_flag"], actor_id=g.user.id)
    db.session.commit()
    return ticket
