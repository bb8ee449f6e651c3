"""Which domain events reach an agent's phone, and what the message says.

Imported by routes.py, so the listeners are registered in every app. Payloads carry ids
and codes only, never debtor names, amounts or free-text reasons: they cross a third-party
push service and land on a lock screen. The device fetches the details through sync.
"""

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select

from ..events import on
from ..extensions import db
from ..org.models import Agent
from ..visits.models import Visit
from .sender import queue_push

# visits an agent's device holds (published to it, or under way)
_ON_DEVICE = ("published", "checked_in")


@on("case.stop_work")
def notify_stop_work(*, case, flag: str, user_ids, **_) -> None:
    """A blocking flag on a case on the agent's route: do not visit."""
    rows = db.session.execute(
        select(Agent.user_id, Visit.id)
        .join(Agent, Visit.agent_id == Agent.id)
        .where(Visit.case_id == case.id, Visit.status.in_(_ON_DEVICE), Agent.user_id.in_(set(user_ids)))
    ).all()
    visits_by_user: dict[int, list[int]] = defaultdict(list)
    for user_id, visit_id in rows:
        visits_by_user[user_id].append(visit_id)
    for user_id, visit_ids in visits_by_user.items():
        queue_push(kind="stop_work", user_id=user_id, data={"case_id": case.id, "flag": flag, "visit_ids": sorted(visit_ids)})


@on("visit.cancelled")
def notify_visit_cancelled(*, visit, user_ids, **_) -> None:
    if visit.published_at is None:
        return  # never reached a device: nothing to take back
    for user_id in set(user_ids):
        queue_push(
            kind="visit_cancelled", user_id=user_id, data={"visit_id": visit.id, "case_id": visit.case_id, "date": visit.date.isoformat()}
        )


@on("route.published")
def notify_route_published(*, plan, user_ids, date=None, **_) -> None:
    """A route published or changed: tell each agent the day and its number of stops."""
    day = date or plan.date
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    _push_day_changed(day=day, plan_id=plan.id, user_ids=user_ids)


@on("visit.reassigned")
def notify_visit_reassigned(*, visit, user_ids, **_) -> None:
    """One published visit moved between agents: both agents' days changed."""
    _push_day_changed(day=visit.date, plan_id=visit.route_plan_id, user_ids=user_ids)


def _push_day_changed(*, day: dt.date, plan_id: int | None, user_ids) -> None:
    stops = dict(
        db.session.execute(
            select(Agent.user_id, func.count(Visit.id))
            .join(Visit, Visit.agent_id == Agent.id)
            .where(Agent.user_id.in_(set(user_ids)), Visit.date == day, Visit.status.in_(_ON_DEVICE))
            .group_by(Agent.user_id)
        ).all()
    )
    for user_id in set(user_ids):
        # Topic: a newer route message for the same day replaces one still waiting at the push service
        queue_push(
            kind="route_published",
            user_id=user_id,
            data={"date": day.isoformat(), "plan_id": plan_id, "stops": stops.get(user_id, 0)},
            topic=f"route-{day.isoformat()}",
        )


@on("plan.decided")
def notify_plan_decided(*, plan, user_ids, decision: str | None = None, **_) -> None:
    """An out-of-authority plan was approved or rejected by the case owner."""
    decision = decision or {"active": "approved"}.get(plan.status, plan.status)
    for user_id in set(user_ids):
        queue_push(kind="plan_decided", user_id=user_id, data={"plan_id": plan.id, "case_id": plan.case_id, "decision": decision})
