"""Models of the push domain: one row per browser push subscription."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import utcnow
from ..extensions import Model


class PushSubscription(Model):
    """A browser's PushSubscription, bound to the user who last posted it.

    The endpoint identifies the browser profile, so it is unique: when another user
    signs in on a shared phone and subscribes, the row moves to that user.
    """

    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64), default="")
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    # the browser's keys, base64url as the browser sent them
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(32))
    # PushSubscription.expirationTime, when the browser gives one
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    # consecutive failed deliveries (after retries); reset by a success or a re-subscribe
    failure_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))

    user: Mapped["User"] = relationship()  # noqa: F821

    def subscription_info(self) -> dict:
        """The shape pywebpush expects."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}
