"""The agent's day packet, the delta feed, and the owner's queue of kept conflicts and rejections."""
import hashlib
import weakref
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, bindparam, delete, event, func, inspect, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..common import canonical_json, to_utc_naive, upsert_insert, utcnow
from ..errors import abort
from ..events import on
from ..extensions import db
from .models import Change, PacketCache, SyncOp

PACKET_STATUSES = ("published", "checked_in", "completed", "failed")


# any constant: the key of the PostgreSQL advisory lock that orders the feed
FEED_LOCK = 0x5EED


def record_change(*, user_id: int | None, kind: str, ref_type: str, ref_id: int, data: dict | None = None) -> Change:
    """Append to the delta feed; its id is the cursor devices resume from.

    PostgreSQL hands out ids at insert but transactions commit in any order, so a reader could see
    id 101 before 100 commits and skip 100 forever. Writers of the feed therefore take one
    transaction-scoped lock: ids become visible in order. (SQLite has one writer at a time anyway.)
    """
    lock_feed(db.session)
    change = Change(user_id=user_id, kind=kind, ref_type=ref_type, ref_id=ref_id, data=data or {})
    db.session.add(change)
    return change


def lock_feed(session) -> None:
    """Take the feed's order lock for this transaction (PostgreSQL; see record_change)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})


def _z(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def feed_head() -> int:
    return db.session.scalar(select(func.max(Change.id))) or 0


# --- day packet ------------------------------------------------------------------------


def build_packet(*, user, agent, day: date, loaded: list | None = None) -> dict:
    """Everything the device needs for the day, and nothing about other cases.

    The cursor is read before the visits: anything that changes meanwhile is in the feed after it.
    `loaded`, when given, receives the Visit rows (the cache keys its validity on their cases).
    """
    from ..cases.models import Account, Case, Debtor
    from ..policy.rules import rules_snapshot
    from ..policy.strategies import approved_script_rows, approved_scripts, case_facts
    from ..visits.models import Visit

    cursor = feed_head()
    # the briefs walk visit → case → account → debtor → addresses, flags, outcome: loaded here
    # in one query per relation for the whole day, not one per visit (measured in docs/load.md)
    case = selectinload(Visit.case)
    visits = db.session.scalars(
        select(Visit)
        .where(Visit.agent_id == agent.id, Visit.date == day, Visit.status.in_(PACKET_STATUSES))
        .order_by(Visit.route_position.is_(None), Visit.route_position, Visit.planned_arrival, Visit.id)
        .options(
            case.selectinload(Case.account).selectinload(Account.debtor).selectinload(Debtor.addresses),
            case.selectinload(Case.flags),
            case.selectinload(Case.branch),
            selectinload(Visit.address),
            selectinload(Visit.outcome),
        )
    ).all()
    if loaded is not None:
        loaded.extend(visits)
    scripts = approved_script_rows(user.locale)  # the same for every visit of the day
    facts = case_facts([visit.case_id for visit in visits])
    for case_id, rows in _past_visits([visit.case_id for visit in visits]).items():
        facts[case_id]["past_visits"] = rows
    branch = agent.branch
    tz = ZoneInfo(branch.timezone)
    valid_until = to_utc_naive(datetime.combine(day + timedelta(days=1), time.min, tz))
    jurisdiction = branch.jurisdiction
    config = current_app.config
    return {
        "date": day,
        "agent": {
            "id": agent.id,
            "user_id": user.id,
            "name": user.display_name,
            "locale": user.locale,
            "branch": {"id": branch.id, "code": branch.code, "name": branch.name, "timezone": branch.timezone, "jurisdiction": jurisdiction},
            "shift": {"start_s": agent.shift_start_s, "end_s": agent.shift_end_s},
            "start": {"lat": agent.start_lat, "lon": agent.start_lon},
        },
        "server_time": utcnow(),
        "cursor": cursor,
        "visits": [visit_brief(visit, locale=user.locale, scripts=scripts, facts=facts[visit.case_id]) for visit in visits],
        "rules": {**rules_snapshot(jurisdiction), "valid_until": _z(valid_until)},
        # the whole approved script book (each visit's `recommended` names its strategies)
        "strategies": approved_scripts(user.locale, rows=scripts),
        # named in the disclosure (R6): who the agent acts for and where to complain
        "organisation": {"name": config["ORG_NAME"], "complaint_phone": config["ORG_COMPLAINT_PHONE"]},
        "settings": {"map_tile_url": config["MAP_TILE_URL"]},
    }


def visit_brief(visit, *, locale: str = "zh-CN", scripts: dict | None = None, facts: dict | None = None) -> dict:
    """One visit as the device holds it: the door's brief (R15: only what the visit needs)."""
    from ..policy.plan_policy import policy_data
    from ..policy.rules import jurisdiction_for, timezone_for
    from ..policy.strategies import recommend

    case = visit.case
    account = case.account
    debtor = account.debtor
    address = visit.address
    return {
        "id": visit.id,
        "case_id": case.id,
        "version": visit.version,
        "status": visit.status,
        "date": visit.date.isoformat(),
        "route_position": visit.route_position,
        "planned_arrival": _z(visit.planned_arrival),
        "window": {"start": _z(visit.window_start), "end": _z(visit.window_end)},
        "timezone": timezone_for(case, address),
        "service_s": visit.service_s,
        "debtor": {"name": debtor.name, "language": debtor.language},
        "address": {"line": address.line, "city": address.city, "lat": address.lat, "lon": address.lon},
        "account": {
            "card_masked": account.card_masked,
            "currency": account.currency,
            "balance": str(account.balance),
            "overdue_amount": str(account.overdue_amount),
            "days_past_due": account.days_past_due,
            "bucket": account.bucket,
        },
        "flags": [{"flag": f.flag, "reason": f.reason, "since": _z(f.set_at)} for f in case.active_flags()],
        "history": case_history(case, exclude_visit_id=visit.id, facts=facts),
        "plan_policy": policy_data(jurisdiction_for(case, address)),
        "recommended": recommend(case, locale, scripts=scripts, facts=facts),
        "checkin_at": _z(visit.checkin_at),
        "checkout_at": _z(visit.checkout_at),
        "outcome": visit.outcome.code if visit.outcome is not None else None,
    }


def _past_visits(case_ids: list[int]) -> dict[int, list]:
    """Completed and failed visits with their outcomes, newest first, per case (one query)."""
    from ..visits.models import Outcome, Visit

    out: dict[int, list] = {case_id: [] for case_id in case_ids}
    if case_ids:
        rows = db.session.execute(
            select(Visit.case_id, Visit.id, Visit.date, Visit.status, Outcome.code, Outcome.met)
            .outerjoin(Outcome, Outcome.visit_id == Visit.id)
            .where(Visit.case_id.in_(case_ids), Visit.status.in_(("completed", "failed")))
            .order_by(Visit.date.desc(), Visit.id.desc())
        )
        for row in rows:
            out[row.case_id].append(row)
    return out


def case_history(case, *, exclude_visit_id: int | None = None, last: int = 3, facts: dict | None = None) -> dict:
    """A summary, not the record: past visits with outcomes, the open plan or promise, last contact.

    `facts`: policy.strategies.case_facts()[case.id] plus "past_visits" (_past_visits), when the
    caller has them for a whole day's cases."""
    from ..policy.strategies import case_facts

    if facts is None:
        facts = {**case_facts([case.id])[case.id], "past_visits": _past_visits([case.id])[case.id]}
    rows = [r for r in facts["past_visits"] if r.id != exclude_visit_id]
    plan = facts["open_plan"]
    open_plan = None
    if plan is not None:
        due = next((i for i in plan.installments if i.status in ("due", "partial")), None)
        open_plan = {
            "id": plan.id,
            "kind": plan.kind,
            "status": plan.status,
            "payable": str(plan.total_amount),
            "next_due": {"date": due.due_date.isoformat(), "amount": str(due.amount)} if due else None,
        }
    return {
        "visits": len(rows),
        "last_visits": [{"date": r.date.isoformat(), "status": r.status, "outcome": r.code, "met": r.met} for r in rows[:last]],
        "last_contact_at": _z(case.last_contact_at),
        "broken_promises": case.broken_promises,
        "open_plan": open_plan,
    }


# --- the packet cache -------------------------------------------------------------------
#
# A day packet costs ~20 queries and ~15 ms of CPU to build (docs/load.md); an agent pulls it
# at sign-in, again on every app start, and the morning burst asks for all of them at once. So
# each (agent, day) packet is kept as served (packet_cache) and served again while provably
# nothing in it changed:
#
# - every transaction that writes a row a packet is built from leaves a `packet.stale` entry in
#   the feed (after_flush notes what was touched, before_commit writes the entries): per case
#   (visits, outcomes, flags, notes, plans and their installments and promise state, the
#   account, debtor and addresses), per agent (its visits and profile), per user (name, locale),
#   or for everyone (branches, policy settings, scripts, bulk statements). This covers writes
#   that never call record_change (payment imports, office notes, flag changes, plan decisions,
#   policy edits) and plain INSERTs on the session's connection: they go through the same session.
# - the feed's ids become visible in order (record_change's lock), so a packet built after
#   reading head H reflects everything up to H; it stays valid while no entry after H concerns
#   it, its code and configuration are unchanged (fingerprint), and no flag of its cases starts,
#   expires or is cleared in between (expires_at).

STALE = "packet.stale"
_MARKS = "packet_marks"
_SESSION = "packet_session"


def _case_ids(obj) -> dict:
    return {"case": {obj.case_id}}


def _input_tables() -> dict:
    """Mapped class -> the marks a write to one of its rows leaves."""
    from ..auth.models import User
    from ..cases.models import Account, Address, Case, CaseFlag, Debtor, Note
    from ..org.models import Agent, Branch
    from ..payments.models import PromiseTrack
    from ..plans.models import Installment, RepaymentPlan
    from ..policy.models import PolicySetting, ScriptTemplate
    from ..visits.models import Outcome, Visit

    def visit(obj):
        agents = {obj.agent_id} | set(inspect(obj).attrs.agent_id.history.deleted or ())
        return {"case": {obj.case_id}, "agent": {a for a in agents if a is not None}}

    return {
        Visit: visit,
        Case: lambda obj: {"case": {obj.id}},
        CaseFlag: _case_ids,
        Note: _case_ids,
        Outcome: _case_ids,
        RepaymentPlan: _case_ids,
        Installment: lambda obj: {"plan": {obj.plan_id}},
        PromiseTrack: lambda obj: {"plan": {obj.plan_id}},
        Account: lambda obj: {"account": {obj.id}},
        Debtor: lambda obj: {"debtor": {obj.id}},
        Address: lambda obj: {"debtor": {obj.debtor_id}},
        Agent: lambda obj: {"agent": {obj.id}},
        User: lambda obj: {"user": {obj.id}},
        Branch: lambda obj: {"all": {0}},
        PolicySetting: lambda obj: {"all": {0}},
        ScriptTemplate: lambda obj: {"all": {0}},
    }


@lru_cache(maxsize=1)
def _inputs() -> tuple[dict, frozenset]:
    tables = _input_tables()
    return tables, frozenset(cls.__table__.name for cls in tables)


def _note(session: Session, marks: dict) -> None:
    pending = session.info.setdefault(_MARKS, {})
    for kind, ids in marks.items():
        pending.setdefault(kind, set()).update(i for i in ids if i is not None)


@event.listens_for(Session, "after_flush")
def _note_packet_inputs(session, flush_context):
    tables, _ = _inputs()
    for group, modified_only in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for obj in group:
            marks = tables.get(type(obj))
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
    if getattr(table, "name", None) not in _inputs()[1]:
        return
    rows = [params] if isinstance(params, dict) and params else []
    for item in multiparams or ():
        rows += [item] if isinstance(item, dict) else [r for r in item if isinstance(r, dict)] if isinstance(item, (list, tuple)) else []
    if clauseelement.is_insert and rows and all("case_id" in r or "plan_id" in r for r in rows):
        _note(session, {"case": {r["case_id"] for r in rows if "case_id" in r},
                        "plan": {r["plan_id"] for r in rows if "case_id" not in r}})
    else:
        _note(session, {"all": {0}})


# the execution option by which a plain UPDATE says which packets it touches
MARKS_OPTION = "packet_marks"


def insert_row(cls, values: dict):
    """INSERT one row by a plain statement, not the unit of work, and return it as an object
    outside the session that carries its id: the apply path's hot, append-only writes, whose
    flush bookkeeping cost more than the row. The packets it touches are noted from its case_id
    or plan_id (_note_core_writes)."""
    table = cls.__table__
    row_id = db.session.connection().execute(_insert_row(table), values).inserted_primary_key[0]
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
    session.connection().execute(_update_row(mapper.local_table, tuple(sorted(values))), params,
                                 execution_options={MARKS_OPTION: _inputs()[0][type(obj)](obj)})
    for name, value in values.items():
        set_committed_value(obj, name, value)


@lru_cache(maxsize=64)
def _update_row(table, columns: tuple):
    """UPDATE table SET columns WHERE primary key, built once (a statement keeps its cache key)."""
    return (update(table).where(*(c == bindparam(f"pk_{c.key}") for c in table.primary_key.columns))
            .values({name: bindparam(name) for name in columns}))


@event.listens_for(Session, "before_commit")
def _write_packet_stale(session):
    if not session.info.get(_MARKS) and not session.new and not session.dirty and not session.deleted:
        return
    session.flush()  # the commit's own flush comes after this hook: note what it would write now
    marks = session.info.pop(_MARKS, None)
    if not marks:
        return
    from ..cases.models import Account, Case
    from ..plans.models import RepaymentPlan

    cases = set(marks.get("case", ()))
    if not marks.get("all"):
        if marks.get("plan"):
            cases.update(session.scalars(select(RepaymentPlan.case_id).where(RepaymentPlan.id.in_(marks["plan"]))))
        if marks.get("account"):
            cases.update(session.scalars(select(Case.id).where(Case.account_id.in_(marks["account"]))))
        if marks.get("debtor"):
            cases.update(session.scalars(
                select(Case.id).join(Account, Account.id == Case.account_id).where(Account.debtor_id.in_(marks["debtor"]))))
    if marks.get("all"):
        entries = [("all", 0)]
    else:
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
    ids = session.connection().execute(_INSERT_CHANGE, [{"user_id": None, "kind": STALE, "ref_type": kind, "ref_id": ref_id,
                                                         "data": {}, "at": at} for kind, ref_id in entries]).scalars().all()
    session.info[FEED_WRITTEN] = max(ids)


_INSERT_CHANGE = Change.__table__.insert().returning(Change.__table__.c.id)
# session.info: the highest feed id this transaction's packet.stale entries took (sync.ops reads it)
FEED_WRITTEN = "sync_feed_written"


@event.listens_for(Session, "after_soft_rollback")
def _forget_packet_inputs(session, previous_transaction):
    if not session.in_transaction():
        session.info.pop(_MARKS, None)


_PACKET_MODULES = ("sync/services.py", "sync/schemas.py", "policy/strategies.py", "policy/rules.py",
                   "policy/plan_policy.py", "policy/settings.py", "policy/data")


@lru_cache(maxsize=8)
def _fingerprint(config_items: tuple) -> str:
    """This code and configuration: a deploy that changes either never serves an old packet."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(canonical_json(list(config_items)).encode())
    for name in _PACKET_MODULES:
        path = root / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()


def packet_fingerprint() -> str:
    config = current_app.config
    return _fingerprint(tuple(str(config.get(k)) for k in ("ORG_NAME", "ORG_COMPLAINT_PHONE", "MAP_TILE_URL", "DEFAULT_TIMEZONE")))


def _flag_turns(visits, now: datetime) -> datetime | None:
    """The next time a flag of the day's cases starts, expires or is cleared: the brief changes then."""
    times = [t for visit in visits for f in visit.case.flags for t in (f.set_at, f.expires_at, f.cleared_at)
             if t is not None and t > now]
    return min(times, default=None)


def _stale_since(row: PacketCache, *, user, agent, head: int) -> bool:
    if head <= row.head:
        return False
    concerns = or_(
        Change.user_id == user.id,
        and_(Change.kind == STALE, or_(
            Change.ref_type == "all",
            and_(Change.ref_type == "agent", Change.ref_id == agent.id),
            and_(Change.ref_type == "user", Change.ref_id == user.id),
            and_(Change.ref_type == "case", Change.ref_id.in_(row.case_ids)),
        )),
    )
    return db.session.scalar(select(Change.id).where(Change.id > row.head, Change.id <= head, concerns).limit(1)) is not None


def cached_packet(*, user, agent, day: date) -> tuple[str, str]:
    """The day packet as JSON text without `server_time`, and its entity tag (built when stale)."""
    from .schemas import PacketSchema

    now = utcnow()
    fingerprint = packet_fingerprint()
    # the kept packet and the feed head in one round trip (the head first when nothing is kept)
    found = db.session.execute(
        select(PacketCache, select(func.max(Change.id)).scalar_subquery())
        .where(PacketCache.agent_id == agent.id, PacketCache.day == day)
    ).first()
    row, head = found if found is not None else (None, feed_head())
    head = head or 0
    if (row is not None and row.fingerprint == fingerprint and (row.expires_at is None or row.expires_at > now)
            and not _stale_since(row, user=user, agent=agent, head=head)):
        return row.body, row.etag
    visits: list = []
    packet = build_packet(user=user, agent=agent, day=day, loaded=visits)
    body = current_app.json.dumps(PacketSchema(exclude=("server_time",)).dump(packet))
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    _store_packet(agent_id=agent.id, day=day, head=packet["cursor"], fingerprint=fingerprint, etag=etag,
                  case_ids=sorted({v.case_id for v in visits}), expires_at=_flag_turns(visits, now), body=body)
    return body, etag


def with_server_time(body: str) -> str:
    """The kept JSON with the clock of this answer (devices estimate their clock offset from it)."""
    return '{"server_time": "%s", %s' % (_z(utcnow()), body[1:])


def _store_packet(**values) -> None:
    """Best effort: a busy database must not fail the pull over keeping a copy."""
    stmt = upsert_insert(db.session.get_bind().dialect.name)(PacketCache).values(**values, built_at=utcnow())
    fresh = {k: stmt.excluded[k] for k in ("head", "fingerprint", "etag", "case_ids", "expires_at", "body", "built_at")}
    # two workers building the same packet: the one that read the later feed head stays
    stmt = stmt.on_conflict_do_update(index_elements=["agent_id", "day"], set_=fresh,
                                      where=PacketCache.__table__.c.head <= stmt.excluded.head)
    try:
        db.session.execute(stmt)
        # the agent's packets of days gone by are never served again: one row per agent and day at most two days old
        db.session.execute(delete(PacketCache).where(PacketCache.agent_id == values["agent_id"],
                                                     PacketCache.day < utcnow().date() - timedelta(days=2)))
        db.session.commit()
    except DBAPIError as exc:
        db.session.rollback()
        current_app.logger.warning("day packet of agent %s not kept (served as built): %s", values["agent_id"], exc)


def prune_packet_stale(*, now: datetime | None = None, settle: timedelta = timedelta(hours=1)) -> int:
    """Delete the `packet.stale` entries no kept packet can consult any more (run daily, with
    retention). A packet consults only entries after its head, so those at or below the lowest
    head kept are dead; the `settle` margin covers a packet being built right now from a head
    read before the oldest packet kept (entries older than that were visible before it read)."""
    now = now or utcnow()
    lowest = db.session.scalar(select(func.min(PacketCache.head)))
    if lowest is None:
        lowest = feed_head()
    deleted = db.session.execute(
        delete(Change).where(Change.kind == STALE, Change.id <= lowest, Change.at < now - settle)
    ).rowcount
    db.session.commit()
    return deleted


def warm_packets(*, day: date, user_ids: list[int] | None = None) -> int:
    """Build the day's packets ahead of the morning burst (each agent with visits that day, or
    only `user_ids`' agents). A packet warmed too early is only a wasted build: it is checked
    against the feed like any other."""
    from ..auth.models import User
    from ..org.models import Agent
    from ..visits.models import Visit

    stmt = select(Visit.agent_id).where(Visit.date == day, Visit.status.in_(PACKET_STATUSES)).distinct()
    if user_ids is not None:
        stmt = stmt.where(Visit.agent_id.in_(select(Agent.id).where(Agent.user_id.in_(user_ids))))
    agent_ids = db.session.scalars(stmt).all()
    for agent_id in agent_ids:
        agent = db.session.get(Agent, agent_id)
        cached_packet(user=db.session.get(User, agent.user_id), agent=agent, day=day)
    return len(agent_ids)


def warm_packets_job(*, day: str, user_ids: list[int] | None = None) -> None:
    warm_packets(day=date.fromisoformat(day), user_ids=user_ids)


@on("route.published")
def warm_published_day(*, user_ids, date=None, plan=None, **_) -> None:
    """Production layout (RQ): a worker builds each agent's packet once the publishing
    transaction commits, so the morning's first pulls find it ready. The embedded set-up
    builds on the first pull."""
    from ..jobs import enqueue, uses_rq

    day = date or plan.date
    if uses_rq() and user_ids:
        enqueue(warm_packets_job, queue="packets", day=str(day), user_ids=sorted(user_ids))


def record_device_purge(*, user, device_id: str, purged: int, purged_at: datetime | None) -> None:
    """R15: the device says it deleted debtor data it no longer needed; kept in the audit trail."""
    from ..auth.services import audit

    audit(actor=user, action="device.purge", target=f"device:{device_id}"[:120], purged=purged,
          purged_at=_z(purged_at))
    db.session.commit()


# --- delta feed ------------------------------------------------------------------------


def list_changes(*, user, agent, since: int, limit: int = 500) -> dict:
    """Everything for this user after `since`, from the monotonic server sequence."""
    head = feed_head()
    if since > head:
        abort(422, "Unknown cursor: it is ahead of the server's feed; fetch the day packet again.",
              errors={"since": [f"the feed ends at {head}"]}, code="unknown_cursor")
    rows = db.session.scalars(
        select(Change).where(Change.user_id == user.id, Change.id > since).order_by(Change.id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [_change_item(change, agent) for change in rows]
    # when nothing is left, resume from the head: ids of other users' changes need not be walked again
    cursor = rows[-1].id if more else max(head, since)
    return {"cursor": cursor, "more": more, "changes": changes}


def _change_item(change: Change, agent) -> dict:
    from ..visits.models import Visit

    item = {
        "seq": change.id,
        "kind": change.kind,
        "ref_type": change.ref_type,
        "ref_id": change.ref_id,
        "data": change.data,
        "at": _z(change.at),
    }
    if change.ref_type == "visit" and change.kind != "visit.remove" and agent is not None:
        visit = db.session.get(Visit, change.ref_id)
        # a visit taken away since is not described any more: the device drops it
        if visit is not None and visit.agent_id == agent.id:
            item["visit"] = visit_brief(visit)
    return item


# --- owner queue -----------------------------------------------------------------------


def exceptions_query(*, status=None, reviewed=None, case_id=None, agent_id=None, owner_id=None, type=None):
    from ..cases.models import Case
    from ..org.models import Agent

    stmt = select(SyncOp).where(SyncOp.status.in_(("conflict", "rejected"))).order_by(SyncOp.received_at.desc(), SyncOp.id)
    if status:
        stmt = stmt.where(SyncOp.status == status)
    if reviewed is not None:
        stmt = stmt.where(SyncOp.reviewed_at.is_not(None) if reviewed else SyncOp.reviewed_at.is_(None))
    if case_id:
        stmt = stmt.where(SyncOp.case_id == case_id)
    if agent_id:
        stmt = stmt.where(SyncOp.user_id.in_(select(Agent.user_id).where(Agent.id == agent_id)))
    if owner_id:
        stmt = stmt.where(SyncOp.case_id.in_(select(Case.id).where(Case.owner_id == owner_id)))
    if type:
        stmt = stmt.where(SyncOp.type == type)
    return stmt


def exception_item(op: SyncOp) -> dict:
    from ..auth.models import User
    from ..cases.models import Case

    user = db.session.get(User, op.user_id)
    case = db.session.get(Case, op.case_id) if op.case_id else None
    result = op.result or {}
    return {
        "op": {"id": op.id, "type": op.type, "at": _z(op.device_at), "payload": op.payload, "visit_id": op.visit_id},
        "status": op.status,
        "reason": result.get("detail"),
        "errors": result.get("errors") or {},
        "case": {"id": case.id, "debtor_name": case.account.debtor.name, "owner_id": case.owner_id, "stage": case.stage} if case else None,
        "device_id": op.device_id,
        "agent": {
            "user_id": user.id,
            "agent_id": user.agent.id if user.agent else None,
            "name": user.display_name,
        } if user else None,
        "received_at": op.received_at,
        "reviewed_at": op.reviewed_at,
        "reviewed_by_id": op.reviewed_by_id,
        "review_note": op.review_note,
    }


def review_exception(*, op_id: str, note: str, actor_id: int) -> SyncOp:
    """The owner has looked at a kept op: who, when and what they decided, also on the timeline."""
    from ..cases.models import Case
    from ..cases.services import append_event

    op = db.session.get(SyncOp, op_id)
    if op is None or op.status not in ("conflict", "rejected"):
        abort(404, f"No conflict or rejection with op id {op_id}.")
    op.reviewed_at = utcnow()
    op.reviewed_by_id = actor_id
    op.review_note = note
    if op.case_id:
        append_event(case=db.session.get(Case, op.case_id), kind="sync.reviewed", actor_id=actor_id,
                     data={"op_id": op.id, "type": op.type, "status": op.status, "note": note})
    return op
