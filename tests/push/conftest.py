"""A real local push endpoint and a real browser-side key pair, for end-to-end push tests.

Nothing in pywebpush is mocked: the server encrypts and signs for real, POSTs over HTTP
to a server on 127.0.0.1, and the test decrypts what arrived with the browser's keys.
"""
import pytest

from backend import jobs
from tests.push.push_service import BrowserKeys, push_service  # noqa: F401 (push_service is a fixture)


@pytest.fixture
def browser_keys():
    return BrowserKeys


@pytest.fixture(autouse=True)
def quick_retries(app, monkeypatch):
    """Retries after 50 ms, 100 ms, ... so a test sees the whole backoff; every send settles before the next test."""
    monkeypatch.setitem(app.config, "PUSH_BACKOFF_S", 0.05)
    monkeypatch.setitem(app.config, "PUSH_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "PUSH_TIMEOUT_S", 2)
    yield
    assert jobs.wait_idle(app, timeout=30), "push sends still running after the test"


@pytest.fixture
def settle(app):
    """Wait until every queued send, retry and prune has finished."""

    def wait(timeout: float = 15) -> None:
        assert jobs.wait_idle(app, timeout=timeout), "push sends did not settle"

    return wait


@pytest.fixture
def subscribe(client, auth):
    """subscribe(user, endpoint, keys) -> response of POST /api/push/subscriptions (through the real API)."""

    def post(user, endpoint, keys, **extra):
        body = {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
        body.update(extra)
        return client.post("/api/push/subscriptions", json=body, headers=auth(user))

    return post
