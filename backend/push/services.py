"""Push subscriptions: stored per browser, bound to the user who posted them last."""

from datetime import datetime

from sqlalchemy import delete, or_, select

from ..auth.models import User
from ..common import utcnow
from ..errors import abort
from ..extensions import db
from .models import PushSubscription


def save_subscription(
    *, user: User, endpoint: str, keys: dict, device_id: str = "", expires_at: datetime | None = None, old_endpoint: str | None = None
) -> tuple[PushSubscription, bool]:
    """Store or refresh a subscription for `user`; returns (row, created).

    The endpoint names one browser profile: if another user posted it before (a shared
    phone), it moves to this user so the previous one's notifications stop there.
    """
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    created = row is None
    if created:
        row = PushSubscription(endpoint=endpoint)
        db.session.add(row)
    row.user_id = user.id
    row.device_id = device_id
    row.p256dh = keys["p256dh"]
    row.auth = keys["auth"]
    row.expires_at = expires_at
    row.updated_at = utcnow()
    row.failure_count = 0
    row.last_error = None
    replaced = [PushSubscription.endpoint == old_endpoint] if old_endpoint else []
    if device_id:
        # a device keeps one subscription: a new endpoint from it replaces the old one
        replaced.append(PushSubscription.device_id == device_id)
    if replaced:
        db.session.execute(
            delete(PushSubscription).where(PushSubscription.user_id == user.id, PushSubscription.endpoint != endpoint, or_(*replaced))
        )
    db.session.flush()
    return row, created


def delete_subscription(*, user: User, endpoint: str) -> None:
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id))
    if row is None:
        abort(404, "You have no push subscription with this endpoint.", errors={"endpoint": ["not subscribed"]})
    db.session.delete(row)


def subscriptions_of(*, user: User) -> list[PushSubscription]:
    return db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id).order_by(PushSubscription.id)).all()
