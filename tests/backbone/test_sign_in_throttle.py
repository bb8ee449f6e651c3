"""Sign-in throttling that an attacker cannot turn against the real user: by (username, address),
by address, and a per-username ceiling far above what a person types."""

A = {"REMOTE_ADDR": "203.0.113.10"}
B = {"REMOTE_ADDR": "198.51.100.20"}


def _login(client, username, password, address=A, **headers):
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base=address, headers=headers)


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(client, make_user):
    make_user(username="ann")
    for _ in range(5):
        assert _login(client, "ann", "wrong-guess").status_code == 401
    locked = _login(client, "ann", "secret-pass")
    assert locked.status_code == 429 and locked.get_json()["code"] == "rate_limited"
    assert locked.get_json()["retry_after_s"] > 0
    # the real user, from their own address, still signs in
    assert _login(client, "ann", "secret-pass", address=B).status_code == 200


def test_a_forwarded_for_header_is_not_believed_without_proxy_fix(client, make_user):
    make_user(username="fay")
    for n in range(5):
        assert _login(client, "fay", "wrong-guess", **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code == 401
    assert _login(client, "fay", "secret-pass", **{"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_one_address_guessing_many_usernames_is_stopped(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 8)
    make_user(username="target")
    for n in range(8):
        assert _login(client, f"user{n}", "wrong-guess").status_code == 401
    assert _login(client, "target", "secret-pass").status_code == 429
    assert _login(client, "target", "secret-pass", address=B).status_code == 200


def test_a_username_has_a_ceiling_across_all_addresses(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_USER", 12)
    make_user(username="bob")
    for n in range(12):  # three guesses each from four addresses: under the per-address limit
        assert _login(client, "bob", "wrong-guess", address={"REMOTE_ADDR": f"192.0.2.{n // 3}"}).status_code == 401
    assert _login(client, "bob", "secret-pass", address=B).status_code == 429


def test_a_success_clears_its_own_address_only(client, make_user):
    make_user(username="cat")
    for _ in range(4):
        _login(client, "cat", "wrong-guess")
    assert _login(client, "cat", "secret-pass").status_code == 200
    for _ in range(4):
        assert _login(client, "cat", "wrong-guess").status_code == 401
    assert _login(client, "cat", "secret-pass").status_code == 200


def test_a_password_reset_lifts_the_throttle(client, make_user, auth):
    user = make_user(username="dan")
    admin = auth(make_user(role="admin"))
    for _ in range(5):
        _login(client, "dan", "wrong-guess")
    assert _login(client, "dan", "secret-pass").status_code == 429
    response = client.patch(f"/api/users/{user.id}", json={"password": "Tide-Lantern-47"}, headers=admin)
    assert response.status_code == 200
    assert _login(client, "dan", "Tide-Lantern-47").status_code == 200


def test_ipv6_addresses_are_throttled_by_their_64_bit_network(client, make_user):
    make_user(username="eve")
    for n in range(5):  # one host owns a whole /64: rotating within it is the same address
        _login(client, "eve", "wrong-guess", address={"REMOTE_ADDR": f"2001:db8:1:2::{n + 1:x}"})
    assert _login(client, "eve", "secret-pass", address={"REMOTE_ADDR": "2001:db8:1:2::ff"}).status_code == 429
    assert _login(client, "eve", "secret-pass", address={"REMOTE_ADDR": "2001:db8:9:9::1"}).status_code == 200
