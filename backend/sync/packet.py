"""The agent's day packet (build, keep, warm) and the delta feed devices read after it.

A day packet costs ~20 queries and ~15 ms of CPU to build (docs/load.md); an agent pulls it at
sign-in, again on every app start, and the morning burst asks for all of them at once. So each
(agent, day) packet is kept as served (packet_cache) and served again while provably nothing in
it changed: every write to a row a packet is built from leaves a `packet.stale` entry in the
feed (backend/feed.py), and a kept packet stays valid while no entry after its head concerns it,
its code and configuration are unchanged (fingerprint), and no flag of its cases starts, expires
or is cleared in between (expires_at).
"""

import hashlib
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from .. import jobs, metrics
from ..auth.models import User
from ..auth.services import audit
from ..cases.models import Account, Case, Debtor
from ..cases.projection import project_account, project_debtor
from ..common import canonical_json, to_utc_naive, utcnow
from ..common import iso_z as _z
from ..db import upsert_insert
from ..errors import abort
from ..events import on
from ..extensions import db
from ..feed import STALE, Change, feed_head
from ..org.models import Agent
from ..payments.links import build_payment_link
from ..policy.plan_policy import policy_data
from ..policy.rules import jurisdiction_for, rules_snapshot, timezone_for
from ..policy.strategies import approved_script_rows, approved_scripts, case_facts, recommend
from ..presence.services import badge_key_text, leave_behind_card
from ..visits.models import Outcome, Visit
from ..visits.services import required_agents, work_stopped
from .models import PacketCache
from .schemas import PacketSchema

PACKET_STATUSES = ("published", "checked_in", "completed", "failed")


def build_packet(*, user, agent, day: date, loaded: list | None = None) -> dict:
    """Everything the device needs for the day, and nothing about other cases.

    The cursor is read before the visits: anything that changes meanwhile is in the feed after it.
    `loaded`, when given, receives the Visit rows (the cache keys its validity on their cases).
    """

    cursor = feed_head()
    # the briefs walk visit → case → account → debtor → addresses, flags, outcome: loaded here
    # in one query per relation for the whole day, not one per visit (measured in docs/load.md)
    case = selectinload(Visit.case)
    visits = db.session.scalars(
        select(Visit)
        .where(or_(Visit.agent_id == agent.id, Visit.partner_id == agent.id), Visit.date == day, Visit.status.in_(PACKET_STATUSES))
        .order_by(Visit.route_position.is_(None), Visit.route_position, Visit.planned_arrival, Visit.id)
        .options(
            case.selectinload(Case.account).selectinload(Account.debtor).selectinload(Debtor.addresses),
            case.selectinload(Case.flags),
            case.selectinload(Case.branch),
            selectinload(Visit.address),
            selectinload(Visit.outcome),
            selectinload(Visit.agent).selectinload(Agent.user),
            selectinload(Visit.partner).selectinload(Agent.user),
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
            "badge_no": agent.badge_no,
            "locale": user.locale,
            "branch": {
                "id": branch.id,
                "code": branch.code,
                "name": branch.name,
                "timezone": branch.timezone,
                "jurisdiction": jurisdiction,
            },
            "shift": {"start_s": agent.shift_start_s, "end_s": agent.shift_end_s},
            "start": {"lat": agent.start_lat, "lon": agent.start_lon},
        },
        "server_time": utcnow(),
        "cursor": cursor,
        "visits": [
            visit_brief(visit, viewer=user, locale=user.locale, scripts=scripts, facts=facts[visit.case_id], agent=agent)
            for visit in visits
        ],
        "rules": {**rules_snapshot(jurisdiction), "valid_until": _z(valid_until)},
        # the whole approved script book (each visit's `recommended` names its strategies)
        "strategies": approved_scripts(user.locale, rows=scripts),
        # named in the disclosure (R6): who the agent acts for and where to complain
        "organisation": {"name": config["ORG_NAME"], "complaint_phone": config["ORG_COMPLAINT_PHONE"]},
        "settings": {
            "map_tile_url": config["MAP_TILE_URL"],
            "map_tile_attribution": config["MAP_TILE_ATTRIBUTION"],
            "badge_ttl_s": config["BADGE_TTL_S"],
        },
    }


def _stopped(visit) -> dict | None:
    """The ladder stopped this visit (case closed, stage moved since it was published): the
    device refuses check-in and says why."""
    stop = work_stopped(visit)
    return {"code": stop["code"], "stage": stop["stage"], "since": _z(stop["since"])} if stop else None


def visit_brief(visit, *, viewer, locale: str = "zh-CN", scripts: dict | None = None, facts: dict | None = None, agent=None) -> dict:
    """One visit as the device holds it: the door's brief (R15: only what the visit needs),
    drawn from the case as its viewer may see it (cases.projection). `agent`, the device's:
    on a two-person visit (R9) its `crew` says whether it leads or partners, and names the other."""

    case = visit.case
    account = project_account(case.account, viewer)
    debtor = project_debtor(case.account.debtor, viewer)
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
        "debtor": {"name": debtor["name"], "language": debtor["language"]},
        "address": {"line": address.line, "city": address.city, "lat": address.lat, "lon": address.lon},
        "account": {
            "card_masked": account["card_masked"],
            "currency": account["currency"],
            "balance": str(account["balance"]),
            "overdue_amount": str(account["overdue_amount"]),
            "days_past_due": account["days_past_due"],
            "bucket": account["bucket"],
        },
        "flags": [{"flag": f.flag, "reason": f.reason, "since": _z(f.set_at)} for f in case.active_flags()],
        "stopped": _stopped(visit),
        "history": case_history(case, exclude_visit_id=visit.id, facts=facts),
        "plan_policy": policy_data(jurisdiction_for(case, address)),
        "recommended": recommend(case, locale, scripts=scripts, facts=facts),
        "checkin_at": _z(visit.checkin_at),
        "checkout_at": _z(visit.checkout_at),
        "outcome": visit.outcome.code if visit.outcome is not None else None,
        "required_agents": required_agents(case, address, visit_id=visit.id, history=_history(facts)),
        "crew": _crew(visit, agent),
        "payment_link": build_payment_link(case),
        # signs the debtor's badge link offline (R10; presence.services)
        "badge_key": badge_key_text(visit.id),
        # the leave-behind card (R14), as the PDF prints it
        "card": leave_behind_card(visit),
    }


def _history(facts: dict | None) -> list[tuple[int, str]] | None:
    """The case's outcomes as visits.services.required_agents reads them, from the day's facts."""
    if facts is None or "past_visits" not in facts:
        return None
    return [(row.id, row.code) for row in facts["past_visits"] if row.code is not None]


def _crew(visit, agent) -> dict | None:
    """R9: the device's role on a visit with a partner (lead | partner), the other agent's name,
    and whether the partner has checked in (the lead's phone warns before the outcome if not)."""
    if visit.partner_id is None:
        return None
    role = "partner" if agent is not None and agent.id == visit.partner_id and agent.id != visit.agent_id else "lead"
    other = visit.agent if role == "partner" else visit.partner
    return {
        "role": role,
        "lead_id": visit.agent_id,
        "partner_id": visit.partner_id,
        "with": {"id": other.id, "name": other.user.display_name or other.user.username} if other is not None else None,
        "partner_checkin_at": _z(visit.partner_checkin_at),
    }


def _past_visits(case_ids: list[int]) -> dict[int, list]:
    """Completed and failed visits with their outcomes, newest first, per case (one query)."""

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


_PACKET_MODULES = (
    "sync/packet.py",
    "cases/projection.py",
    "sync/schemas.py",
    "feed.py",
    "presence/services.py",
    "visits/services.py",
    "policy/strategies.py",
    "payments/what_works.py",
    "policy/rules.py",
    "policy/plan_policy.py",
    "policy/settings.py",
    "policy/data",
)


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
    return _fingerprint(
        tuple(
            str(config.get(k))
            for k in (
                "ORG_NAME",
                "ORG_COMPLAINT_PHONE",
                "MAP_TILE_URL",
                "MAP_TILE_ATTRIBUTION",
                "DEFAULT_TIMEZONE",
                "PAYMENT_LINK_TEMPLATE",
                "SECRET_KEY",
                "BADGE_TTL_S",
                "PUBLIC_BASE_URL",
            )
        )
    )


def _flag_turns(visits, now: datetime) -> datetime | None:
    """The next time a flag of the day's cases starts, expires or is cleared: the brief changes then."""
    times = [t for visit in visits for f in visit.case.flags for t in (f.set_at, f.expires_at, f.cleared_at) if t is not None and t > now]
    return min(times, default=None)


def _stale_since(row: PacketCache, *, user, agent, head: int) -> bool:
    if head <= row.head:
        return False
    concerns = or_(
        Change.user_id == user.id,
        and_(
            Change.kind == STALE,
            or_(
                Change.ref_type == "all",
                and_(Change.ref_type == "agent", Change.ref_id == agent.id),
                and_(Change.ref_type == "user", Change.ref_id == user.id),
                and_(Change.ref_type == "case", Change.ref_id.in_(row.case_ids)),
            ),
        ),
    )
    return db.session.scalar(select(Change.id).where(Change.id > row.head, Change.id <= head, concerns).limit(1)) is not None


def cached_packet(*, user, agent, day: date) -> tuple[str, str]:
    """The day packet as JSON text without `server_time`, and its entity tag (built when stale)."""

    now = utcnow()
    fingerprint = packet_fingerprint()
    # the kept packet and the feed head in one round trip (the head first when nothing is kept)
    found = db.session.execute(
        select(PacketCache, select(func.max(Change.id)).scalar_subquery()).where(PacketCache.agent_id == agent.id, PacketCache.day == day)
    ).first()
    row, head = found if found is not None else (None, feed_head())
    head = head or 0
    if (
        row is not None
        and row.fingerprint == fingerprint
        and (row.expires_at is None or row.expires_at > now)
        and not _stale_since(row, user=user, agent=agent, head=head)
    ):
        metrics.count_packet(hit=True)
        return row.body, row.etag
    metrics.count_packet(hit=False)
    visits: list = []
    packet = build_packet(user=user, agent=agent, day=day, loaded=visits)
    body = current_app.json.dumps(PacketSchema(exclude=("server_time",)).dump(packet))
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    _store_packet(
        agent_id=agent.id,
        day=day,
        head=packet["cursor"],
        fingerprint=fingerprint,
        etag=etag,
        case_ids=sorted({v.case_id for v in visits}),
        expires_at=_flag_turns(visits, now),
        body=body,
    )
    return body, etag


def with_server_time(body: str) -> str:
    """The kept JSON with the clock of this answer (devices estimate their clock offset from it)."""
    return f'{{"server_time": "{_z(utcnow())}", {body[1:]}'


def _store_packet(**values) -> None:
    """Best effort: a busy database must not fail the pull over keeping a copy."""
    stmt = upsert_insert()(PacketCache).values(**values, built_at=utcnow())
    fresh = {k: stmt.excluded[k] for k in ("head", "fingerprint", "etag", "case_ids", "expires_at", "body", "built_at")}
    # two workers building the same packet: the one that read the later feed head stays
    stmt = stmt.on_conflict_do_update(
        index_elements=["agent_id", "day"], set_=fresh, where=PacketCache.__table__.c.head <= stmt.excluded.head
    )
    try:
        db.session.execute(stmt)
        # the agent's packets of days gone by are never served again: one row per agent and day at most two days old
        db.session.execute(
            delete(PacketCache).where(PacketCache.agent_id == values["agent_id"], PacketCache.day < utcnow().date() - timedelta(days=2))
        )
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
    deleted = db.session.execute(delete(Change).where(Change.kind == STALE, Change.id <= lowest, Change.at < now - settle)).rowcount
    db.session.commit()
    return deleted


def warm_packets(*, day: date, user_ids: list[int] | None = None) -> int:
    """Build the day's packets ahead of the morning burst (each agent with visits that day, or
    only `user_ids`' agents). A packet warmed too early is only a wasted build: it is checked
    against the feed like any other."""

    agent_ids: list[int] = []
    for column in (Visit.agent_id, Visit.partner_id):
        stmt = select(column).where(Visit.date == day, Visit.status.in_(PACKET_STATUSES), column.is_not(None)).distinct()
        if user_ids is not None:
            stmt = stmt.where(column.in_(select(Agent.id).where(Agent.user_id.in_(user_ids))))
        agent_ids += [a for a in db.session.scalars(stmt) if a not in agent_ids]
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
    day = date or plan.date
    if jobs.uses_rq() and user_ids:
        jobs.enqueue(warm_packets_job, queue="packets", day=str(day), user_ids=sorted(user_ids))


def record_device_purge(*, user, device_id: str, purged: int, purged_at: datetime | None) -> None:
    """R15: the device says it deleted debtor data it no longer needed; kept in the audit trail."""

    audit(actor=user, action="device.purge", target=f"device:{device_id}"[:120], purged=purged, purged_at=_z(purged_at))
    db.session.commit()


# --- delta feed ------------------------------------------------------------------------


def list_changes(*, user, agent, since: int, limit: int = 500) -> dict:
    """Everything for this user after `since`, from the monotonic server sequence."""
    head = feed_head()
    if since > head:
        abort(
            422,
            "Unknown cursor: it is ahead of the server's feed; fetch the day packet again.",
            errors={"since": [f"the feed ends at {head}"]},
            code="unknown_cursor",
        )
    rows = db.session.scalars(select(Change).where(Change.user_id == user.id, Change.id > since).order_by(Change.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [_change_item(change, user, agent) for change in rows]
    # when nothing is left, resume from the head: ids of other users' changes need not be walked again
    cursor = rows[-1].id if more else max(head, since)
    return {"cursor": cursor, "more": more, "changes": changes}


def _change_item(change: Change, user, agent) -> dict:

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
        if visit is not None and agent.id in (visit.agent_id, visit.partner_id):
            item["visit"] = visit_brief(visit, viewer=user, agent=agent)
    return item
