from flask import g
from flask_smorest import Blueprint

from ..auth.guard import roles
from ..common import paginate
from ..extensions import db
from .jobs import submit_route_plan
from .schemas import (
    MovedPlanSchema,
    MoveSchema,
    ReplanSchema,
    RoutePlanCreateSchema,
    RoutePlanPageSchema,
    RoutePlanQuerySchema,
    RoutePlanSchema,
)
from .services import (
    create_route_plan,
    expire_stale_route_plan,
    get_route_plan,
    move_route_plan_visit,
    publish_route_plan,
    replan_route_plan,
    route_plan_view,
    route_plans_query,
)

blp = Blueprint("routing", __name__, url_prefix="/api", description="Route planning for dispatchers")

READERS = ("dispatcher", "owner", "admin")
PLANNERS = ("dispatcher", "admin")


@blp.route("/route-plans", methods=["POST"])
@roles(*PLANNERS)
@blp.arguments(RoutePlanCreateSchema)
@blp.response(202, RoutePlanSchema)
def post_route_plan(args):
    """Draft a day's routes; the solve runs in the background (GET shows the percent)"""
    plan = create_route_plan(
        day=args["date"], branch_id=args["branch_id"], agent_ids=args["agent_ids"], seconds=args["seconds"], actor_id=g.user.id
    )
    submit_route_plan(plan.id)
    db.session.commit()
    return route_plan_view(plan)


@blp.route("/route-plans", methods=["GET"])
@roles(*READERS)
@blp.arguments(RoutePlanQuerySchema, location="query")
@blp.response(200, RoutePlanPageSchema)
def get_route_plans(args):
    """Route plans by date, branch or status, newest first"""
    page, per_page = args.pop("page"), args.pop("per_page")
    result = paginate(route_plans_query(**args), page, per_page)
    result["items"] = [route_plan_view(expire_stale_route_plan(plan)) for plan in result["items"]]
    db.session.commit()
    return result


@blp.route("/route-plans/<int:plan_id>", methods=["GET"])
@roles(*READERS)
@blp.response(200, RoutePlanSchema)
def get_route_plan_detail(plan_id):
    """One plan: status and percent while solving, then routes, unassigned, excluded, violations"""
    plan = expire_stale_route_plan(get_route_plan(plan_id))
    db.session.commit()
    return route_plan_view(plan)


@blp.route("/route-plans/<int:plan_id>/moves", methods=["POST"])
@roles(*PLANNERS)
@blp.arguments(MoveSchema)
@blp.response(200, MovedPlanSchema)
@blp.alt_response(409, description="The plan is not a draft, changed since read, or the stop is fixed")
def post_move(args, plan_id):
    """Move a visit to an agent and position, pin it, or unassign it; re-timed and re-checked"""
    plan = get_route_plan(plan_id, for_update=True)
    move = move_route_plan_visit(plan=plan, actor_id=g.user.id, **args)
    db.session.commit()
    return {**route_plan_view(plan), "move": move}


@blp.route("/route-plans/<int:plan_id>/publish", methods=["POST"])
@roles(*PLANNERS)
@blp.response(200, RoutePlanSchema)
@blp.alt_response(409, description="The plan breaks rules (listed in `violations`) or is not a draft")
def post_publish(plan_id):
    """Make the plan the agents' day: visits published in route order, devices told"""
    plan = publish_route_plan(plan=get_route_plan(plan_id, for_update=True), actor_id=g.user.id)
    db.session.commit()
    return route_plan_view(plan)


@blp.route("/route-plans/<int:plan_id>/replan", methods=["POST"])
@roles(*PLANNERS)
@blp.arguments(ReplanSchema)
@blp.response(202, RoutePlanSchema)
def post_replan(args, plan_id):
    """Re-plan the rest of a published day: done and under-way visits stay, the rest is re-optimized"""
    plan = replan_route_plan(plan=get_route_plan(plan_id), seconds=args["seconds"], actor_id=g.user.id)
    submit_route_plan(plan.id)
    db.session.commit()
    return route_plan_view(plan)
