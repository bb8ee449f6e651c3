import datetime as dt
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import feed
from ..common import utcnow
from ..extensions import Model, db

STATUSES = ("planned", "published", "checked_in", "completed", "failed", "cancelled")
OPEN_STATUSES = ("planned", "published", "checked_in")
# status machine: where each status may go next
TRANSITIONS = {
    "planned": {"published", "cancelled"},
    "published": {"checked_in", "cancelled", "planned", "failed"},
    "checked_in": {"completed", "failed"},
    "completed": set(),
    "failed": set(),
    "cancelled": set(),
}

# Outcome codes, defined once: who was met, which fields the code requires,
# where the visit goes, and which blocking flag it raises (R4, R11, R12, R16).
OUTCOMES: dict[str, dict] = {
    "promise_to_pay": {"contact": "rpc", "requires": ["amount", "due_date"], "visit": "completed"},
    "plan_agreed": {"contact": "rpc", "requires": ["plan_id"], "visit": "completed"},
    "paid": {"contact": "rpc", "requires": ["amount"], "visit": "completed"},
    "refused": {"contact": "rpc", "requires": [], "visit": "completed"},
    "dispute": {"contact": "rpc", "requires": ["reason"], "visit": "completed", "flag": "dispute"},
    "hardship": {"contact": "rpc", "requires": [], "visit": "completed"},
    "complaint": {"contact": "rpc", "requires": ["reason"], "visit": "completed", "flag": "complaint"},
    "vulnerable": {"contact": "any", "requires": ["reason"], "visit": "failed", "flag": "vulnerable"},
    "asked_to_leave": {"contact": "any", "requires": [], "visit": "failed", "flag": "asked_not_to_return"},
    "not_home": {"contact": "none", "requires": [], "visit": "failed"},
    "moved": {"contact": "any", "requires": [], "visit": "failed"},
    "wrong_address": {"contact": "none", "requires": [], "visit": "failed"},
    "third_party_only": {"contact": "third_party", "requires": [], "visit": "failed"},
}


class Visit(Model):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_agent_date", "agent_id", "date"), Index("ix_visits_partner_date", "partner_id", "date"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # R9: the second agent of a two-person visit (the lead is agent_id); the crew travels together
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    date: Mapped[dt.date] = mapped_column(index=True)
    # legal window for this visit, naive UTC (computed in the debtor's timezone)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    service_s: Mapped[int] = mapped_column(default=1800)
    priority: Mapped[int] = mapped_column(default=50)
    status: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    route_plan_id: Mapped[int | None] = mapped_column(ForeignKey("route_plans.id"))
    route_position: Mapped[int | None]
    planned_arrival: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    cancelled_reason: Mapped[str | None] = mapped_column(Text)
    checkin_at: Mapped[datetime | None]
    checkin_lat: Mapped[float | None]
    checkin_lon: Mapped[float | None]
    checkin_accuracy_m: Mapped[float | None]
    checkin_distance_m: Mapped[float | None]
    checkin_flag: Mapped[str | None] = mapped_column(Text)
    # the partner's own check-in at the door (R9: both check in), from the partner's phone
    partner_checkin_at: Mapped[datetime | None]
    partner_checkin_lat: Mapped[float | None]
    partner_checkin_lon: Mapped[float | None]
    partner_checkin_accuracy_m: Mapped[float | None]
    partner_checkin_distance_m: Mapped[float | None]
    checkout_at: Mapped[datetime | None]
    checkout_lat: Mapped[float | None]
    checkout_lon: Mapped[float | None]

    case: Mapped["Case"] = relationship()  # noqa: F821
    address: Mapped["Address"] = relationship()  # noqa: F821
    agent: Mapped["Agent | None"] = relationship(foreign_keys=[agent_id])  # noqa: F821
    partner: Mapped["Agent | None"] = relationship(foreign_keys=[partner_id])  # noqa: F821
    outcome: Mapped["Outcome | None"] = relationship(back_populates="visit", uselist=False)


class Outcome(Model):
    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    code: Mapped[str] = mapped_column(String(32))
    met: Mapped[str] = mapped_column(String(16), default="nobody")  # debtor | third_party | nobody
    disclosure_at: Mapped[datetime | None]
    # R6: where the disclosure was acknowledged (the device's GPS, when it had a fix)
    disclosure_lat: Mapped[float | None]
    disclosure_lon: Mapped[float | None]
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)
    recorded_at: Mapped[datetime]  # device time, for display only
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    op_id: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # compliance findings on arrival (R1 outside hours, ...), kept for review
    compliance_flags: Mapped[list] = mapped_column(db.JSON, default=list)

    visit: Mapped[Visit] = relationship(back_populates="outcome")


# a visit feeds its case's packets and its agents' (lead and partner, and the previous ones when reassigned)
feed.watch(Visit, lambda visit: {"case": {visit.case_id}, "agent": feed.agents_of(visit) | feed.agents_of(visit, "partner_id")})
feed.watch(Outcome)
