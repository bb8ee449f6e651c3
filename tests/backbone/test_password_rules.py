"""Passwords: not one of the commonest, not the username (a per-field 422)."""
import pytest

A = {"REMOTE_ADDR": "203.0.113.10"}


def _login(client, username, password, address=A):
    return client.post("/api/auth/login", json={"username": username, "password": password}, environ_base=address)


@pytest.mark.parametrize("password, reason", [
    ("password123", "common"), ("Password123", "common"), ("qwertyuiop", "common"),
    ("newagent", "username"), ("my-NewAgent-2024", "username"),
])
def test_weak_passwords_are_refused_on_create(client, make_user, auth, password, reason):
    admin = auth(make_user(role="admin"))
    response = client.post("/api/users", json={"username": "newagent", "password": password, "role": "agent"}, headers=admin)
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["errors"]) == {"password"}
    assert reason in " ".join(body["errors"]["password"])


@pytest.mark.parametrize("password", ["password123", "xx-hanmei-xx"])
def test_weak_passwords_are_refused_on_change(client, make_user, auth, password):
    user = make_user(username="hanmei")
    admin = auth(make_user(role="admin"))
    response = client.patch(f"/api/users/{user.id}", json={"password": password}, headers=admin)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"password"}
    assert _login(client, "hanmei", "secret-pass").status_code == 200  # unchanged


def test_a_good_password_is_accepted(client, make_user, auth):
    admin = auth(make_user(role="admin"))
    response = client.post("/api/users", json={"username": "newagent", "password": "Tide-Lantern-47", "role": "agent"},
                           headers=admin)
    assert response.status_code == 201


def test_the_cli_refuses_a_weak_first_admin_password(app, db):
    from sqlalchemy import select

    from backend.auth.models import User

    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "root", "--role", "admin", "--password", "password1"])
    assert weak.exit_code != 0 and "common" in weak.output
    assert db.session.scalar(select(User).where(User.username == "root")) is None
    ok = runner.invoke(args=["users", "create", "root", "--role", "admin", "--password", "Tide-Lantern-47"])
    assert ok.exit_code == 0, ok.output
