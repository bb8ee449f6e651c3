"""Route plans: draft (build + solve in the background), adjust, publish, re-plan.

A plan's routes use the problem's refs: "a<agent id>", "v<visit id>" (an existing Visit
row) and "c<case id>" (an eligible case that gets its Visit row when the plan is
published). Every route is re-timed and re-checked here, independently of the engine,
after the solve, after every move and again at publish; what breaks a rule is listed in
`violations`, and a plan with violations cannot be published.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time as _time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..cases.models import Address, Case
from ..cases.services import append_event
from ..common import utcnow
from ..errors import abort
from ..events import emit
from ..extensions import db
from ..feed import record_change
from ..org.models import Agent, Branch
from ..visits.models import Visit
from ..visits.services import create_visit, move_visit_status
from . import engine
from .builder import BuildError, Clock, build_problem, eligibility_findings, plan_scope
from .crews import announce_to_partner, crew_view, inactive_agent_findings, place_partner
from .models import RUNNING, RoutePlan
from .timing import (
    UNASSIGNED_BY_DISPATCHER,
    Legs,
    clock_of,
    plan_stats,
    plan_travel_settings,
    retime,
    route_violations,
    time_route,
    unassigned_reason,
)
from .travel import TravelSettings

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 10.0
# a plan still "solving" this long after its budget lost its worker (restart, crash)
STALE_GRACE_S = 120
BUILD_PERCENT = 10  # share of the progress bar for reading the database


# --- the engine, behind one adapter ---------------------------------------------------


def run_engine(problem: dict, *, seconds: float, warm_start: dict | None) -> dict:
    """route-problem v1 → route-solution v1 (+ "engine": its own figures). The one place
    that calls the engine. ROUTING_ENGINE_WORKERS caps its processes (default: its own)."""
    # The engine forks its workers per solve; libraries loaded here first are inherited,
    # otherwise every worker spends ~0.7 s of a short budget importing them (measured: a
    # 1 s solve of 12 visits served none on a cold process).
    import pyvrp  # noqa: F401
    import vroom  # noqa: F401

    workers = current_app.config.get("ROUTING_ENGINE_WORKERS") or os.environ.get("ROUTING_ENGINE_WORKERS")
    solution = engine.solve(problem, seconds=seconds, warm_start=warm_start, workers=int(workers) if workers else None)
    figures = {k: v for k, v in solution.stats.items() if isinstance(v, (int, float, str))}
    return {**solution.to_dict(), "engine": figures}


# --- create and solve ---------------------------------------------------------------


def create_route_plan(
    *,
    day: date,
    actor_id: int | None,
    branch_id: int | None = None,
    agent_ids: list[int] | None = None,
    seconds: float = DEFAULT_SECONDS,
    replan_of: RoutePlan | None = None,
) -> RoutePlan:
    """A queued plan; `solve_route_plan` (in the background) builds and solves it."""
    try:
        _, agents, tz = plan_scope(branch_id=branch_id, agent_ids=agent_ids)
    except BuildError as error:
        abort(422, str(error), errors={error.field: [str(error)]})
    if not agents:
        field = "agent_ids" if agent_ids else "branch_id"
        abort(422, "No active agent is on shift in this scope.", errors={field: ["no active agent"]})
    today = datetime.now(ZoneInfo(tz)).date()
    if day < today:
        abort(422, f"{day.isoformat()} is over in {tz}.", errors={"date": [f"before today ({today.isoformat()} in {tz})"]})
    plan = RoutePlan(
        date=day,
        branch_id=branch_id,
        status="queued",
        progress=0,
        seconds=float(seconds),
        params={"agent_ids": sorted(agent_ids) if agent_ids else None},
        stats={},
        meta={"timezone": tz},
        excluded=[],
        violations=[],
        created_by_id=actor_id,
        replan_of_id=replan_of.id if replan_of else None,
    )
    db.session.add(plan)
    db.session.flush()
    return plan


def replan_route_plan(*, plan: RoutePlan, actor_id: int | None, seconds: float = DEFAULT_SECONDS) -> RoutePlan:
    """In-day re-plan of the agents' published day: what is done or under way stays fixed,
    the rest is re-optimized from where each agent is now, warm-started from their routes."""
    if plan.status != "published":
        abort(409, f"Only the published plan of a day can be re-planned; this one is {plan.status}.", code="bad_state")
    return create_route_plan(
        day=plan.date, actor_id=actor_id, branch_id=plan.branch_id, agent_ids=plan.params.get("agent_ids"), seconds=seconds, replan_of=plan
    )


def solve_route_plan(*, plan_id: int, now: datetime | None = None) -> RoutePlan | None:
    """The job: build the problem from the database, solve it, store a re-checked draft.

    Commits as it goes so that any worker can show progress; never leaves a plan stuck.
    """
    plan = db.session.get(RoutePlan, plan_id)
    if plan is None or plan.status != "queued":
        return plan
    plan.status, plan.progress = "solving", 1
    db.session.commit()
    try:
        started = _time.perf_counter()
        built = build_problem(day=plan.date, branch_id=plan.branch_id, agent_ids=plan.params.get("agent_ids"), now=now)
        build_s = _time.perf_counter() - started
        plan.problem = {k: v for k, v in built.problem.items() if k != "durations"}
        plan.meta = built.meta
        plan.excluded = built.excluded
        plan.progress = BUILD_PERCENT
        seconds = plan.seconds
        db.session.commit()
        # no transaction may stay open through the solve: touching the (expired) plan after the
        # commit would begin one, and a lock waiting behind it (TRUNCATE, ALTER) would then block
        # the progress ticker and this job in a wait PostgreSQL cannot see as a deadlock
        with _ProgressTicker(db.engine, plan_id, seconds):
            solution = run_engine(built.problem, seconds=seconds, warm_start=built.warm_start)
        metrics.observe_route_solve(float(solution.get("solve_s", 0.0)))
        plan = db.session.get(RoutePlan, plan_id)
        if plan.status != "solving":  # marked failed as stale meanwhile: keep that verdict
            return plan
        routes = {r["agent"]: [s["visit"] for s in r.get("stops", [])] for r in solution.get("routes", [])}
        unassigned = [{"visit": u["visit"], "reason": u.get("reason") or "not served"} for u in solution.get("unassigned", [])]
        served = {ref for stops in routes.values() for ref in stops}
        known = {u["visit"] for u in unassigned}
        # the engine must account for every visit; one it forgot is reported, not lost
        unassigned += [
            {"visit": v["id"], "reason": "not in the engine's answer"}
            for v in plan.problem["visits"]
            if v["id"] not in served and v["id"] not in known
        ]
        plan.solution = retime(
            plan,
            {"routes": [{"agent": a["id"], "stops": routes.get(a["id"], [])} for a in plan.problem["agents"]], "unassigned": unassigned},
            built.settings,
        )
        plan.stats = {
            **plan_stats(plan, solve_s=float(solution.get("solve_s", 0.0)), build_s=build_s),
            "engine": solution.get("engine", {}),
        }
        plan.violations = route_violations(plan.solution)
        plan.status, plan.progress = "draft", 100
        db.session.commit()
    except Exception as error:  # the plan must end failed with the reason, never stuck
        db.session.rollback()
        log.exception("route plan %s failed", plan_id)
        plan = db.session.get(RoutePlan, plan_id)
        plan.status = "failed"
        plan.error = str(error) if isinstance(error, BuildError) else f"{type(error).__name__}: {error}"
        db.session.commit()
    return plan


class _ProgressTicker:
    """Writes elapsed/budget into the plan's progress while the engine runs (the engine
    blocks this thread). Own connection, short transactions: readers never wait."""

    def __init__(self, engine_handle, plan_id: int, seconds: float, every_s: float = 0.5):
        self._engine, self._plan_id, self._seconds, self._every = engine_handle, plan_id, max(0.1, seconds), every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"route-plan-{plan_id}-progress", daemon=True)

    def __enter__(self):
        self._started = _time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            share = min(1.0, (_time.monotonic() - self._started) / self._seconds)
            percent = BUILD_PERCENT + int(share * (99 - BUILD_PERCENT))
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        update(RoutePlan)
                        .where(RoutePlan.id == self._plan_id, RoutePlan.status == "solving")
                        .values(progress=percent, updated_at=utcnow())
                    )
            except Exception:  # progress is a courtesy; the solve goes on
                log.warning("could not store progress of route plan %s", self._plan_id, exc_info=True)


def expire_stale_route_plan(plan: RoutePlan) -> RoutePlan:
    """A plan still queued/solving long after its budget has lost its worker: mark it failed."""
    if plan.status in RUNNING and utcnow() - plan.updated_at > timedelta(seconds=plan.seconds + STALE_GRACE_S):
        plan.status = "failed"
        plan.error = "The worker solving this plan stopped before it finished; create the plan again."
    return plan


def get_route_plan(plan_id: int, *, for_update: bool = False) -> RoutePlan:
    """`for_update` locks a draft's row (PostgreSQL) so that two dispatchers' moves or
    publishes of one plan run one after the other, each on the other's result. Only a
    draft can change that way; a plan still solving is never locked (its job writes it)."""
    plan = db.session.get(RoutePlan, plan_id)
    if plan is None:
        abort(404, f"No route plan {plan_id}.")
    if for_update and plan.status == "draft":
        db.session.refresh(plan, with_for_update=True)
    return plan


def route_plans_query(*, date: date | None = None, branch_id: int | None = None, status: str | None = None):
    stmt = select(RoutePlan).order_by(RoutePlan.date.desc(), RoutePlan.id.desc())
    if date:
        stmt = stmt.where(RoutePlan.date == date)
    if branch_id:
        stmt = stmt.where(RoutePlan.branch_id == branch_id)
    if status:
        stmt = stmt.where(RoutePlan.status == status)
    return stmt


# --- adjust ---------------------------------------------------------------------------


def _ref_for(plan: RoutePlan, *, visit_id: int | None, case_id: int | None) -> str:
    visits = plan.meta["visits"]
    if visit_id is not None:
        ref = f"v{visit_id}"
        if ref not in visits:
            fixed = any(s["visit_id"] == visit_id for a in plan.meta["agents"].values() for s in a["fixed"])
            if fixed:
                abort(409, f"Visit {visit_id} is already done or under way; it stays where it is.", code="fixed_stop")
            abort(422, f"Visit {visit_id} is not in this plan.", errors={"visit_id": ["not in this plan"]})
        return ref
    ref = next((r for r, v in visits.items() if v["case_id"] == case_id), None)
    if ref is None:
        abort(422, f"Case {case_id} is not in this plan.", errors={"case_id": ["not in this plan (see excluded)"]})
    return ref


def move_route_plan_visit(
    *,
    plan: RoutePlan,
    actor_id: int | None,
    agent_id: int | None,
    visit_id: int | None = None,
    case_id: int | None = None,
    position: int | None = None,
    pin: bool | None = None,
    version: int | None = None,
) -> dict:
    """Move one visit to an agent (at a 1-based position, else where it adds least travel)
    or to unassigned (agent_id None). The routes touched are re-timed and re-checked; what
    breaks a rule is returned and kept on the plan, and blocks publishing until fixed.

    `pin` True pins the visit to its new agent, False unpins; omitted, a pinned visit
    stays pinned to whichever agent it is moved to (unassigning unpins it).
    """
    if plan.status != "draft":
        abort(409, f"Only a draft can be adjusted; this plan is {plan.status}.", code="bad_state")
    if version is not None and version != plan.version:
        abort(409, "The plan changed since you read it; reload and try again.", code="stale_version", current_version=plan.version)
    ref = _ref_for(plan, visit_id=visit_id, case_id=case_id)
    target = None
    if agent_id is not None:
        target = f"a{agent_id}"
        if target not in plan.meta["agents"]:
            abort(422, f"Agent {agent_id} is not in this plan.", errors={"agent_id": ["not in this plan"]})
    elif pin:
        abort(422, "An unassigned visit cannot be pinned.", errors={"pin": ["needs an agent"]})

    solution = copy.deepcopy(plan.solution)
    problem = copy.deepcopy(plan.problem)
    source = None
    for route in solution["routes"]:
        refs = [s["visit"] for s in route["stops"]]
        if ref in refs:
            source = route["agent"]
            route["stops"] = [r for r in refs if r != ref]
        else:
            route["stops"] = refs
    solution["unassigned"] = [u for u in solution["unassigned"] if u["visit"] != ref]

    visit = next(v for v in problem["visits"] if v["id"] == ref)
    if target is None:
        visit["agent"] = None
        solution["unassigned"].append({"visit": ref, "reason": UNASSIGNED_BY_DISPATCHER})
    else:
        if pin or (pin is None and visit["agent"] is not None):
            visit["agent"] = target
        elif pin is False:
            visit["agent"] = None
    plan.problem = problem  # a new object: JSON columns do not see in-place changes
    settings = plan_travel_settings(plan)
    if target is not None:
        route = next(r for r in solution["routes"] if r["agent"] == target)
        fixed = len(plan.meta["agents"][target]["fixed"])
        if position is None:
            route["stops"] = _best_insertion(plan, target, route["stops"], ref, settings)
        else:
            last = fixed + len(route["stops"]) + 1
            if not 1 <= position <= last:
                abort(422, f"Position must be between 1 and {last} on this route.", errors={"position": [f"1..{last}"]})
            if position <= fixed:
                abort(409, f"The first {fixed} stop(s) are done or under way; a visit can only go after them.", code="fixed_stop")
            route["stops"].insert(position - fixed - 1, ref)
    plan.solution = retime(plan, solution, settings, only={source, target} - {None})
    plan.violations = route_violations(plan.solution)
    plan.stats = plan_stats(plan)
    plan.version += 1
    mine = [v for v in plan.violations if v.get("visit") == ref or (v["agent"] == target and "visit" not in v)]
    new_position = None
    if target is not None:
        refs = [s["visit"] for s in next(r for r in plan.solution["routes"] if r["agent"] == target)["stops"]]
        new_position = len(plan.meta["agents"][target]["fixed"]) + refs.index(ref) + 1
    move = {
        "ref": ref,
        "visit_id": plan.meta["visits"][ref]["visit_id"],
        "case_id": plan.meta["visits"][ref]["case_id"],
        "from_agent_id": int(source[1:]) if source else None,
        "to_agent_id": agent_id,
        "position": new_position,
        "pinned": visit["agent"] is not None,
        "violations": mine,
        "by": actor_id,
        "at": utcnow().isoformat(),
    }
    plan.meta = {**plan.meta, "moves": plan.meta.get("moves", []) + [move]}
    return move


def _best_insertion(plan: RoutePlan, agent_ref: str, refs: list[str], ref: str, settings: TravelSettings) -> list[str]:
    """Where the visit breaks nothing new and adds the least travel (else least travel)."""
    agent = next(a for a in plan.problem["agents"] if a["id"] == agent_ref)
    visits = {v["id"]: v for v in plan.problem["visits"]}
    legs = Legs(plan, [agent["start"], agent["end"]] + [visits[r]["location"] for r in refs + [ref]], settings)
    best = None
    for i in range(len(refs) + 1):
        trial = refs[:i] + [ref] + refs[i:]
        timed = time_route(plan, agent, trial, settings, legs)
        key = (len(timed["violations"]), timed["travel_s"])
        if best is None or key < best[0]:
            best = (key, trial)
    return best[1]


# --- publish -----------------------------------------------------------------------------


def _publish_findings(plan: RoutePlan) -> list[dict]:
    """Everything that forbids publishing now: route rules re-checked with fresh travel
    times, and each stop's case re-checked against the compliance rules as of now."""
    plan.solution = retime(plan, plan.solution, plan_travel_settings(plan))
    findings = route_violations(plan.solution)
    ids = {m["agent_id"] for m in plan.meta["agents"].values()} | {
        m["partner"]["agent_id"] for m in plan.meta["agents"].values() if m.get("partner")
    }
    agents = {a.id: a for a in db.session.scalars(select(Agent).where(Agent.id.in_(ids)))}
    for route in plan.solution["routes"]:
        if not route["stops"]:
            continue
        findings += inactive_agent_findings(route["agent"], plan.meta["agents"][route["agent"]], agents)
        for stop in route["stops"]:
            info = plan.meta["visits"][stop["visit"]]
            visit = db.session.get(Visit, info["visit_id"]) if info["visit_id"] else None
            if visit is not None and visit.status not in ("planned", "published"):
                findings.append(
                    {"agent": route["agent"], "visit": stop["visit"], "rule": "visit", "message": f"The visit is {visit.status} now."}
                )
                continue
            case = db.session.get(Case, info["case_id"])
            address = db.session.get(Address, info["address_id"])
            for finding in eligibility_findings(case, plan.date, address=address, exclude_visit_id=visit.id if visit else None):
                findings.append({"agent": route["agent"], "visit": stop["visit"], **finding})
    return findings


def publish_route_plan(*, plan: RoutePlan, actor_id: int | None) -> RoutePlan:
    """Make the draft the agents' day: Visit rows created or updated with agent, position and
    planned arrival, published, and announced on each affected agent's sync feed; visits
    the plan no longer gives an agent are taken off that agent's day; the plan it replaces
    is superseded. Refused (409, violations stored) while any rule is broken."""
    if plan.status != "draft":
        abort(409, f"Only a draft can be published; this plan is {plan.status}.", code="bad_state")
    findings = _publish_findings(plan)
    plan.violations = findings
    if findings:
        # kept on the plan for the dispatcher, then refused
        db.session.commit()
        abort(409, f"The plan breaks {len(findings)} rule(s); fix them before publishing.", code="plan_violations", violations=findings)

    clock = clock_of(plan)
    now = utcnow()
    agent_rows = {
        a.id: a for a in db.session.scalars(select(Agent).where(Agent.id.in_([m["agent_id"] for m in plan.meta["agents"].values()])))
    }
    visits_by_ref = {v["id"]: v for v in plan.problem["visits"]}
    touched_users: set[int] = set()
    placed: set[int] = set()
    visit_ids: dict[str, int] = {}
    for route in plan.solution["routes"]:
        meta_agent = plan.meta["agents"][route["agent"]]
        agent = agent_rows[meta_agent["agent_id"]]
        partner_id = (meta_agent.get("partner") or {}).get("agent_id")
        offset = len(meta_agent["fixed"])
        for n, stop in enumerate(route["stops"], start=1):
            info = plan.meta["visits"][stop["visit"]]
            problem_visit = visits_by_ref[stop["visit"]]
            if info["visit_id"] is None:
                visit = create_visit(
                    case_id=info["case_id"],
                    date=plan.date,
                    actor_id=actor_id,
                    agent_id=agent.id,
                    address_id=info["address_id"],
                    service_s=problem_visit["service"],
                    priority=problem_visit["priority"],
                )
            else:
                visit = db.session.get(Visit, info["visit_id"])
            visit_ids[stop["visit"]] = visit.id
            placed.add(visit.id)
            window = _window_utc(info, stop, clock)
            changed = _place_visit(
                visit,
                agent=agent,
                plan=plan,
                position=offset + n,
                arrival=clock.at(stop["arrival"]),
                window=window,
                pinned=problem_visit["agent"] is not None,
                priority=problem_visit["priority"],
                partner_id=partner_id,
                touched=touched_users,
            )
            if changed:
                visit.published_at = now
                record_change(user_id=agent.user_id, kind="visit.upsert", ref_type="visit", ref_id=visit.id)
                touched_users.add(agent.user_id)
                announce_to_partner(visit, touched=touched_users)
                append_event(
                    case=visit.case,
                    kind="visit.routed",
                    actor_id=actor_id,
                    data={
                        "visit_id": visit.id,
                        "route_plan_id": plan.id,
                        "agent_id": agent.id,
                        "partner_id": visit.partner_id,
                        "position": visit.route_position,
                        "planned_arrival": visit.planned_arrival.isoformat(),
                    },
                )
    # visits of this day the plan does not give to an agent come off the agents' devices
    plan_agent_ids = set(agent_rows)
    candidate_ids = [m["visit_id"] for m in plan.meta["visits"].values() if m["visit_id"]]
    day_visits = db.session.scalars(
        select(Visit)
        .where(
            Visit.date == plan.date,
            Visit.status.in_(("planned", "published")),
            Visit.agent_id.in_(plan_agent_ids) | Visit.id.in_(candidate_ids),
        )
        .order_by(Visit.id)
    ).all()
    for visit in day_visits:
        if visit.id not in placed:
            _unplace_visit(visit, plan=plan, actor_id=actor_id, touched=touched_users)

    superseded = db.session.scalars(
        select(RoutePlan).where(RoutePlan.date == plan.date, RoutePlan.status == "published", RoutePlan.id != plan.id)
    ).all()
    for old in superseded:
        old_agents = {m["agent_id"] for m in (old.meta.get("agents") or {}).values()}
        if old_agents & plan_agent_ids:
            old.status = "superseded"
    plan.status = "published"
    plan.published_at = now
    plan.published_by_id = actor_id
    plan.meta = {**plan.meta, "visit_ids": visit_ids}
    plan.stats = {**plan.stats, "published_visits": len(placed), "agents_notified": len(touched_users)}
    db.session.flush()
    emit("route.published", plan=plan, user_ids=set(touched_users), date=plan.date)
    return plan


def _window_utc(info: dict, stop: dict, clock: Clock) -> tuple[datetime, datetime]:
    """The legal window (∩ availability) the stop was planned in, naive UTC."""
    start = clock.at(stop["start"])
    for w0, w1 in info["windows_utc"]:
        a, b = datetime.fromisoformat(w0), datetime.fromisoformat(w1)
        if a <= start <= b:
            return a, b
    a, b = info["windows_utc"][0]
    return datetime.fromisoformat(a), datetime.fromisoformat(b)


def _placement(visit: Visit) -> tuple:
    """What a device holds of the visit's place in the day: a change is news for its phones."""
    return (
        visit.agent_id,
        visit.partner_id,
        visit.route_position,
        visit.planned_arrival,
        visit.window_start,
        visit.window_end,
        visit.status,
        visit.pinned,
    )


def _place_visit(
    visit: Visit,
    *,
    agent: Agent,
    plan: RoutePlan,
    position: int,
    arrival: datetime,
    window: tuple[datetime, datetime],
    pinned: bool,
    priority: int,
    partner_id: int | None,
    touched: set[int],
) -> bool:
    """Put a visit on an agent's day (with the crew's partner, R9); True when the devices need the
    new version. A new lead or a new partner of a published visit is a new version, the phone
    that loses it is told to drop it (the lead's here, the partner's in place_partner)."""
    was_published = visit.status == "published"
    before = _placement(visit)
    if was_published and visit.agent_id not in (None, agent.id):
        record_change(user_id=visit.agent.user_id, kind="visit.remove", ref_type="visit", ref_id=visit.id, data={"reason": "reassigned"})
        touched.add(visit.agent.user_id)
    place_partner(visit, partner_id, touched=touched)
    visit.agent_id = agent.id
    visit.agent = agent
    visit.route_plan_id = plan.id
    visit.route_position = position
    visit.planned_arrival = arrival
    visit.window_start, visit.window_end = window
    visit.pinned = pinned
    visit.priority = priority
    if visit.status == "planned":
        move_visit_status(visit, "published")
    if before == _placement(visit):
        return False
    if was_published:
        visit.version += 1
    return True


def _unplace_visit(visit: Visit, *, plan: RoutePlan, actor_id: int | None, touched: set[int]) -> None:
    """Off the agent's day, back to the pool (still a candidate for a later plan)."""
    if visit.status == "planned" and visit.route_position is None and (visit.agent_id is None or visit.pinned):
        return  # already in the pool
    place_partner(visit, None, touched=touched)
    if visit.status == "published" and visit.agent is not None:
        record_change(
            user_id=visit.agent.user_id,
            kind="visit.remove",
            ref_type="visit",
            ref_id=visit.id,
            data={"reason": "not in the published route plan"},
        )
        touched.add(visit.agent.user_id)
        move_visit_status(visit, "planned")
    if not visit.pinned:
        visit.agent_id = None
    visit.route_plan_id = plan.id
    visit.route_position = None
    visit.planned_arrival = None
    append_event(case=visit.case, kind="visit.unrouted", actor_id=actor_id, data={"visit_id": visit.id, "route_plan_id": plan.id})


# --- the demo's day, from the real planner ---------------------------------------------------


def plan_and_publish_day(
    *, day: date, branch_id: int | None = None, seconds: float = 5.0, actor_id: int | None = None, as_of: datetime | None = None
) -> list[RoutePlan]:
    """Plan and publish `day` for one branch, or for each branch with agents on shift
    (decomposition by branch), synchronously. A plan that cannot be published stays a
    draft with its violations; it is returned like the others.

    `as_of` (naive UTC, default now) is the moment the day is planned from: a demo seeded
    in the evening passes the day's start to get full routes."""
    if branch_id is not None:
        branch_ids = [branch_id]
    else:
        branch_ids = list(
            db.session.scalars(
                select(Branch.id).where(Branch.id.in_(select(Agent.branch_id).where(Agent.active.is_(True)))).order_by(Branch.id)
            )
        )
    plans = []
    for bid in branch_ids:
        plan = create_route_plan(day=day, actor_id=actor_id, branch_id=bid, seconds=seconds)
        db.session.commit()
        plan = solve_route_plan(plan_id=plan.id, now=as_of)
        if plan.status == "draft":
            try:
                publish_route_plan(plan=plan, actor_id=actor_id)
                db.session.commit()
            except HTTPException:
                db.session.rollback()
                log.warning("route plan %s for %s was not published: %s", plan.id, day, plan.violations)
        plans.append(db.session.get(RoutePlan, plan.id))
    return plans


# --- what the API shows ------------------------------------------------------------------------


def route_plan_view(plan: RoutePlan) -> dict:
    """The plan for dispatchers: routes with ordered, timed stops; unassigned with reasons;
    excluded cases with every reason; violations; figures."""
    out = {
        "id": plan.id,
        "date": plan.date,
        "branch_id": plan.branch_id,
        "status": plan.status,
        "percent": plan.progress,
        "seconds": plan.seconds,
        "version": plan.version,
        "timezone": plan.meta.get("timezone"),
        "replan_of_id": plan.replan_of_id,
        "created_at": plan.created_at,
        "created_by_id": plan.created_by_id,
        "published_at": plan.published_at,
        "error": plan.error,
        "stats": plan.stats or {},
        "excluded": plan.excluded or [],
        "violations": plan.violations or [],
        "routes": [],
        "unassigned": [],
    }
    if not plan.solution:
        return out
    clock = clock_of(plan)
    visits = {v["id"]: v for v in plan.problem["visits"]}
    published_ids = plan.meta.get("visit_ids", {})

    def describe(ref: str) -> dict:
        info = plan.meta["visits"][ref]
        return {
            "ref": ref,
            "visit_id": info["visit_id"] or published_ids.get(ref),
            "case_id": info["case_id"],
            "debtor": info["debtor"],
            "priority": visits[ref]["priority"],
            "priority_factors": info["priority_factors"],
            "skills": visits[ref]["skills"],
            "pinned": visits[ref]["agent"] is not None,
            "follow_up": info.get("follow_up"),
            "required_agents": info.get("required_agents", 1),
        }

    for route in plan.solution["routes"]:
        agent = plan.meta["agents"][route["agent"]]
        stops = []
        for n, fixed in enumerate(agent["fixed"], start=1):
            start = clock.at(fixed["start_s"]) if fixed["start_s"] is not None else None
            stops.append(
                {
                    "ref": f"v{fixed['visit_id']}",
                    "visit_id": fixed["visit_id"],
                    "case_id": fixed["case_id"],
                    "debtor": fixed["debtor"],
                    "priority": fixed["priority"],
                    "position": n,
                    "arrival": start,
                    "start": start,
                    "end": clock.at(fixed["end_s"]) if fixed["end_s"] is not None else None,
                    "window": None,
                    "pinned": True,
                    "fixed": True,
                    "status": fixed["status"],
                }
            )
        for n, stop in enumerate(route["stops"], start=len(agent["fixed"]) + 1):
            window = stop["window"]
            stops.append(
                {
                    **describe(stop["visit"]),
                    "position": n,
                    "arrival": clock.at(stop["arrival"]),
                    "start": clock.at(stop["start"]),
                    "end": clock.at(stop["end"]),
                    "fixed": False,
                    "status": "published" if plan.published_at else "planned",
                    "at_home": stop.get("p"),
                    "window": {"start": clock.at(window[0]), "end": clock.at(window[1])} if window else None,
                }
            )
        out["routes"].append(
            {
                "agent_id": agent["agent_id"],
                "agent_name": agent["name"],
                **crew_view(agent),
                "shift_start": clock.at(agent["shift_s"][0]),
                "shift_end": clock.at(agent["shift_s"][1]),
                "back_at": clock.at(route["back_s"]) if route["back_s"] is not None else None,
                "travel_s": route["travel_s"],
                "km": route["km"],
                "work_s": route.get("work_s"),
                "stops": stops,
                "violations": route["violations"],
            }
        )
    out["unassigned"] = [
        {**describe(u["visit"]), "reason": u["reason"], **unassigned_reason(u["reason"], visits[u["visit"]]["skills"])}
        for u in plan.solution["unassigned"]
    ]
    out["follow_ups"] = _follow_ups_view(plan, clock)
    return out


def _follow_ups_view(plan: RoutePlan, clock: Clock) -> list[dict]:
    """Every follow-up due on the plan's day: where it is planned, or why it is not."""
    where = {s["visit"]: (r["agent"], s) for r in plan.solution["routes"] for s in r["stops"]}
    visits = {v["id"]: v for v in plan.problem["visits"]}
    left = {u["visit"]: u["reason"] for u in plan.solution["unassigned"]}
    out = []
    for entry in plan.meta.get("follow_ups", []):
        item = {k: entry[k] for k in ("follow_up_id", "case_id", "due_on", "reason")}
        ref = entry["ref"]
        if ref in where:
            agent, stop = where[ref]
            item.update(status="planned", agent_id=plan.meta["agents"][agent]["agent_id"], start=clock.at(stop["start"]))
        elif ref in left:
            coded = {**unassigned_reason(left[ref], visits[ref]["skills"]), "message": left[ref]}
            item.update(status="unassigned", why=[left[ref]], reasons=[coded])
        else:
            item.update(status="excluded", why=entry.get("why") or [], reasons=entry.get("reasons") or [])
        out.append(item)
    return out
