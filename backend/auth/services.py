import ipaddress
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, func, select, update

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
    """A new password (checked against the deny list and the username); every session ends and
    the sign-in throttle is lifted."""
    problems = password_problems(password, user.username)
    if problems:
        abort(422, "The request has invalid fields.", errors={"password": problems})
    user.password_hash = hash_password(password)
    revoke_user_tokens(user=user, reason="password changed")
    clear_throttle(user=user)


def client_address(remote_addr: str) -> str:
    """The address sign-ins are counted by: IPv4 as it is, IPv6 as its /64 (one subscriber's
    network, which a single host can rotate through at will). `request.remote_addr` is the
    proxy's X-Forwarded-For only when PROXY_FIX is set (backend/__init__.py)."""
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr[:64]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _failures(*conditions, since) -> int:
    return db.session.scalar(select(func.count()).where(LoginAttempt.success.is_(False), LoginAttempt.at > since, *conditions))


def _throttled_for(username: str, address: str) -> int | None:
    """Seconds to wait when sign-ins for this username from this address are held back, else None.

    Three counters of failed sign-ins (OWASP ASVS 2.2.1): for this username from this address
    (the few typos a person makes, cleared by a success from there), from this address for any
    username (one machine guessing many accounts), and for this username from anywhere — a
    ceiling far above what a person types, so guesses spread over many addresses stay bounded
    without one address being able to lock the real user out."""
    config = current_app.config
    now = utcnow()
    window = config["LOGIN_FAILURE_WINDOW_S"]
    since = now - timedelta(seconds=window)
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.ip == address, LoginAttempt.success.is_(True)
        )
    )
    pair_since = max(since, last_success) if last_success else since
    if _failures(LoginAttempt.username == username, LoginAttempt.ip == address, since=pair_since) >= config["LOGIN_MAX_FAILURES"]:
        return window
    if _failures(LoginAttempt.ip == address, since=since) >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        return window
    ceiling_window = config["LOGIN_USER_CEILING_WINDOW_S"]
    ceiling_since = now - timedelta(seconds=ceiling_window)
    if _failures(LoginAttempt.username == username, since=ceiling_since) >= config["LOGIN_MAX_FAILURES_PER_USER"]:
        return ceiling_window
    return None


def clear_throttle(*, user: User) -> None:
    """A password reset lifts every hold on the user's sign-ins (its failed attempts are forgotten)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == user.username, LoginAttempt.success.is_(False)))


def log_in(*, username: str, password: str, device_id: str = "", ip: str = "") -> tuple[str, Token]:
    """Check the password (throttled by username and client address) and issue a new opaque token."""
    address = client_address(ip)
    wait_s = _throttled_for(username, address)
    if wait_s is not None:
        abort(
            429,
            "Too many failed sign-ins; wait and try again.",
            code="rate_limited",
            retry_after_s=wait_s,
        )
    user = db.session.scalar(select(User).where(User.username == username))
    if user is not None and user.active:
        ok = check_password(user, password)
    else:
        _spend_a_verification(password)
        ok = False
    db.session.add(LoginAttempt(username=username, ip=address, success=ok))
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
