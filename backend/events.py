"""In-process domain signals for best-effort notifications: a domain announces what happened;
push (a nudge to the phone) and the packet warm-up (a cache built ahead) listen.

A listener's failure is logged and never fails the request that emitted the event, so a write
that must happen with the change is a direct call in the caller's transaction, never a
listener; work that must wait for the commit is `backend.jobs.enqueue`.
"""

from collections import defaultdict
from collections.abc import Callable

from flask import current_app

_listeners: dict[str, list[Callable]] = defaultdict(list)


def on(name: str):
    def decorator(func):
        if func not in _listeners[name]:
            _listeners[name].append(func)
        return func

    return decorator


def off(name: str, func: Callable) -> None:
    """Stop `func` listening to `name` (a listener added for a while, e.g. by a test)."""
    if func in _listeners[name]:
        _listeners[name].remove(func)


def emit(name: str, **payload) -> None:
    for listener in list(_listeners[name]):
        try:
            listener(**payload)
        except Exception:  # a listener's failure never fails the caller
            current_app.logger.exception("listener for %s failed", name)
