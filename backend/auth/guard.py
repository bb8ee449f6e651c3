"""Bearer-token authentication and role checks, declared on each view.

`@roles(...)` goes right under `@blp.route` so authentication runs before input
validation, and it writes the allowed roles into the OpenAPI operation (`x-roles`).
"""

from copy import deepcopy
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from ..common import sha256_hex, utcnow
from ..errors import abort
from ..extensions import db
from ..org.models import Agent
from .models import Token, User

PUBLIC = "public"


def _token_query():
    """Built once, on first use (the mappers must all be imported): the token with its user, the
    user's agent profile and its branch in one round trip, as every request reads them."""
    global _TOKEN
    if _TOKEN is None:
        _TOKEN = (
            select(Token)
            .where(Token.token_hash == bindparam("token_hash"))
            .options(joinedload(Token.user).joinedload(User.agent).joinedload(Agent.branch))
        )
    return _TOKEN


_TOKEN = None


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        abort(401, "Sign in first: send Authorization: Bearer <token>.")
    token = db.session.scalars(_token_query(), {"token_hash": sha256_hex(raw.strip())}).first()
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        abort(401, "This session has ended or was revoked; sign in again.", code="token_invalid")
    user = token.user
    if not user.active:
        abort(401, "This account is disabled.", code="account_disabled")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        # best effort: a busy database must not fail the request over a "last seen" time
        token.last_used_at = now
        try:
            db.session.commit()
        except OperationalError as exc:
            db.session.rollback()
            current_app.logger.info("token last-used time not recorded (database busy): %s", exc)
    g.token = token
    g.user = user
    g.agent = user.agent if user.role == "agent" else None
    return user


def roles(*allowed: str):
    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            if PUBLIC not in allowed:
                user = _authenticate()
                if user.role not in allowed:
                    abort(403, f"The {user.role} role may not do this.")
            return func(*args, **kwargs)

        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["x-roles"] = [r for r in allowed if r != PUBLIC]
        if PUBLIC in allowed:
            manual["security"] = []
        else:
            responses = manual.setdefault("responses", {})
            responses.setdefault(401, {"description": "Not signed in, or the token expired or was revoked"})
            responses.setdefault(403, {"description": "Role not allowed"})
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


ANY_ROLE = ("agent", "dispatcher", "owner", "admin")
OFFICE = ("dispatcher", "owner", "admin")
