from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import Model, db


class SyncOp(Model):
    """Every operation a device sent, keyed by its UUID, with its first answer.

    Kept whatever happened to it: conflicts and rejections stay for the case owner.
    """

    __tablename__ = "sync_ops"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    device_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # the visit the op is about: stale-version checks count this device's own applied ops on it
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    # plan.propose: the client's plan uuid, so later ops (signature.add, outcome) can name the plan offline
    plan_ref: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # applied | conflict | rejected
    payload: Mapped[dict] = mapped_column(db.JSON, default=dict)
    result: Mapped[dict] = mapped_column(db.JSON, default=dict)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(Text)


class PacketCache(Model):
    """An agent's day packet as last built, served again while nothing in it changed.

    Valid while no feed entry after `head` concerns it (the agent, its user, one of `case_ids`, or
    everything — see backend/feed.py), `fingerprint` still names this code and
    configuration, and `expires_at` (a flag starting, ending or cleared later) has not passed.
    """

    __tablename__ = "packet_cache"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    head: Mapped[int]  # the feed head read before the packet's rows: its cursor
    fingerprint: Mapped[str] = mapped_column(String(64))
    etag: Mapped[str] = mapped_column(String(64))
    case_ids: Mapped[list] = mapped_column(db.JSON, default=list)
    expires_at: Mapped[datetime | None]
    body: Mapped[str] = mapped_column(Text)  # the JSON as served, without server_time
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
