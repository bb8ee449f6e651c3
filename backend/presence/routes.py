"""The debtor's badge page API: public (no sign-in), rate-limited per client address; a link
that does not verify gets the same 404 as an unknown one."""

from flask import Response, g, request
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, OFFICE, PUBLIC, roles
from ..auth.services import audit
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
    PhotoUploadSchema,
    PortraitSchema,
)
from .services import (
    NOT_FOUND,
    agent_photo_bytes,
    agent_photos,
    badge_photo,
    badge_view,
    confirm_visit,
    photos_of_case,
    read_badge,
    request_from_debtor,
    set_agent_photo,
    throttle_badge,
)

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


@blp.route("/badge/photo", methods=["POST"])
@roles(PUBLIC)
@blp.arguments(BadgeCheckSchema)
@blp.response(200, content_type="image/jpeg", description="The agent's portrait (JPEG or PNG)")
@blp.alt_response(404, description="The link does not verify, is not valid now, or the agent has no photo (one answer)")
def post_badge_photo(args):
    """The agent's photo, only while the badge shown at the door is valid"""
    data, content_type = badge_photo(_badge(args["token"]))
    return _image(data, content_type)


def _image(data: bytes, content_type: str) -> Response:
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/agents/<int:agent_id>/photo", methods=["PUT"])
@roles("admin")
@blp.arguments(PhotoUploadSchema, location="files")
@blp.response(200, PortraitSchema)
def put_agent_photo(files, agent_id):
    """Upload the agent's photo for the badge page (PNG or JPEG; re-encoded without EXIF)"""
    photo = set_agent_photo(agent_id=agent_id, upload=files.get("photo"), actor_id=g.user.id)
    audit(actor=g.user, action="agent.photo", target=f"agent:{agent_id}", sha256=photo.blob_sha256)
    db.session.commit()
    return photo


@blp.route("/agent-photos", methods=["GET"])
@roles(*OFFICE)
@blp.response(200, PortraitSchema(many=True))
def get_agent_photos():
    """Which agents have a photo for the badge page (the bytes at /api/agents/{id}/photo)"""
    return agent_photos()


@blp.route("/agents/<int:agent_id>/photo", methods=["GET"])
@roles(*OFFICE)
@blp.response(200, content_type="image/jpeg", description="The agent's portrait (JPEG or PNG)")
def get_agent_photo(agent_id):
    """The agent's photo as the badge page shows it"""
    return _image(*agent_photo_bytes(agent_id))


@blp.route("/cases/<int:case_id>/photos", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, PhotoSchema(many=True))
def get_case_photos(case_id):
    """Photos of the door or building taken at the case's visits (the bytes at /api/blobs/{sha256})"""
    return photos_of_case(get_case_for_user(case_id, user=g.user).id)
