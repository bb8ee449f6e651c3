"""The chance of finding someone home, read from the database: past visit outcomes of the
last year become attempts for the estimator (``at_home``), and each visit of the day's
problem gets its ``contact`` slots (docs/routing.md, "The chance of finding someone home").

An attempt is an outcome with the debtor met in person (contact) or with nobody but
perhaps a third party at the door (``not_home``, ``third_party_only``: no contact); other
outcomes (moved, wrong address …) say nothing about the hours someone is home. Its hour
is the check-in's (else the outcome's arrival at the server) on the plan's clock, its
area the 2 km grid cell of the address."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from ..cases.models import Account, Address, Case
from ..common import to_utc_naive
from ..extensions import db
from ..visits.models import Outcome, Visit
from .at_home import Attempt, fit, grid_area

HISTORY_DAYS = 365
NO_CONTACT_CODES = ("not_home", "third_party_only")


def add_contact(problem: dict, info: dict, day: date, tz: str) -> dict | None:
    """Give each visit of ``problem`` its chance of contact by hour of ``day`` (``info``:
    the builder's per-visit facts, with the debtor). Returns what the estimate rests on,
    or None — and the problem stays plain — when there is no history."""
    zone = ZoneInfo(tz)
    since = to_utc_naive(datetime.combine(day - timedelta(days=HISTORY_DAYS), time(0), zone))
    rows = db.session.execute(
        select(Account.debtor_id, Address.lat, Address.lon, Visit.checkin_at, Outcome.received_at, Outcome.met)
        .join(Visit, Visit.id == Outcome.visit_id)
        .join(Address, Address.id == Visit.address_id)
        .join(Case, Case.id == Outcome.case_id)
        .join(Account, Account.id == Case.account_id)
        .where(or_(Outcome.met == "debtor", Outcome.code.in_(NO_CONTACT_CODES)), Outcome.received_at >= since)
    ).all()
    if not rows or not problem["visits"]:
        return None
    attempts = []
    for debtor_id, lat, lon, checkin_at, received_at, met in rows:
        at = (checkin_at or received_at).replace(tzinfo=UTC).astimezone(zone)
        area = grid_area(lat, lon) if lat is not None and lon is not None else None
        attempts.append(Attempt(debtor_id, area, at.hour, at.weekday() >= 5, met == "debtor"))
    model = fit(attempts)
    weekend = day.weekday() >= 5
    known = 0
    for v in problem["visits"]:
        debtor_id = info[v["id"]]["debtor_id"]
        lat, lon = problem["locations"][v["location"]]
        v["contact"] = model.slots(debtor_id, grid_area(lat, lon), weekend)
        known += debtor_id in model.debtors
    return {"attempts": model.attempts, "debtors_with_history": known, "visits": len(problem["visits"])}
