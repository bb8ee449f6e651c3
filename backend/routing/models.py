import datetime as dt
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import Model, db

# queued/solving → draft → published → superseded; failed when the build or solve broke
STATUSES = ("queued", "solving", "draft", "published", "failed", "superseded")
RUNNING = ("queued", "solving")


class RoutePlan(Model):
    """One dispatch run for a date: the problem, the solver's routes, and its figures.

    A draft never touches Visit rows: its routes live in `solution` (stop refs "v<visit id>"
    for existing visits, "c<case id>" for cases that get a visit only when it is published).
    """

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
    # the published plan an in-day re-plan started from (its warm start)
    replan_of_id: Mapped[int | None] = mapped_column(ForeignKey("route_plans.id"))
    # route-problem v1 as solved (without the travel matrix, recomputed when re-timing)
    problem: Mapped[dict | None] = mapped_column(db.JSON)
    # what the problem does not carry: reference timezone, agents' fixed stops, each
    # visit's case, address, windows in UTC and priority factors; the moves log
    meta: Mapped[dict] = mapped_column(db.JSON, default=dict)
    excluded: Mapped[list] = mapped_column(db.JSON, default=list)
    violations: Mapped[list] = mapped_column(db.JSON, default=list)
    # bumped by every move: a dispatcher acting on an old copy gets a 409
    version: Mapped[int] = mapped_column(default=1)
    # heartbeat while solving: a plan whose worker died is marked failed, never stuck
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
