"""Fixtures for the rule, plan-policy and playbook tests."""
from datetime import date, datetime, time, timedelta

import pytest

# A Monday well in the future: visits may be planned for it, and it is no holiday.
MONDAY = date.today() + timedelta(days=(7 - date.today().weekday()) % 7 + 14)


@pytest.fixture
def monday():
    return MONDAY


@pytest.fixture
def dispatcher(make_user):
    return make_user(role="dispatcher")


@pytest.fixture
def admin(make_user):
    return make_user(role="admin")


@pytest.fixture
def post_visit(client, auth, dispatcher, make_agent):
    """post_visit(case, day, **extra) -> response of POST /api/visits (the ASSIGN enforcement point)."""
    headers = auth(dispatcher)
    agent = make_agent()

    def post(case, day, **extra):
        body = {"case_id": case.id, "date": day.isoformat(), "agent_id": agent.id, **extra}
        return client.post("/api/visits", json=body, headers=headers)

    return post


@pytest.fixture
def make_outcome(db, make_agent):
    """A past visit with an outcome (history the rules and the strategy engine read)."""
    from backend.visits.models import Outcome, Visit

    def make(case, day, code, met="debtor", data=None, agent=None):
        agent = agent or make_agent()
        address = case.account.debtor.addresses[0]
        at = datetime.combine(day, time(3, 0))
        visit = Visit(case_id=case.id, address_id=address.id, agent_id=agent.id, date=day, window_start=at,
                      window_end=at + timedelta(hours=10), status="completed" if met == "debtor" else "failed",
                      checkin_at=at + timedelta(hours=1))
        db.session.add(visit)
        db.session.flush()
        db.session.add(Outcome(visit_id=visit.id, case_id=case.id, agent_id=agent.id, code=code, met=met,
                               data=data or {}, recorded_at=at, disclosure_at=at if met == "debtor" else None))
        db.session.commit()
        return visit

    return make
