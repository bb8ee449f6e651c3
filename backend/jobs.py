"""Background work, by settings: in-process threads (the embedded default) or an RQ queue
on Redis (production: `JOBS_BACKEND=rq`, `REDIS_URL`, and `python -m backend.worker`).

A job is a module-level function taking keyword arguments; it runs inside an app context.
"""
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

from flask import Flask, current_app

_executor: ThreadPoolExecutor | None = None


def _path(fn) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def run_job(path: str, kwargs: dict) -> None:
    """Entry point for RQ workers (the worker has already pushed an app context)."""
    _resolve(path)(**kwargs)


def _run_in_context(app: Flask, path: str, kwargs: dict) -> None:
    with app.app_context():
        try:
            _resolve(path)(**kwargs)
        except Exception:
            app.logger.exception("background job %s failed", path)
            raise


def enqueue(fn, /, **kwargs) -> None:
    """Run fn(**kwargs) in the background; never in the caller's transaction."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_BACKEND") == "rq":
        from redis import Redis
        from rq import Queue

        queue = Queue(app.config.get("JOBS_QUEUE", "doorstep"), connection=Redis.from_url(app.config["REDIS_URL"]))
        queue.enqueue(run_job, _path(fn), kwargs, job_timeout=app.config.get("JOBS_TIMEOUT_S", 900))
        return
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=app.config.get("JOBS_THREADS", 2), thread_name_prefix="doorstep-job")
    _executor.submit(_run_in_context, app, _path(fn), kwargs)
