"""Sync fixtures: an agent with a published day, and helpers to speak the ops protocol."""
from datetime import date, timedelta

import pytest


@pytest.fixture
def day():
    """A weekday in the future, so visits are allowed and windows are in the debtor's hours."""
    d = date.today() + timedelta(days=7)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


@pytest.fixture
def field_agent(make_agent):
    return make_agent()


@pytest.fixture
def agent_headers(auth, field_agent):
    return auth(field_agent.user)


@pytest.fixture
def owner(make_user):
    return make_user(role="owner")


@pytest.fixture
def owned_visit(make_case, make_visit, field_agent, owner, day):
    """A published visit of the agent on a case the owner owns."""
    case = make_case(branch=field_agent.branch, owner_id=owner.id)
    return make_visit(case=case, agent=field_agent, day=day)


@pytest.fixture
def send(client, agent_headers):
    """send(ops, headers=None, device_id=...) -> (status_code, json)."""

    def post(ops, headers=None, device_id="phone-1"):
        response = client.post("/api/sync/ops", json={"device_id": device_id, "ops": ops}, headers=headers or agent_headers)
        return response.status_code, response.get_json()

    return post


@pytest.fixture
def listen():
    """listen(event) -> the list of payloads emitted; only our listener is removed afterwards."""
    from backend import events

    added = []

    def subscribe(name):
        seen = []
        listener = events.on(name)(lambda **kw: seen.append(kw))
        added.append((name, listener))
        return seen

    yield subscribe
    for name, listener in added:
        events.off(name, listener)
