"""A real Redis (Debian's redis-server, started per session on a free loopback port) and real
RQ worker processes (`python -m backend.worker`) on the tests' own database."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from backend.config import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("Debian's redis-server is not installed (make stack installs it)")
    from redis import Redis

    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="doorstep-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def rq_app(app, redis_url, monkeypatch):
    """The test app switched to the RQ backend on the session's Redis, on a queue of its own."""
    from redis import Redis

    monkeypatch.setitem(app.config, "JOBS_BACKEND", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", "doorstep-scale-tests")
    Redis.from_url(redis_url).flushdb()
    return app


# the production layout (docs/deploy.md, scripts/stack.sh): a worker for the urgent queues
# only, always free for a push, and one for every queue in order of urgency
WORKERS = {"urgent": ["push", "packets"], "all": []}


@pytest.fixture
def rq_workers(rq_app):
    """`python -m backend.worker` processes as laid out in WORKERS, on the same database, Redis
    and instance directory (VAPID key) as the tests; stopped after the test."""
    env = {
        **os.environ,
        "DATABASE_URL": rq_app.config["SQLALCHEMY_DATABASE_URI"],
        "JOBS_BACKEND": "rq",
        "REDIS_URL": rq_app.config["REDIS_URL"],
        "JOBS_QUEUE": rq_app.config["JOBS_QUEUE"],
        "DOORSTEP_INSTANCE": rq_app.instance_path,
        "SECRET_KEY": rq_app.config["SECRET_KEY"],
        "PUSH_ALLOW_INSECURE_ENDPOINTS": "1",
        "PUSH_BACKOFF_S": "0.2",
        "PUSH_MAX_ATTEMPTS": "3",
    }
    processes = {
        name: subprocess.Popen([sys.executable, "-m", "backend.worker", *queues], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name, queues in WORKERS.items()
    }
    yield processes
    outputs = []
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        outputs.append(output)
    for output in outputs:
        assert "Traceback" not in output, output
