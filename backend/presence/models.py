"""Models of the presence domain: the debtor's confirmation of a visit (R10) and the public
badge page's request log, which rate-limits it per client address across workers."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import Model


class VisitConfirmation(Model):
    """The debtor confirmed, on their own phone, that the visit took place: once per visit,
    at the server's time (the device's clock plays no part)."""

    __tablename__ = "visit_confirmations"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the badge link's device and time: which phone showed the badge, and when it made it
    device_id: Mapped[str] = mapped_column(String(64), default="")
    link_at: Mapped[datetime]


class BadgeHit(Model):
    """One request to the public badge endpoints; `kind` is "read" or "id_miss" (a wrong last
    four of the ID, counted per visit as well)."""

    __tablename__ = "badge_hits"
    __table_args__ = (Index("ix_badge_hits_ip_at", "ip", "at"), Index("ix_badge_hits_visit_at", "visit_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    visit_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(16), default="read")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class VisitPhoto(Model):
    """A photo of the door or the building (never of people) taken at a visit: the bytes are a
    content-addressed blob (plans' Blob store), resized and stripped of EXIF on the device."""

    __tablename__ = "visit_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))  # None once retention purged it
    kind: Mapped[str] = mapped_column(String(16))  # door | building
    width: Mapped[int]
    height: Mapped[int]
    taken_at: Mapped[datetime]  # device time
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    op_id: Mapped[str | None] = mapped_column(String(36))


class AgentPhoto(Model):
    """The agent's portrait shown on the debtor's badge page (R10): one per agent, the bytes a
    content-addressed blob (plans' Blob store), re-encoded on upload so no EXIF survives."""

    __tablename__ = "agent_photos"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
