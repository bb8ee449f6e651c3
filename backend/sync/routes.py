from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, g, request
from flask_smorest import Blueprint

from ..auth.guard import roles
from ..common import paginate
from ..errors import abort
from ..extensions import db
from ..feed import feed_head
from .exceptions import exception_item, exceptions_query, review_exception
from .ops import apply_batch
from .packet import cached_packet, list_changes, record_device_purge, with_server_time
from .schemas import (
    ChangesArgs,
    ChangesSchema,
    ExceptionPageSchema,
    ExceptionQuerySchema,
    ExceptionSchema,
    OpsEnvelopeSchema,
    OpsResponseSchema,
    PacketArgs,
    PacketSchema,
    ReviewSchema,
)

blp = Blueprint("sync", __name__, url_prefix="/api", description="Offline sync: day packet, delta feed, operations")


def _agent():
    if g.agent is None:
        abort(403, "This user has no field-agent profile.", code="no_agent_profile")
    return g.agent


@blp.route("/sync/packet", methods=["GET"])
@roles("agent")
@blp.arguments(PacketArgs, location="query")
@blp.response(200, PacketSchema)
@blp.alt_response(304, description="If-None-Match names the packet as it still is: keep the one you have")
def get_packet(args):
    """The agent's day: ordered visits with the door's brief, rules and a feed cursor"""
    if args.get("purged"):
        record_device_purge(user=g.user, device_id=g.token.device_id, purged=args["purged"], purged_at=args.get("purged_at"))
    agent = _agent()
    day = args.get("date") or datetime.now(ZoneInfo(agent.branch.timezone)).date()
    body, etag = cached_packet(user=g.user, agent=agent, day=day)
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(with_server_time(body), mimetype="application/json")
    response.set_etag(etag, weak=True)  # weak: server_time differs between equal packets
    return response


@blp.route("/sync/changes", methods=["GET"])
@roles("agent")
@blp.arguments(ChangesArgs, location="query")
@blp.response(200, ChangesSchema)
def get_changes(args):
    """Everything that changed for this agent after the cursor (stop-work, visits, plan decisions)"""
    return list_changes(user=g.user, agent=_agent(), since=args["since"], limit=args["limit"])


@blp.route("/sync/ops", methods=["POST"])
@roles("agent")
@blp.arguments(OpsEnvelopeSchema)
@blp.response(200, OpsResponseSchema)
@blp.alt_response(503, description="The database is busy: send the same batch again (applied ops answer duplicate)")
def post_ops(args):
    """Apply a device's operations in order, each exactly once, each in its own transaction"""
    results = apply_batch(user=g.user, agent=_agent(), device_id=args["device_id"], ops=args["ops"])
    return {"results": results, "cursor": feed_head()}


@blp.route("/sync/exceptions", methods=["GET"])
@roles("owner", "admin")
@blp.arguments(ExceptionQuerySchema, location="query")
@blp.response(200, ExceptionPageSchema)
def get_exceptions(args):
    """Kept conflicts and rejections of device ops, for the case owner to review"""
    page, per_page = args.pop("page"), args.pop("per_page")
    result = paginate(exceptions_query(**args), page, per_page)
    result["items"] = [exception_item(op) for op in result["items"]]
    return result


@blp.route("/sync/exceptions/<string:op_id>/review", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(ReviewSchema)
@blp.response(200, ExceptionSchema)
def post_review(args, op_id):
    """Mark a kept conflict or rejection as reviewed, with a note (also on the case timeline)"""
    op = review_exception(op_id=op_id, note=args["note"], actor_id=g.user.id)
    db.session.commit()
    return exception_item(op)
