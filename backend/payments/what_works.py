"""What works at the door: per strategy and per script the agent used (the outcome's `strategy`
and `script`), how often the promises made at those visits were kept and how much confirmed
money the case received within RECOVERY_DAYS of the visit.

Kept is the payment feed's judgement (PromiseTrack, from confirmed money — never what an agent
says); the rate is kept ÷ judged (kept, partially kept, broken) with its Wilson score interval,
so a rate from few promises shows how little it says. Money is the bank's payment rows on the
case (a collection confirmed by the bank is one of them, dated the day it changed hands), each
credited once, to the latest visit with an outcome on or before its day when that visit is at
most RECOVERY_DAYS earlier; amounts stay per currency (the case's), never added across.

what_works(since=, until=, branch_id=) -> {"strategies": [row], "scripts": [row]}
kept_lower_bounds(since=, until=) -> {strategy: lower bound} for strategies with enough visits
"""

from bisect import bisect_right
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from statistics import NormalDist

from sqlalchemy import case, func, select

from ..cases.models import Account, Case
from ..extensions import db
from ..visits.models import Outcome, Visit
from .collections import collected_day
from .models import Collection, Payment, PromiseTrack

RECOVERY_DAYS = 30
MIN_VISITS = 10  # below this a row is shown as "too few visits" and never reorders the recommender
CONFIDENCE = 0.95
PROMISE_CODES = ("promise_to_pay", "plan_agreed")
JUDGED = ("kept", "partially_kept", "broken")
ZERO = Decimal("0.00")


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials)."""
    if trials <= 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * ((p * (1 - p) / trials + z2n / (4 * trials)) ** 0.5) / (1 + z2n)
    # at 0 or all successes the bound is exactly 0 or 1 (the formula leaves rounding dust)
    return (0.0 if successes == 0 else centre - half), (1.0 if successes == trials else centre + half)


class _Figures:
    def __init__(self) -> None:
        self.visits = 0
        self.promises = 0
        self.judged = 0
        self.kept = 0
        self.visits_by_currency: dict[str, int] = defaultdict(int)
        self.recovered: dict[str, Decimal] = defaultdict(lambda: ZERO)

    def row(self, **ident) -> dict:
        interval = wilson_interval(self.kept, self.judged)
        return {
            **ident,
            "visits": self.visits,
            "promises": self.promises,
            "judged": self.judged,
            "kept": self.kept,
            "kept_rate": round(self.kept / self.judged, 4) if self.judged else None,
            "low": round(interval[0], 4) if interval else None,
            "high": round(interval[1], 4) if interval else None,
            "too_few": self.visits < MIN_VISITS,
            "recovered": [
                {"currency": currency, "visits": n, "amount": str(self.recovered[currency].quantize(ZERO))}
                for currency, n in sorted(self.visits_by_currency.items())
            ],
        }


def _scoped_visits(since: date, until: date, branch_id: int | None) -> list:
    stmt = (
        select(Visit.id, Visit.case_id, Visit.date, Outcome.code, Outcome.data, Account.currency)
        .join(Outcome, Outcome.visit_id == Visit.id)
        .join(Case, Case.id == Visit.case_id)
        .join(Account, Account.id == Case.account_id)
        .where(Visit.date >= since, Visit.date <= until)
    )
    if branch_id:
        stmt = stmt.where(Case.branch_id == branch_id)
    return [
        row for row in db.session.execute(stmt.order_by(Visit.id)) if (row.data or {}).get("strategy") or (row.data or {}).get("script")
    ]


def _track_states(plan_ids: set[int]) -> dict[int, str]:
    if not plan_ids:
        return {}
    stmt = select(PromiseTrack.plan_id, PromiseTrack.state).where(PromiseTrack.plan_id.in_(plan_ids))
    return {plan_id: state for plan_id, state in db.session.execute(stmt)}


def _recovered_by_visit(case_ids: set[int], since: date, until: date) -> dict[int, Decimal]:
    """visit id -> confirmed money credited to it (the latest visit with an outcome on or before
    the day the money was paid, when at most RECOVERY_DAYS before it)."""
    if not case_ids:
        return {}
    last_day = until + timedelta(days=RECOVERY_DAYS)
    days: dict[int, list[date]] = defaultdict(list)
    ids: dict[int, list[int]] = defaultdict(list)
    stmt = (
        select(Visit.case_id, Visit.date, Visit.id)
        .join(Outcome, Outcome.visit_id == Visit.id)
        .where(Visit.case_id.in_(case_ids), Visit.date <= last_day)
        .order_by(Visit.date, Visit.id)
    )
    for case_id, day, visit_id in db.session.execute(stmt):
        days[case_id].append(day)
        ids[case_id].append(visit_id)
    credited: dict[int, Decimal] = defaultdict(lambda: ZERO)
    # a confirmed collection is dated the day it changed hands, never after the bank's date
    payments = db.session.execute(
        select(Payment.case_id, Payment.amount, Payment.paid_on, Collection)
        .outerjoin(Collection, Collection.payment_id == Payment.id)
        .where(Payment.case_id.in_(case_ids), Payment.paid_on >= since)
    )
    for case_id, amount, paid_on, collection in payments:
        day = collected_day(collection) if collection is not None else paid_on
        if day > last_day:
            continue
        at = bisect_right(days[case_id], day)
        if at and (day - days[case_id][at - 1]).days <= RECOVERY_DAYS:
            credited[ids[case_id][at - 1]] += Decimal(amount)
    return credited


def what_works(*, since: date, until: date, branch_id: int | None = None) -> dict:
    """Figures per strategy and per script for the visits dated since..until (both included)."""
    visits = _scoped_visits(since, until, branch_id)
    plan_ids = {row.data["plan_id"] for row in visits if row.code in PROMISE_CODES and row.data.get("plan_id")}
    states = _track_states(plan_ids)
    money = _recovered_by_visit({row.case_id for row in visits}, since, until)
    strategies: dict[str, _Figures] = defaultdict(_Figures)
    scripts: dict[str, _Figures] = defaultdict(_Figures)
    strategy_of_script: dict[str, str] = {}
    for row in visits:
        data = row.data
        groups = []
        if data.get("strategy"):
            groups.append(strategies[data["strategy"]])
        if data.get("script"):
            groups.append(scripts[data["script"]])
            strategy_of_script[data["script"]] = data.get("strategy", "")
        state = states.get(data.get("plan_id")) if row.code in PROMISE_CODES else None
        for figures in groups:
            figures.visits += 1
            figures.visits_by_currency[row.currency] += 1
            figures.recovered[row.currency] += money.get(row.id, ZERO)
            if row.code in PROMISE_CODES and data.get("plan_id"):
                figures.promises += 1
                if state in JUDGED:
                    figures.judged += 1
                    figures.kept += state == "kept"
    return {
        "strategies": [strategies[key].row(key=key) for key in sorted(strategies)],
        "scripts": [scripts[key].row(key=key, strategy=strategy_of_script[key]) for key in sorted(scripts)],
    }


def kept_lower_bounds(*, since: date, until: date) -> dict[str, float]:
    """strategy -> the lower bound of its kept-promise interval, for strategies with at least
    MIN_VISITS visits and a judged promise (the others have no say in any order).

    The same figures as what_works' strategy rows, counted by the database (the day packet reads
    them for every agent's day, over a year of visits)."""
    strategy = Outcome.data["strategy"].as_string()
    dated = (Visit.id == Outcome.visit_id) & (Visit.date >= since) & (Visit.date <= until)
    counted = select(strategy, func.count(Outcome.id)).join(Visit, dated).where(strategy.is_not(None)).group_by(strategy)
    visits: dict[str, int] = {key: n for key, n in db.session.execute(counted)}
    judged = db.session.execute(
        select(strategy, func.count(PromiseTrack.id), func.sum(case((PromiseTrack.state == "kept", 1), else_=0)))
        .join(Visit, dated)
        .join(PromiseTrack, PromiseTrack.plan_id == Outcome.data["plan_id"].as_integer())
        .where(strategy.is_not(None), Outcome.code.in_(PROMISE_CODES), PromiseTrack.state.in_(JUDGED))
        .group_by(strategy)
    ).all()
    out: dict[str, float] = {}
    for key, n, kept in judged:
        interval = wilson_interval(int(kept or 0), n)
        if interval is not None and visits.get(key, 0) >= MIN_VISITS:
            out[key] = round(interval[0], 4)
    return out
