"""Web push delivery: queued during the request, sent after the commit, off the request thread.

A message is plain data ({kind, user_id, data, topic}) carried by backend.jobs on its most
urgent queue, `push`: `send_push` fans it out to the user's subscriptions, and a transient
failure retries as a delayed job (`deliver_push`) — threads and timers in the embedded set-up,
RQ and its scheduler in production. The request that caused a message never waits for a push
service and never fails because of one.

Push is a nudge, not the record: every change it announces is also in the agent's
delta feed (sync), which the device pulls when woken or opened.
"""

import json
import logging
from dataclasses import dataclass

import requests
from flask import current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import select

from .. import metrics
from ..common import utcnow
from ..extensions import db
from ..jobs import enqueue
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


def queue_push(*, kind: str, user_id: int, data: dict, topic: str | None = None) -> None:
    """Send `data` to the user's devices once the current transaction commits (never on rollback)."""
    if kind not in KINDS:
        raise ValueError(f"unknown push kind {kind!r}")
    enqueue(send_push, queue="push", message={"kind": kind, "user_id": user_id, "data": data, "topic": topic})


# --- sending ---------------------------------------------------------------------------


def send_push(*, message: dict) -> None:
    """The job: fan one message out to every subscription its user has."""
    ids = db.session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == message["user_id"])).all()
    db.session.commit()  # no transaction held while the sends wait on push services
    for subscription_id in ids:
        deliver_push(subscription_id=subscription_id, message=message, attempt=1)


def deliver_push(*, subscription_id: int, message: dict, attempt: int) -> None:
    """One attempt to one subscription (also the job of a retry); a transient failure
    queues the next attempt after its back-off."""
    retry_in = _attempt(subscription_id, message, attempt)
    max_attempts = int(current_app.config.get("PUSH_MAX_ATTEMPTS", 5))
    if retry_in is not None and attempt < max_attempts:
        enqueue(deliver_push, queue="push", delay_s=retry_in, subscription_id=subscription_id, message=message, attempt=attempt + 1)
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
    metrics.count_push("sent")
    subscription.last_success_at = utcnow()
    subscription.failure_count = 0
    subscription.last_error = None
    db.session.commit()
    return None


def _failed(subscription: PushSubscription, status: int | None, exc: Exception, attempt: int, transient: bool = False) -> float | None:
    if status in _GONE:
        log.info("push: subscription %s gone (%s), removed", subscription.id, status)
        metrics.count_push("gone")
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
        metrics.count_push("refused")
        return None
    db.session.commit()
    metrics.count_push("retry")
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
