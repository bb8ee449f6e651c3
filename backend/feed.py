"""The change feed, at ground level: every layer above writes to it, it imports none of them.

Two kinds of entries share one monotonic sequence (`changes.id`, the cursor devices resume from):

- what a user's device must hear (`record_change`: a visit published or cancelled, a stop-work);
- `packet.stale` entries, which say which kept day packets a transaction made stale.

The packet cache (sync.packet) serves a kept packet again while provably nothing in it changed.
So every transaction that writes a row a packet is built from leaves a `packet.stale` entry:
after_flush notes what the ORM wrote, `insert_row` / `write_through` and plain INSERTs on the
session's connection are noted too, and before_commit writes the entries. Which rows feed a
packet, and what a write to one marks, the domains declare here with `watch(Model, marks)`
beside their models; marks naming a plan, an account or a debtor are turned into cases by the
resolvers the domains register with `resolves(kind)`. Marks are per case, per agent, per user, or
for everyone (`all`).

The feed's ids become visible in order (db.lock_feed), so a packet built after reading head H
reflects everything up to H; it stays valid while no entry after H concerns it.
"""

import weakref
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ForeignKey, String, bindparam, event, func, insert, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session
from sqlalchemy.orm.attributes import set_committed_value

from .common import utcnow
from .db import lock_feed
from .extensions import Base, Model, db

STALE = "packet.stale"
# session.info: the highest feed id this transaction's packet.stale entries took (sync.ops reads it)
FEED_WRITTEN = "sync_feed_written"
# the execution option by which a plain UPDATE says which packets it touches
MARKS_OPTION = "packet_marks"
_MARKS = "packet_marks"
_SESSION = "packet_session"


class Change(Model):
    """The delta feed: id is the monotonic server sequence devices use as a cursor."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # visit.upsert, visit.cancel, case.stop_work, plan.decided…
    ref_type: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int]
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def record_change(*, user_id: int | None, kind: str, ref_type: str, ref_id: int, data: dict | None = None) -> Change:
    """Append what a user's device must hear; its id is the cursor devices resume from."""
    lock_feed(db.session)
    change = Change(user_id=user_id, kind=kind, ref_type=ref_type, ref_id=ref_id, data=data or {})
    db.session.add(change)
    return change


def feed_head() -> int:
    return db.session.scalar(select(func.max(Change.id))) or 0


# --- what feeds a packet ----------------------------------------------------------------------

Marks = dict[str, set]
_WATCHED: dict[type, Callable[[Any], Marks]] = {}
_WATCHED_TABLES: set[str] = set()
_RESOLVERS: dict[str, Callable[[Session, set], Iterable[int]]] = {}


def of_case(obj) -> Marks:
    """The usual marks: the row names its case."""
    return {"case": {obj.case_id}}


def everyone(obj) -> Marks:
    """A row every packet reads (branches, policy settings, scripts)."""
    return {"all": {0}}


def watch(cls: type[Base], marks: Callable[[Any], Marks] = of_case) -> None:
    """Rows of `cls` feed day packets; a write to one leaves `marks(row)`."""
    _WATCHED[cls] = marks
    _WATCHED_TABLES.add(cls.__tablename__)


def resolves(kind: str):
    """Register fn(session, ids) → the case ids that marks of `kind` (plan, account…) stand for."""

    def decorator(fn):
        _RESOLVERS[kind] = fn
        return fn

    return decorator


def agents_of(obj, attribute: str = "agent_id") -> set:
    """The row's agent now and, when it just changed, the one it had (both packets change)."""
    agents = {getattr(obj, attribute)} | set(getattr(inspect(obj).attrs, attribute).history.deleted or ())
    return {a for a in agents if a is not None}


def _note(session: Session, marks: Marks) -> None:
    pending = session.info.setdefault(_MARKS, {})
    for kind, ids in marks.items():
        pending.setdefault(kind, set()).update(i for i in ids if i is not None)


@event.listens_for(Session, "after_flush")
def _note_packet_inputs(session, flush_context):
    for group, modified_only in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for obj in group:
            marks = _WATCHED.get(type(obj))
            if marks is not None and (not modified_only or session.is_modified(obj, include_collections=False)):
                _note(session, marks(obj))


@event.listens_for(Session, "after_begin")
def _link_connection(session, transaction, connection):
    # statements sent on the session's connection directly (plain INSERTs of the apply path) are
    # noted for this session too (_note_core_writes)
    connection.info[_SESSION] = weakref.ref(session)


@event.listens_for(Engine, "before_execute")
def _note_core_writes(conn, clauseelement, multiparams, params, execution_options):
    """INSERT/UPDATE/DELETE statements that are not the ORM's flush (after_flush sees those):
    an INSERT naming its case_id or plan_id marks that case; anything else marks every packet."""
    if not getattr(clauseelement, "is_dml", False) or "compiled_cache" in execution_options:
        return
    ref = conn.info.get(_SESSION)
    session = ref() if ref is not None else None
    if session is None:
        return
    if MARKS_OPTION in execution_options:  # the writer named what it touches (write_through)
        _note(session, execution_options[MARKS_OPTION])
        return
    table = getattr(clauseelement, "table", None)
    if getattr(table, "name", None) not in _WATCHED_TABLES:
        return
    rows = [params] if isinstance(params, dict) and params else []
    for item in multiparams or ():
        rows += [item] if isinstance(item, dict) else [r for r in item if isinstance(r, dict)] if isinstance(item, (list, tuple)) else []
    if clauseelement.is_insert and rows and all("case_id" in r or "plan_id" in r for r in rows):
        _note(session, {"case": {r["case_id"] for r in rows if "case_id" in r}, "plan": {r["plan_id"] for r in rows if "case_id" not in r}})
    else:
        _note(session, {"all": {0}})


@event.listens_for(Session, "before_commit")
def _write_packet_stale(session):
    if not session.info.get(_MARKS) and not session.new and not session.dirty and not session.deleted:
        return
    session.flush()  # the commit's own flush comes after this hook: note what it would write now
    marks = session.info.pop(_MARKS, None)
    if not marks:
        return
    if marks.get("all"):
        entries = [("all", 0)]
    else:
        cases = set(marks.get("case", ()))
        for kind, resolver in _RESOLVERS.items():
            if marks.get(kind):
                cases.update(resolver(session, marks[kind]))
        entries = [("case", i) for i in sorted(cases)]
        entries += [("agent", i) for i in sorted(marks.get("agent", ()))]
        entries += [("user", i) for i in sorted(marks.get("user", ()))]
    if not entries:
        return
    lock_feed(session)  # ids visible in order
    # one plain INSERT … RETURNING, not the unit of work: the entries are write-only here, and
    # flushing them through the session was a tenth of a sync op's CPU; the ids tell sync.ops
    # where the feed head stands after this transaction (FEED_WRITTEN)
    at = utcnow()
    ids = (
        session.connection()
        .execute(
            _INSERT_CHANGE,
            [{"user_id": None, "kind": STALE, "ref_type": kind, "ref_id": ref_id, "data": {}, "at": at} for kind, ref_id in entries],
        )
        .scalars()
        .all()
    )
    session.info[FEED_WRITTEN] = max(ids)


_INSERT_CHANGE = insert(Change).returning(Change.id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_packet_inputs(session, previous_transaction):
    if not session.in_transaction():
        session.info.pop(_MARKS, None)


# --- plain statements for the hot writes ------------------------------------------------------


def insert_row(cls, values: dict):
    """INSERT one row by a plain statement, not the unit of work, and return it as an object
    outside the session that carries its id: the apply path's hot, append-only writes, whose
    flush bookkeeping cost more than the row. The packets it touches are noted from its case_id
    or plan_id (_note_core_writes)."""
    table = cls.__table__
    inserted = db.session.connection().execute(_insert_row(table), values).inserted_primary_key
    assert inserted is not None  # an INSERT of one row always has one
    row_id = inserted[0]
    return cls(id=row_id, **values)


@lru_cache(maxsize=64)
def _insert_row(table):
    return table.insert()  # built once: a statement keeps its cache key


def write_through(obj, **values) -> None:
    """UPDATE one loaded row by a plain statement and keep the object as written (not dirty).

    For the apply path's hot writes: the unit of work's flush bookkeeping for one changed row
    costs several times the statement. Marks the packets the row feeds, as a flush would.
    """
    mapper = inspect(obj).mapper
    if "updated_at" in mapper.local_table.c and "updated_at" not in values:
        values["updated_at"] = utcnow()
    params = {**values, **{f"pk_{c.key}": getattr(obj, c.key) for c in mapper.primary_key}}
    session = object_session(obj) or db.session()
    marks = _WATCHED.get(type(obj))
    options = {MARKS_OPTION: marks(obj)} if marks is not None else {}
    session.connection().execute(_update_row(mapper.local_table, tuple(sorted(values))), params, execution_options=options)
    for name, value in values.items():
        set_committed_value(obj, name, value)


@lru_cache(maxsize=64)
def _update_row(table, columns: tuple):
    """UPDATE table SET columns WHERE primary key, built once (a statement keeps its cache key)."""
    return (
        update(table)
        .where(*(c == bindparam(f"pk_{c.key}") for c in table.primary_key.columns))
        .values({name: bindparam(name) for name in columns})
    )
