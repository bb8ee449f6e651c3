"""Web push delivery: queued during the request, sent after the commit, off the request thread.

A message is plain data ({kind, user_id, data, topic}) so that a job queue can carry it:
with JOBS_BACKEND=rq, `send_push` is the job and retries are delayed jobs (`deliver_push`).
In the embedded default a small thread
pool runs it and retries wait on timers, so the request that caused a message never
waits for a push service and never fails because of one.

Push is a nudge, not the record: every change it announces is also in the agent's
delta feed (sync), which the device pulls when woken or opened.
"""
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from flask import Flask, current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from ..common import utcnow
from ..extensions import db
from ..jobs import enqueue, uses_rq
from .addresses import pinned_session
from .models import PushSubscription
from .vapid import get_vapid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    ttl: int  # seconds the push service keeps it for a sleeping phone (pywebpush's default 0 drops it)
    urgency: str  # RFC 8030 Urgency: very-low | low | normal | high


KINDS = {
    # a stop-work prevents an unlawful visit: wake the phone now, keep it a day
    "stop_work": Kind(ttl=24 * 3600, urgency="high"),
    "visit_cancelled": Kind(ttl=24 * 3600, urgency="high"),
    "route_published": Kind(ttl=12 * 3600, urgency="normal"),
    "plan_decided": Kind(ttl=3 * 24 * 3600, urgency="normal"),
}

# RFC 8030: the subscription expired or was unsubscribed; it will never work again
_GONE = {404, 410}

_PENDING = "doorstep_push_pending"


@dataclass
class _Queued:
    transaction: SessionTransaction
    app: Flask
    message: dict


# --- queueing inside the request's transaction ----------------------------------------


def queue_push(*, kind: str, user_id: int, data: dict, topic: str | None = None) -> None:
    """Send `data` to the user's devices once the current transaction commits (never on rollback)."""
    if kind not in KINDS:
        raise ValueError(f"unknown push kind {kind!r}")
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    message = {"kind": kind, "user_id": user_id, "data": data, "topic": topic}
    session.info.setdefault(_PENDING, []).append(_Queued(transaction, current_app._get_current_object(), message))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its messages wait for the outer commit
    queued = session.info.pop(_PENDING, None)
    for item in queued or ():
        try:
            if uses_rq(item.app):
                with item.app.app_context():
                    enqueue(send_push, message=item.message)
            else:
                dispatcher().submit(send_message, item.app, item.message)
        except Exception:  # raising here would fail the commit's caller
            log.exception("push: could not hand over %s", item.message["kind"])


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    queued = session.info.get(_PENDING)
    if queued:
        queued[:] = [item for item in queued if not _within(item.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction ended: what its commit did not send is dropped
        session.info.pop(_PENDING, None)


# --- the in-process runner -------------------------------------------------------------


class Dispatcher:
    """A thread pool for sends plus daemon timers for retries; counts work in flight."""

    def __init__(self, workers: int = 4):
        self.pid = os.getpid()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push")
        self._in_flight = 0
        self._idle = threading.Condition()

    def submit(self, func, *args) -> None:
        self._enter()
        try:
            self._executor.submit(self._run, func, args)
        except Exception:  # the pool is shutting down with the interpreter
            self._leave()
            raise

    def later(self, delay_s: float, func, *args) -> None:
        self._enter()
        timer = threading.Timer(delay_s, self._fire, (func, args))
        timer.daemon = True
        timer.start()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued, running or waiting to retry (tests, graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def _fire(self, func, args) -> None:
        try:
            self.submit(func, *args)
        finally:
            self._leave()

    def _run(self, func, args) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("push: %s failed", getattr(func, "__name__", func))
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._idle:
            self._in_flight += 1

    def _leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()


_dispatcher: Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def dispatcher() -> Dispatcher:
    """One per process (a forked gunicorn worker makes its own)."""
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None or _dispatcher.pid != os.getpid():
            _dispatcher = Dispatcher()
        return _dispatcher


# --- sending ---------------------------------------------------------------------------


def send_message(app: Flask, message: dict) -> None:
    """Fan one message out to every subscription its user has (the job)."""
    with app.app_context():
        ids = db.session.scalars(
            select(PushSubscription.id).where(PushSubscription.user_id == message["user_id"])
        ).all()
    for subscription_id in ids:
        deliver(app, subscription_id, message, attempt=1)


def send_push(*, message: dict) -> None:
    """The RQ job (JOBS_BACKEND=rq): the message is plain JSON, the worker's app is current."""
    send_message(current_app._get_current_object(), message)


def deliver_push(*, subscription_id: int, message: dict, attempt: int) -> None:
    """The RQ job for a retry, scheduled by the queue after its back-off."""
    deliver(current_app._get_current_object(), subscription_id, message, attempt)


def deliver(app: Flask, subscription_id: int, message: dict, attempt: int) -> None:
    """One attempt to one subscription; schedules its own retry when the failure is transient."""
    with app.app_context():
        retry_in = _attempt(subscription_id, message, attempt)
        max_attempts = int(app.config.get("PUSH_MAX_ATTEMPTS", 5))
        if retry_in is not None and attempt < max_attempts:
            if uses_rq(app):  # a timer would die with the RQ work-horse: the queue's scheduler waits
                enqueue(deliver_push, delay_s=retry_in, subscription_id=subscription_id, message=message,
                        attempt=attempt + 1)
            else:
                dispatcher().later(retry_in, deliver, app, subscription_id, message, attempt + 1)
            return
        if retry_in is not None:
            _record_failure(subscription_id, f"gave up after {attempt} attempts")


def _attempt(subscription_id: int, message: dict, attempt: int) -> float | None:
    """Send once and record what happened; returns the delay before a retry, or None."""
    subscription = db.session.get(PushSubscription, subscription_id)
    if subscription is None or subscription.user_id != message["user_id"]:
        return None  # unsubscribed, pruned, or the phone now belongs to someone else
    if subscription.expires_at is not None and subscription.expires_at <= utcnow():
        db.session.delete(subscription)
        db.session.commit()
        return None
    kind = KINDS[message["kind"]]
    payload = {"kind": message["kind"], "locale": subscription.user.locale, **message["data"]}
    headers = {"Urgency": kind.urgency}
    if message.get("topic"):
        headers["Topic"] = message["topic"]
    # the endpoint came from a browser: connect only to a public address, the one checked
    # (backend/push/addresses.py), and take a redirect as the answer, not follow it
    allow_loopback = bool(current_app.config.get("PUSH_ALLOW_INSECURE_ENDPOINTS"))
    try:
        with pinned_session(allow_loopback=allow_loopback) as session:
            webpush(
                subscription_info=subscription.subscription_info(),
                data=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                vapid_private_key=get_vapid(current_app),
                vapid_claims={"sub": current_app.config["VAPID_SUBJECT"]},  # aud and exp are filled per endpoint
                ttl=kind.ttl,
                headers=headers,
                timeout=float(current_app.config.get("PUSH_TIMEOUT_S", 10)),
                requests_session=session,
            )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        return _failed(subscription, status, exc, attempt)
    except requests.RequestException as exc:  # time-out, refused, reset: the service may come back
        return _failed(subscription, None, exc, attempt, transient=True)
    except Exception as exc:  # e.g. a bad VAPID subject, a non-public address: recorded on the row, not retried
        return _failed(subscription, None, exc, attempt)
    subscription.last_success_at = utcnow()
    subscription.failure_count = 0
    subscription.last_error = None
    db.session.commit()
    return None


def _failed(subscription: PushSubscription, status: int | None, exc: Exception, attempt: int,
            transient: bool = False) -> float | None:
    if status in _GONE:
        log.info("push: subscription %s gone (%s), removed", subscription.id, status)
        db.session.delete(subscription)
        db.session.commit()
        return None
    # 5xx, 429 and network errors may pass later; 400/401/403/413 would fail the same way again
    retryable = transient or status == 429 or (status is not None and status >= 500)
    subscription.last_failure_at = utcnow()
    subscription.last_error = f"{status or type(exc).__name__}: {exc}"[:255]
    if not retryable:
        subscription.failure_count += 1
        db.session.commit()
        log.warning("push: subscription %s refused (%s)", subscription.id, subscription.last_error)
        return None
    db.session.commit()
    return _backoff(attempt, getattr(exc, "response", None))


def _backoff(attempt: int, response) -> float:
    """Exponential (base × 2^(n-1)), never sooner than the service's Retry-After, capped."""
    base = float(current_app.config.get("PUSH_BACKOFF_S", 2.0))
    cap = float(current_app.config.get("PUSH_BACKOFF_MAX_S", 300.0))
    delay = base * 2 ** (attempt - 1)
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    if retry_after.isdigit():
        delay = max(delay, float(retry_after))
    return min(delay, cap)


def _record_failure(subscription_id: int, reason: str) -> None:
    subscription = db.session.get(PushSubscription, subscription_id)
    if subscription is not None:
        subscription.failure_count += 1
        subscription.last_error = (f"{reason}; {subscription.last_error or ''}")[:255]
        db.session.commit()
        log.warning("push: subscription %s: %s", subscription_id, subscription.last_error)
