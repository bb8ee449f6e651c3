"""The debtor's badge page API: public (no sign-in), rate-limited per client address; a link
that does not verify gets the same 404 as an unknown one."""

from flask import g, request
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, PUBLIC, roles
from ..cases.services import get_case_for_user
from ..errors import abort
from ..extensions import db
from .schemas import (
    BadgeCheckSchema,
    BadgeConfirmedSchema,
    BadgeIdentifySchema,
    BadgeRequestResultSchema,
    BadgeRequestSchema,
    BadgeViewSchema,
    PhotoSchema,
)
from .services import NOT_FOUND, badge_view, confirm_visit, photos_of_case, read_badge, request_from_debtor, throttle_badge

blp = Blueprint(
    "presence", __name__, url_prefix="/api", description="Proof of visit: the debtor's check of the agent's badge (R10), photos of the door"
)


def _badge(token: str):
    throttle_badge(ip=request.remote_addr or "")
    badge = read_badge(token)
    if badge is None:
        abort(404, NOT_FOUND)
    return badge


@blp.route("/badge/check", methods=["POST"])
@roles(PUBLIC)
@blp.arguments(BadgeCheckSchema)
@blp.response(200, BadgeViewSchema)
@blp.alt_response(404, description="The link does not verify (guessed, altered or unknown: one answer)")
@blp.alt_response(429, description="Too many checks from this address")
def post_check(args):
    """Who is at the door: the agent, the organisation, whether the badge is valid now"""
    return badge_view(_badge(args["token"]))


@blp.route("/badge/confirm", methods=["POST"])
@roles(PUBLIC)
@blp.arguments(BadgeIdentifySchema)
@blp.response(200, BadgeConfirmedSchema)
@blp.alt_response(409, description="The badge is expired or revoked")
def post_confirm(args):
    """The debtor confirms the visit took place (after the last four digits of their ID); once"""
    result = confirm_visit(badge=_badge(args["token"]), id_last4=args["id_last4"], ip=request.remote_addr or "")
    db.session.commit()
    return result


@blp.route("/badge/request", methods=["POST"])
@roles(PUBLIC)
@blp.arguments(BadgeRequestSchema)
@blp.response(200, BadgeRequestResultSchema)
@blp.alt_response(409, description="The badge is expired or revoked")
def post_request(args):
    """The debtor asks for no further visits, or complains (after the last four digits of their ID)"""
    result = request_from_debtor(
        badge=_badge(args["token"]), id_last4=args["id_last4"], kind=args["kind"], reason=args["reason"], ip=request.remote_addr or ""
    )
    db.session.commit()
    return result


@blp.route("/cases/<int:case_id>/photos", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, PhotoSchema(many=True))
def get_case_photos(case_id):
    """Photos of the door or building taken at the case's visits (the bytes at /api/blobs/{sha256})"""
    return photos_of_case(get_case_for_user(case_id, user=g.user).id)
