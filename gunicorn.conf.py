"""gunicorn for production (compose.yaml, scripts/stack.sh): `gunicorn -c gunicorn.conf.py wsgi:app`.

- refuses to start without the production settings (backend/config.py), before any fork;
- logs as JSON lines through backend/logs.py (its own access log off: the app writes one line
  per request, by route);
- Prometheus multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set: the directory is made and
  emptied here, before the app (and prometheus_client) is imported, and a dead worker's live
  gauges are dropped.
Command-line flags (--bind, --workers, --threads) override what is set here.
"""

import os
from pathlib import Path

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    Path(_metrics_dir).mkdir(parents=True, exist_ok=True)
    for stale in Path(_metrics_dir).glob("*.db"):  # samples of a previous run's processes
        stale.unlink()

from backend.config import require_production_settings  # noqa: E402  (after the metrics dir exists)
from backend.logs import gunicorn_logconfig  # noqa: E402

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# 2–4 workers per core, a few threads each: requests mostly wait on PostgreSQL (docs/deploy.md)
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 120
graceful_timeout = 30
accesslog = None
logconfig_dict = gunicorn_logconfig(os.environ.get("LOG_LEVEL", "INFO").upper())


def on_starting(server):
    require_production_settings()


def child_exit(server, worker):
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
