import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select, update

from ..common import sha256_hex, utcnow
from ..errors import abort
from ..extensions import db
from .models import AuditEvent, LoginAttempt, Token, User
from .passwords import password_problems

def _hasher() -> PasswordHasher:
    # argon2id with the library's defaults; tests lower the cost (TestConfig)
    return PasswordHasher(**current_app.config.get("ARGON2_PARAMS", {}))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[tuple, str] = {}


def _spend_a_verification(password: str) -> None:
    """The same argon2 work as checking a real password, for a username that does not exist or
    is disabled: a failed sign-in takes as long either way, so its timing names no account."""
    params = tuple(sorted(current_app.config.get("ARGON2_PARAMS", {}).items()))
    dummy = _DUMMY_HASHES.get(params)
    if dummy is None:
        dummy = _DUMMY_HASHES.setdefault(params, _hasher().hash(secrets.token_urlsafe(32)))
    try:
        _hasher().verify(dummy, password)
    except (VerificationError, InvalidHashError):
        pass


def create_user(*, username: str, password: str, role: str, display_name: str = "", locale: str = "zh-CN") -> User:
    if db.session.scalar(select(User).where(User.username == username)):
        abort(409, "That username is taken.", errors={"username": ["already exists"]})
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name or username,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(*, user: User, password: str) -> None:
    """A new password (checked against the deny list and the username); every session ends."""
    problems = password_problems(password, user.username)
    if problems:
        abort(422, "The request has invalid fields.", errors={"password": problems})
    user.password_hash = hash_password(password)
    revoke_user_tokens(user=user, reason="password changed")


def _recent_failures(username: str) -> int:
    window = timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_S"])
    since = utcnow() - window
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.username == username, LoginAttempt.success.is_(True))
    )
    if last_success and last_success > since:
        since = last_success
    return db.session.scalar(
        select(func.count()).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
    )


def log_in(*, username: str, password: str, device_id: str = "", ip: str = "") -> tuple[str, Token]:
    """Check the password (rate-limited per username) and issue a new opaque token."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if _recent_failures(username) >= limit:
        window = current_app.config["LOGIN_FAILURE_WINDOW_S"]
        abort(
            429,
            "Too many failed sign-ins for this user; wait and try again.",
            code="rate_limited",
            retry_after_s=window,
        )
    user = db.session.scalar(select(User).where(User.username == username))
    if user is not None and user.active:
        ok = check_password(user, password)
    else:
        _spend_a_verification(password)
        ok = False
    db.session.add(LoginAttempt(username=username, ip=ip, success=ok))
    if not ok:
        db.session.commit()
        abort(401, "Wrong username or password.", code="bad_credentials")
    raw = secrets.token_urlsafe(32)
    token = Token(
        user_id=user.id,
        token_hash=sha256_hex(raw),
        device_id=device_id[:64],
        expires_at=utcnow() + timedelta(hours=current_app.config["TOKEN_TTL_HOURS"]),
    )
    db.session.add(token)
    db.session.commit()
    return raw, token


def revoke_token(*, token: Token, reason: str) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.revoked_reason = reason[:120]


def revoke_user_tokens(*, user: User, reason: str, device_id: str | None = None) -> int:
    stmt = update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
    if device_id:
        stmt = stmt.where(Token.device_id == device_id)
    result = db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason[:120]))
    return result.rowcount


def audit(*, actor: User | None, action: str, target: str = "", **data) -> None:
    db.session.add(AuditEvent(actor_id=actor.id if actor else None, action=action, target=target, data=data))
