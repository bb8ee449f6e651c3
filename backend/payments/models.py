"""Models of the payments domain: the payment feed, its allocation to promises and
installments, the matching state of each promise, and the follow-ups a broken one creates."""

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import feed
from ..common import utcnow
from ..extensions import Model


class Payment(Model):
    """One payment from the bank's feed; `reference` makes a re-import a no-op."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    paid_on: Mapped[dt.date] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(32), default="")
    unallocated: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    allocations: Mapped[list["PaymentAllocation"]] = relationship(back_populates="payment")


class PaymentAllocation(Model):
    """The part of a payment credited to one installment (or the down payment) of one plan or promise."""

    __tablename__ = "payment_allocations"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plans.id"), index=True)
    # null: the plan's down payment (due the day the plan was made)
    installment_id: Mapped[int | None] = mapped_column(ForeignKey("installments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    payment: Mapped[Payment] = relationship(back_populates="allocations")


PROMISE_STATES = ("open", "grace", "kept", "partially_kept", "broken", "superseded", "cancelled")
TERMINAL_STATES = ("kept", "partially_kept", "broken", "superseded", "cancelled")


class PromiseTrack(Model):
    """Where a plan or promise stands against the payment feed (never set by an agent).

    open → grace (an installment is past due, inside the grace days) → kept / partially_kept /
    broken; superseded when a newer plan replaces it; cancelled when its plan is.
    """

    __tablename__ = "promise_tracks"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plans.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    promised_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    deadline: Mapped[dt.date | None]  # due date + grace of the installment that decides next
    as_of: Mapped[dt.date | None]
    evaluated_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(Text, default="")


FOLLOW_UP_KINDS = ("visit", "call", "review")


class FollowUp(Model):
    """A task a broken or partly kept promise leaves for the dispatcher or case owner."""

    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_plans.id"))
    kind: Mapped[str] = mapped_column(String(16))  # visit | call | review
    due_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))

    case: Mapped["Case"] = relationship()  # noqa: F821
    plan: Mapped["RepaymentPlan | None"] = relationship()  # noqa: F821
    done_by: Mapped["User | None"] = relationship()  # noqa: F821


feed.watch(PromiseTrack, lambda track: {"plan": {track.plan_id}})


COLLECTION_METHODS = ("cash", "card_terminal", "bank_transfer", "payment_link", "other")
COLLECTION_STATUSES = ("unreconciled", "reconciled", "disputed")


class Collection(Model):
    """Money taken at the door (payment.record): what the agent received, how, and the receipt
    that proves it. `op_id` ties it to the one op that made it (exactly once); the receipt number
    comes from the branch's gapless sequence; `verify_code` is what the paper receipt carries so
    anyone holding it can check it against the server."""

    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(primary_key=True)
    op_id: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    collected_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(64))
    receipt_seq: Mapped[int]
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    verify_code: Mapped[str] = mapped_column(String(32), unique=True)
    collected_at: Mapped[datetime]  # device time the money changed hands
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="unreconciled", index=True)
    # reconciliation: the bank's payment row that confirmed it (the money counted, once) and
    # the day the bank booked it; or why it is disputed
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    bank_paid_on: Mapped[dt.date | None]
    reconciled_at: Mapped[datetime | None]
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    # custody: cash stays in the agent's hands until a deposit row shows it banked
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"))
    banked_on: Mapped[dt.date | None]


class Deposit(Model):
    """One line of the deposits import: cash an agent banked, naming the receipt it belongs to
    (the collection points at it through `deposit_id`). (reference, receipt_number) makes a
    re-import a no-op; one slip may carry several receipts."""

    __tablename__ = "deposits"
    __table_args__ = (UniqueConstraint("reference", "receipt_number", name="uq_deposits_reference_receipt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64))
    receipt_number: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    deposited_on: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(16))  # matched | disputed | unmatched (no such receipt)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ReceiptCounter(Model):
    """One row per branch: the last receipt number it issued. Taken (row-locked) inside the write
    transaction that creates the collection, so a rolled-back op gives its number back: no gaps."""

    __tablename__ = "receipt_counters"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
