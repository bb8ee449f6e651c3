from flask import Response, g
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, roles
from ..common import paginate
from ..extensions import db
from .schemas import ApproveSchema, PlanDetailSchema, PlanPageSchema, PlanQuerySchema, RejectSchema
from .services import decide_plan, get_blob_for_user, get_plan_for_user, plans_query

blp = Blueprint("plans", __name__, url_prefix="/api", description="Repayment plans and signed attachments")


@blp.route("/plans", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(PlanQuerySchema, location="query")
@blp.response(200, PlanPageSchema)
def get_plans(args):
    """Plans by status, proposing agent or case (an agent sees only its own cases')"""
    page, per_page = args.pop("page"), args.pop("per_page")
    stmt = plans_query(user=g.user, status=args.get("status"), agent_id=args.get("agent"), case_id=args.get("case"))
    return paginate(stmt, page, per_page)


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, PlanDetailSchema)
def get_plan(plan_id):
    """One plan with its schedule and signatures"""
    return get_plan_for_user(plan_id, user=g.user)


@blp.route("/plans/<int:plan_id>/approve", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(ApproveSchema)
@blp.response(200, PlanDetailSchema)
@blp.alt_response(409, description="The plan is not pending approval")
def post_approve(args, plan_id):
    """Approve a plan beyond the agent's authority; the agent learns it in the delta feed"""
    plan = decide_plan(plan=get_plan_for_user(plan_id, user=g.user), approve=True, reason=args["reason"], actor=g.user)
    db.session.commit()
    return plan


@blp.route("/plans/<int:plan_id>/reject", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(RejectSchema)
@blp.response(200, PlanDetailSchema)
@blp.alt_response(409, description="The plan is not pending approval")
def post_reject(args, plan_id):
    """Reject a plan pending approval, with the reason the agent will see"""
    plan = decide_plan(plan=get_plan_for_user(plan_id, user=g.user), approve=False, reason=args["reason"], actor=g.user)
    db.session.commit()
    return plan


@blp.route("/blobs/<string:sha256>", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, content_type="image/png", description="The attachment's bytes (personal data: never stored by caches)")
def get_blob(sha256):
    """A signature image by its SHA-256 (only for users who may see its case)"""
    blob = get_blob_for_user(sha256, user=g.user)
    response = Response(blob.data, mimetype=blob.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response
