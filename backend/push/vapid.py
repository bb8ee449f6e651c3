"""The server's VAPID key pair (RFC 8292): from the environment, or made once under instance/.

py-vapid holds the key and signs the JWT; nothing here does cryptography by hand.
"""

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import Flask
from py_vapid import Vapid
from py_vapid.utils import b64urlencode

KEY_FILE = "vapid_private.pem"
_EXTENSION = "doorstep_vapid"


def get_vapid(app: Flask) -> Vapid:
    """The app's VAPID key, loaded (or created) once per process."""
    vapid = app.extensions.get(_EXTENSION)
    if vapid is None:
        configured = (app.config.get("VAPID_PRIVATE_KEY") or "").strip()
        vapid = _from_setting(configured) if configured else _from_instance(Path(app.instance_path) / KEY_FILE)
        app.extensions[_EXTENSION] = vapid
    return vapid


def public_key_b64(vapid: Vapid) -> str:
    """The applicationServerKey a browser needs: the uncompressed P-256 point, base64url."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64urlencode(raw)


def _from_setting(value: str) -> Vapid:
    """VAPID_PRIVATE_KEY as PEM, or base64url of the raw 32-byte scalar or of DER."""
    try:
        if "-----BEGIN" in value:
            return Vapid.from_pem(value.encode())
        return Vapid.from_string(value)
    except Exception as exc:  # a bad key must stop the start, with a readable reason
        raise RuntimeError(f"VAPID_PRIVATE_KEY is not a usable P-256 private key: {exc}") from exc


def _from_instance(path: Path) -> Vapid:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid = Vapid()
        vapid.generate_keys()
        # Written to a private temp file, then linked into place: several gunicorn
        # workers may start at once, and exactly one key must win (link fails if taken).
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vapid-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(vapid.private_pem())
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return Vapid.from_file(str(path))
