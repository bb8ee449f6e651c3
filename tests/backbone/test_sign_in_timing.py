"""A failed sign-in costs the same whether or not the username exists or is enabled."""
import argon2
import pytest

A = {"REMOTE_ADDR": "203.0.113.10"}


def _login(client, username, password, address=A):
    return client.post("/api/auth/login", json={"username": username, "password": password}, environ_base=address)


@pytest.fixture
def verifications(monkeypatch):
    calls = []
    real = argon2.PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    return calls


@pytest.mark.parametrize("who", ["unknown", "disabled", "wrong password"])
def test_every_failed_sign_in_costs_one_argon2_verification(client, make_user, db, verifications, who):
    user = make_user(username="gil")
    if who == "disabled":
        user.active = False
        db.session.commit()
    username = "nobody" if who == "unknown" else "gil"
    password = "wrong-guess" if who == "wrong password" else "secret-pass"
    response = _login(client, username, password)
    assert response.status_code == 401 and response.get_json()["code"] == "bad_credentials"
    assert len(verifications) == 1
    assert verifications[0].startswith("$argon2id$")
