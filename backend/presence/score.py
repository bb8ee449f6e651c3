"""The presence score of a visit (0–100, with its reasons): how plausible it is that the agent
was at the door when and where the records say, read from the records alone.

Each reason is a code and a sentence. The device's clock is compared with the server's receipt
(the timeline's `at` is the server's time of each field event), and R1 is judged on the
server-trusted time: the device's claim, but never later than the server received it.
"""

from collections import defaultdict
from datetime import datetime

from geopy.distance import geodesic
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from ..cases.models import TimelineEvent
from ..common import iso_z
from ..extensions import db
from ..policy.rules import jurisdiction_for, rules_snapshot
from ..visits.models import Visit
from ..visits.services import outcome_history, required_agents
from .models import VisitConfirmation

BASE = 80
# what each finding costs (or, for the debtor's confirmation, earns)
WEIGHTS = {
    "no_checkin": -50,
    "far_from_address": -25,
    "poor_accuracy": -10,
    "implausible_speed": -35,
    "too_short": -20,
    "clock_ahead": -20,
    "clock_backwards": -20,
    "copied_position": -35,
    "outside_window": -15,
    "partner_absent": -20,
    "debtor_confirmed": 40,
}
CITY_SPEED_KMH = 80  # faster than this between two of the agent's events, across a city, is not a drive
SPEED_MIN_M = 500  # below this, GPS noise, not travel
PLAN_MIN_S = 120  # an agreed plan takes longer than this at the door
CLOCK_AHEAD_S = 180  # the device's time ahead of the server's receipt by minutes
CLOCK_BACK_S = 60  # an event stamped this much before one the device sent earlier
FIELD_EVENTS = ("visit.checkin", "visit.outcome", "visit.checkout")


def _reason(code: str, detail: str, **params) -> dict:
    """A reason: its code and the values its sentence names (the consoles' catalogue says it as
    `finding.presence_<code>`), and the English detail for API clients."""
    return {"code": code, "params": params, "detail": detail}


def presence_of(visit: Visit) -> dict:
    return presence_scores([visit])[visit.id]


def presence_scores(visits: list[Visit]) -> dict[int, dict]:
    """{visit id: {score, reasons, debtor_confirmed_at}} for many visits in a few queries."""
    if not visits:
        return {}
    ids = [v.id for v in visits]
    confirmed = dict(
        db.session.execute(
            select(VisitConfirmation.visit_id, VisitConfirmation.confirmed_at).where(VisitConfirmation.visit_id.in_(ids))
        ).all()
    )
    days = _agent_days(visits)
    received = _server_times([v for day in days.values() for v in day])
    copied = _copied_positions(visits)
    history = outcome_history({v.case_id for v in visits})
    limits: dict[str, float] = {}
    out = {}
    for visit in visits:
        jurisdiction = jurisdiction_for(visit.case, visit.address)
        if jurisdiction not in limits:
            limits[jurisdiction] = rules_snapshot(jurisdiction)["checkin_max_distance_m"]
        reasons = _reasons(
            visit,
            limits[jurisdiction],
            days.get((visit.agent_id, visit.date), [visit]),
            received,
            copied.get(visit.id),
            confirmed.get(visit.id),
        )
        reasons += _partner(visit, required_agents(visit.case, visit.address, visit_id=visit.id, history=history[visit.case_id]))
        score = max(0, min(100, BASE + sum(WEIGHTS[r["code"]] for r in reasons)))
        out[visit.id] = {"score": score, "reasons": reasons, "debtor_confirmed_at": iso_z(confirmed.get(visit.id))}
    return out


def _reasons(visit, max_m, day, received, copied_from, confirmed_at) -> list[dict]:
    reasons = []
    if visit.checkin_at is None:
        reasons.append(_reason("no_checkin", "The visit has no check-in: nothing places the agent at the door."))
    else:
        if visit.checkin_distance_m is not None and visit.checkin_distance_m > max_m:
            reasons.append(
                _reason(
                    "far_from_address",
                    f"Checked in {visit.checkin_distance_m:.0f} m from the address (limit {max_m:.0f} m).",
                    metres=round(visit.checkin_distance_m),
                    limit=round(max_m),
                )
            )
        if visit.checkin_accuracy_m is not None and visit.checkin_accuracy_m > max_m:
            reasons.append(
                _reason(
                    "poor_accuracy",
                    f"The GPS fix at check-in was only good to {visit.checkin_accuracy_m:.0f} m.",
                    metres=round(visit.checkin_accuracy_m),
                )
            )
        reasons += _speed(visit, day)
        if copied_from is not None:
            reasons.append(
                _reason(
                    "copied_position",
                    f"The check-in position is exactly that of visit {copied_from}, at another address.",
                    visit_id=copied_from,
                )
            )
    outcome = visit.outcome
    if outcome is not None and outcome.code == "plan_agreed" and visit.checkin_at is not None:
        seconds = (outcome.recorded_at - visit.checkin_at).total_seconds()
        if seconds < PLAN_MIN_S:
            reasons.append(_reason("too_short", f"A plan was agreed {max(seconds, 0):.0f} s after the check-in.", n=round(max(seconds, 0))))
    reasons += _clock(visit, day, received)
    trusted = _trusted_checkin(visit, received)
    if trusted is not None and not visit.window_start <= trusted <= visit.window_end:
        reasons.append(
            _reason(
                "outside_window",
                f"On the server-trusted clock the check-in was at {trusted:%Y-%m-%d %H:%M} UTC, outside the legal window (R1).",
                at=f"{trusted:%Y-%m-%d %H:%M}",
            )
        )
    if confirmed_at is not None:
        reasons.append(
            _reason(
                "debtor_confirmed",
                f"The debtor confirmed the visit on their own phone at {confirmed_at:%Y-%m-%d %H:%M} UTC.",
                at=f"{confirmed_at:%Y-%m-%d %H:%M}",
            )
        )
    return reasons


def _partner(visit: Visit, required: int) -> list[dict]:
    """R9: a two-person visit's outcome recorded before the partner checked in (or without one)."""
    outcome = visit.outcome
    if required < 2 or outcome is None:
        return []
    at = visit.partner_checkin_at
    if at is not None and at <= outcome.recorded_at:
        return []
    if at is None:
        detail = "A two-person visit (R9): the partner never checked in."
    else:
        early = (at - outcome.recorded_at).total_seconds()
        detail = f"A two-person visit (R9): the outcome was recorded {early:.0f} s before the partner checked in."
    return [_reason("partner_absent", detail)]


def _agent_days(visits) -> dict[tuple, list[Visit]]:
    """Every visit of the same agents on the same days: an agent's events are judged in sequence."""
    keys = {(v.agent_id, v.date) for v in visits if v.agent_id is not None}
    if not keys:
        return {}
    rows = db.session.scalars(
        select(Visit).where(or_(*(and_(Visit.agent_id == a, Visit.date == d) for a, d in keys))).options(selectinload(Visit.outcome))
    ).all()
    days = defaultdict(list)
    for row in rows:
        days[(row.agent_id, row.date)].append(row)
    return days


def _server_times(visits) -> dict[tuple[int, str], tuple[datetime, int]]:
    """{(visit id, event kind): (the server's time of the field event, its event id)} from the
    case timelines (the id orders events appended in the same instant)."""
    ids = {v.id for v in visits}
    events = db.session.execute(
        select(TimelineEvent.kind, TimelineEvent.at, TimelineEvent.id, TimelineEvent.data).where(
            TimelineEvent.case_id.in_({v.case_id for v in visits}), TimelineEvent.kind.in_(FIELD_EVENTS)
        )
    ).all()
    return {(e.data.get("visit_id"), e.kind): (e.at, e.id) for e in events if e.data and e.data.get("visit_id") in ids}


def _events(visit) -> list[tuple[str, datetime, float | None, float | None]]:
    """The visit's field events as the device stamped them: (kind, device time, lat, lon)."""
    out = []
    if visit.checkin_at is not None:
        out.append(("visit.checkin", visit.checkin_at, visit.checkin_lat, visit.checkin_lon))
    if visit.outcome is not None:
        out.append(("visit.outcome", visit.outcome.recorded_at, None, None))
    if visit.checkout_at is not None:
        out.append(("visit.checkout", visit.checkout_at, visit.checkout_lat, visit.checkout_lon))
    return out


def _speed(visit, day) -> list[dict]:
    """The check-in against the agent's positioned events just before and after it."""
    placed = sorted(((at, lat, lon, v.id) for v in day for _k, at, lat, lon in _events(v) if lat is not None), key=lambda e: e[0])
    index = next((i for i, e in enumerate(placed) if e[3] == visit.id and e[0] == visit.checkin_at), None)
    if index is None:
        return []
    worst = None
    for other in (placed[index - 1] if index > 0 else None, placed[index + 1] if index + 1 < len(placed) else None):
        if other is None or other[3] == visit.id:
            continue
        metres = geodesic(placed[index][1:3], other[1:3]).meters
        seconds = abs((placed[index][0] - other[0]).total_seconds())
        if metres < SPEED_MIN_M:
            continue
        kmh = metres / 1000 / (max(seconds, 1) / 3600)
        if kmh > CITY_SPEED_KMH and (worst is None or kmh > worst[0]):
            worst = (kmh, metres, seconds, other[3])
    if worst is None:
        return []
    kmh, metres, seconds, other_id = worst
    detail = f"{metres / 1000:.1f} km from the event of visit {other_id} in {seconds:.0f} s ({kmh:.0f} km/h)."
    return [_reason("implausible_speed", detail, km=round(metres / 1000, 1), visit_id=other_id, n=round(seconds), kmh=round(kmh))]


def _clock(visit, day, received) -> list[dict]:
    """clock_ahead: a device time later than the server received it. clock_backwards: an event
    of this visit stamped earlier than one the device sent before it (server order)."""
    reasons = []
    ahead = [(at - received[(visit.id, kind)][0]).total_seconds() for kind, at, _la, _lo in _events(visit) if (visit.id, kind) in received]
    if ahead and max(ahead) > CLOCK_AHEAD_S:
        reasons.append(
            _reason(
                "clock_ahead", f"The device's clock was {max(ahead) / 60:.0f} min ahead of the server's receipt.", n=round(max(ahead) / 60)
            )
        )
    sent = sorted(
        ((received[(v.id, kind)], at, v.id) for v in day for kind, at, _la, _lo in _events(v) if (v.id, kind) in received),
        key=lambda e: e[0],
    )
    latest = None
    for _server_at, at, visit_id in sent:
        if visit_id == visit.id and latest is not None and (latest - at).total_seconds() > CLOCK_BACK_S:
            reasons.append(
                _reason(
                    "clock_backwards",
                    f"An event was stamped {(latest - at).total_seconds() / 60:.0f} min before one the device had already sent.",
                    n=round((latest - at).total_seconds() / 60),
                )
            )
            break
        latest = at if latest is None or at > latest else latest
    return reasons


def _trusted_checkin(visit, received) -> datetime | None:
    if visit.checkin_at is None:
        return None
    server = received.get((visit.id, "visit.checkin"))
    return min(visit.checkin_at, server[0]) if server is not None else visit.checkin_at


def _copied_positions(visits) -> dict[int, int]:
    """{visit id: another visit checked in at exactly the same coordinates, at another address}."""
    placed = [v for v in visits if v.checkin_lat is not None]
    if not placed:
        return {}
    rows = db.session.execute(
        select(Visit.id, Visit.address_id, Visit.checkin_lat, Visit.checkin_lon).where(
            Visit.checkin_lat.in_({v.checkin_lat for v in placed})
        )
    ).all()
    out = {}
    for visit in placed:
        other = next(
            (
                r.id
                for r in rows
                if r.id != visit.id
                and r.address_id != visit.address_id
                and r.checkin_lat == visit.checkin_lat
                and r.checkin_lon == visit.checkin_lon
            ),
            None,
        )
        if other is not None:
            out[visit.id] = other
    return out
