"""Money taken at the door: the collection and its gapless receipt number, what is still owed,
its reconciliation by the bank's payment feed, and cash in an agent's custody."""

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from ..auth.models import User
from ..cases.models import Case
from ..cases.services import append_event
from ..common import utcnow
from ..db import take_next
from ..errors import abort
from ..extensions import db
from ..org.models import Agent, Branch
from ..policy.rules import jurisdiction_for
from ..policy.settings import effective_settings
from .models import Collection, Payment, ReceiptCounter


def outstanding_of(case: Case) -> Decimal:
    """What the debtor still owes as far as we know: the account's balance (from the bank's
    import) less the money taken at the door that the bank's feed has not confirmed yet."""
    taken = db.session.scalar(
        select(func.coalesce(func.sum(Collection.amount), 0)).where(Collection.case_id == case.id, Collection.status == "unreconciled")
    )
    return Decimal(case.account.balance) - Decimal(taken)


def record_collection(
    *,
    case: Case,
    visit_id: int,
    agent_id: int,
    actor_id: int,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str | None,
    collected_at: datetime,
    op_id: str,
) -> Collection:
    """Money taken at the door: in the case's currency, not above what is owed; the receipt number
    is the next of the collecting agent's branch (gapless: taken in this transaction)."""
    account = case.account
    if currency != account.currency:
        abort(422, f"The case is in {account.currency}.", errors={"currency": [f"the case is in {account.currency}"]})
    outstanding = outstanding_of(case)
    if amount > outstanding:
        abort(
            422,
            f"{amount} is more than the {outstanding} {account.currency} owed.",
            errors={"amount": [f"above the balance owed ({outstanding} {account.currency})"]},
        )
    agent = db.session.get(Agent, agent_id)
    seq = take_next(ReceiptCounter, key="branch_id", key_value=agent.branch_id)
    collection = Collection(
        op_id=op_id,
        case_id=case.id,
        visit_id=visit_id,
        branch_id=agent.branch_id,
        agent_id=agent_id,
        collected_by_id=actor_id,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        receipt_seq=seq,
        receipt_number=f"{agent.branch.code}-{seq:06d}",
        verify_code=_verify_code(),
        collected_at=collected_at,
        status="unreconciled",
    )
    db.session.add(collection)
    db.session.flush()
    append_event(
        case=case,
        kind="payment.collected",
        actor_id=actor_id,
        data={
            "collection_id": collection.id,
            "visit_id": visit_id,
            "receipt_number": collection.receipt_number,
            "amount": str(collection.amount),
            "currency": currency,
            "method": method,
            "reference": reference,
        },
    )
    return collection


def _verify_code() -> str:
    """10 random hex digits shown as XXXXX-XXXXX: printed on the receipt, typed to verify it."""
    digits = secrets.token_hex(5).upper()
    return f"{digits[:5]}-{digits[5:]}"


# --- reconciliation and cash custody ------------------------------------------------------------

MATCH_WINDOW_DAYS = 14  # a bank row or a deposit confirms money taken at the door up to this many days later


def collected_day(collection: Collection) -> date:
    """The local day the money changed hands (the collecting branch's timezone)."""
    branch = db.session.get(Branch, collection.branch_id)
    return collection.collected_at.replace(tzinfo=UTC).astimezone(ZoneInfo(branch.timezone)).date()


def reconcile_collection(*, case: Case, payment: Payment, actor_id: int | None) -> Collection | None:
    """A feed row that names a collection of the case (its reference or receipt number) confirms
    it when the amount is the same and the bank dated it from the day the money was taken up to
    MATCH_WINDOW_DAYS later: the collection points at the payment, which is the money counted
    (allocation, promises, KPIs) — the collection never counts again. A row naming it with
    another amount or date disputes it; the bank's payment still stands on its own."""
    collection = db.session.scalar(
        select(Collection)
        .where(
            Collection.case_id == case.id,
            Collection.payment_id.is_(None),
            or_(Collection.reference == payment.reference, Collection.receipt_number == payment.reference),
        )
        .order_by(Collection.id)
        .limit(1)
    )
    if collection is None:
        return None
    taken_on = collected_day(collection)
    problems = []
    if Decimal(payment.amount) != Decimal(collection.amount):
        problems.append(f"the bank's row {payment.reference} is {payment.amount}, the receipt {collection.amount}")
    if not taken_on <= payment.paid_on <= taken_on + timedelta(days=MATCH_WINDOW_DAYS):
        problems.append(
            f"the bank's row {payment.reference} is dated {payment.paid_on.isoformat()}, the money was taken on {taken_on.isoformat()}"
        )
    data = {
        "collection_id": collection.id,
        "receipt_number": collection.receipt_number,
        "payment_id": payment.id,
        "reference": payment.reference,
    }
    if problems:
        collection.status = "disputed"
        collection.dispute_reason = "; ".join(problems)
        append_event(case=case, kind="payment.disputed", actor_id=actor_id, data={**data, "reason": collection.dispute_reason})
        return collection
    collection.status = "reconciled"
    collection.payment_id = payment.id
    collection.bank_paid_on = payment.paid_on
    collection.reconciled_at = utcnow()
    collection.dispute_reason = None
    append_event(case=case, kind="payment.reconciled", actor_id=actor_id, data={**data, "paid_on": payment.paid_on.isoformat()})
    return collection


def in_hand_clause():
    """Cash the agent still holds: taken in cash, not shown banked, not confirmed by the bank."""
    return and_(Collection.method == "cash", Collection.banked_on.is_(None), Collection.payment_id.is_(None))


def stale_cash(*, now: datetime, branch_id: int | None = None, owner_id: int | None = None) -> list[tuple[Collection, int]]:
    """(collection, whole days held) for cash held longer than its jurisdiction's cash_custody_days, oldest first."""
    stmt = select(Collection).where(in_hand_clause(), Collection.collected_at < now - timedelta(days=1))
    if branch_id:
        stmt = stmt.where(Collection.branch_id == branch_id)
    if owner_id:
        stmt = stmt.where(Collection.case_id.in_(select(Case.id).where(Case.owner_id == owner_id)))
    out = []
    for collection in db.session.scalars(stmt.order_by(Collection.collected_at, Collection.id)):
        limit = effective_settings(jurisdiction_for(db.session.get(Case, collection.case_id)))["cash_custody_days"]
        held = now - collection.collected_at
        if held > timedelta(days=limit):
            out.append((collection, held.days))
    return out


def collections_query(
    *,
    user: User,
    status: str | None = None,
    method: str | None = None,
    case_id: int | None = None,
    agent_id: int | None = None,
    in_hand: bool | None = None,
):
    """Collections newest first; an agent sees only money they took."""
    stmt = select(Collection).order_by(Collection.collected_at.desc(), Collection.id.desc())
    if user.role == "agent":
        stmt = stmt.where(Collection.collected_by_id == user.id)
    if status:
        stmt = stmt.where(Collection.status == status)
    if method:
        stmt = stmt.where(Collection.method == method)
    if case_id:
        stmt = stmt.where(Collection.case_id == case_id)
    if agent_id:
        stmt = stmt.where(Collection.agent_id == agent_id)
    if in_hand is not None:
        stmt = stmt.where(in_hand_clause() if in_hand else ~in_hand_clause())
    return stmt
