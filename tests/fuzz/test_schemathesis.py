"""Schemathesis against /api/openapi.json through the WSGI app: every operation, called with
generated input (valid and invalid) as a user of a role it allows (admin wherever admins
are), answers without a server error. Bounded: a dozen examples per operation, no shrinking.

One test per operation (a fresh database each); the operation list is read at collection from
an app that never touches a database. (schemathesis' own pytest loader for fixtures does not
run on pytest 9, so the strategies are driven by Hypothesis here.)"""
from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from backend import create_app, jobs
from backend.config import TestConfig

EXAMPLES = 12  # per operation and mode
_ROLE_ORDER = ("admin", "dispatcher", "owner", "agent")  # the caller: the first role the operation allows


def _operations() -> list[tuple[str, str]]:
    spec = create_app(TestConfig).test_client().get("/api/openapi.json").get_json()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
            if method in ("get", "post", "put", "patch", "delete")]


@pytest.fixture
def tokens(db, make_user, make_branch, make_agent, make_case, make_visit, auth):
    """One user per role, and one of each main record so generated ids sometimes hit something."""
    branch = make_branch()
    users = {role: make_user(role=role) for role in ("admin", "dispatcher", "owner")}
    agent = make_agent(branch=branch)
    case = make_case(branch=branch, owner_id=users["owner"].id)
    make_visit(case=case, agent=agent, day=date.today() + timedelta(days=1))
    users["agent"] = agent.user
    return {role: auth(user)["Authorization"] for role, user in users.items()}


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: v)
def test_no_operation_answers_with_a_server_error(app, tokens, method, path):
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app).find_operation_by_path(method, path)
    allowed = operation.definition.raw.get("x-roles") or ["admin"]
    role = next((r for r in _ROLE_ORDER if r in allowed), "admin")
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES * 2, deadline=None, phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    def call(case):
        body = case.body
        if isinstance(body, dict) and type(body.get("seconds")) in (int, float) and body["seconds"] > 1:
            # a route plan's solver budget (up to 600 s): kept to a second so the run stays bounded
            body["seconds"] = 1
        response = case.call(headers={"Authorization": tokens[role]})
        assert response.status_code < 500, (
            f"{method} {path} as {role} → {response.status_code}\n{case.as_curl_command()}\n{response.text[:2000]}"
        )

    call()
    assert jobs.wait_idle(app, timeout=120), "a background job was still running"
