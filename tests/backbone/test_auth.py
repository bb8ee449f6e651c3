from datetime import timedelta

from sqlalchemy import select

from backend.auth.models import Token
from backend.common import utcnow


def _login(client, username, password="secret-pass", device_id="phone-1"):
    return client.post("/api/auth/login", json={"username": username, "password": password, "device_id": device_id})


def test_login_returns_token_and_user(client, make_user, db):
    user = make_user(role="dispatcher", username="dora")
    response = _login(client, "dora")
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == {**body["user"], "id": user.id, "username": "dora", "role": "dispatcher"}
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.get_json()["username"] == "dora"
    # only the hash is stored, never the token
    stored = db.session.scalars(select(Token)).all()
    assert len(stored) == 1 and stored[0].token_hash != body["token"] and len(stored[0].token_hash) == 64


def test_wrong_password_and_unknown_user_look_the_same(client, make_user):
    make_user(username="ann")
    wrong = _login(client, "ann", "nope")
    unknown = _login(client, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["code"] == "bad_credentials"


def test_login_validation_is_per_field(client):
    response = client.post("/api/auth/login", json={"username": ""})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"username", "password"}


def test_logout_revokes_the_token(client, make_user):
    make_user(username="lou")
    headers = {"Authorization": f"Bearer {_login(client, 'lou').get_json()['token']}"}
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_invalid"


def test_expired_token_is_refused(client, make_user, db):
    make_user(username="eve")
    headers = {"Authorization": f"Bearer {_login(client, 'eve').get_json()['token']}"}
    token = db.session.scalars(select(Token)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_admin_revokes_a_lost_phone(client, make_user, make_agent, auth):
    agent = make_agent(user=make_user(role="agent", username="field1"))
    phone = {"Authorization": f"Bearer {_login(client, 'field1', device_id='lost-phone').get_json()['token']}"}
    tablet = {"Authorization": f"Bearer {_login(client, 'field1', device_id='tablet').get_json()['token']}"}
    admin = auth(make_user(role="admin"))
    response = client.post(f"/api/agents/{agent.id}/revoke-tokens", json={"device_id": "lost-phone", "reason": "lost"}, headers=admin)
    assert response.get_json() == {"revoked": 1}
    assert client.get("/api/auth/me", headers=phone).status_code == 401
    assert client.get("/api/auth/me", headers=tablet).status_code == 200
    client.post(f"/api/agents/{agent.id}/revoke-tokens", json={}, headers=admin)
    assert client.get("/api/auth/me", headers=tablet).status_code == 401


def test_disabled_user_loses_access(client, make_user, auth):
    user = make_user(role="owner", username="gone")
    headers = auth(user)
    admin = auth(make_user(role="admin"))
    assert client.patch(f"/api/users/{user.id}", json={"active": False}, headers=admin).status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert _login(client, "gone").status_code == 401


def test_repeated_failures_are_rate_limited(client, make_user, app):
    make_user(username="target")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert _login(client, "target", "guess").status_code == 401
    blocked = _login(client, "target")  # even the right password, while blocked
    assert blocked.status_code == 429
    assert blocked.get_json()["code"] == "rate_limited"
    # another user is unaffected
    make_user(username="bystander")
    assert _login(client, "bystander").status_code == 200


def test_failures_before_a_success_do_not_count(client, make_user, app):
    make_user(username="typo")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        _login(client, "typo", "guess")
    assert _login(client, "typo").status_code == 200
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        _login(client, "typo", "guess")
    assert _login(client, "typo").status_code == 200


def test_bearer_header_must_be_well_formed(client):
    for value in ("", "Basic abc", "Bearer ", "Bearer nonsense"):
        response = client.get("/api/auth/me", headers={"Authorization": value})
        assert response.status_code == 401
        assert set(response.get_json()) >= {"code", "message", "errors"}


def test_cookies_never_authenticate(client, make_user):
    make_user(username="cookie")
    token = _login(client, "cookie").get_json()["token"]
    client.set_cookie("token", token)
    assert client.get("/api/auth/me").status_code == 401


def test_a_busy_database_does_not_fail_a_request_over_last_seen(client, make_user, db, monkeypatch):
    from sqlalchemy.exc import OperationalError

    make_user(username="busy")
    headers = {"Authorization": f"Bearer {_login(client, 'busy').get_json()['token']}"}
    real_commit = db.session.commit

    def locked():
        raise OperationalError("UPDATE tokens", {}, Exception("database is locked"))

    monkeypatch.setattr(db.session, "commit", locked)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    monkeypatch.setattr(db.session, "commit", real_commit)
