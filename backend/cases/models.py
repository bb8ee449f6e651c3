from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Numeric, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import feed
from ..common import utcnow
from ..extensions import Model, db

STAGES = ("phone", "letter", "field", "legal", "closed")
# the work of each rung below field, recorded as case events (contact.<channel>)
CONTACT_CHANNELS = ("phone_call", "sms", "letter")
RUNG_WORK = {"phone": ("phone_call", "sms"), "letter": ("letter",)}
FLAGS = (
    "dispute",
    "bankruptcy",
    "deceased",
    "cease_contact",
    "attorney",
    "vulnerable",
    "complaint",
    "legal_hold",
    "fraud_claim",
    "plan_performing",
    "asked_not_to_return",
    "escalated",
)
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6+")


def bucket_for(days_past_due: int) -> str:
    """M1 = 1–30 days past due, M2 = 31–60, … M6+ = 151 and more."""
    if days_past_due <= 0:
        return "M0"
    n = (days_past_due + 29) // 30
    return "M6+" if n >= 6 else f"M{n}"


def days_range_for(bucket: str) -> tuple[int, int | None]:
    if bucket == "M0":
        return (-(10**6), 0)
    if bucket == "M6+":
        return (151, None)
    n = int(bucket[1:])
    return (30 * (n - 1) + 1, 30 * n)


class Debtor(Model):
    __tablename__ = "debtors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    id_last4: Mapped[str] = mapped_column(String(4), default="")  # second factor of R5
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    # R2: declared availability / inconvenient times, weekday -> [[start_s, end_s], ...]
    availability: Mapped[dict | None] = mapped_column(db.JSON)
    inconvenient: Mapped[list] = mapped_column(db.JSON, default=list)
    workplace_ban: Mapped[bool] = mapped_column(Boolean, default=True)

    addresses: Mapped[list["Address"]] = relationship(back_populates="debtor", order_by="Address.id")


class Address(Model):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="home")  # home | work | other
    line: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(80), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    country: Mapped[str] = mapped_column(String(2), default="CN")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    # provided | geocoded | needs_geocode | failed
    geocode_status: Mapped[str] = mapped_column(String(16), default="needs_geocode")
    timezone: Mapped[str] = mapped_column(String(64), default="")

    debtor: Mapped[Debtor] = relationship(back_populates="addresses")


class Account(Model):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    card_masked: Mapped[str] = mapped_column(String(32))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    overdue_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    days_past_due: Mapped[int]
    debtor: Mapped[Debtor] = relationship()

    @property
    def bucket(self) -> str:
        return bucket_for(self.days_past_due)


class Case(Model):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="phone", index=True)
    version: Mapped[int] = mapped_column(default=1)
    last_contact_at: Mapped[datetime | None]
    # the last move on the ladder: field work on a visit published before it stops
    stage_changed_at: Mapped[datetime | None]
    broken_promises: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship()
    owner: Mapped["User | None"] = relationship()  # noqa: F821
    branch: Mapped["Branch | None"] = relationship()  # noqa: F821
    flags: Mapped[list["CaseFlag"]] = relationship(back_populates="case", order_by="CaseFlag.id")

    @property
    def debtor(self) -> Debtor:
        return self.account.debtor

    def active_flags(self, at: datetime | None = None) -> list["CaseFlag"]:
        at = at or utcnow()
        return [f for f in self.flags if f.is_active(at)]


class CaseFlag(Model):
    """A visit-blocking flag (R4) with who, why, when and an optional expiry."""

    __tablename__ = "case_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    flag: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clear_reason: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="flags")

    def is_active(self, at: datetime) -> bool:
        if self.set_at > at:
            return False
        if self.cleared_at is not None and self.cleared_at <= at:
            return False
        return self.expires_at is None or self.expires_at > at


class TimelineEvent(Model):
    """Append-only, hash-chained: each event stores the hash of the one before it. The one
    sanctioned change is retention's redaction of `data` (cases.services.redact_timeline)."""

    __tablename__ = "timeline_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_timeline_events_case_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)
    # the chain commits to the data's digest, not the data: R8 retention can blank an event's
    # personal data (`redacted_at` set) and the chain still verifies, digest for digest
    data_sha256: Mapped[str] = mapped_column(String(64))
    redacted_at: Mapped[datetime | None]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


@event.listens_for(TimelineEvent, "before_update")
def _timeline_is_append_only(mapper, connection, target):
    raise RuntimeError("timeline events are append-only")


@event.listens_for(TimelineEvent, "before_delete")
def _timeline_is_never_deleted(mapper, connection, target):
    raise RuntimeError("timeline events are append-only")


class Note(Model):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # R7: flagged for review when it carries prohibited phrases
    review_flag: Mapped[str | None] = mapped_column(String(255))


class ImportRun(Model):
    """One CSV import (cases or payments) as it runs: applied in chunks, each its own short
    transaction, so this record shows how far it got (docs/import.md)."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # cases | payments
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    file_sha256: Mapped[str] = mapped_column(String(64))  # which file it was
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed | resumed
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict] = mapped_column(db.JSON, default=dict)
    rejected_rows: Mapped[list] = mapped_column(db.JSON, default=list)
    # payments: cases whose promises wait for the evaluation at the end of the import
    pending_case_ids: Mapped[list] = mapped_column(db.JSON, default=list)
    error: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


feed.watch(Case, lambda case: {"case": {case.id}})
feed.watch(CaseFlag)
feed.watch(Note)
feed.watch(Account, lambda account: {"account": {account.id}})
feed.watch(Debtor, lambda debtor: {"debtor": {debtor.id}})
feed.watch(Address, lambda address: {"debtor": {address.debtor_id}})


@feed.resolves("account")
def _cases_of_accounts(session, ids):
    return session.scalars(select(Case.id).where(Case.account_id.in_(ids)))


@feed.resolves("debtor")
def _cases_of_debtors(session, ids):
    return session.scalars(select(Case.id).join(Account, Account.id == Case.account_id).where(Account.debtor_id.in_(ids)))
