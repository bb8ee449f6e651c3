"""Models of the escalations domain: tickets in the supervisor and legal queues (R16)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import utcnow
from ..extensions import Model

QUEUES = ("supervisor", "legal")
# what was raised → which queue works it (seed playbook item 10: legal matters to the legal department)
KINDS = {
    "complaint": "supervisor",
    "dispute": "supervisor",
    "hardship": "supervisor",
    "other": "supervisor",
    "legal": "legal",
    "legal_question": "legal",
    "lawyer_letter": "legal",
    "litigation": "legal",
}
STATUSES = ("open", "claimed", "resolved")


class EscalationTicket(Model):
    __tablename__ = "escalation_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    queue: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    sla_due_at: Mapped[datetime]
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | device | badge (the debtor, R10)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    flag_cleared: Mapped[bool] = mapped_column(default=False)

    case: Mapped["Case"] = relationship()  # noqa: F821

    @property
    def overdue(self) -> bool:
        return self.status != "resolved" and self.sla_due_at < utcnow()
