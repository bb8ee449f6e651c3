"""Routing fixtures: fast tokens, a plan day, a small branch with agents and cases,
and a helper that waits for background solves (none may outlive its test)."""
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.auth.models import Token
from backend.common import sha256_hex, utcnow
from backend import jobs


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test(app):
    yield
    assert jobs.wait_idle(app, timeout=60), "a route plan job was still running"


@pytest.fixture
def headers_for(db):
    """A bearer token issued straight into the database (no password hashing: fast)."""

    def issue(user):
        raw = secrets.token_urlsafe(16)
        db.session.add(Token(user_id=user.id, token_hash=sha256_hex(raw), device_id="routing-test",
                             expires_at=utcnow() + timedelta(hours=1)))
        db.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return issue


@pytest.fixture
def tomorrow():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)


@pytest.fixture
def fixed_day():
    """A Tuesday in winter (London on UTC+0), far enough ahead for every rule."""
    return date(2030, 1, 15)


@pytest.fixture
def wait_plan(app, client):
    def wait(plan_id, headers):
        assert jobs.wait_idle(app, timeout=60)
        body = client.get(f"/api/route-plans/{plan_id}", headers=headers).get_json()
        assert body["status"] not in ("queued", "solving"), body
        return body

    return wait
