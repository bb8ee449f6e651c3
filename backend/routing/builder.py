"""One day's route problem, read from the database (rules in docs/routing-api.md).

The builder decides *what* may be planned; the engine decides who does it and when.

- Candidates: the day's planned/published Visit rows in scope, plus every eligible
  field case of the scope that has no visit that day (a "case candidate": it gets a
  Visit row only when the plan is published, so a discarded draft leaves nothing behind).
- Every case of the scope that is not a candidate is listed in `excluded` with all the
  reasons, never dropped silently. A reason is {"rule", "code", "params", "message"}: the
  code and params name the reader's sentence in the consoles' catalogue
  (`finding.<code>`), the message is the English one for API clients.
- Times are seconds since midnight of the plan day in the plan's reference timezone
  (the branch's). Each visit's windows are the policy module's `windows_for` (the
  jurisdiction's visiting hours in the debtor's own timezone ∩ the debtor's declared
  availability, minus inconvenient times), converted to that clock.
- Visits already done or under way (checked in, completed, failed) are fixed: the agent
  continues from the last of them, not before now, with its daily cap reduced.
- Two-person visits (R9) are served by crews: agents paired into one vehicle (crews.py); one
  that no pair can serve is excluded with the reason code `route_no_pair`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..auth.models import User
from ..cases.models import Account, Case, Debtor
from ..common import to_utc_naive, utcnow
from ..extensions import db
from ..org.models import Agent, Branch
from ..payments.models import FollowUp
from ..policy import rules
from ..visits.models import Outcome, Visit
from .crews import crew_warm_start, form_crews
from .history import add_contact
from .travel import TravelSettings, travel_matrix

FIXED_STATUSES = ("checked_in", "completed", "failed")
CANDIDATE_STATUSES = ("planned", "published")
SERVICE_S = 1800  # at the door, for a case that has no visit yet (Visit.service_s default)

# The language each jurisdiction's agents work in; a debtor speaking another one needs
# an agent with the "dialect" skill.
WORKING_LANGUAGE = {"CN": "zh-CN", "US": "en", "UK": "en", "IE": "en"}
# High stakes go to a senior agent: a large overdue amount or repeated broken promises.
SENIOR_OVERDUE = 100_000
SENIOR_BROKEN_PROMISES = 2

# Collectability → priority 1–100: points per factor, each saturating (see priority_for).
PRIORITY_WEIGHTS = {"overdue_amount": 40, "days_past_due": 25, "broken_promises": 15, "days_since_contact": 20}
OVERDUE_HALF = 20_000  # the overdue amount that earns half its points
DPD_FULL = 180  # charge-off horizon: every day up to it adds urgency
BROKEN_FULL = 3
CONTACT_FULL_DAYS = 30  # never contacted counts as this many days
# a return visit due today (agreed at the door, or left by a broken promise) is a promise
# of the office: it goes first
FOLLOW_UP_PRIORITY = 100


class BuildError(ValueError):
    """The request names something that cannot be planned (reported as 422)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass
class Built:
    problem: dict  # route-problem v1, with durations
    meta: dict  # stored on RoutePlan.meta
    excluded: list[dict]
    warm_start: dict | None = None
    settings: TravelSettings = field(default_factory=TravelSettings)


@dataclass
class Clock:
    """Seconds since midnight of the plan day in the reference timezone ↔ naive UTC."""

    tz: str
    midnight: datetime  # naive UTC

    @classmethod
    def for_day(cls, day: date, tz: str) -> Clock:
        return cls(tz, to_utc_naive(datetime.combine(day, time(0), ZoneInfo(tz))))

    def seconds(self, at: datetime) -> int:
        return int((at - self.midnight).total_seconds())

    def at(self, seconds: float) -> datetime:
        return self.midnight + timedelta(seconds=int(seconds))


# --- scope ------------------------------------------------------------------------


def plan_scope(*, branch_id: int | None, agent_ids: list[int] | None) -> tuple[Branch | None, list[Agent], str]:
    """The branch, the agents on shift (active agent, active user) and the reference timezone."""
    branch = None
    if branch_id is not None:
        branch = db.session.get(Branch, branch_id)
        if branch is None:
            raise BuildError("branch_id", "unknown branch")
    stmt = (
        select(Agent)
        .join(User, User.id == Agent.user_id)
        .where(Agent.active.is_(True), User.active.is_(True))
        .options(joinedload(Agent.user), joinedload(Agent.branch))
        .order_by(Agent.id)
    )
    if branch is not None:
        stmt = stmt.where(Agent.branch_id == branch.id)
    if agent_ids:
        stmt = stmt.where(Agent.id.in_(agent_ids))
    agents = list(db.session.scalars(stmt).unique())
    if agent_ids:
        missing = sorted(set(agent_ids) - {a.id for a in agents})
        if missing:
            where = f" in branch {branch.code}" if branch is not None else ""
            raise BuildError("agent_ids", f"no active agent{where} with id(s) {', '.join(map(str, missing))}")
    if branch is not None:
        tz = branch.timezone
    else:
        zones = {a.branch.timezone for a in agents}
        tz = zones.pop() if len(zones) == 1 else current_app.config["DEFAULT_TIMEZONE"]
    return branch, agents, tz


def travel_settings(branch: Branch | None, agents: list[Agent]) -> TravelSettings:
    """The plan branch's circuity and speed (else the first agent's branch), and the road
    table service when ROUTING_OSRM_URL is configured."""
    source = branch or (agents[0].branch if agents else None)
    return TravelSettings(
        circuity=source.circuity if source else TravelSettings.circuity,
        speed_kmh=source.speed_kmh if source else TravelSettings.speed_kmh,
        osrm_url=current_app.config.get("ROUTING_OSRM_URL") or os.environ.get("ROUTING_OSRM_URL") or None,
    )


def plan_balance(branch: Branch | None, agents: list[Agent]) -> dict | None:
    """The plan branch's balanced-work setting (else the first agent's branch's) as the
    problem's "balance" field; None when the branch does not ask for it."""
    source = branch or (agents[0].branch if agents else None)
    if source is None or not source.balance_by:
        return None
    return {"by": source.balance_by, "max_loss": source.balance_max_loss}


# --- the rules per visit ------------------------------------------------------------


def priority_for(case: Case, now: datetime) -> tuple[int, dict]:
    """Collectability → 1–100, with the points each factor earned (shown to dispatchers).

    overdue amount a: 40·a/(a+20,000); days past due d: 25·min(d,180)/180;
    broken promises b: 15·min(b,3)/3; days since last contact c: 20·min(c,30)/30
    (never contacted = 30 days).
    """
    account = case.account
    amount = float(account.overdue_amount)
    dpd = max(0, account.days_past_due)
    broken = max(0, case.broken_promises)
    since = CONTACT_FULL_DAYS if case.last_contact_at is None else max(0, (now - case.last_contact_at).days)
    w = PRIORITY_WEIGHTS
    points = {
        "overdue_amount": w["overdue_amount"] * amount / (amount + OVERDUE_HALF) if amount > 0 else 0.0,
        "days_past_due": w["days_past_due"] * min(dpd, DPD_FULL) / DPD_FULL,
        "broken_promises": w["broken_promises"] * min(broken, BROKEN_FULL) / BROKEN_FULL,
        "days_since_contact": w["days_since_contact"] * min(since, CONTACT_FULL_DAYS) / CONTACT_FULL_DAYS,
    }
    values = {
        "overdue_amount": str(account.overdue_amount),
        "days_past_due": dpd,
        "broken_promises": broken,
        "days_since_contact": None if case.last_contact_at is None else since,
    }
    factors = {k: {"value": values[k], "points": round(p, 1)} for k, p in points.items()}
    return max(1, min(100, round(sum(points.values())))), factors


def reason(rule: str, code: str, message: str, **params) -> dict:
    """Why a case is left out, a visit unassigned or a skill needed, in the one shape."""
    return {"rule": rule, "code": code, "params": params, "message": message}


def required_skills(case: Case, jurisdiction: str) -> dict[str, dict]:
    """Skill → why the visit needs it, as a reason (a small, documented rule set)."""
    needs: dict[str, dict] = {}
    debtor = case.account.debtor
    working = WORKING_LANGUAGE.get(jurisdiction, "zh-CN")
    if debtor.language and not debtor.language.lower().startswith(working.lower()):
        needs["dialect"] = reason(
            "skills",
            "skill_dialect",
            f"debtor speaks {debtor.language}, agents here work in {working}",
            language=debtor.language,
            working=working,
        )
    if float(case.account.overdue_amount) >= SENIOR_OVERDUE:
        needs["senior"] = reason(
            "skills",
            "skill_senior_overdue",
            f"overdue amount {case.account.overdue_amount} ≥ {SENIOR_OVERDUE:,}",
            amount=str(case.account.overdue_amount),
            limit=SENIOR_OVERDUE,
        )
    elif case.broken_promises >= SENIOR_BROKEN_PROMISES:
        needs["senior"] = reason("skills", "skill_senior_promises", f"{case.broken_promises} broken promises", n=case.broken_promises)
    return needs


def address_for(case: Case):
    """The address to visit: home first; a workplace only when the debtor allows it (R2)."""
    addresses = [a for a in case.account.debtor.addresses if a.lat is not None and a.lon is not None]
    if case.account.debtor.workplace_ban:
        addresses = [a for a in addresses if a.kind != "work"]
    addresses.sort(key=lambda a: (a.kind != "home", a.id))
    return addresses[0] if addresses else None


def _address_findings(case: Case) -> list[dict]:
    located = [a for a in case.account.debtor.addresses if a.lat is not None and a.lon is not None]
    if not located:
        return [reason("geocode", "route_no_coordinates", "No address with coordinates yet (needs geocoding).")]
    return [
        reason(
            "R2",
            "route_workplace_only",
            "The only located address is a workplace, and the debtor's workplace may not be visited.",
        )
    ]


def windows_for_plan(case: Case, address, day: date, clock: Clock) -> list[tuple[int, int, datetime, datetime]]:
    """The visit's windows on the plan day, as (start_s, end_s, start_utc, end_utc).

    The debtor's calendar may straddle the plan day (another timezone), so the debtor's
    previous, same and next day are asked and clipped to the plan day [0, 24 h].
    """
    out = []
    for offset in (-1, 0, 1):
        for w0, w1 in rules.windows_for(case, address, day + timedelta(days=offset)):
            s0, s1 = max(0, clock.seconds(w0)), min(86_400, clock.seconds(w1))
            if s0 < s1:
                out.append((s0, s1, clock.at(s0), clock.at(s1)))
    return sorted(out)


def eligibility_findings(case: Case, day: date, *, address=None, exclude_visit_id: int | None = None) -> list[dict]:
    """The policy module's ROUTE verdict for the day: ladder stage, R4 flags, R1/R2 for the
    place, R3 caps — every finding, not just the first."""
    _, findings = rules.eligibility_for_day(case, day, address=address, exclude_visit_id=exclude_visit_id)
    return [f.as_dict() for f in findings]


# --- the build ------------------------------------------------------------------------


def _case_options():
    return (
        joinedload(Case.account).joinedload(Account.debtor).selectinload(Debtor.addresses),
        selectinload(Case.flags),
        joinedload(Case.branch),
    )


def build_problem(
    *,
    day: date,
    branch_id: int | None = None,
    agent_ids: list[int] | None = None,
    now: datetime | None = None,
) -> Built:
    """The day's route problem for the scope (branch and/or agents), as of `now`, with the
    agents' published routes as the engine's warm start."""
    now = now or utcnow()
    branch, agents, tz = plan_scope(branch_id=branch_id, agent_ids=agent_ids)
    if not agents:
        raise BuildError("agent_ids" if agent_ids else "branch_id", "No active agent is on shift in this scope.")
    clock = Clock.for_day(day, tz)
    now_s = max(0, clock.seconds(now))
    agent_ids_in = {a.id for a in agents}
    branch_ids = {branch.id} if branch is not None else ({a.branch_id for a in agents} if agent_ids else None)

    def case_in_scope(case: Case) -> bool:
        return branch_ids is None or case.branch_id in branch_ids

    day_visits = (
        db.session.scalars(
            select(Visit)
            .where(Visit.date == day, Visit.status != "cancelled")
            .options(joinedload(Visit.case).options(*_case_options()), joinedload(Visit.address))
            .order_by(Visit.id)
        )
        .unique()
        .all()
    )
    fixed: dict[int, list[Visit]] = {a.id: [] for a in agents}
    candidates: list[Visit] = []
    taken: dict[int, Visit] = {}  # case id -> the visit that makes it not a case candidate
    for visit in day_visits:
        taken.setdefault(visit.case_id, visit)
        if visit.status in FIXED_STATUSES and visit.agent_id in agent_ids_in:
            fixed[visit.agent_id].append(visit)
        elif visit.status in CANDIDATE_STATUSES and (
            visit.agent_id in agent_ids_in or (visit.agent_id is None and case_in_scope(visit.case))
        ):
            candidates.append(visit)
            taken[visit.case_id] = visit

    locations: list[list[float]] = []

    def loc(lat: float, lon: float) -> int:
        locations.append([float(lat), float(lon)])
        return len(locations) - 1

    meta: dict = {"timezone": tz, "midnight": clock.midnight.isoformat(), "now_s": now_s, "agents": {}, "visits": {}, "moves": []}
    problem_agents = []
    for agent in agents:
        problem_agents.append(_agent_entry(agent, day, clock, now_s, fixed[agent.id], loc, meta))

    excluded: list[dict] = []
    problem_visits: list[dict] = []
    debtor_taken: dict[int, str] = {}
    due = due_follow_ups(day, branch_ids)

    def add_visit(ref: str, case: Case, address, windows, *, visit: Visit | None) -> None:
        priority, factors = priority_for(case, now)
        follow_up = due.get(case.id)
        if follow_up is not None:
            priority = FOLLOW_UP_PRIORITY
        jurisdiction = rules.jurisdiction_for(case, address)
        skills = required_skills(case, jurisdiction)
        pinned = bool(visit is not None and visit.pinned and visit.agent_id is not None)
        problem_visits.append(
            {
                "id": ref,
                "location": loc(address.lat, address.lon),
                "service": visit.service_s if visit is not None else SERVICE_S,
                "windows": [[w[0], w[1]] for w in windows],
                "priority": priority,
                "skills": sorted(skills),
                "agent": f"a{visit.agent_id}" if pinned else None,
            }
        )
        meta["visits"][ref] = {
            "visit_id": visit.id if visit is not None else None,
            "case_id": case.id,
            "address_id": address.id,
            "debtor_id": case.account.debtor_id,
            "debtor": case.account.debtor.name,
            "timezone": rules.timezone_for(case, address),
            "jurisdiction": jurisdiction,
            "windows_utc": [[w[2].isoformat(), w[3].isoformat()] for w in windows],
            "priority_factors": factors,
            "skills_why": skills,
            "pinned": pinned,
            "status": visit.status if visit is not None else None,
            "agent_id": visit.agent_id if visit is not None else None,
            "follow_up": _follow_up_entry(follow_up) if follow_up is not None else None,
        }
        debtor_taken[case.account.debtor_id] = ref

    # existing visits first: they are the dispatcher's own choices
    for visit in candidates:
        case = visit.case
        reasons = eligibility_findings(case, day, address=visit.address, exclude_visit_id=visit.id)
        windows = windows_for_plan(case, visit.address, day, clock) if visit.address.lat is not None else []
        if visit.address.lat is None:
            reasons.append(reason("geocode", "route_visit_no_coordinates", "The visit's address has no coordinates (needs geocoding)."))
        elif not windows and not reasons:
            reasons.append(_no_window_finding(case, visit.address))
        if reasons:
            excluded.append({"case_id": case.id, "visit_id": visit.id, "reasons": reasons})
            continue
        add_visit(f"v{visit.id}", case, visit.address, windows, visit=visit)

    stmt = select(Case).where(Case.stage != "closed").options(*_case_options()).order_by(Case.id)
    if branch_ids is not None:
        stmt = stmt.where(Case.branch_id.in_(branch_ids))
    scored: list[tuple[int, Case, object, list]] = []
    for case in db.session.scalars(stmt).unique():
        if case.id in taken:
            visit = taken[case.id]
            if visit in candidates:
                continue
            if visit.status in FIXED_STATUSES:
                if visit.agent_id in agent_ids_in:
                    continue  # a fixed stop of this plan
                message = f"Already {visit.status.replace('_', ' ')} on this day (visit {visit.id})."
                why = reason("day", "route_already_today", message, visit_status=visit.status, visit_id=visit.id)
                excluded.append({"case_id": case.id, "visit_id": visit.id, "reasons": [why]})
            else:
                message = f"Has a visit on this day with agent {visit.agent_id}, who is not in this plan (visit {visit.id})."
                why = reason("scope", "route_other_agent", message, agent_id=visit.agent_id, visit_id=visit.id)
                excluded.append({"case_id": case.id, "visit_id": visit.id, "reasons": [why]})
            continue
        address = address_for(case)
        reasons = eligibility_findings(case, day, address=address)
        windows = []
        if address is None:
            reasons += _address_findings(case)
        else:
            windows = windows_for_plan(case, address, day, clock)
            if not windows and not reasons:
                reasons.append(_no_window_finding(case, address))
        if reasons:
            excluded.append({"case_id": case.id, "reasons": reasons})
            continue
        scored.append((FOLLOW_UP_PRIORITY if case.id in due else priority_for(case, now)[0], case, address, windows))
    # R3 counts visits per debtor, and one visit covers all of a debtor's cases: of several
    # cases of one debtor only the most valuable is offered
    scored.sort(key=lambda item: (-item[0], item[1].id))
    for _, case, address, windows in scored:
        other = debtor_taken.get(case.account.debtor_id)
        if other is not None:
            message = f"Another case of this debtor is already a candidate today ({other}); one visit per debtor a day."
            why = reason("R3", "route_debtor_taken", message, case_id=meta["visits"][other]["case_id"])
            excluded.append({"case_id": case.id, "reasons": [why]})
            continue
        add_visit(f"c{case.id}", case, address, windows, visit=None)
    excluded.sort(key=lambda e: (e["case_id"], e.get("visit_id") or 0))

    _prefer_last_met(problem_visits, meta["visits"])
    # R9: two-person visits go to crews (agents paired as one vehicle; rules in crews.py)
    shape = {"agents": problem_agents, "visits": problem_visits}
    crews = form_crews(shape, meta, excluded, locations)
    problem_agents, problem_visits = shape["agents"], shape["visits"]
    fixed_cases = {f["case_id"] for a in meta["agents"].values() for f in a["fixed"]}
    meta["follow_ups"] = _follow_ups_listed(due, meta["visits"], excluded, fixed_cases)
    settings = travel_settings(branch, agents)
    durations = travel_matrix(locations, settings) if locations else []
    problem = {
        "version": 1,
        "name": f"{day.isoformat()} {branch.code if branch else 'all branches'}",
        "locations": locations,
        "durations": durations.tolist() if len(locations) else [],
        "agents": problem_agents,
        "visits": problem_visits,
    }
    balance = plan_balance(branch, agents)
    if balance is not None:
        problem["balance"] = balance
    source = branch or agents[0].branch
    if source.travel_cost is not None:
        problem["travel_cost"] = source.travel_cost
    if source.at_home_model:  # the chance of finding someone home, from past outcomes
        meta["at_home"] = add_contact(problem, meta["visits"], day, tz)
    meta["travel"] = {"circuity": settings.circuity, "speed_kmh": settings.speed_kmh, "osrm_url": settings.osrm_url}
    return Built(problem, meta, excluded, crew_warm_start(_warm_start(candidates, problem), crews), settings)


def due_follow_ups(day: date, branch_ids: set[int] | None) -> dict[int, FollowUp]:
    """Open return visits due on the day or overdue, per case of the scope (the earliest)."""
    stmt = (
        select(FollowUp)
        .join(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.status == "open", FollowUp.kind == "visit", FollowUp.due_on <= day)
        .order_by(FollowUp.due_on.desc(), FollowUp.id.desc())
    )
    if branch_ids is not None:
        stmt = stmt.where(Case.branch_id.in_(branch_ids))
    return {f.case_id: f for f in db.session.scalars(stmt)}  # the earliest due wins


def _follow_up_entry(follow_up: FollowUp) -> dict:
    return {"follow_up_id": follow_up.id, "case_id": follow_up.case_id, "due_on": follow_up.due_on.isoformat(), "reason": follow_up.reason}


def _follow_ups_listed(due: dict[int, FollowUp], visits: dict, excluded: list[dict], fixed: set[int]) -> list[dict]:
    """Every follow-up due: the problem visit that carries it, or why it cannot be planned
    (`reasons`, and their English messages as `why`)."""
    ref_of = {info["case_id"]: ref for ref, info in visits.items()}
    why = {e["case_id"]: e["reasons"] for e in excluded}
    out = []
    for case_id, follow_up in sorted(due.items()):
        entry = {**_follow_up_entry(follow_up), "ref": ref_of.get(case_id)}
        reasons = []
        if case_id in fixed:
            reasons = [reason("day", "route_fixed_today", "Already visited or under way today (a fixed stop of this plan).")]
        elif entry["ref"] is None:
            reasons = why.get(case_id) or [reason("scope", "route_out_of_scope", "The case is not in this plan's scope today.")]
        if reasons:
            entry["reasons"] = reasons
            entry["why"] = [r["message"] for r in reasons]
        out.append(entry)
    return out


def _prefer_last_met(problem_visits: list[dict], info: dict) -> None:
    """Continuity: each visit prefers the agent who last met the debtor in person (an
    outcome with met = debtor); the engine keeps it with them when that costs little (the
    problem's default continuity weight). An agent not in this plan is simply not kept."""
    debtors = {info[v["id"]]["debtor_id"] for v in problem_visits}
    if not debtors:
        return
    rows = db.session.execute(
        select(Account.debtor_id, Outcome.agent_id)
        .join(Case, Case.id == Outcome.case_id)
        .join(Account, Account.id == Case.account_id)
        .where(Account.debtor_id.in_(debtors), Outcome.met == "debtor", Outcome.agent_id.is_not(None))
        .order_by(Outcome.received_at, Outcome.id)
    ).all()
    last = {debtor_id: agent_id for debtor_id, agent_id in rows}  # the latest wins
    for v in problem_visits:
        agent_id = last.get(info[v["id"]]["debtor_id"])
        if agent_id is not None:
            v["preferred_agent"] = f"a{agent_id}"
            info[v["id"]]["last_met_agent_id"] = agent_id


def _no_window_finding(case: Case, address) -> dict:
    """The debtor's hours exist on their own calendar day but none falls in the plan day."""
    tz = rules.timezone_for(case, address)
    return reason("R1", "route_no_window", f"None of the debtor's visiting hours ({tz}) falls within the plan day.", timezone=tz)


def _agent_entry(agent: Agent, day: date, clock: Clock, now_s: int, fixed: list[Visit], loc, meta: dict) -> dict:
    """Shift in the branch's local time → the plan clock; the day continues after any
    visit done or under way, from where it was, not before now; the cap counts them."""
    branch_clock = Clock.for_day(day, agent.branch.timezone)
    # a branch far from the plan's timezone may start its day before the plan day does
    shift0 = max(0, clock.seconds(branch_clock.at(agent.shift_start_s)))
    shift1 = max(shift0, clock.seconds(branch_clock.at(agent.shift_end_s)))
    home = (
        (agent.start_lat, agent.start_lon)
        if agent.start_lat is not None and agent.start_lon is not None
        else (agent.branch.lat, agent.branch.lon)
    )
    fixed = sorted(fixed, key=lambda v: (v.checkin_at or v.planned_arrival or datetime.max, v.route_position or 0, v.id))
    stops = []
    here, free_at = home, max(shift0, now_s)
    for visit in fixed:
        start = clock.seconds(visit.checkin_at) if visit.checkin_at else None
        if visit.checkout_at is not None:
            end = clock.seconds(visit.checkout_at)
        elif visit.status == "checked_in" and start is not None:
            end = max(now_s, start + visit.service_s)  # under way: expected to leave then
        else:
            end = start
        stops.append(
            {
                "visit_id": visit.id,
                "case_id": visit.case_id,
                "status": visit.status,
                "start_s": start,
                "end_s": end,
                "priority": visit.priority,
                "debtor": visit.case.account.debtor.name,
            }
        )
        here = (visit.address.lat, visit.address.lon)
        if end is not None:
            free_at = max(free_at, end)
    start_index, end_index = loc(*here), loc(*home)
    ref = f"a{agent.id}"
    meta["agents"][ref] = {
        "agent_id": agent.id,
        "user_id": agent.user_id,
        "name": agent.user.display_name or agent.user.username,
        "branch_id": agent.branch_id,
        "daily_cap": agent.daily_cap,
        "fixed": stops,
        "shift_s": [shift0, shift1],
    }
    start_s = min(free_at, shift1)
    return {
        "id": ref,
        "start": start_index,
        "end": end_index,
        "shift": [start_s, shift1],
        "max_visits": max(0, agent.daily_cap - len(stops)),
        "skills": sorted(agent.skills or []),
    }


def _warm_start(candidates: list[Visit], problem: dict) -> dict | None:
    """The agents' published day (what a previous plan made of it, and any hand edits
    since): its still-open visits in route order, as a route-solution for the engine."""
    visit_refs = {v["id"] for v in problem["visits"]}
    by_agent: dict[int, list[Visit]] = {}
    for visit in candidates:
        if visit.status == "published" and visit.agent_id is not None and f"v{visit.id}" in visit_refs:
            by_agent.setdefault(visit.agent_id, []).append(visit)
    routes = [
        {"agent": f"a{agent_id}", "stops": [{"visit": f"v{v.id}"} for v in sorted(visits, key=lambda v: (v.route_position or 0, v.id))]}
        for agent_id, visits in sorted(by_agent.items())
    ]
    return {"routes": routes} if routes else None
