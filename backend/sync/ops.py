"""Applying device operations exactly once.

Each op runs in its own transaction: the SyncOp row (primary key = the op's UUID) is inserted
first, then the effects run inside a savepoint, then the row gets its answer and everything
commits together. A replay finds the row and gets the first answer back ("duplicate"); a
concurrent replay collides on the primary key and resolves to "duplicate" too. An op whose
content is bad or whose precondition no longer holds keeps its row (rejected / conflict), its
reason lands on the case timeline, and the case owner sees it in the exceptions queue.
"""

from datetime import datetime
from decimal import Decimal

import marshmallow as ma
from flask import current_app
from sqlalchemy import exists, func, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from .. import metrics
from ..auth.models import User
from ..cases.models import Case
from ..cases.services import append_event
from ..common import utcnow
from ..db import begin_write, write_lock
from ..errors import ID_MAX, storable_copy, unstorable_values
from ..extensions import db
from ..feed import FEED_WRITTEN, Change
from ..org.models import Agent
from ..policy.settings import effective_settings
from ..visits.models import Visit
from .context import OpContext, OpProblem
from .handlers import OPS
from .models import SyncOp
from .preconditions import conflict_server
from .schemas import OpSchema, _op_id

# built once: schemas are reusable and costly to construct (measurably so, per op)
_AT = OpSchema().fields["at"]
_PAYLOAD_SCHEMAS = {name: schema() for name, (schema, _handler) in OPS.items()}


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
        for op_id, raw in zip(ids, ops, strict=True)
    ]
    results = []
    session = db.session()
    with write_lock() as exclusive:
        session.expire_on_commit = not exclusive
        try:
            for op_id, ctx in zip(ids, prepared, strict=True):
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
    metrics.count_sync_ops(results)
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
        begin_write()
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
        raise ServiceUnavailable("The database is busy; send the batch again.") from exc
    return result, ctx.record


# the feed head as this batch's previous op left it (SQLite, inside the write lock)
_FEED_SEEN = "sync_feed_seen"
_FEED_HEAD = select(func.max(Change.id))


def _forget_reads_if_others_wrote() -> int | None:
    """SQLite, at the start of an op's write transaction: keep the objects the batch's earlier ops
    loaded only if no one else committed since the last of them.

    Every write to a row a packet is built from — the visit, the case, its account, branch,
    flags and addresses, the outcome — leaves a `packet.stale` entry in the feed in its own
    transaction (backend/feed.py; tests/sync/test_packet_cache.py holds each such write to it).
    Between our ops only other writers can add one, so a feed head unmoved since our last op
    proves the loaded rows are still the database's. Returns the head found."""
    session = db.session()
    head = session.connection().execute(_FEED_HEAD).scalar()
    if head is None or head != session.info.get(_FEED_SEEN):
        session.expire_all()
    return head


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
    return OpContext(
        user_id=user_id,
        agent_id=agent_id,
        device_id=device_id,
        op_id=op_id,
        type=op_type,
        device_at=device_at,
        raw=raw,
        record=record,
        unstorable=unstorable,
    )


def _storable(op_type: str, payload: dict, raw: dict) -> dict:
    """What is kept of the op: everything but attachment bytes, which live (verified) in blobs."""
    stored = {k: v for k, v in payload.items() if k != "png_base64"}
    if "png_base64" in payload:
        stored["png_base64_chars"] = len(payload["png_base64"]) if isinstance(payload["png_base64"], str) else None
    if not isinstance(raw.get("type"), str) or op_type not in OPS:
        stored["_type"] = raw.get("type")
    if "at" in raw and not isinstance(raw.get("at"), str):
        stored["_at"] = raw.get("at")
    return stored


def _run(ctx: OpContext) -> dict:
    """Apply, or undo everything and keep the op as a conflict or rejection. Adds the record."""
    try:
        _validate(ctx)
        server = OPS[ctx.type][1](ctx)
        db.session.flush()
        status, detail, errors, code, params = "applied", None, {}, None, {}
    except OpProblem as problem:
        _undo()
        status, detail, errors, server, code = problem.status, problem.detail, problem.errors, problem.server, problem.code
        params = problem.params
    except HTTPException as exc:  # a domain service said no (abort): 409 = conflict, else rejected
        _undo()
        data = getattr(exc, "data", None) or {}
        status = "conflict" if exc.code == 409 else "rejected"
        detail = data.get("message") or exc.description
        errors = data.get("errors") or {}
        code = data.get("error_code")
        params = (data.get("extra") or {}).get("params") or {}
        server = conflict_server(ctx) if status == "conflict" else {}
    except DataError:  # a value the database cannot hold: resending would fail forever, so keep it rejected
        _undo()
        current_app.logger.warning("sync op %s (%s): value out of range", ctx.op_id, ctx.type)
        status, detail, errors, server, code = "rejected", "A value in this op is out of range for the server.", {}, {}, "out_of_range"
        params = {}
    except DBAPIError:  # the database is unavailable or busy: the batch stops with 503 and is resent
        raise
    except Exception:  # a bug must not lose the op: it is kept as rejected for the owner to replay
        _undo()
        current_app.logger.exception("sync op %s (%s) failed", ctx.op_id, ctx.type)
        status, detail, errors, server, code = "rejected", "The server could not apply this op.", {}, {}, "server_error"
        params = {}

    record = ctx.record
    record.status = status
    record.case_id = ctx.case.id if ctx.case is not None else None
    record.visit_id = ctx.visit.id if ctx.visit is not None else None
    result = {"id": ctx.op_id, "status": status, "detail": detail, "errors": errors, "server": _jsonable(server or {})}
    if code:
        result["code"] = code
        if params:
            result["params"] = _jsonable(params)
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
    begin_write()


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
    if ctx.type not in OPS:
        errors["type"] = [f"unknown op type; one of {', '.join(sorted(OPS))}"]
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
    visit_id, case_id = (v if isinstance(v, int) and not isinstance(v, bool) and 0 < v <= ID_MAX else None for v in (visit_id, case_id))
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
    for key, value in messages.items() if isinstance(messages, dict) else [("_schema", messages)]:
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
        return {
            "id": first.id,
            "status": "rejected",
            "detail": "This op id is already used by another user; make a new UUID.",
            "errors": {"id": ["already used"]},
            "server": {},
            "code": "op_id_taken",
        }
    answer = dict(first.result)
    return {
        "id": first.id,
        "status": "duplicate",
        "detail": answer.get("detail"),
        "errors": answer.get("errors") or {},
        "server": answer.get("server") or {},
        **({"code": answer["code"]} if answer.get("code") else {}),
        **({"params": answer["params"]} if answer.get("params") else {}),
        "first": {"status": first.status, "detail": answer.get("detail"), "received_at": first.received_at.isoformat() + "Z"},
    }
