"""Applying device operations exactly once.

Each op runs in its own transaction: the SyncOp row (primary key = the op's UUID) is inserted
first, then the effects run inside a savepoint, then the row gets its answer and everything
commits together. A replay finds the row and gets the first answer back ("duplicate"); a
concurrent replay collides on the primary key and resolves to "duplicate" too. An op whose
content is bad or whose precondition no longer holds keeps its row (rejected / conflict), its
reason lands on the case timeline, and the case owner sees it in the exceptions queue.
"""
import base64
import binascii
import fcntl
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import marshmallow as ma
from flask import current_app
from sqlalchemy import bindparam, exists, func, inspect, select, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from ..auth.models import User
from ..cases.models import Case, Note
from ..cases.services import append_event, set_flag
from ..common import utcnow
from ..escalations.services import raise_ticket
from ..errors import ID_MAX, storable_copy, unstorable_values
from ..extensions import db
from ..org.models import Agent
from ..plans.models import RepaymentPlan
from ..plans.services import PNG_MAGIC, add_signature, create_plan, store_blob, terms_hash_of
from ..policy.rules import jurisdiction_for, rules_snapshot, sync_findings
from ..policy.settings import effective_settings
from ..visits.models import Visit
from ..visits.services import checkin_visit, checkout_visit, record_outcome
from .models import Change, SyncOp
from .services import FEED_WRITTEN, insert_row
from .schemas import PAYLOADS, OpSchema, _op_id

# R7: phrases that put a note up for review (threats, arrest, police, crime)
PROHIBITED = re.compile(r"\b(arrest|police|jail|prison|crime|criminal)\b|逮捕|警察|坐牢|拘留|犯罪|判刑", re.IGNORECASE)


# built once: schemas are reusable and costly to construct (measurably so, per op)
_AT = OpSchema().fields["at"]
_PAYLOAD_SCHEMAS = {name: schema() for name, schema in PAYLOADS.items()}


class OpProblem(Exception):
    """The op is kept but not applied: `conflict` (the world moved on) or `rejected` (bad content)."""

    def __init__(self, status: str, detail: str, errors: dict | None = None, server: dict | None = None, code: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.server, self.code = status, detail, errors or {}, server or {}, code


@dataclass
class OpContext:
    # plain ids, not ORM rows: every op commits, and expired rows would reload on each access
    user_id: int
    agent_id: int | None
    device_id: str
    op_id: str
    type: str
    device_at: datetime | None
    raw: dict
    payload: dict = field(default_factory=dict)
    invalid: dict = field(default_factory=dict)  # per-field messages found by _parse
    parse_failure: Exception | None = None
    record: SyncOp | None = None
    case: Case | None = None
    visit: Visit | None = None
    # the case may get the conflict/rejection on its timeline: the agent held it
    case_related: bool = False
    # SQLite: the batch's earlier ops loaded the visit and case graph, and no one else has
    # written since (_forget_reads_if_others_wrote): use them as loaded
    keep_reads: bool = False
    unstorable: dict = field(default_factory=dict)  # per field: content no column can hold


def apply_batch(*, user: User, agent: Agent | None, device_id: str, ops: list[dict]) -> list[dict]:
    """In order, one transaction each; a database outage stops the batch (503: the device resends).

    Everything an op needs that is not the database (its record, its payload through the schema)
    is prepared before the write lock; the lock is then held for the batch (on SQLite: one file
    lock hand-over per batch instead of one per op, and the holder is not slowed by preparing).
    Holding SQLite's only write lock, the batch also keeps what its ops loaded (the visit and its
    case graph) from one op to the next, for as long as no one else commits in between.
    """
    user_id, agent_id = user.id, (agent.id if agent is not None and user.role == "agent" else None)
    ids = [_op_id(raw.get("id")) for raw in ops]
    known = {op.id: op for op in db.session.scalars(select(SyncOp).where(SyncOp.id.in_(set(ids))))} if ids else {}
    if agent_id is not None and agent.branch is not None:
        # the policy settings of the agent's jurisdiction, read before the write lock rather than
        # by the first op inside it (they are kept for the request either way)
        effective_settings(agent.branch.jurisdiction)
    db.session.commit()  # end the read transaction authentication and the look-ups opened
    prepared = [
        None if op_id in known else _prepare(user_id=user_id, agent_id=agent_id, device_id=device_id, op_id=op_id, raw=raw)
        for op_id, raw in zip(ids, ops)
    ]
    results = []
    session = db.session()
    with _write_lock() as exclusive:
        session.expire_on_commit = not exclusive
        try:
            for op_id, ctx in zip(ids, prepared):
                if op_id in known:
                    results.append(_duplicate(known[op_id], user_id))
                    continue
                ctx.keep_reads = exclusive
                result, record = apply_op(ctx)
                known[op_id] = record  # the same id twice in one batch: the second is a duplicate
                results.append(result)
        finally:
            session.expire_on_commit = True
            session.info.pop(_FEED_SEEN, None)
            session.info.pop(FEED_WRITTEN, None)
    return results


def _prepare(*, user_id: int, agent_id: int | None, device_id: str, op_id: str, raw: dict) -> "OpContext":
    ctx = _start(user_id=user_id, agent_id=agent_id, device_id=device_id, op_id=op_id, raw=raw)
    if agent_id is not None:
        _parse(ctx)
    return ctx


def apply_op(ctx: "OpContext") -> tuple[dict, SyncOp]:
    """Effects and the op record commit together; the record's primary key makes a replay collide.

    A replay racing this one (another worker, another device) runs into the primary key when its
    record is inserted — PostgreSQL makes it wait for this transaction first — and everything it
    did is rolled back: it answers "duplicate" with this op's answer.
    """
    op_id = ctx.op_id
    try:
        _begin_write()
        if ctx.keep_reads:
            head = _forget_reads_if_others_wrote()
            db.session().info.pop(FEED_WRITTEN, None)  # (left by a transaction before this op)
        try:
            result = _run(ctx)
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            first = db.session.get(SyncOp, op_id)
            if first is None:  # not a replay after all: a real integrity problem, retryable
                raise
            return _duplicate(first, ctx.user_id), first
        db.session.commit()
        if ctx.keep_reads:
            # the feed head this op left (its own packet.stale entries); none written: as found
            info = db.session().info
            info[_FEED_SEEN] = info.pop(FEED_WRITTEN, head)
    except DBAPIError as exc:
        db.session.rollback()
        current_app.logger.warning("sync op %s: database error: %s", op_id, exc)
        raise ServiceUnavailable("The database is busy; send the batch again.")
    return result, ctx.record


@contextmanager
def _write_lock():
    """SQLite has one writer: queue sync writers on a file lock (woken at once by the kernel)
    instead of SQLite's busy handler, which sleeps up to 100 ms between tries and leaves the
    database idle under load. PostgreSQL needs no such thing (row locks).

    Yields whether the holder is now the only sync writer (a file lock was taken)."""
    bind = db.session.get_bind()
    path = bind.url.database if bind.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield False
        return
    with open(f"{path}.sync-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# the feed head as this batch's previous op left it (SQLite, inside the write lock)
_FEED_SEEN = "sync_feed_seen"
_FEED_HEAD = select(func.max(Change.id))


def _forget_reads_if_others_wrote() -> int | None:
    """SQLite, at the start of an op's write transaction: keep the objects the batch's earlier ops
    loaded only if no one else committed since the last of them.

    Every write to a row a packet is built from — the visit, the case, its account, branch,
    flags and addresses, the outcome — leaves a `packet.stale` entry in the feed in its own
    transaction (sync.services; tests/sync/test_packet_cache.py holds each such write to it).
    Between our ops only other writers can add one, so a feed head unmoved since our last op
    proves the loaded rows are still the database's. Returns the head found."""
    session = db.session()
    head = session.connection().execute(_FEED_HEAD).scalar()
    if head is None or head != session.info.get(_FEED_SEEN):
        session.expire_all()
    return head


def _loaded(ctx: "OpContext", cls, ident: int):
    """The row as this batch already loaded it (ctx.keep_reads), else None: read it afresh."""
    if not ctx.keep_reads:
        return None
    obj = db.session.identity_map.get(identity_key(cls, ident))
    return obj if obj is not None and not inspect(obj).expired else None


def _begin_write() -> None:
    """SQLite: take the write lock up front, so two workers never deadlock upgrading read locks."""
    if db.session().in_transaction():  # (committing an idle session would begin and end an empty one)
        db.session.commit()
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _start(*, user_id, agent_id, device_id, op_id, raw) -> OpContext:
    # what no column can hold (NUL, a lone surrogate, a number past 64 bits) rejects this op
    # alone; the op is kept with that content made visible text
    unstorable = unstorable_values({k: v for k, v in raw.items() if k != "id"}, "op")
    if unstorable:
        raw = {**storable_copy(raw), "id": raw.get("id")}
        unstorable = {path.removeprefix("op."): messages for path, messages in unstorable.items()}
    op_type = raw.get("type") if isinstance(raw.get("type"), str) else ""
    device_at = None
    try:
        device_at = _AT.deserialize(raw.get("at"))
    except ma.ValidationError:
        pass
    payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else {"_raw": raw.get("payload")}
    record = SyncOp(
        id=op_id,
        device_id=device_id,
        user_id=user_id,
        type=op_type[:32],
        device_at=device_at,
        received_at=utcnow(),
        status="applying",
        payload=_storable(op_type, payload, raw),
        result={},
    )
    return OpContext(user_id=user_id, agent_id=agent_id, device_id=device_id, op_id=op_id, type=op_type, device_at=device_at,
                     raw=raw, record=record, unstorable=unstorable)


def _storable(op_type: str, payload: dict, raw: dict) -> dict:
    """What is kept of the op: everything but attachment bytes, which live (verified) in blobs."""
    stored = {k: v for k, v in payload.items() if k != "png_base64"}
    if "png_base64" in payload:
        stored["png_base64_chars"] = len(payload["png_base64"]) if isinstance(payload["png_base64"], str) else None
    if not isinstance(raw.get("type"), str) or op_type not in PAYLOADS:
        stored["_type"] = raw.get("type")
    if "at" in raw and not isinstance(raw.get("at"), str):
        stored["_at"] = raw.get("at")
    return stored


def _run(ctx: OpContext) -> dict:
    """Apply, or undo everything and keep the op as a conflict or rejection. Adds the record."""
    try:
        _validate(ctx)
        server = HANDLERS[ctx.type](ctx)
        db.session.flush()
        status, detail, errors, code = "applied", None, {}, None
    except OpProblem as problem:
        _undo()
        status, detail, errors, server, code = problem.status, problem.detail, problem.errors, problem.server, problem.code
    except HTTPException as exc:  # a domain service said no (abort): 409 = conflict, else rejected
        _undo()
        data = getattr(exc, "data", None) or {}
        status = "conflict" if exc.code == 409 else "rejected"
        detail = data.get("message") or exc.description
        errors = data.get("errors") or {}
        code = data.get("error_code")
        server = _conflict_server(ctx) if status == "conflict" else {}
    except DataError:  # a value the database cannot hold: resending would fail forever, so keep it rejected
        _undo()
        current_app.logger.warning("sync op %s (%s): value out of range", ctx.op_id, ctx.type)
        status, detail, errors, server, code = "rejected", "A value in this op is out of range for the server.", {}, {}, "out_of_range"
    except DBAPIError:  # the database is unavailable or busy: the batch stops with 503 and is resent
        raise
    except Exception:  # a bug must not lose the op: it is kept as rejected for the owner to replay
        _undo()
        current_app.logger.exception("sync op %s (%s) failed", ctx.op_id, ctx.type)
        status, detail, errors, server, code = "rejected", "The server could not apply this op.", {}, {}, "server_error"

    record = ctx.record
    record.status = status
    record.case_id = ctx.case.id if ctx.case is not None else None
    record.visit_id = ctx.visit.id if ctx.visit is not None else None
    result = {"id": ctx.op_id, "status": status, "detail": detail, "errors": errors, "server": _jsonable(server or {})}
    if code:
        result["code"] = code
    record.result = result
    _insert_record(record)
    if status != "applied" and ctx.case is not None and ctx.case_related:
        append_event(
            case=ctx.case,
            kind=f"sync.{status}",
            actor_id=ctx.user_id,
            data={"op_id": ctx.op_id, "type": ctx.type, "reason": detail, "errors": errors, "device_id": ctx.device_id},
        )
    return result


def _insert_record(record: SyncOp) -> None:
    """The op record by a plain INSERT, not the unit of work: nothing reads it back in this
    transaction, and the ORM's bookkeeping for it was a measurable share of an op's CPU. The
    object stays transient: a replay later in the same batch reads the first answer from it."""
    state = record.__dict__
    db.session.connection().execute(_INSERT_SYNC_OP, {c.key: state[c.key] for c in _SYNC_OPS.columns if c.key in state})


_SYNC_OPS = SyncOp.__table__
_INSERT_SYNC_OP = _SYNC_OPS.insert()


def _undo() -> None:
    """Roll back the op's effects; the record and the timeline note go into a fresh transaction."""
    db.session.rollback()
    _begin_write()


def _validate(ctx: OpContext) -> None:
    if ctx.agent_id is None:
        raise OpProblem("rejected", "Only field agents send ops.", code="not_agent")
    if ctx.parse_failure is not None:
        raise ctx.parse_failure
    if ctx.invalid:
        _attach_case(ctx)
        raise OpProblem("rejected", "The op has invalid fields.", errors=ctx.invalid, code="validation_error")


def _parse(ctx: OpContext) -> None:
    """The payload through its schema, before the write lock: it needs no database, and on SQLite
    everything inside the lock is serialized across workers."""
    errors: dict = {}
    if ctx.type not in PAYLOADS:
        errors["type"] = [f"unknown op type; one of {', '.join(sorted(PAYLOADS))}"]
    if ctx.device_at is None:
        errors["at"] = ["required: ISO 8601 device time with offset"]
    if "_raw" in ctx.record.payload:
        errors["payload"] = ["must be an object"]
    errors.update(ctx.unstorable)
    if not errors:
        try:
            ctx.payload = _PAYLOAD_SCHEMAS[ctx.type].load(ctx.raw["payload"])
        except ma.ValidationError as exc:
            errors.update({f"payload.{k}" if not k.startswith("payload") else k: v for k, v in _flat(exc.messages).items()})
        except Exception as exc:  # a bug: raised again inside the op, where it keeps the op as rejected
            ctx.parse_failure = exc
    ctx.invalid = errors


def _attach_case(ctx: OpContext) -> None:
    """A malformed op still names its case when it can: the owner sees it with the case."""
    raw = ctx.raw.get("payload") if isinstance(ctx.raw.get("payload"), dict) else {}
    visit_id, case_id = raw.get("visit_id"), raw.get("case_id")
    visit_id, case_id = (v if isinstance(v, int) and not isinstance(v, bool) and 0 < v <= ID_MAX else None
                         for v in (visit_id, case_id))
    if visit_id is not None:
        visit = db.session.get(Visit, visit_id)
        if visit is not None and visit.agent_id == ctx.agent_id:
            ctx.visit, ctx.case, ctx.case_related = visit, visit.case, True
            return
    if case_id is not None:
        held = db.session.scalar(select(exists().where(Visit.case_id == case_id, Visit.agent_id == ctx.agent_id)))
        if held:
            ctx.case, ctx.case_related = db.session.get(Case, case_id), True


def _flat(messages, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_schema", messages)]):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    return value


def _duplicate(first: SyncOp, user_id: int) -> dict:
    if first.user_id != user_id:
        # a UUID collision with someone else's op: never leak its answer, never store over it
        return {"id": first.id, "status": "rejected", "detail": "This op id is already used by another user; make a new UUID.", "errors": {"id": ["already used"]}, "server": {}}
    answer = dict(first.result)
    return {
        "id": first.id,
        "status": "duplicate",
        "detail": answer.get("detail"),
        "errors": answer.get("errors") or {},
        "server": answer.get("server") or {},
        **({"code": answer["code"]} if answer.get("code") else {}),
        "first": {"status": first.status, "detail": answer.get("detail"), "received_at": first.received_at.isoformat() + "Z"},
    }


# --- preconditions ----------------------------------------------------------------------


def _ever_held_visit(user_id: int, visit_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where(Change.user_id == user_id, Change.ref_type == "visit", Change.ref_id == visit_id))
        )
    )


def _own_visit(ctx: OpContext) -> Visit:
    """The op's visit, locked; someone else's → rejected; taken away or cancelled → conflict."""
    visit_id = ctx.payload["visit_id"]
    if _is_postgresql():  # the case lock comes before anything of the case is read (SQLite: no-op)
        db.session.connection().execute(_LOCK_CASE_OF_VISIT, {"space": CASE_LOCK_SPACE, "visit_id": visit_id})
    visit = _loaded(ctx, Visit, visit_id) or db.session.scalars(_OWN_VISIT, {"visit_id": visit_id}).unique().first()
    if visit is None:
        raise OpProblem("rejected", "Not your visit.", errors={"payload.visit_id": ["no such visit on your route"]}, code="not_your_visit")
    if visit.agent_id != ctx.agent_id:
        if _ever_held_visit(ctx.user_id, visit.id):
            ctx.case, ctx.visit, ctx.case_related = visit.case, visit, True
            raise OpProblem("conflict", "The visit was reassigned to another agent.", server={"visit": {"id": visit.id, "removed": True}}, code="reassigned")
        raise OpProblem("rejected", "Not your visit.", errors={"payload.visit_id": ["no such visit on your route"]}, code="not_your_visit")
    ctx.case, ctx.visit, ctx.case_related = visit.case, visit, True
    if visit.status == "cancelled":
        raise OpProblem(
            "conflict",
            f"The visit was cancelled by the office: {visit.cancelled_reason or 'no reason given'}",
            server=_conflict_server(ctx),
            code="visit_cancelled",
        )
    _check_version(ctx, visit)
    return visit


# built once (a statement keeps its cache key). One round trip for what every visit op reads
# (case with its account, branch and flags; address; outcome), so nothing lazy-loads later;
# row-locked against a concurrent office edit (PostgreSQL; SQLite writers are serialized anyway)
_CASE_WITH = (joinedload(Case.account), joinedload(Case.branch), joinedload(Case.flags))
_OWN_VISIT = (
    select(Visit)
    .where(Visit.id == bindparam("visit_id"))
    .options(joinedload(Visit.case).options(*_CASE_WITH), joinedload(Visit.address), joinedload(Visit.outcome))
    .with_for_update(of=Visit)
)
_OWN_CASE = select(Case).where(Case.id == bindparam("case_id")).options(*_CASE_WITH)
# a case op naming its visit: the visit (a plan proposed at the door reads whom it met, R5) and its case
_VISIT_WITH_CASE = (
    select(Visit)
    .where(Visit.id == bindparam("visit_id"))
    .options(joinedload(Visit.case).options(*_CASE_WITH), joinedload(Visit.outcome))
)


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock_case(case_id: int) -> None:
    """One op at a time per case, taken before the op reads or writes anything of it.

    Row locks alone deadlock here: every insert that references the visit (outcome, note, plan)
    takes a FOR KEY SHARE lock on it, and a visit op asks for the visit FOR UPDATE — two ops on
    one case (a replay racing its original, two devices) would each hold the first and wait for
    the second. (The timeline append's case lock is FOR NO KEY UPDATE, which such inserts do not
    block.) A transaction-scoped advisory lock on the case id queues them instead; office edits
    do not take it, so no new cycle.
    SQLite needs none: its sync writers are queued on the file lock.
    """
    if _is_postgresql():
        db.session.connection().execute(_CASE_LOCK, {"space": CASE_LOCK_SPACE, "case_id": case_id})


# the advisory-lock key space of "one sync op per case" (any constant, distinct from the feed's)
CASE_LOCK_SPACE = 0x5C
_CASE_LOCK = text("SELECT pg_advisory_xact_lock(:space, :case_id)")
# the same for a visit op, in the round trip that finds the visit's case (no row: no such visit)
_LOCK_CASE_OF_VISIT = text("SELECT pg_advisory_xact_lock(:space, case_id) FROM visits WHERE id = :visit_id")


def _check_version(ctx: OpContext, visit: Visit) -> None:
    """Stale version: the office changed the visit after the version the device based the op on.

    The device's own ops also bump the version; those applied after its base are discounted.
    """
    base = ctx.payload.get("version")
    if base is None or visit.version <= base:
        return
    own = db.session.scalars(
        select(SyncOp.result).where(
            SyncOp.visit_id == visit.id,
            SyncOp.user_id == ctx.user_id,
            SyncOp.status == "applied",
            SyncOp.type.in_(("visit.checkin", "visit.outcome")),
        )
    ).all()
    own_after = sum(1 for r in own if ((r.get("server") or {}).get("visit") or {}).get("version", 0) > base)
    if visit.version - base - own_after > 0:
        raise OpProblem(
            "conflict",
            f"The visit changed in the office since version {base} (now {visit.version}).",
            server=_conflict_server(ctx),
            code="stale_version",
        )


def _own_case(ctx: OpContext) -> Case:
    case_id = ctx.payload["case_id"]
    _lock_case(case_id)
    visit = None
    if ctx.payload.get("visit_id") is not None:
        # the usual op names its visit: visit, outcome and the case graph in one round trip
        visit = (_loaded(ctx, Visit, ctx.payload["visit_id"])
                 or db.session.scalars(_VISIT_WITH_CASE, {"visit_id": ctx.payload["visit_id"]}).unique().first())
    if visit is not None and visit.case_id == case_id:
        case = visit.case
    else:
        case = _loaded(ctx, Case, case_id) or db.session.scalars(_OWN_CASE, {"case_id": case_id}).unique().first()
    if case is None:
        raise OpProblem("rejected", "Not your case.", errors={"payload.case_id": ["no such case on your route"]}, code="not_your_case")
    own_visit = visit is not None and visit.case_id == case.id and visit.agent_id == ctx.agent_id
    held_now = own_visit or db.session.scalar(select(exists().where(Visit.case_id == case.id, Visit.agent_id == ctx.agent_id)))
    if not held_now:
        held_before = db.session.scalar(
            select(
                exists().where(
                    Change.user_id == ctx.user_id,
                    Change.ref_type == "visit",
                    Change.ref_id.in_(select(Visit.id).where(Visit.case_id == case.id)),
                )
            )
        )
        if held_before:
            ctx.case, ctx.case_related = case, True
            raise OpProblem("conflict", "The case is no longer on your route.", code="reassigned")
        raise OpProblem("rejected", "Not your case.", errors={"payload.case_id": ["no such case on your route"]}, code="not_your_case")
    ctx.case, ctx.case_related = case, True
    if ctx.payload.get("visit_id") is not None:
        if not own_visit:
            raise OpProblem("rejected", "The visit is not yours or not of this case.", errors={"payload.visit_id": ["not your visit of this case"]}, code="not_your_visit")
        ctx.visit = visit
    return case


def _sync_rules(ctx: OpContext, case: Case, visit: Visit | None) -> list:
    """SYNC re-check (policy.rules.sync_findings): a blocking flag in force when the record was
    made → conflict; a record that breaks R5/R6/R8 → rejected; outside the hours (R1) → applied
    and flagged for review. Returns the findings kept on the record."""
    now = utcnow()
    # a device clock ahead of the server must not make a flag set later look earlier
    at = min(ctx.device_at, now) if ctx.device_at else now
    raw = ctx.raw.get("payload") or {}
    # the rules read the payload as sent (terms exactly as hashed), with times already parsed
    payload = {**raw, **{k: ctx.payload[k] for k in ("disclosure_at",) if k in ctx.payload}}
    findings = sync_findings(case=case, visit=visit, op_type=ctx.type, device_at=ctx.device_at, payload=payload)
    blocked = []
    for finding in findings:
        if finding.rule != "R4":
            continue
        # a flag this agent raised itself (an escalation or an outcome at this door) does not block its own record
        if any(f.flag == finding.flag and f.is_active(at) and f.set_by_id != ctx.user_id for f in case.flags):
            blocked.append(finding)
    if blocked:
        raise OpProblem(
            "conflict",
            "The case was blocked before this was recorded: " + "; ".join(f.message for f in blocked),
            server={"case": _case_state(case), **_conflict_server(ctx)},
            code="case_blocked",
        )
    refused = [f for f in findings if f.rule in REFUSING_RULES]
    if refused:
        errors: dict = {}
        for f in refused:
            errors.setdefault(REFUSING_RULES[f.rule], []).append(f.message)
        raise OpProblem("rejected", refused[0].message, errors=errors, code="no_disclosure" if refused[0].rule == "R6" else "compliance")
    return [f.as_dict() for f in findings if f.rule != "R4"]


# rules whose finding refuses the record (the field it is about), rather than flagging it
REFUSING_RULES = {"R5": "payload.met", "R6": "payload.disclosure_at", "R8": "payload.terms_hash"}


def _case_state(case: Case) -> dict:
    return {"id": case.id, "version": case.version, "flags": [{"flag": f.flag, "reason": f.reason} for f in case.active_flags()]}


def _visit_state(visit: Visit) -> dict:
    return {
        "id": visit.id,
        "case_id": visit.case_id,
        "version": visit.version,
        "status": visit.status,
        "date": visit.date.isoformat(),
        "agent_id": visit.agent_id,
        "cancelled_reason": visit.cancelled_reason,
        "checkin_at": visit.checkin_at.isoformat() + "Z" if visit.checkin_at else None,
        "checkin_distance_m": visit.checkin_distance_m,
        "checkin_flag": visit.checkin_flag,
        "checkout_at": visit.checkout_at.isoformat() + "Z" if visit.checkout_at else None,
        "outcome": visit.outcome.code if visit.outcome is not None else None,
    }


def _conflict_server(ctx: OpContext) -> dict:
    if ctx.visit is not None and ctx.visit.agent_id == ctx.agent_id:
        return {"visit": _visit_state(ctx.visit)}
    return {}


def _plan_from_ref(ctx: OpContext, *, plan_id: int | None, plan_ref: str | None, field_name: str) -> RepaymentPlan:
    """A plan named by the device's plan_ref (proposed offline) or by its server id."""
    if plan_id is None:
        first = db.session.connection().execute(_FIRST_PROPOSAL, {"plan_ref": plan_ref, "user_id": ctx.user_id}).first()
        if first is None:
            raise OpProblem("rejected", "Unknown plan_ref: send its plan.propose first.", errors={f"payload.{field_name}": ["no plan.propose with this plan_ref"]}, code="unknown_plan")
        if first.status != "applied":
            raise OpProblem("conflict", f"The plan it refers to was not accepted ({first.status}): {first.result.get('detail')}", code="plan_not_applied")
        plan_id = first.result["server"]["plan_id"]
    plan = db.session.scalars(_PLAN, {"plan_id": plan_id}).first()
    if plan is None or plan.case_id != ctx.case.id:
        raise OpProblem("rejected", "No such plan on this case.", errors={f"payload.{field_name}": ["not a plan of this case"]}, code="unknown_plan")
    return plan


# the op that first proposed a plan_ref: its answer names the plan (only the columns read)
_FIRST_PROPOSAL = (
    select(SyncOp.status, SyncOp.result)
    .where(SyncOp.plan_ref == bindparam("plan_ref"), SyncOp.user_id == bindparam("user_id"))
    .order_by(SyncOp.received_at)
    .limit(1)
)
_PLAN = select(RepaymentPlan).where(RepaymentPlan.id == bindparam("plan_id"))


# --- handlers ----------------------------------------------------------------------------


def _checkin(ctx: OpContext) -> dict:
    visit = _own_visit(ctx)
    findings = _sync_rules(ctx, visit.case, visit)
    jurisdiction = jurisdiction_for(visit.case, visit.address)
    from ..policy.rules import Finding

    checkin_visit(
        visit=visit,
        at=ctx.device_at,
        lat=ctx.payload["lat"],
        lon=ctx.payload["lon"],
        accuracy_m=ctx.payload["accuracy_m"],
        reason_far=ctx.payload.get("reason_far"),
        max_distance_m=rules_snapshot(jurisdiction)["checkin_max_distance_m"],
        findings=[Finding(f["rule"], f["message"]) for f in findings],
        actor_id=ctx.user_id,
        op_id=ctx.op_id,
    )
    return {"visit": _visit_state(visit)}


def _checkout(ctx: OpContext) -> dict:
    visit = _own_visit(ctx)
    checkout_visit(visit=visit, at=ctx.device_at, lat=ctx.payload.get("lat"), lon=ctx.payload.get("lon"), actor_id=ctx.user_id, op_id=ctx.op_id)
    return {"visit": _visit_state(visit)}


def _outcome(ctx: OpContext) -> dict:
    visit = _own_visit(ctx)
    p = ctx.payload
    findings = _sync_rules(ctx, visit.case, visit)
    data = {k: str(p[k]) if k in ("amount", "due_date") else p[k] for k in ("amount", "due_date", "reason", "plan_id", "plan_ref") if p.get(k) is not None}
    plan = None
    if p.get("plan_id") is not None or p.get("plan_ref"):
        plan = _plan_from_ref(ctx, plan_id=p.get("plan_id"), plan_ref=p.get("plan_ref"), field_name="plan_ref")
        data["plan_id"] = plan.id
    elif p["code"] == "promise_to_pay":
        # the promise is a plan of kind "promise": one open promise or plan per account
        amount = str(p["amount"])
        terms = {
            "case_id": visit.case_id, "kind": "promise", "currency": visit.case.account.currency, "total": amount,
            "discount_pct": "0", "payable": amount, "down_payment": "0",
            "schedule": [{"seq": 1, "due_date": p["due_date"].isoformat(), "amount": amount}],
        }
        plan = create_plan(case=visit.case, terms=terms, actor_id=ctx.user_id, role="agent", visit_id=visit.id, op_id=ctx.op_id)
        data["plan_id"] = plan.id
    outcome = record_outcome(
        visit=visit, code=p["code"], met=p["met"], disclosure_at=p.get("disclosure_at"), data=data,
        recorded_at=ctx.device_at, actor_id=ctx.user_id, compliance_flags=findings, op_id=ctx.op_id,
    )
    return {"visit": _visit_state(visit), "outcome_id": outcome.id, "plan_id": plan.id if plan else None, "compliance_flags": findings}


def _propose(ctx: OpContext) -> dict:
    case = _own_case(ctx)
    p = ctx.payload
    ctx.record.plan_ref = p["plan_ref"]
    raw_terms = ctx.raw["payload"]["terms"]
    computed = terms_hash_of(raw_terms)
    if computed != p["terms_hash"]:
        raise OpProblem(
            "rejected",
            "terms_hash is not the SHA-256 of the canonical terms.",
            errors={"payload.terms_hash": [f"the server computed {computed}"]},
            code="terms_hash_mismatch",
        )
    used = db.session.scalar(
        select(exists().where(SyncOp.plan_ref == p["plan_ref"], SyncOp.user_id == ctx.user_id, SyncOp.id != ctx.op_id, SyncOp.status == "applied"))
    )
    if used:
        raise OpProblem("rejected", "This plan_ref was already proposed; make a new one for new terms.", errors={"payload.plan_ref": ["already used"]}, code="plan_ref_used")
    _sync_rules(ctx, case, ctx.visit)
    plan = create_plan(case=case, terms=raw_terms, actor_id=ctx.user_id, role="agent", visit_id=p.get("visit_id"), op_id=ctx.op_id)
    return {"plan_id": plan.id, "plan_ref": p["plan_ref"], "status": plan.status, "terms_hash": plan.terms_hash, "findings": plan.policy_findings}


def _signature(ctx: OpContext) -> dict:
    case = _own_case(ctx)
    p = ctx.payload
    plan = _plan_from_ref(ctx, plan_id=p.get("plan_id"), plan_ref=p.get("plan_ref"), field_name="plan_ref" if p.get("plan_ref") else "plan_id")
    _sync_rules(ctx, case, ctx.visit)
    if p["terms_hash"] != plan.terms_hash:
        raise OpProblem("rejected", "The signature is for other terms than the plan's.", errors={"payload.terms_hash": [f"the plan's terms hash is {plan.terms_hash}"]}, code="terms_hash_mismatch")
    blob_sha = None
    if not p["refused"]:
        data = _png_bytes(p["png_base64"], p["png_sha256"])
        blob_sha = store_blob(data=data, content_type="image/png")
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(str(p["strokes"])) > limit:
        raise OpProblem("rejected", "The stroke data is too large.", errors={"payload.strokes": [f"over {limit} bytes"]}, code="too_large")
    signature = add_signature(
        case=case, plan=plan, terms_hash=p["terms_hash"], actor_id=ctx.user_id, signed_at=ctx.device_at,
        blob_sha256=blob_sha, strokes=p["strokes"], signer_name=p["signer_name"],
        refused_reason=p.get("reason") if p["refused"] else None, visit_id=p.get("visit_id"), op_id=ctx.op_id,
    )
    return {"signature_id": signature.id, "plan_id": plan.id, "blob_sha256": blob_sha, "refused": signature.refused}


def _png_bytes(encoded: str, claimed_sha: str) -> bytes:
    """Size first (from the base64 length, before decoding or storing), then bytes, type and hash."""
    from ..common import sha256_hex

    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    estimate = len(encoded) * 3 // 4 - encoded[-2:].count("=")
    if estimate > limit:
        raise OpProblem("rejected", f"The signature image is {estimate} bytes, over the {limit}-byte limit; resize it on the device.", errors={"payload.png_base64": [f"over {limit} bytes"]}, code="too_large")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise OpProblem("rejected", "png_base64 is not valid base64.", errors={"payload.png_base64": ["not valid base64"]}, code="validation_error")
    if not data.startswith(PNG_MAGIC):
        raise OpProblem("rejected", "The signature image is not a PNG.", errors={"payload.png_base64": ["not a PNG"]}, code="validation_error")
    if sha256_hex(data) != claimed_sha:
        raise OpProblem("rejected", "The image bytes do not match png_sha256 (damaged in transit?).", errors={"payload.png_sha256": ["does not match the bytes"]}, code="hash_mismatch")
    return data


def _note(ctx: OpContext) -> dict:
    case = _own_case(ctx)
    text_ = ctx.payload["text"]
    match = PROHIBITED.search(text_)
    values = {"case_id": case.id, "visit_id": ctx.payload.get("visit_id"), "author_id": ctx.user_id, "text": text_,
              "created_at": ctx.device_at, "review_flag": f"R7: prohibited phrase '{match.group(0)}'" if match else None}
    # a plain INSERT (append-only, not read back in this op): the unit of work costs more than the row
    note = insert_row(Note, values)
    append_event(case=case, kind="note.added", actor_id=ctx.user_id,
                 data={"note_id": note.id, "visit_id": note.visit_id, "text": text_, "review_flag": note.review_flag, "op_id": ctx.op_id})
    return {"note_id": note.id, "review_flag": note.review_flag}


def _escalate(ctx: OpContext) -> dict:
    """R16: always accepted from the door, even on a blocked case; the playbook routes it to a ticket."""
    case = _own_case(ctx)
    p = ctx.payload
    append_event(case=case, kind="case.escalated", actor_id=ctx.user_id,
                 data={"kind": p["kind"], "reason": p["reason"], "visit_id": p.get("visit_id"), "op_id": ctx.op_id})
    if not any(f.flag == "escalated" for f in case.active_flags()):
        set_flag(case=case, flag="escalated", reason=f"{p['kind']}: {p['reason']}", actor_id=ctx.user_id)
    # the ticket is part of the op, in its transaction: a failure fails the op, not just a log line
    raise_ticket(case=case, kind=p["kind"], reason=p["reason"], actor_id=ctx.user_id, source="device")
    return {"case": _case_state(case)}


HANDLERS = {
    "visit.checkin": _checkin,
    "visit.checkout": _checkout,
    "visit.outcome": _outcome,
    "plan.propose": _propose,
    "signature.add": _signature,
    "note.add": _note,
    "case.escalate": _escalate,
}

