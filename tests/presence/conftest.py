"""Presence fixtures: an agent with a published visit, its day packet, and the badge link its
phone would make from the packet (the same HMAC the PWA computes with WebCrypto)."""
import base64
import hashlib
import hmac
from datetime import datetime, timezone

import pytest


@pytest.fixture
def field_agent(make_agent):
    """The agent of tests/conftest.py's published day, with a badge number."""
    return make_agent(badge_no="SH-0042")


@pytest.fixture
def agent_headers(auth, field_agent):
    return auth(field_agent.user, device_id="phone-1")


@pytest.fixture
def packet_visit(client, agent_headers, owned_visit, day):
    """The visit as the agent's day packet carries it."""
    response = client.get(f"/api/sync/packet?date={day.isoformat()}", headers=agent_headers)
    assert response.status_code == 200, response.get_json()
    return next(v for v in response.get_json()["visits"] if v["id"] == owned_visit.id)


def sign_link(brief: dict, *, at: datetime | None = None, device_id: str = "phone-1") -> str:
    """The token the phone puts after `#` in the badge link, made from the packet's key alone."""
    key = base64.urlsafe_b64decode(brief["badge_key"] + "=" * (-len(brief["badge_key"]) % 4))
    at_s = int((at or datetime.now(timezone.utc)).timestamp())
    message = f"{brief['id']}.{at_s}.{device_id}"
    signature = base64.urlsafe_b64encode(hmac.new(key, message.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return f"{message}.{signature}"


@pytest.fixture
def link():
    return sign_link
