"""Push API shapes. A browser's PushSubscription.toJSON() loads as it is."""

import re
from base64 import urlsafe_b64decode
from datetime import UTC, datetime
from urllib.parse import urlsplit

import marshmallow as ma
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from ..common import UTCDateTime
from .addresses import is_loopback, looks_private

_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def decode_b64url(value: str) -> bytes:
    """Strict base64url (padding optional): Python's decoder would skip stray characters."""
    if not _B64URL.match(value or ""):
        raise ma.ValidationError("Not base64url (A-Z a-z 0-9 - _).")
    stripped = value.rstrip("=")
    try:
        return urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except ValueError as exc:
        raise ma.ValidationError("Not base64url (A-Z a-z 0-9 - _).") from exc


def _validate_p256dh(value: str) -> None:
    raw = decode_b64url(value)
    if len(raw) != 65 or raw[0] != 0x04:
        raise ma.ValidationError(f"Must be an uncompressed P-256 point (65 bytes starting 0x04); got {len(raw)} bytes.")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise ma.ValidationError("Not a point on the P-256 curve.") from exc


def _validate_auth(value: str) -> None:
    raw = decode_b64url(value)
    if len(raw) != 16:
        raise ma.ValidationError(f"Must be a 16-byte auth secret; got {len(raw)} bytes.")


def _validate_endpoint(value: str) -> None:
    """https to a public push service; loopback http only when the setting allows it (tests, local
    runs). The host is resolved here and again at every send (backend/push/addresses.py)."""
    allow_local = bool(current_app.config.get("PUSH_ALLOW_INSECURE_ENDPOINTS"))
    expected = "an https URL of a push service" + (" (or http://127.0.0.1 / localhost)" if allow_local else "")
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ma.ValidationError(f"Must be {expected}.") from exc
    if parts.username or parts.password or not host:
        raise ma.ValidationError(f"Must be {expected}.")
    if allow_local and parts.scheme in ("http", "https") and is_loopback(host):
        return
    if parts.scheme != "https" or looks_private(host, allow_loopback=False):
        # the server POSTs to this URL: never to itself or the private network
        raise ma.ValidationError(f"Must be {expected}, at a public address.")


class KeysSchema(ma.Schema):
    p256dh = ma.fields.String(required=True, validate=_validate_p256dh)
    auth = ma.fields.String(required=True, validate=_validate_auth)

    @ma.post_load
    def _unpadded(self, data, **kwargs):
        return {name: value.rstrip("=") for name, value in data.items()}


class SubscriptionCreateSchema(ma.Schema):
    """PushSubscription.toJSON() plus the device it lives on."""

    endpoint = ma.fields.String(required=True, validate=[ma.validate.Length(max=1024), _validate_endpoint])
    keys = ma.fields.Nested(KeysSchema, required=True)
    expiration_time = ma.fields.Integer(
        allow_none=True,
        load_default=None,
        data_key="expirationTime",
        validate=ma.validate.Range(min=0, max=253402300799000),  # up to year 9999
        metadata={"description": "ms since the epoch, as the browser gives it"},
    )
    device_id = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=64),
        metadata={"description": "defaults to the device id given at sign-in"},
    )
    old_endpoint = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=1024),
        metadata={"description": "the subscription this one replaces (pushsubscriptionchange); removed if it is yours"},
    )

    @ma.post_load
    def _expiry(self, data, **kwargs):
        millis = data.pop("expiration_time")
        data["expires_at"] = datetime.fromtimestamp(millis / 1000, tz=UTC).replace(tzinfo=None) if millis else None
        return data


class SubscriptionDeleteSchema(ma.Schema):
    endpoint = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer()
    endpoint = ma.fields.String()
    device_id = ma.fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    expires_at = UTCDateTime(allow_none=True)
    last_success_at = UTCDateTime(allow_none=True)
    last_failure_at = UTCDateTime(allow_none=True)
    failure_count = ma.fields.Integer()


class VapidKeySchema(ma.Schema):
    publicKey = ma.fields.String(required=True, metadata={"description": "uncompressed P-256 point, base64url: the applicationServerKey"})
