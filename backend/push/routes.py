from flask import current_app, g
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, roles
from ..extensions import db
from . import notifications  # noqa: F401 - registers the event listeners that queue pushes
from .schemas import SubscriptionCreateSchema, SubscriptionDeleteSchema, SubscriptionSchema, VapidKeySchema
from .services import delete_subscription, save_subscription, subscriptions_of
from .vapid import get_vapid, public_key_b64

blp = Blueprint("push", __name__, url_prefix="/api/push", description="Web push notifications to devices")


@blp.record_once
def _load_vapid_key(state) -> None:
    """Create (or read) the VAPID key pair when the app starts, not on the first send."""
    get_vapid(state.app)


@blp.route("/vapid-public-key", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, VapidKeySchema)
def get_vapid_public_key():
    """The server's VAPID public key: the applicationServerKey for pushManager.subscribe"""
    return {"publicKey": public_key_b64(get_vapid(current_app))}


@blp.route("/subscriptions", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, SubscriptionSchema(many=True))
def get_subscriptions():
    """The caller's push subscriptions, with their last delivery and failures"""
    return subscriptions_of(user=g.user)


@blp.route("/subscriptions", methods=["POST"])
@roles(*ANY_ROLE)
@blp.arguments(SubscriptionCreateSchema)
@blp.response(201, SubscriptionSchema)
@blp.alt_response(200, schema=SubscriptionSchema, description="An existing subscription, refreshed")
def post_subscription(args):
    """Store the browser's PushSubscription for the caller and this device"""
    args["device_id"] = args["device_id"] or g.token.device_id
    row, created = save_subscription(user=g.user, **args)
    db.session.commit()
    return row, 201 if created else 200


@blp.route("/subscriptions", methods=["DELETE"])
@roles(*ANY_ROLE)
@blp.arguments(SubscriptionDeleteSchema)
@blp.response(204)
@blp.alt_response(404, description="The caller has no subscription with this endpoint")
def delete_subscription_view(args):
    """Remove one of the caller's subscriptions (by endpoint)"""
    delete_subscription(user=g.user, endpoint=args["endpoint"])
    db.session.commit()
