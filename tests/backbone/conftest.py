import secrets
from datetime import timedelta

import pytest

from backend.auth.models import Token
from backend.common import sha256_hex, utcnow


@pytest.fixture
def token_for(db):
    """A bearer token issued straight into the database (no password hashing: fast)."""

    def issue(user, hours=1):
        raw = secrets.token_urlsafe(16)
        db.session.add(Token(user_id=user.id, token_hash=sha256_hex(raw), device_id="matrix", expires_at=utcnow() + timedelta(hours=hours)))
        db.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return issue
