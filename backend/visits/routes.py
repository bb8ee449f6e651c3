from flask import g
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, roles
from ..common import paginate
from ..errors import abort
from ..extensions import db
from .schemas import (
    VisitAssignSchema,
    VisitCancelSchema,
    VisitCreateSchema,
    VisitDetailSchema,
    VisitPageSchema,
    VisitQuerySchema,
    VisitSchema,
)
from .services import assign_visit, cancel_visit, create_visit, get_visit_for_user, visits_query

blp = Blueprint("visits", __name__, url_prefix="/api/visits", description="Home visits")


@blp.route("", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(VisitQuerySchema, location="query")
@blp.response(200, VisitPageSchema)
def get_visits(args):
    """Visits by date, agent, status or case (an agent sees only its own)"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(visits_query(user=g.user, **args), page, per_page)


@blp.route("", methods=["POST"])
@roles("dispatcher", "admin")
@blp.arguments(VisitCreateSchema)
@blp.response(201, VisitSchema)
@blp.alt_response(409, description="A compliance rule forbids this visit (the rule and flag are named)")
def post_visit(args):
    """Plan a visit to a case; the legal window comes from the debtor's timezone"""
    visit = create_visit(actor_id=g.user.id, **args)
    db.session.commit()
    return visit


@blp.route("/<int:visit_id>", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, VisitDetailSchema)
def get_visit(visit_id):
    """One visit, with its presence score"""
    return get_visit_for_user(visit_id, user=g.user)


@blp.route("/<int:visit_id>/cancel", methods=["POST"])
@roles("dispatcher", "owner", "admin")
@blp.arguments(VisitCancelSchema)
@blp.response(200, VisitSchema)
def post_cancel(args, visit_id):
    """Cancel a visit; the agent's device learns it in the next delta"""
    visit = get_visit_for_user(visit_id, user=g.user)
    cancel_visit(visit=visit, reason=args["reason"], actor_id=g.user.id)
    db.session.commit()
    return visit


@blp.route("/<int:visit_id>/assign", methods=["POST"])
@roles("dispatcher", "admin")
@blp.arguments(VisitAssignSchema)
@blp.response(200, VisitSchema)
def post_assign(args, visit_id):
    """Give a visit to another agent (or none)"""
    visit = get_visit_for_user(visit_id, user=g.user)
    if args["version"] != visit.version:
        abort(409, "The visit changed since you read it; reload and try again.", current_version=visit.version)
    assign_visit(visit=visit, agent_id=args["agent_id"], actor_id=g.user.id)
    db.session.commit()
    return visit
