from sqlalchemy import Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import feed
from ..extensions import Model, db

JURISDICTIONS = ("CN", "US", "UK", "IE")


class Branch(Model):
    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float]
    lon: Mapped[float]
    timezone: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(8), default="CN")
    # travel model per branch (haversine x circuity / speed)
    circuity: Mapped[float] = mapped_column(default=1.3)
    speed_kmh: Mapped[float] = mapped_column(default=25.0)
    # route plans: balance work between agents by "stops" or "duration" (None: off),
    # giving up at most this share of the best priority served
    balance_by: Mapped[str | None] = mapped_column(String(16))
    balance_max_loss: Mapped[float] = mapped_column(default=0.01, server_default="0.01")
    # route plans: priority points one hour of driving costs (None: travel only breaks ties)
    travel_cost: Mapped[float | None]
    # route plans: plan for the chance of finding someone home, learnt from past outcomes
    # (nothing changes while there is no history)
    at_home_model: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Agent(Model):
    """A field agent: a user with a branch, a shift, a daily cap and skills."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    # shift in the branch's local time, seconds since midnight
    shift_start_s: Mapped[int] = mapped_column(default=9 * 3600)
    shift_end_s: Mapped[int] = mapped_column(default=18 * 3600)
    daily_cap: Mapped[int] = mapped_column(default=12)
    skills: Mapped[list] = mapped_column(db.JSON, default=list)
    start_lat: Mapped[float | None]
    start_lon: Mapped[float | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the number on the agent's badge (R10), shown on the debtor's badge page
    badge_no: Mapped[str | None] = mapped_column(String(32))

    user: Mapped["User"] = relationship(back_populates="agent")  # noqa: F821
    branch: Mapped[Branch] = relationship()


feed.watch(Agent, lambda agent: {"agent": {agent.id}})
feed.watch(Branch, feed.everyone)
