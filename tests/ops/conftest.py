"""Ops fixtures: a Redis of our own (Debian's redis-server on a free loopback port) for the
readiness and queue-depth checks with JOBS_BACKEND=rq."""

import socket

import pytest


@pytest.fixture
def closed_redis_url() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"
