from datetime import date

from geopy.distance import geodesic
from sqlalchemy import or_, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..cases.models import Case
from ..cases.services import agent_of, append_event, set_flag, stage_stop_code
from ..common import utcnow
from ..errors import abort
from ..events import emit
from ..extensions import db
from ..feed import insert_row, record_change, write_through
from ..org.models import Agent
from ..payments.services import agree_follow_up
from ..plans.models import RepaymentPlan
from ..plans.services import create_plan
from ..policy.rules import Finding, check_visit, jurisdiction_for, windows_for
from ..policy.settings import effective_settings
from ..policy.strategies import playbook, script_strategy
from .models import OPEN_STATUSES, OUTCOMES, TRANSITIONS, Outcome, Visit


def visits_query(*, user, date=None, agent_id=None, status=None, case_id=None):
    stmt = select(Visit).order_by(Visit.date, Visit.agent_id, Visit.route_position, Visit.id)
    if user.role == "agent":
        agent = agent_of(user)
        agent_id = agent.id if agent else -1
    if date:
        stmt = stmt.where(Visit.date == date)
    if agent_id:
        # a two-person visit is on the day of its lead and of its partner (R9)
        stmt = stmt.where(or_(Visit.agent_id == agent_id, Visit.partner_id == agent_id))
    if status:
        stmt = stmt.where(Visit.status == status)
    if case_id:
        stmt = stmt.where(Visit.case_id == case_id)
    return stmt


def get_visit_for_user(visit_id: int, *, user) -> Visit:
    visit = db.session.get(Visit, visit_id)
    agent = agent_of(user)
    if visit is None or (user.role == "agent" and (agent is None or agent.id not in (visit.agent_id, visit.partner_id))):
        abort(404, f"No visit {visit_id}.")
    return visit


# --- R9: two-person visits ------------------------------------------------------------------


def outcome_history(case_ids) -> dict[int, list[tuple[int, str]]]:
    """(visit id, outcome code) of every visit with an outcome, per case (one query)."""
    out: dict[int, list[tuple[int, str]]] = {case_id: [] for case_id in case_ids}
    if out:
        rows = db.session.execute(select(Outcome.case_id, Outcome.visit_id, Outcome.code).where(Outcome.case_id.in_(list(out))))
        for case_id, visit_id, code in rows:
            out[case_id].append((visit_id, code))
    return out


def required_agents(case: Case, address=None, *, visit_id: int | None = None, history: list[tuple[int, str]] | None = None) -> int:
    """How many agents a visit to the case needs (R9): 2 when the jurisdiction's
    `min_agents_per_visit` says so, or when an earlier visit of the case ended with an outcome
    named in `two_agents_after_outcomes` (the risk trigger: e.g. the agent was asked to leave);
    else 1. The visit's own outcome does not count. `history`: outcome_history()[case.id]."""
    settings = effective_settings(jurisdiction_for(case, address))
    if settings["min_agents_per_visit"] >= 2:
        return 2
    risky = set(settings["two_agents_after_outcomes"])
    if not risky:
        return 1
    if history is None:
        history = outcome_history([case.id])[case.id]
    return 2 if any(code in risky for vid, code in history if vid != visit_id) else 1


def required_agents_of(visit: Visit) -> int:
    return required_agents(visit.case, visit.address, visit_id=visit.id)


def required_agents_by_visit(visits) -> dict[int, int]:
    """required_agents of many visits (a list, the board), their cases' outcomes read in one query."""
    history = outcome_history({visit.case_id for visit in visits})
    return {visit.id: required_agents(visit.case, visit.address, visit_id=visit.id, history=history[visit.case_id]) for visit in visits}


def partner_absent_finding(visit: Visit, at) -> Finding | None:
    """R9 at the outcome: a two-person visit whose partner had not checked in when the outcome
    was recorded (device time `at`). The record is kept; the finding is for the owner's review."""
    if required_agents_of(visit) < 2:
        return None
    if visit.partner_checkin_at is not None and visit.partner_checkin_at <= at:
        return None
    who = f"the partner (agent {visit.partner_id})" if visit.partner_id is not None else "no partner"
    return Finding(
        "R9",
        f"Two-person visit: the outcome was recorded before {who} had checked in.",
        code="partner_absent",
        params={"partner_id": visit.partner_id},
    )


def _agent(agent_id: int | None) -> Agent | None:
    if agent_id is None:
        return None
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.active:
        abort(422, "No active agent with that id.", errors={"agent_id": ["unknown or inactive agent"]})
    return agent


def create_visit(
    *,
    case_id: int,
    date: date,
    actor_id: int | None,
    agent_id: int | None = None,
    address_id: int | None = None,
    service_s: int = 1800,
    priority: int | None = None,
    pinned: bool = False,
    publish: bool = False,
) -> Visit:
    """ASSIGN: a visit is created only when the rules allow it (409 names the rule)."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(422, "No such case.", errors={"case_id": ["unknown case"]})
    addresses = case.account.debtor.addresses
    address = next((a for a in addresses if a.id == address_id), None) if address_id else (addresses[0] if addresses else None)
    if address is None:
        abort(422, "The case has no such address.", errors={"address_id": ["not an address of this debtor"]})
    if address.lat is None:
        abort(422, "The address has no coordinates yet (needs geocoding).", errors={"address_id": ["needs_geocode"]})
    findings = check_visit(case, date, address=address)
    if findings:
        first = findings[0]
        abort(
            409,
            first.message,
            code="compliance_block",
            errors={"case_id": [f.message for f in findings]},
            rule=first.rule,
            flag=first.flag,
            findings=[f.as_dict() for f in findings],
        )
    windows = windows_for(case, address, date)
    if not windows:
        abort(409, "No visiting hours on that day for this debtor.", code="compliance_block", rule="R1")
    # one window on the record: the longest legal one (the planner sees them all)
    window = max(windows, key=lambda w: w[1] - w[0])
    agent = _agent(agent_id)
    visit = Visit(
        case_id=case.id,
        address_id=address.id,
        agent_id=agent.id if agent else None,
        date=date,
        window_start=window[0],
        window_end=window[1],
        service_s=service_s,
        priority=priority or 50,
        pinned=pinned,
        created_by_id=actor_id,
    )
    db.session.add(visit)
    db.session.flush()
    append_event(
        case=case,
        kind="visit.planned",
        actor_id=actor_id,
        data={"visit_id": visit.id, "date": date.isoformat(), "agent_id": visit.agent_id},
    )
    if publish:
        if agent is None:
            abort(422, "Only an assigned visit can be published.", errors={"agent_id": ["required to publish"]})
        publish_visit(visit=visit, actor_id=actor_id)
    return visit


def move_visit_status(visit: Visit, status: str) -> None:
    moved = _moved(visit, status)
    visit.status, visit.version = moved["status"], moved["version"]


def _moved(visit: Visit, status: str) -> dict:
    """The visit's columns after a move to `status` (409 when the move is not allowed)."""
    if status not in TRANSITIONS[visit.status]:
        abort(409, f"A {visit.status} visit cannot become {status}.", code="bad_transition")
    return {"status": status, "version": visit.version + 1}


def publish_visit(*, visit: Visit, actor_id: int | None) -> None:
    if visit.status != "published":
        move_visit_status(visit, "published")
    visit.published_at = utcnow()
    record_change(user_id=visit.agent.user_id, kind="visit.upsert", ref_type="visit", ref_id=visit.id)


def cancel_visit(*, visit: Visit, reason: str, actor_id: int | None) -> Visit:
    move_visit_status(visit, "cancelled")
    visit.cancelled_reason = reason
    append_event(case=visit.case, kind="visit.cancelled", actor_id=actor_id, data={"visit_id": visit.id, "reason": reason})
    # both phones of a two-person visit (R9) hold it
    users = {agent.user_id for agent in (visit.agent, visit.partner) if agent is not None}
    for user_id in sorted(users):
        record_change(user_id=user_id, kind="visit.cancel", ref_type="visit", ref_id=visit.id, data={"reason": reason})
    emit("visit.cancelled", visit=visit, user_ids=users)
    return visit


def assign_visit(*, visit: Visit, agent_id: int | None, actor_id: int | None) -> Visit:
    if visit.status not in ("planned", "published"):
        abort(409, f"A {visit.status} visit cannot be reassigned.", code="bad_transition")
    new = _agent(agent_id)
    old = visit.agent
    if (old.id if old else None) == (new.id if new else None):
        return visit
    told: set[int] = set()
    if old is not None and visit.status == "published":
        record_change(user_id=old.user_id, kind="visit.remove", ref_type="visit", ref_id=visit.id, data={"reason": "reassigned"})
        told.add(old.user_id)
    visit.agent_id = new.id if new else None
    visit.version += 1
    append_event(
        case=visit.case,
        kind="visit.assigned",
        actor_id=actor_id,
        data={"visit_id": visit.id, "from": old.id if old else None, "to": visit.agent_id},
    )
    if visit.status == "published":
        if new is None:
            visit.status = "planned"
        else:
            record_change(user_id=new.user_id, kind="visit.upsert", ref_type="visit", ref_id=visit.id)
            told.add(new.user_id)
    if told:
        emit("visit.reassigned", visit=visit, user_ids=told)
    return visit


def work_stopped(visit: Visit, at=None) -> dict | None:
    """Why field work on this visit stopped on the ladder, or None: the case is closed, or its
    stage moved after the visit was published (back down, or handed to legal). With `at` (when a
    record was made), a record made before the move is not stopped by it."""
    case = visit.case
    changed = case.stage_changed_at
    if case.stage != "closed" and (changed is None or visit.published_at is None or changed <= visit.published_at):
        return None
    if at is not None and changed is not None and at < changed:
        return None
    return {"code": stage_stop_code(case), "stage": case.stage, "since": changed}


def open_visits_of_case(case_id: int) -> list[Visit]:
    return db.session.scalars(select(Visit).where(Visit.case_id == case_id, Visit.status.in_(OPEN_STATUSES))).all()


# --- field events from the device (applied through sync ops) ---------------------


def checkin_visit(
    *,
    visit: Visit,
    at,
    lat: float,
    lon: float,
    accuracy_m: float,
    actor_id: int | None,
    max_distance_m: float,
    reason_far: str | None = None,
    findings: list | None = None,
    op_id: str | None = None,
    agent_id: int | None = None,
) -> Visit:
    """Check in at the door. Far from the address is allowed but flagged with the reason given.
    `agent_id` the visit's partner (R9): the partner's own check-in, on the timeline as theirs."""
    if agent_id is not None and agent_id == visit.partner_id and agent_id != visit.agent_id:
        return _checkin_partner(visit, at=at, lat=lat, lon=lon, accuracy_m=accuracy_m, actor_id=actor_id, findings=findings, op_id=op_id)
    if visit.status != "published":
        abort(409, f"A {visit.status} visit cannot be checked in.", code="bad_transition", params={"visit_status": visit.status})
    address = visit.address
    distance = geodesic((lat, lon), (address.lat, address.lon)).meters
    notes = [f.message for f in findings or []]
    if distance > max_distance_m:
        notes.append(f"{distance:.0f} m from the address (limit {max_distance_m:.0f} m): " + (reason_far or "no reason given"))
    if accuracy_m > max_distance_m:
        notes.append(f"GPS accuracy {accuracy_m:.0f} m")
    # field events write their row through (write_through): they are the sync path's hot writes
    write_through(
        visit,
        **_moved(visit, "checked_in"),
        checkin_at=at,
        checkin_lat=lat,
        checkin_lon=lon,
        checkin_accuracy_m=accuracy_m,
        checkin_distance_m=round(distance, 1),
        checkin_flag="; ".join(notes) or None,
    )
    append_event(
        case=visit.case,
        kind="visit.checkin",
        actor_id=actor_id,
        data={
            "visit_id": visit.id,
            "at": at.isoformat(),
            "distance_m": visit.checkin_distance_m,
            "accuracy_m": accuracy_m,
            "flag": visit.checkin_flag,
            "op_id": op_id,
        },
    )
    return visit


def _checkin_partner(visit: Visit, *, at, lat: float, lon: float, accuracy_m: float, actor_id, findings, op_id) -> Visit:
    """The partner's check-in: once, before or after the lead's (a phone offline may send it
    after the outcome). It does not move the visit's status nor its version (the lead's phone
    based its ops on that); the lead's phone learns of it from its feed."""
    if visit.status in ("planned", "cancelled"):
        abort(409, f"A {visit.status} visit cannot be checked in.", code="bad_transition", params={"visit_status": visit.status})
    if visit.partner_checkin_at is not None:
        abort(409, "The partner already checked in.", code="bad_transition", params={"visit_status": visit.status})
    address = visit.address
    distance = round(geodesic((lat, lon), (address.lat, address.lon)).meters, 1)
    write_through(
        visit,
        partner_checkin_at=at,
        partner_checkin_lat=lat,
        partner_checkin_lon=lon,
        partner_checkin_accuracy_m=accuracy_m,
        partner_checkin_distance_m=distance,
    )
    data = {"visit_id": visit.id, "agent_id": visit.partner_id, "role": "partner", "at": at.isoformat(), "distance_m": distance}
    data.update(accuracy_m=accuracy_m, op_id=op_id)
    if findings:
        data["warnings"] = [f.as_dict() for f in findings]
    append_event(case=visit.case, kind="visit.partner_checkin", actor_id=actor_id, data=data)
    if visit.agent is not None:
        record_change(user_id=visit.agent.user_id, kind="visit.upsert", ref_type="visit", ref_id=visit.id)
    return visit


def checkout_visit(
    *,
    visit: Visit,
    at,
    actor_id: int | None,
    lat: float | None = None,
    lon: float | None = None,
    op_id: str | None = None,
    findings: list | None = None,
) -> Visit:
    """Leave the door: only after a check-in, once. `findings` (R11, an overlong visit) never
    refuse it: they join the visit's flag and the timeline, kept for the owner's review."""
    if visit.checkin_at is None:
        abort(409, "The visit was never checked in.", code="bad_transition", params={"visit_status": visit.status})
    if visit.checkout_at is not None:
        abort(409, "The visit is already checked out.", code="bad_transition", params={"visit_status": visit.status})
    notes = [f.message for f in findings or []]
    flag = "; ".join(([visit.checkin_flag] if visit.checkin_flag else []) + notes) or None
    write_through(visit, checkout_at=at, checkout_lat=lat, checkout_lon=lon, checkin_flag=flag)
    data = {"visit_id": visit.id, "at": at.isoformat(), "op_id": op_id}
    if findings:
        data["warnings"] = [f.as_dict() for f in findings]
    append_event(case=visit.case, kind="visit.checkout", actor_id=actor_id, data=data)
    return visit


def _approach(strategy: str | None, script: str | None) -> dict:
    """The strategy and script used at the door, checked against the playbook and the scripts ever approved."""
    out = {}
    if strategy is not None:
        if strategy not in playbook()["strategies"]:
            abort(
                422, "No such strategy in the playbook.", code="unknown_strategy", errors={"strategy": [f"unknown strategy {strategy!r}"]}
            )
        out["strategy"] = strategy
    if script is not None:
        owner = script_strategy(script)
        if owner is None:
            abort(422, "No approved script has this key.", code="unknown_script", errors={"script": [f"unknown script {script!r}"]})
        if strategy is not None and owner != strategy:
            abort(
                422,
                "The script belongs to another strategy.",
                code="script_of_another_strategy",
                errors={"script": [f"{script!r} is a script of {owner!r}, not of {strategy!r}"]},
            )
        out.update(strategy=owner, script=script)
    return out


def record_outcome(
    *,
    visit: Visit,
    code: str,
    met: str,
    disclosure_at,
    data: dict,
    recorded_at,
    actor_id: int | None,
    plan: RepaymentPlan | None = None,
    compliance_flags: list | None = None,
    op_id: str | None = None,
    disclosure_lat: float | None = None,
    disclosure_lon: float | None = None,
    follow_up_date: date | None = None,
    follow_up_note: str | None = None,
    strategy: str | None = None,
    script: str | None = None,
) -> Outcome:
    """The outcome of a visit: moves the visit on and raises the flag its code defines (OUTCOMES).

    An outcome agreeing a plan names it (`plan`); a promise to pay without one becomes a plan of
    kind "promise" (one open promise or plan per account) for data's amount and due_date. A day
    agreed to come back (`follow_up_date`) becomes an open follow-up of kind visit, due that day,
    which lifts the R3 cool-off for it. The `strategy` and approved `script` used at the door (what
    works reads them) go into data; a script names its strategy when none is given."""
    spec = OUTCOMES[code]
    if visit.outcome is not None:
        abort(409, "The visit already has an outcome.", code="outcome_exists")
    if visit.status != "checked_in" and not (visit.status == "published" and spec["visit"] == "failed"):
        abort(
            409, f"An outcome cannot be recorded on a {visit.status} visit.", code="bad_transition", params={"visit_status": visit.status}
        )
    if follow_up_date is not None and follow_up_date <= visit.date:
        abort(422, "The day agreed to come back must be after the visit.", errors={"follow_up_date": [f"after {visit.date.isoformat()}"]})
    data = {**data, **_approach(strategy, script)}
    if follow_up_date is not None:
        data = {**data, "follow_up_date": follow_up_date.isoformat(), **({"follow_up_note": follow_up_note} if follow_up_note else {})}
    if plan is None and code == "promise_to_pay":
        amount = str(data["amount"])
        terms = {
            "case_id": visit.case_id,
            "kind": "promise",
            "currency": visit.case.account.currency,
            "total": amount,
            "discount_pct": "0",
            "payable": amount,
            "down_payment": "0",
            "schedule": [{"seq": 1, "due_date": str(data["due_date"]), "amount": amount}],
        }
        plan = create_plan(case=visit.case, terms=terms, actor_id=actor_id, role="agent", visit_id=visit.id, op_id=op_id)
    if plan is not None:
        data = {**data, "plan_id": plan.id}
    absent = partner_absent_finding(visit, recorded_at)
    if absent is not None:
        compliance_flags = [*(compliance_flags or []), absent.as_dict()]
    values = {
        "visit_id": visit.id,
        "case_id": visit.case_id,
        "agent_id": visit.agent_id,
        "code": code,
        "met": met,
        "disclosure_at": disclosure_at,
        "disclosure_lat": disclosure_lat,
        "disclosure_lon": disclosure_lon,
        "data": data,
        "recorded_at": recorded_at,
        "received_at": utcnow(),
        "op_id": op_id,
        "compliance_flags": compliance_flags or [],
    }
    # a plain INSERT, not the unit of work (a measurable share of a sync op); the row then joins
    # the session as loaded (persistent, nothing to flush) and becomes visit.outcome
    outcome = insert_row(Outcome, values)
    make_transient_to_detached(outcome)
    db.session.add(outcome)
    set_committed_value(visit, "outcome", outcome)
    write_through(visit, **_moved(visit, spec["visit"]))
    case = visit.case
    if met in ("debtor", "third_party"):
        write_through(case, last_contact_at=recorded_at)
    append_event(
        case=case,
        kind="visit.outcome",
        actor_id=actor_id,
        data={"visit_id": visit.id, "code": code, "met": met, "data": data, "compliance_flags": compliance_flags or [], "op_id": op_id},
    )
    if follow_up_date is not None:
        agree_follow_up(case=case, visit_id=visit.id, due_on=follow_up_date, note=follow_up_note, actor_id=actor_id)
    flag = spec.get("flag")
    if flag and not any(f.flag == flag for f in case.active_flags()):
        set_flag(case=case, flag=flag, reason=str(data.get("reason") or code), actor_id=actor_id)
    return outcome
