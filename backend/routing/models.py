import datetime as dt
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import db

STATUSES = ("queued", "solving", "draft", "published", "failed", "superseded")


class RoutePlan(db.Model):
    """One dispatch run for a date: the problem, the solver's routes, and its figures."""

    __tablename__ = "route_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float] = mapped_column(default=10.0)
    params: Mapped[dict] = mapped_column(db.JSON, default=dict)
    solution: Mapped[dict | None] = mapped_column(db.JSON)
    stats: Mapped[dict] = mapped_column(db.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
