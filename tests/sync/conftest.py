"""Sync fixtures (the agent with a published day and `send` are in tests/conftest.py)."""

import pytest


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
