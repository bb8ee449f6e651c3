"""The payment feed and promise matching (COMPLIANCE.md, plan policy: broken, kept, superseded).

import_payments: CSV rows → Payment, idempotent by reference; every row reported.
allocate_case_payments: credit unallocated payments to the case's open plan, oldest due first.
evaluate_promises(as_of=): open → grace → kept / partially_kept / broken; superseded when a
    newer plan replaced it. A broken promise increments Case.broken_promises (the strategy
    engine reads it) and leaves a follow-up: the next eligible visit day, else a call, or a
    review when the case is blocked.
record_collection: money taken at the door (the payment.record op) becomes a collection with a
    receipt number from the branch's gapless sequence, on the timeline.
Reconciliation: a feed row naming a collection (its reference or receipt number) with its
    amount, dated from the day it was taken to MATCH_WINDOW_DAYS after, confirms it — the row's
    payment is the money counted, once; one that differs disputes it. import_deposits: cash an
    agent banked, by receipt number, ends its custody (or disputes it). stale_cash: cash held
    past the jurisdiction's cash_custody_days.
"""

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from ..cases.importing import chunks, failing_marks, finish_import_run, record_progress, start_import_run
from ..cases.models import Account, Case, ImportRun
from ..cases.services import append_event, clear_flag, set_flag
from ..common import utcnow
from ..errors import abort, with_field_codes
from ..events import emit
from ..extensions import db
from ..plans.models import OPEN_STATUSES, RepaymentPlan
from ..policy.rules import blocking_findings, eligibility_for_day, jurisdiction_for
from ..policy.settings import effective_settings
from ..visits.models import Visit
from .collections import collected_day, reconcile_collection
from .models import TERMINAL_STATES, Collection, Deposit, FollowUp, Payment, PaymentAllocation, PromiseTrack

REQUIRED_COLUMNS = ("reference", "account_number", "amount", "paid_on")
MAX_BYTES = 20 * 1024 * 1024
CHUNK_ROWS = 200  # rows per transaction (also cases per promise-evaluation transaction)
FOLLOW_UP_HORIZON_DAYS = 14
ZERO = Decimal("0.00")


class _PaidOn(ma.fields.Date):
    """A date, or an ISO date-time whose date part is taken (bank feeds send either)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > 10:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
            except ValueError as exc:
                raise ma.ValidationError("Not a valid date.") from exc
        return super()._deserialize(value, attr, data, **kwargs)


class PaymentRow(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    reference = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._:/-]{1,64}$"))
    account_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    amount = ma.fields.Decimal(required=True, places=2, validate=validate.Range(min=Decimal("0.01")))
    currency = ma.fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"))
    paid_on = _PaidOn(required=True)
    channel = ma.fields.String(load_default="", validate=validate.Length(max=32))

    @ma.pre_load
    def _blank_is_missing(self, data, **kwargs):
        return {k.strip(): v.strip() for k, v in data.items() if k and v is not None and v.strip() != ""}


def _read_csv(raw: bytes, required: tuple = REQUIRED_COLUMNS) -> list[dict]:
    if len(raw) > MAX_BYTES:
        abort(413, f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        abort(422, "The file is not UTF-8 text.", errors={"file": ["not UTF-8"]})
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in required if c not in columns]
    if missing:
        abort(422, "The CSV lacks required columns.", errors={"file": [f"missing column: {c}" for c in missing]})
    return list(reader)


def import_payments(*, raw: bytes, actor_id: int | None, as_of: date | None = None) -> dict:
    """Import a payment feed; a reference seen before is a duplicate (or a conflict if it differs).

    Rows are applied and allocated in chunks of CHUNK_ROWS, each its own transaction with the
    progress on the ImportRun. Promises are decided once every row is in (a later row may be
    the payment that keeps one), over the touched cases — and over those of earlier payment
    imports that were cut off before they got there, so importing the file again finishes them."""
    rows = _read_csv(raw)
    report = {"created": 0, "duplicate": 0, "rejected": 0, "rows": [], "collections": {"reconciled": 0, "disputed": 0}}
    counts = {k: 0 for k in ("created", "duplicate", "rejected")}
    run = start_import_run(kind="payments", raw=raw, total_rows=len(rows), actor_id=actor_id, counts=counts)
    touched: set[int] = set()
    schema = PaymentRow()
    with failing_marks(run):
        for chunk in chunks(rows, CHUNK_ROWS):
            chunk_touched: set[int] = set()
            for number, row in chunk:
                entry, case_id = _import_payment_row(number, row, schema, actor_id)
                report[entry["status"]] += 1
                report["rows"].append(with_field_codes(entry))
                if "collection" in entry:
                    report["collections"][entry["collection"]["status"]] += 1
                if case_id is not None:
                    chunk_touched.add(case_id)
            db.session.flush()
            for case_id in sorted(chunk_touched):
                allocate_case_payments(case=db.session.get(Case, case_id))
            touched |= chunk_touched
            run.pending_case_ids = sorted(touched)
            record_progress(run, processed_rows=chunk[-1][0] - 1, counts={k: report[k] for k in counts})
            db.session.commit()
        earlier = _cut_off_payment_imports(excluding=run.id)
        for previous in earlier:
            touched.update(previous.pending_case_ids)
        promises: dict[str, int] = defaultdict(int)
        case_ids = sorted(touched)
        for start in range(0, len(case_ids), CHUNK_ROWS):
            for state, number in evaluate_promises(as_of=as_of or date.today(), case_ids=case_ids[start : start + CHUNK_ROWS]).items():
                promises[state] += number
            db.session.commit()
        report["promises"] = dict(promises)
        for previous in earlier:
            previous.status = "resumed"
            previous.pending_case_ids = []
        finish_import_run(run, rejected_rows=[r for r in report["rows"] if r["status"] == "rejected"])
        db.session.commit()
    report["import_id"] = run.id
    return report


def _import_payment_row(number: int, row: dict, schema: PaymentRow, actor_id: int | None) -> tuple[dict, int | None]:
    """The row's report entry, and the case whose payments it added to (or None)."""
    try:
        data = schema.load(row)
    except ma.ValidationError as exc:
        return {"row": number, "reference": (row.get("reference") or "").strip(), "status": "rejected", "errors": exc.messages}, None
    status, errors, payment, collection = _import_row(data, actor_id)
    entry = {"row": number, "reference": data["reference"], "status": status}
    if errors:
        entry["errors"] = errors
    if payment is None:
        return entry, None
    entry["payment_id"] = payment.id
    if collection is not None:
        entry["collection"] = {"id": collection.id, "receipt_number": collection.receipt_number, "status": collection.status}
    return entry, payment.case_id if status == "created" and payment.case_id else None


# an import whose progress has not moved for this long is no longer running: it was cut off
STALLED_AFTER = timedelta(minutes=10)


def _cut_off_payment_imports(*, excluding: int) -> list[ImportRun]:
    """Earlier payment imports that stopped before deciding their cases' promises."""
    stalled = utcnow() - STALLED_AFTER
    runs = db.session.scalars(
        select(ImportRun).where(
            ImportRun.kind == "payments",
            ImportRun.id != excluding,
            or_(ImportRun.status == "failed", and_(ImportRun.status == "running", ImportRun.updated_at < stalled)),
        )
    ).all()
    return [r for r in runs if r.pending_case_ids]


def _import_row(data: dict, actor_id: int | None):
    existing = db.session.scalar(select(Payment).where(Payment.reference == data["reference"]))
    account = db.session.scalar(select(Account).where(Account.account_number == data["account_number"]))
    if existing is not None:
        same = (
            account is not None
            and existing.account_id == account.id
            and existing.amount == data["amount"]
            and existing.paid_on == data["paid_on"]
        )
        if same:
            return "duplicate", None, existing, None
        return "rejected", {"reference": ["already imported with a different account, amount or date"]}, None, None
    if account is None:
        return "rejected", {"account_number": ["unknown account"]}, None, None
    currency = data.get("currency") or account.currency
    if currency != account.currency:
        return "rejected", {"currency": [f"the account is in {account.currency}"]}, None, None
    case = db.session.scalar(select(Case).where(Case.account_id == account.id))
    payment = Payment(
        reference=data["reference"],
        account_id=account.id,
        case_id=case.id if case else None,
        amount=data["amount"],
        currency=currency,
        paid_on=data["paid_on"],
        channel=data["channel"],
        unallocated=data["amount"],
        imported_by_id=actor_id,
    )
    try:
        # two imports of the same feed at once: the unique reference decides, the loser is a duplicate
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError:
        return "duplicate", None, db.session.scalar(select(Payment).where(Payment.reference == data["reference"])), None
    collection = None
    if case is not None:
        append_event(
            case=case,
            kind="payment.received",
            actor_id=actor_id,
            data={
                "payment_id": payment.id,
                "reference": payment.reference,
                "amount": str(payment.amount),
                "paid_on": payment.paid_on.isoformat(),
            },
        )
        collection = reconcile_collection(case=case, payment=payment, actor_id=actor_id)
    return "created", None, payment, collection


# --- allocation -------------------------------------------------------------------------------


def _slots(plan: RepaymentPlan) -> list[tuple[int | None, date, Decimal]]:
    """(installment id or None for the down payment, due date, amount), in the order they fall due."""
    slots = []
    if plan.down_payment and plan.down_payment > 0:
        slots.append((None, plan.created_at.date(), Decimal(plan.down_payment)))
    slots += [(i.id, i.due_date, Decimal(i.amount)) for i in plan.installments]
    return slots


def _allocated(plan_id: int) -> dict[int | None, Decimal]:
    out: dict = defaultdict(lambda: ZERO)
    for alloc in db.session.scalars(select(PaymentAllocation).where(PaymentAllocation.plan_id == plan_id)):
        out[alloc.installment_id] += Decimal(alloc.amount)
    return out


def open_plan_of(case: Case) -> RepaymentPlan | None:
    return db.session.scalar(
        select(RepaymentPlan)
        .where(RepaymentPlan.case_id == case.id, RepaymentPlan.status.in_(OPEN_STATUSES))
        .order_by(RepaymentPlan.created_at.desc(), RepaymentPlan.id.desc())
        .limit(1)
    )


def allocate_case_payments(*, case: Case) -> int:
    """Credit the case's unallocated payments (made on or after the plan) to its open plan, oldest due first."""
    supersede_older_plans(case=case)
    plan = open_plan_of(case)
    if plan is None:
        return 0
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.account_id == case.account_id, Payment.unallocated > 0, Payment.paid_on >= plan.created_at.date())
        .order_by(Payment.paid_on, Payment.id)
    ).all()
    paid = _allocated(plan.id)
    installments = {i.id: i for i in plan.installments}
    count = 0
    for payment in payments:
        for slot_id, _, amount in _slots(plan):
            left = Decimal(payment.unallocated)
            if left <= 0:
                break
            owed = amount - paid[slot_id]
            if owed <= 0:
                continue
            take = min(owed, left)
            db.session.add(PaymentAllocation(payment_id=payment.id, plan_id=plan.id, installment_id=slot_id, amount=take))
            payment.unallocated = left - take
            paid[slot_id] += take
            if slot_id is not None:
                item = installments[slot_id]
                item.paid_amount = paid[slot_id]
                item.status = "paid" if paid[slot_id] >= Decimal(item.amount) else "partial"
            count += 1
    db.session.flush()
    return count


def supersede_older_plans(*, case: Case, actor_id: int | None = None) -> list[RepaymentPlan]:
    """One open promise or plan per account: every older open one is superseded by the newest (history kept)."""
    plans = db.session.scalars(
        select(RepaymentPlan)
        .where(RepaymentPlan.case_id == case.id, RepaymentPlan.status.in_(OPEN_STATUSES))
        .order_by(RepaymentPlan.created_at.desc(), RepaymentPlan.id.desc())
    ).all()
    if len(plans) < 2:
        return []
    newest, older = plans[0], plans[1:]
    for plan in older:
        plan.status = "superseded"
        plan.superseded_by_id = newest.id
        track = _track(plan)
        track.state = "superseded"
        track.decided_at = utcnow()
        track.detail = f"replaced by plan {newest.id}"
        append_event(case=case, kind="plan.superseded", actor_id=actor_id, data={"plan_id": plan.id, "by": newest.id})
    db.session.flush()
    return older


# --- evaluation -------------------------------------------------------------------------------


def _track(plan: RepaymentPlan) -> PromiseTrack:
    track = db.session.scalar(select(PromiseTrack).where(PromiseTrack.plan_id == plan.id))
    if track is None:
        promised = sum((amount for _, _, amount in _slots(plan)), ZERO)
        track = PromiseTrack(plan_id=plan.id, case_id=plan.case_id, state="open", promised_amount=promised, paid_amount=ZERO)
        db.session.add(track)
        db.session.flush()
    return track


def plan_state(plan: RepaymentPlan, *, as_of: date, grace_days: int, tolerance_pct: Decimal) -> tuple[str, Decimal, date | None, str]:
    """(state, paid by the deadlines, next deadline, detail) for one plan as of a date.

    Each installment counts the payments dated on or before its due date + grace; it is met when
    they reach tolerance_pct of its amount. All met → kept. A deadline passed with nothing → broken,
    with something short of the tolerance → partially_kept. Past due but inside grace → grace.
    """
    tolerance = tolerance_pct / 100
    grace = timedelta(days=grace_days)
    by_slot: dict = defaultdict(lambda: ZERO)
    rows = db.session.execute(
        select(PaymentAllocation.installment_id, PaymentAllocation.amount, Payment.paid_on, Collection)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .outerjoin(Collection, Collection.payment_id == Payment.id)
        .where(PaymentAllocation.plan_id == plan.id)
    ).all()
    slots = _slots(plan)
    deadlines = {slot_id: due + grace for slot_id, due, _ in slots}
    for slot_id, amount, paid_on, collection in rows:
        # money taken at the door and confirmed by the bank counts from the day the debtor paid
        day = collected_day(collection) if collection is not None else paid_on
        if day <= deadlines.get(slot_id, date.max):
            by_slot[slot_id] += Decimal(amount)
    total_paid = sum(by_slot.values(), ZERO)
    pending, held = _awaiting_confirmation(plan), ZERO
    states, next_deadline = [], None
    for slot_id, due, amount in slots:
        paid = by_slot[slot_id]
        if paid >= amount * tolerance:
            states.append("met")
        elif as_of > deadlines[slot_id] and paid + _taken_by(pending, deadlines[slot_id]) - held >= amount * tolerance:
            # receipted at the door by the deadline: not judged until the bank confirms or disputes it
            held += amount * tolerance - paid
            states.append("awaiting")
            next_deadline = next_deadline or deadlines[slot_id]
        elif as_of <= due:
            states.append("not_due")
            next_deadline = next_deadline or deadlines[slot_id]
        elif as_of <= deadlines[slot_id]:
            states.append("grace")
            next_deadline = next_deadline or deadlines[slot_id]
        else:
            states.append("partial" if paid > 0 else "missed")
    label = lambda n: "down payment" if slots[n][0] is None else f"installment due {slots[n][1].isoformat()}"  # noqa: E731
    if slots and all(s == "met" for s in states):
        return "kept", total_paid, None, "every payment reached the promised amount"
    if "missed" in states:
        n = states.index("missed")
        return "broken", total_paid, None, f"nothing paid for the {label(n)} by its deadline"
    if "partial" in states:
        n = states.index("partial")
        return "partially_kept", total_paid, None, f"the {label(n)} was paid short of {tolerance_pct}% by its deadline"
    if "grace" in states:
        return "grace", total_paid, next_deadline, "past due, inside the grace days"
    if "awaiting" in states:
        return "grace", total_paid, next_deadline, "money taken at the door awaits the bank's confirmation"
    return "open", total_paid, next_deadline, ""


def _awaiting_confirmation(plan: RepaymentPlan) -> list[tuple[date, Decimal]]:
    """(day taken, amount) of the case's collections since the plan that the bank has not confirmed
    yet (a disputed one is not money until the dispute is settled)."""
    collections = db.session.scalars(
        select(Collection).where(Collection.case_id == plan.case_id, Collection.status == "unreconciled")
    ).all()
    made = plan.created_at.date()
    return [(day, Decimal(c.amount)) for c in collections if (day := collected_day(c)) >= made]


def _taken_by(pending: list[tuple[date, Decimal]], deadline: date) -> Decimal:
    return sum((amount for day, amount in pending if day <= deadline), ZERO)


def evaluate_promises(*, as_of: date, case_ids: list[int] | None = None, actor_id: int | None = None) -> dict:
    """Decide every open plan and promise as of a date (the nightly job; also after an import)."""
    stmt = select(RepaymentPlan.case_id).where(RepaymentPlan.status.in_(OPEN_STATUSES)).distinct()
    if case_ids is not None:
        stmt = stmt.where(RepaymentPlan.case_id.in_(case_ids))
    summary: dict[str, int] = defaultdict(int)
    for case_id in db.session.scalars(stmt).all():
        case = db.session.get(Case, case_id)
        summary["superseded"] += len(supersede_older_plans(case=case, actor_id=actor_id))
        allocate_case_payments(case=case)
        plan = open_plan_of(case)
        if plan is None:
            continue
        settings = effective_settings(jurisdiction_for(case))
        state, paid, deadline, detail = plan_state(
            plan, as_of=as_of, grace_days=settings["grace_days"], tolerance_pct=Decimal(settings["kept_tolerance_pct"])
        )
        track = _track(plan)
        track.paid_amount, track.deadline, track.as_of, track.evaluated_at, track.detail = paid, deadline, as_of, utcnow(), detail
        summary[state] += 1
        if state != track.state and track.state not in TERMINAL_STATES:
            track.state = state
            if state in TERMINAL_STATES:
                _decide(case=case, plan=plan, track=track, state=state, as_of=as_of, actor_id=actor_id)
        follow_performance(
            case=case, plan=plan, performing=plan.status == "active" and track.state == "open" and paid > 0, actor_id=actor_id
        )
    summary["closed"] += _close_tracks_of_closed_plans(case_ids)
    db.session.flush()
    return {k: v for k, v in summary.items() if v}


def _close_tracks_of_closed_plans(case_ids: list[int] | None) -> int:
    """A plan closed elsewhere (rejected or cancelled by the owner, superseded by the plans service)
    stops being tracked; its history stays."""
    stmt = (
        select(PromiseTrack, RepaymentPlan.status)
        .join(RepaymentPlan, RepaymentPlan.id == PromiseTrack.plan_id)
        .where(RepaymentPlan.status.in_(("cancelled", "rejected", "superseded")), PromiseTrack.state.not_in(TERMINAL_STATES))
    )
    if case_ids is not None:
        stmt = stmt.where(PromiseTrack.case_id.in_(case_ids))
    rows = db.session.execute(stmt).all()
    for track, status in rows:
        track.state = "superseded" if status == "superseded" else "cancelled"
        track.decided_at = utcnow()
        case = db.session.get(Case, track.case_id)
        if open_plan_of(case) is None:
            follow_performance(case=case, plan=db.session.get(RepaymentPlan, track.plan_id), performing=False, actor_id=None)
    return len(rows)


PERFORMING = "plan_performing"


def follow_performance(*, case: Case, plan: RepaymentPlan, performing: bool, actor_id: int | None) -> None:
    """R4 "plan active and performing" follows the payments: set while the case's open plan has
    confirmed money on it and nothing past due unmet (visits would only press a debtor who is
    paying), cleared when it falls behind, ends or is replaced. Devices holding the case learn
    either change as they learn any flag."""
    active = next((f for f in case.active_flags() if f.flag == PERFORMING), None)
    if performing and active is None:
        set_flag(
            case=case,
            flag=PERFORMING,
            actor_id=actor_id,
            reason=f"{plan.kind} {plan.id} is being paid as agreed (set by the payment evaluation)",
        )
    elif not performing and active is not None:
        clear_flag(
            case=case,
            flag=PERFORMING,
            actor_id=actor_id,
            reason=f"{plan.kind} {plan.id} is no longer performing: {_track(plan).state} (the payment evaluation)",
        )


def _decide(*, case: Case, plan: RepaymentPlan, track: PromiseTrack, state: str, as_of: date, actor_id: int | None) -> None:
    plan.status = state
    track.decided_at = utcnow()
    data = {
        "plan_id": plan.id,
        "kind": plan.kind,
        "paid": str(track.paid_amount),
        "promised": str(track.promised_amount),
        "detail": track.detail,
    }
    if state in ("broken", "partially_kept"):
        if state == "broken":
            case.broken_promises += 1
            case.version += 1
        follow_up = create_follow_up(case=case, plan=plan, as_of=as_of, reason=f"{plan.kind} {state.replace('_', ' ')}: {track.detail}")
        data["follow_up"] = {"id": follow_up.id, "kind": follow_up.kind, "due_on": follow_up.due_on.isoformat()}
    append_event(case=case, kind=f"plan.{state}", actor_id=actor_id, data=data)
    emit(f"promise.{state}", case=case, plan=plan)


def create_follow_up(*, case: Case, plan: RepaymentPlan | None, as_of: date, reason: str) -> FollowUp:
    """The next eligible visit day within the horizon; a call when none is; a review when the case is blocked."""
    kind, due_on = "call", as_of + timedelta(days=1)
    if blocking_findings(case):
        kind = "review"
    else:
        for offset in range(1, FOLLOW_UP_HORIZON_DAYS + 1):
            day = as_of + timedelta(days=offset)
            allowed, _ = eligibility_for_day(case, day)
            if allowed:
                kind, due_on = "visit", day
                break
    follow_up = FollowUp(case_id=case.id, plan_id=plan.id if plan else None, kind=kind, due_on=due_on, reason=reason)
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def agree_follow_up(*, case: Case, visit_id: int, due_on: date, note: str | None, actor_id: int | None) -> FollowUp:
    """A return visit agreed at the door: an open follow-up of kind visit, due that day, on the timeline."""
    follow_up = FollowUp(case_id=case.id, kind="visit", due_on=due_on, reason=note or f"Agreed at the door (visit {visit_id}).")
    db.session.add(follow_up)
    db.session.flush()
    append_event(
        case=case,
        kind="follow_up.agreed",
        actor_id=actor_id,
        data={"follow_up_id": follow_up.id, "visit_id": visit_id, "due_on": due_on.isoformat(), "note": note},
    )
    return follow_up


def close_follow_up(*, follow_up: FollowUp, actor_id: int, visit_id: int | None = None, status: str = "done") -> FollowUp:
    if follow_up.status != "open":
        abort(409, f"This follow-up is already {follow_up.status}.", code="bad_transition")
    follow_up.status = status
    follow_up.done_at = utcnow()
    follow_up.done_by_id = actor_id
    follow_up.visit_id = visit_id
    return follow_up


# --- follow-ups as the office works them ------------------------------------------------


def follow_up_agent(follow_up: FollowUp):
    """The agent whose visit agreed the follow-up, or made the promise it comes from (None without one)."""
    plan = follow_up.plan
    visit_id = follow_up.visit_id or (plan.visit_id if plan is not None else None)
    visit = db.session.get(Visit, visit_id) if visit_id else None
    return visit.agent if visit is not None else None


def follow_ups_query(
    *,
    status: str = "open",
    kind: str | None = None,
    case_id: int | None = None,
    branch_id: int | None = None,
    owner_id: int | None = None,
    agent_id: int | None = None,
    due_before: date | None = None,
    due_from: date | None = None,
):
    """Follow-ups by status, kind, case, the case's branch or owner, the promising agent and
    due date, soonest due first."""
    stmt = select(FollowUp).join(Case, Case.id == FollowUp.case_id).where(FollowUp.status == status)
    if kind:
        stmt = stmt.where(FollowUp.kind == kind)
    if case_id:
        stmt = stmt.where(FollowUp.case_id == case_id)
    if branch_id:
        stmt = stmt.where(Case.branch_id == branch_id)
    if owner_id:
        stmt = stmt.where(Case.owner_id == owner_id)
    if agent_id:
        # the visit that agreed it at the door, else the visit that made its promise
        promising = select(RepaymentPlan.id).join(Visit, Visit.id == RepaymentPlan.visit_id).where(Visit.agent_id == agent_id)
        agreed = select(Visit.id).where(Visit.agent_id == agent_id)
        stmt = stmt.where(FollowUp.visit_id.in_(agreed) | FollowUp.plan_id.in_(promising))
    if due_before:
        stmt = stmt.where(FollowUp.due_on < due_before)
    if due_from:
        stmt = stmt.where(FollowUp.due_on >= due_from)
    order = (FollowUp.done_at.desc(), FollowUp.id.desc()) if status != "open" else (FollowUp.due_on, FollowUp.id)
    return stmt.order_by(*order)


DEPOSIT_COLUMNS = ("reference", "receipt_number", "amount", "deposited_on")


class DepositRow(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    reference = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._:/-]{1,64}$"))
    receipt_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    amount = ma.fields.Decimal(required=True, places=2, validate=validate.Range(min=Decimal("0.01")))
    deposited_on = _PaidOn(required=True)

    @ma.pre_load
    def _blank_is_missing(self, data, **kwargs):
        return {k.strip(): v.strip() for k, v in data.items() if k and v is not None and v.strip() != ""}


def import_deposits(*, raw: bytes, actor_id: int | None) -> dict:
    """Cash banked by agents: each row names the receipt whose cash it carries. A row with the
    receipt's amount, dated on or after the day it was taken, ends the agent's custody of it; one
    that differs disputes the collection. Idempotent by (reference, receipt number); chunked with
    progress like the payment feed."""
    rows = _read_csv(raw, DEPOSIT_COLUMNS)
    report = {"created": 0, "duplicate": 0, "rejected": 0, "rows": [], "collections": {"banked": 0, "disputed": 0}}
    counts = {k: 0 for k in ("created", "duplicate", "rejected")}
    run = start_import_run(kind="deposits", raw=raw, total_rows=len(rows), actor_id=actor_id, counts=counts)
    schema = DepositRow()
    with failing_marks(run):
        for chunk in chunks(rows, CHUNK_ROWS):
            for number, row in chunk:
                entry = _import_deposit_row(number, row, schema, actor_id)
                report[entry["status"]] += 1
                report["rows"].append(with_field_codes(entry))
                if entry["status"] == "created":
                    report["collections"][entry["collection"]["custody"]] += 1
            record_progress(run, processed_rows=chunk[-1][0] - 1, counts={k: report[k] for k in counts})
            db.session.commit()
        finish_import_run(run, rejected_rows=[r for r in report["rows"] if r["status"] == "rejected"])
        db.session.commit()
    report["import_id"] = run.id
    return report


def _import_deposit_row(number: int, row: dict, schema: DepositRow, actor_id: int | None) -> dict:
    try:
        data = schema.load(row)
    except ma.ValidationError as exc:
        return {"row": number, "reference": (row.get("reference") or "").strip(), "status": "rejected", "errors": exc.messages}
    entry = {"row": number, "reference": data["reference"], "receipt_number": data["receipt_number"]}
    existing = db.session.scalar(
        select(Deposit).where(Deposit.reference == data["reference"], Deposit.receipt_number == data["receipt_number"])
    )
    if existing is not None:
        if existing.amount == data["amount"] and existing.deposited_on == data["deposited_on"]:
            return {**entry, "status": "duplicate", "deposit_id": existing.id}
        return {
            **entry,
            "status": "rejected",
            "errors": {"reference": ["already imported for this receipt with a different amount or date"]},
        }
    collection = db.session.scalar(select(Collection).where(Collection.receipt_number == data["receipt_number"]))
    if collection is None:
        return {**entry, "status": "rejected", "errors": {"receipt_number": ["no such receipt"]}}
    if collection.method != "cash":
        return {**entry, "status": "rejected", "errors": {"receipt_number": [f"not cash (taken by {collection.method})"]}}
    if collection.deposit_id is not None:
        return {**entry, "status": "rejected", "errors": {"receipt_number": [f"already banked (deposit {collection.deposit_id})"]}}
    problems = []
    if data["amount"] != Decimal(collection.amount):
        problems.append(f"deposit {data['reference']} is {data['amount']}, the receipt {collection.amount}")
    taken_on = collected_day(collection)
    if data["deposited_on"] < taken_on:
        problems.append(
            f"deposit {data['reference']} is dated {data['deposited_on'].isoformat()}, before the money was taken on {taken_on.isoformat()}"
        )
    deposit = Deposit(
        reference=data["reference"],
        receipt_number=data["receipt_number"],
        amount=data["amount"],
        deposited_on=data["deposited_on"],
        status="disputed" if problems else "matched",
        imported_by_id=actor_id,
    )
    db.session.add(deposit)
    db.session.flush()
    collection.deposit_id = deposit.id
    event = {
        "collection_id": collection.id,
        "receipt_number": collection.receipt_number,
        "deposit_id": deposit.id,
        "reference": deposit.reference,
        "amount": str(deposit.amount),
        "deposited_on": deposit.deposited_on.isoformat(),
    }
    case = db.session.get(Case, collection.case_id)
    if problems:
        if collection.status != "reconciled":
            collection.status = "disputed"
        collection.dispute_reason = "; ".join(problems)
        append_event(case=case, kind="payment.deposit_disputed", actor_id=actor_id, data={**event, "reason": collection.dispute_reason})
        custody = "disputed"
    else:
        collection.banked_on = deposit.deposited_on
        append_event(case=case, kind="payment.banked", actor_id=actor_id, data=event)
        custody = "banked"
    return {
        **entry,
        "status": "created",
        "deposit_id": deposit.id,
        "collection": {"id": collection.id, "status": collection.status, "custody": custody},
    }
