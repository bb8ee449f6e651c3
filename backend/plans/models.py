from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, LargeBinary, Numeric, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import feed
from ..common import utcnow
from ..extensions import Model, db

KINDS = ("full", "installments", "settlement", "promise")
STATUSES = (
    "proposed",
    "pending_approval",
    "active",
    "kept",
    "partially_kept",
    "broken",
    "rejected",
    "cancelled",
    "superseded",
)
OPEN_STATUSES = ("proposed", "pending_approval", "active")


class RepaymentPlan(Model):
    """A plan or promise; terms_hash is the SHA-256 of its canonical terms (R8)."""

    __tablename__ = "repayment_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    down_payment: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=0)
    term_months: Mapped[int] = mapped_column(default=0)
    terms: Mapped[dict] = mapped_column(db.JSON)
    terms_hash: Mapped[str] = mapped_column(String(64), index=True)
    policy_version: Mapped[str] = mapped_column(String(32), default="")
    policy_findings: Mapped[list] = mapped_column(db.JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_plans.id"))
    op_id: Mapped[str | None] = mapped_column(String(36))
    # the device's own name for a plan proposed offline (later ops and the decision refer to it)
    plan_ref: Mapped[str | None] = mapped_column(String(36))

    installments: Mapped[list["Installment"]] = relationship(back_populates="plan", order_by="Installment.seq")
    signatures: Mapped[list["Signature"]] = relationship(back_populates="plan")


class Installment(Model):
    __tablename__ = "installments"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plans.id"), index=True)
    seq: Mapped[int]
    due_date: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    status: Mapped[str] = mapped_column(String(16), default="due")  # due | paid | partial | missed

    plan: Mapped[RepaymentPlan] = relationship(back_populates="installments")


class Blob(Model):
    """Content-addressed attachment bytes (signature PNGs, photos)."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(Model):
    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_plans.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    terms_hash: Mapped[str] = mapped_column(String(64))
    strokes: Mapped[list] = mapped_column(db.JSON, default=list)
    signer_name: Mapped[str] = mapped_column(String(120), default="")
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    refused_reason: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime]
    op_id: Mapped[str | None] = mapped_column(String(36))

    plan: Mapped[RepaymentPlan | None] = relationship(back_populates="signatures")


feed.watch(RepaymentPlan)
feed.watch(Installment, lambda installment: {"plan": {installment.plan_id}})


@feed.resolves("plan")
def _cases_of_plans(session, ids):
    return session.scalars(select(RepaymentPlan.case_id).where(RepaymentPlan.id.in_(ids)))
