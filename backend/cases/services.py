import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, bindparam, exists, false, or_, select, update

from ..auth.models import User
from ..common import canonical_json, sha256_hex, utcnow
from ..db import lock_case_row
from ..errors import abort
from ..events import emit
from ..extensions import db
from ..feed import insert_row, record_change
from ..org.models import Agent, Branch
from ..policy.rules import review_flag_for
from ..visits.models import OPEN_STATUSES, Outcome, Visit
from .models import RUNG_WORK, STAGES, Account, Case, CaseFlag, Debtor, Note, TimelineEvent, bucket_for, days_range_for
from .projection import search_clause

GENESIS = "0" * 64


def _event_hash(*, case_id: int, seq: int, kind: str, at: datetime, actor_id: int | None, data_sha256: str, prev_hash: str) -> str:
    body = {
        "case_id": case_id,
        "seq": seq,
        "kind": kind,
        "at": at.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "data_sha256": data_sha256,
        "prev_hash": prev_hash,
    }
    return sha256_hex(canonical_json(body))


def data_digest(data: dict) -> str:
    return sha256_hex(canonical_json(data))


# built once: a statement object keeps its cache key, so the per-event cost is the round trip
_CHAIN_TIP = (
    select(TimelineEvent.seq, TimelineEvent.hash)
    .where(TimelineEvent.case_id == bindparam("case_id"))
    .order_by(TimelineEvent.seq.desc())
    .limit(1)
)


def append_event(*, case: Case, kind: str, actor_id: int | None, data: dict | None = None) -> TimelineEvent:
    """Append one event to the case's hash chain (the case row is locked while we read the tip).

    A plain INSERT on the session's connection, not the unit of work: events are append-only and
    nothing reads the new row back through the session, and the flush bookkeeping was a large
    share of a sync op's CPU. The returned event carries its id; it is not in the session.
    """
    data = data or {}
    # what the caller changed is written first, as the autoflush of a session query did: row
    # locks keep the order they always had (the visit before the case), so no new deadlock
    db.session.flush()
    case_id = case.id
    lock_case_row(case_id)  # appends to one case queue behind each other
    last = db.session.connection().execute(_CHAIN_TIP, {"case_id": case_id}).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    # the canonical text once: its digest is the chain's, and the data stored is that text read
    # back, so it hashes the same way when verified (data_digest of it gives the same text)
    text = canonical_json(data)
    data, digest = json.loads(text), sha256_hex(text)
    at = utcnow()
    values = {
        "case_id": case_id,
        "seq": seq,
        "kind": kind,
        "at": at,
        "actor_id": actor_id,
        "data": data,
        "data_sha256": digest,
        "redacted_at": None,
        "prev_hash": prev,
        "hash": _event_hash(case_id=case_id, seq=seq, kind=kind, at=at, actor_id=actor_id, data_sha256=digest, prev_hash=prev),
    }
    return insert_row(TimelineEvent, values)


def verify_timeline(*, case_id: int) -> dict:
    """Walk the chain; name the first event whose link or content does not hold. A redacted
    event (R8) is checked by its recorded digest: its data is gone, its place in the chain is not."""
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)).all()
    prev = GENESIS
    redacted = 0
    for expected_seq, event in enumerate(events, start=1):
        problem = None
        if event.seq != expected_seq:
            problem = f"sequence gap: expected {expected_seq}"
        elif event.prev_hash != prev:
            problem = "prev_hash does not match the previous event"
        elif (
            event.redacted_at is None
            and data_digest(event.data) != event.data_sha256
            or event.hash
            != _event_hash(
                case_id=event.case_id,
                seq=event.seq,
                kind=event.kind,
                at=event.at,
                actor_id=event.actor_id,
                data_sha256=event.data_sha256,
                prev_hash=event.prev_hash,
            )
        ):
            problem = "content does not match its hash"
        if problem:
            return {
                "verified": False,
                "events": len(events),
                "redacted": redacted,
                "first_broken": {"seq": event.seq, "id": event.id, "problem": problem},
            }
        redacted += event.redacted_at is not None
        prev = event.hash
    return {"verified": True, "events": len(events), "redacted": redacted, "first_broken": None, "head": prev}


# what a redacted event keeps: codes, ids and amounts, never free text, names, places or numbers of people
REDACTION_KEEPS = frozenset(
    {
        "op_id",
        "type",
        "status",
        "code",
        "flag",
        "to",
        "from",
        "stage",
        "visit_id",
        "plan_id",
        "plan_ref",
        "kind",
        "amount",
        "total",
        "total_amount",
        "months",
        "discount_pct",
        "outcome",
        "rule",
        "device_id",
    }
)


def redact_timeline(*, case_id: int, reason: str) -> int:
    """Blank the personal data of every event of the case (R8 retention); returns how many.

    The one sanctioned change to the timeline, by a Core UPDATE (the ORM refuses updates):
    each event keeps its digest, so the chain still verifies, and keeps the codes and ids in
    REDACTION_KEEPS, with `redacted` naming why the rest is gone."""
    connection = db.session.connection()
    rows = connection.execute(
        select(TimelineEvent.id, TimelineEvent.data).where(TimelineEvent.case_id == case_id, TimelineEvent.redacted_at.is_(None))
    ).all()
    now = utcnow()
    for row in rows:
        kept = {key: value for key, value in (row.data or {}).items() if key in REDACTION_KEEPS}
        connection.execute(
            update(TimelineEvent).where(TimelineEvent.id == row.id).values(data={**kept, "redacted": reason}, redacted_at=now)
        )
    return len(rows)


def update_case(*, case: Case, changes: dict, version: int, reason: str, actor, skip: bool = False) -> Case:
    """Move a case along the ladder or hand it to another owner or branch; `version` is the one the
    caller read (a case changed since is a 409). What changed lands on the timeline with the reason.

    The ladder is kept (phone → letter → field → legal; closed from any rung): a forward move past
    a rung whose work is not on the record is a 409 `ladder`, unless `skip` (with a reason), which
    is audited as its own `case.ladder_skipped` event."""
    if version != case.version:
        abort(409, "The case changed since you read it; reload and try again.", current_version=case.version)
    if changes.get("owner_id") is not None:
        owner = db.session.get(User, changes["owner_id"])
        if owner is None or owner.role not in ("owner", "admin"):
            abort(422, "No case owner with that id.", errors={"owner_id": ["not a case owner"]})
    if changes.get("branch_id") is not None and db.session.get(Branch, changes["branch_id"]) is None:
        abort(422, "No such branch.", errors={"branch_id": ["unknown branch"]})
    moved = {k: {"from": getattr(case, k), "to": v} for k, v in changes.items() if getattr(case, k) != v}
    skipped = _rungs_without_work(case, changes["stage"]) if "stage" in moved else []
    if skipped and not skip:
        abort(
            409,
            f"The case would skip the {', '.join(skipped)} rung(s) of the ladder with no work on the record; "
            "record it, or skip with a reason.",
            code="ladder",
            errors={"stage": [f"{r}: no work on the record" for r in skipped]},
            skipped=skipped,
        )
    if moved:
        for key, value in changes.items():
            setattr(case, key, value)
        case.version += 1
        if "stage" in moved:
            case.stage_changed_at = utcnow()
        if skipped:
            append_event(
                case=case,
                kind="case.ladder_skipped",
                actor_id=actor.id,
                data={"from": moved["stage"]["from"], "to": moved["stage"]["to"], "skipped": skipped, "reason": reason},
            )
        append_event(case=case, kind="case.updated", actor_id=actor.id, data={"changes": moved, "reason": reason})
        if "stage" in moved:
            notify_stage_stop(case=case, reason=reason)
    return case


def _rungs_without_work(case: Case, to: str) -> list[str]:
    """The rungs a forward move to `to` passes over with none of their work on the record."""
    if to == "closed" or STAGES.index(to) <= STAGES.index(case.stage) + 1:
        return []
    passed = STAGES[STAGES.index(case.stage) + 1 : STAGES.index(to)]
    return [rung for rung in passed if not _rung_worked(case, rung)]


def _rung_worked(case: Case, rung: str) -> bool:
    if rung in RUNG_WORK:
        kinds = [f"contact.{channel}" for channel in RUNG_WORK[rung]]
        return bool(db.session.scalar(select(exists().where(TimelineEvent.case_id == case.id, TimelineEvent.kind.in_(kinds)))))
    # the field rung's work: a visit that reached the door (an outcome recorded)
    return bool(db.session.scalar(select(exists().where(Outcome.case_id == case.id))))


def record_contact(
    *, case: Case, channel: str, at: datetime | None, result: str, note: str, actor_id: int | None, document: dict | None = None
) -> TimelineEvent:
    """A contact attempt of the phone or letter rung (call, SMS, letter) as a case event;
    `document`: what a letter rendered here was (its PDF's SHA-256, the template and version)."""
    data = {"channel": channel, "at": (at or utcnow()).isoformat(), "result": result, "note": note}
    if document is not None:
        data["document"] = document
    return append_event(case=case, kind=f"contact.{channel}", actor_id=actor_id, data=data)


def stage_stop_code(case: Case) -> str:
    return "case_closed" if case.stage == "closed" else "stage_changed"


def notify_stage_stop(*, case: Case, reason: str) -> None:
    """A move on the ladder (closed, back down, handed to legal…) stops field work on every visit
    published before it: each device holding an open visit on the case learns it as stop-work."""
    payload = {**_flags_payload(case), "stop_work": True, "code": stage_stop_code(case), "stage": case.stage, "reason": reason}
    user_ids = _open_visit_agent_user_ids(case)
    for user_id in user_ids:
        record_change(user_id=user_id, kind="case.stop_work", ref_type="case", ref_id=case.id, data=payload)


def add_note(
    *, case: Case, text: str, author_id: int, visit_id: int | None = None, created_at: datetime | None = None, op_id: str | None = None
) -> Note:
    """A note on the case. R7: prohibited wording (policy.rules, the same list the device holds
    in its packet and the script gate uses) puts it up for review; it is kept either way."""
    values = {
        "case_id": case.id,
        "visit_id": visit_id,
        "author_id": author_id,
        "text": text,
        "created_at": created_at or utcnow(),
        "review_flag": review_flag_for(text),
    }
    # a plain INSERT (append-only, not read back in this transaction): the unit of work costs more than the row
    note = insert_row(Note, values)
    append_event(
        case=case,
        kind="note.added",
        actor_id=author_id,
        data={"note_id": note.id, "visit_id": visit_id, "text": text, "review_flag": note.review_flag, "op_id": op_id},
    )
    return note


# --- access ---------------------------------------------------------------


def agent_of(user):
    """The field-agent profile an agent acts through (None for the office, or no profile)."""
    return user.agent if user.role == "agent" else None


# a visit gives its agent authority on the case while it is live: on their route now, or done today
LIVE_STATUSES = ("published", "checked_in")
DONE_STATUSES = ("completed", "failed")


def agent_today(agent) -> date:
    """The agent's calendar day, in their branch's timezone."""
    tz = agent.branch.timezone if agent.branch is not None and agent.branch.timezone else current_app.config["DEFAULT_TIMEZONE"]
    return datetime.now(ZoneInfo(tz)).date()


def agent_case_ids_subquery(agent):
    """The cases an agent may read and write: those they hold a live visit on as its lead or its
    partner (R9) (published, checked in, or completed/failed today). A reassigned or cancelled
    visit gives nothing."""
    if agent is None:
        return select(Visit.case_id).where(false())
    return select(Visit.case_id).where(
        or_(Visit.agent_id == agent.id, Visit.partner_id == agent.id),
        or_(Visit.status.in_(LIVE_STATUSES), and_(Visit.status.in_(DONE_STATUSES), Visit.date >= agent_today(agent))),
    )


def get_case_for_user(case_id: int, *, user) -> Case:
    """The case, if `user` may see it; 404 otherwise (existence does not leak)."""
    case = db.session.get(Case, case_id)
    if case is None or not user_may_see_case(case.id, user=user):
        abort(404, f"No case {case_id}.")
    return case


def user_may_see_case(case_id: int, *, user) -> bool:
    if user.role != "agent":
        return True
    agent = agent_of(user)
    if agent is None:
        return False
    return bool(db.session.scalar(select(agent_case_ids_subquery(agent).where(Visit.case_id == case_id).exists())))


def list_cases(*, user, stage=None, bucket=None, branch_id=None, owner_id=None, flag=None, q=None):
    stmt = select(Case).join(Account, Account.id == Case.account_id).join(Debtor, Debtor.id == Account.debtor_id).order_by(Case.id)
    if user.role == "agent":
        stmt = stmt.where(Case.id.in_(agent_case_ids_subquery(agent_of(user))))
    if stage:
        stmt = stmt.where(Case.stage == stage)
    if bucket:
        low, high = days_range_for(bucket)
        stmt = stmt.where(Account.days_past_due >= low)
        if high is not None:
            stmt = stmt.where(Account.days_past_due <= high)
    if branch_id:
        stmt = stmt.where(Case.branch_id == branch_id)
    if owner_id:
        stmt = stmt.where(Case.owner_id == owner_id)
    if flag:
        now = utcnow()
        stmt = stmt.where(
            exists().where(
                CaseFlag.case_id == Case.id,
                CaseFlag.flag == flag,
                CaseFlag.set_at <= now,
                (CaseFlag.cleared_at.is_(None)) | (CaseFlag.cleared_at > now),
                (CaseFlag.expires_at.is_(None)) | (CaseFlag.expires_at > now),
            )
        )
    if q:
        stmt = stmt.where(search_clause(q, user))
    return stmt


# --- flags ----------------------------------------------------------------


def set_flag(*, case: Case, flag: str, reason: str, actor_id: int | None, expires_at: datetime | None = None) -> CaseFlag:
    """Set a blocking flag (R4); agents holding the case today learn it as stop-work."""
    existing = next((f for f in case.active_flags() if f.flag == flag), None)
    if existing:
        abort(409, f"The {flag} flag is already set on this case.", errors={"flag": ["already active"]})
    record = CaseFlag(flag=flag, reason=reason, set_by_id=actor_id, expires_at=expires_at)
    case.flags.append(record)  # through the relationship, so active_flags() sees it at once
    case.version += 1
    db.session.flush()
    append_event(
        case=case,
        kind="flag.set",
        actor_id=actor_id,
        data={"flag": flag, "reason": reason, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    notify_stop_work(case=case, flag=flag, reason=reason)
    return record


def clear_flag(*, case: Case, flag: str, reason: str, actor_id: int | None) -> CaseFlag:
    record = next((f for f in case.active_flags() if f.flag == flag), None)
    if record is None:
        abort(404, f"No active {flag} flag on this case.")
    record.cleared_at = utcnow()
    record.cleared_by_id = actor_id
    record.clear_reason = reason
    case.version += 1
    append_event(case=case, kind="flag.cleared", actor_id=actor_id, data={"flag": flag, "reason": reason})
    for user_id in _open_visit_agent_user_ids(case):
        record_change(user_id=user_id, kind="case.flags", ref_type="case", ref_id=case.id, data=_flags_payload(case))
    return record


def _flags_payload(case: Case) -> dict:
    return {"flags": [{"flag": f.flag, "reason": f.reason} for f in case.active_flags()]}


def _open_visit_agent_user_ids(case: Case) -> set[int]:

    rows = db.session.scalars(
        select(Agent.user_id).join(Visit, Visit.agent_id == Agent.id).where(Visit.case_id == case.id, Visit.status.in_(OPEN_STATUSES))
    ).all()
    return set(rows)


def notify_stop_work(*, case: Case, flag: str, reason: str) -> None:
    """A blocking flag reaches every device holding an open visit on the case."""
    payload = {**_flags_payload(case), "stop_work": True, "flag": flag, "reason": reason}
    for user_id in _open_visit_agent_user_ids(case):
        record_change(user_id=user_id, kind="case.stop_work", ref_type="case", ref_id=case.id, data=payload)

    emit("case.stop_work", case=case, flag=flag, reason=reason, user_ids=_open_visit_agent_user_ids(case))


def bucket_of(case: Case) -> str:
    return bucket_for(case.account.days_past_due)
