"""A real Redis (Debian's redis-server, started per session on a free loopback port) and real
RQ worker processes (`python -m backend.worker`) on the tests' own database."""
import os
import subprocess
import sys

import pytest

from backend.config import ROOT

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
