"""The subscription API and the VAPID key: validation per field, ownership, one key per instance."""
import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from py_vapid import Vapid

from backend.push.vapid import KEY_FILE, get_vapid, public_key_b64


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_public_key_is_an_uncompressed_p256_point(app, client, auth, make_agent):
    agent = make_agent()
    response = client.get("/api/push/vapid-public-key", headers=auth(agent.user))
    assert response.status_code == 200
    key = response.get_json()["publicKey"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 0x04
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # raises if not on the curve
    assert "=" not in key and key == public_key_b64(get_vapid(app))
    assert client.get("/api/push/vapid-public-key").status_code == 401


@pytest.mark.no_db
def test_the_key_pair_is_made_once_under_the_instance_folder(tmp_path):
    first = Flask("one", instance_path=str(tmp_path / "instance"))
    key = public_key_b64(get_vapid(first))
    path = tmp_path / "instance" / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no temp file left behind
    again = Flask("two", instance_path=str(tmp_path / "instance"))
    assert public_key_b64(get_vapid(again)) == key


@pytest.mark.no_db
@pytest.mark.parametrize("form", ["pem", "raw", "der"])
def test_the_key_can_come_from_the_environment(tmp_path, form):
    from cryptography.hazmat.primitives import serialization

    vapid = Vapid()
    vapid.generate_keys()
    private = vapid.private_key
    value = {
        "pem": vapid.private_pem().decode(),
        "raw": _b64(private.private_numbers().private_value.to_bytes(32, "big")),
        "der": _b64(private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())),
    }[form]
    app = Flask("env", instance_path=str(tmp_path))
    app.config["VAPID_PRIVATE_KEY"] = value
    assert public_key_b64(get_vapid(app)) == public_key_b64(vapid)
    assert not (tmp_path / KEY_FILE).exists()


@pytest.mark.no_db
def test_a_bad_key_in_the_environment_stops_the_start(tmp_path):
    app = Flask("bad", instance_path=str(tmp_path))
    app.config["VAPID_PRIVATE_KEY"] = "not-a-key"
    with pytest.raises(RuntimeError, match="VAPID_PRIVATE_KEY"):
        get_vapid(app)


def _keys(browser_keys):
    keys = browser_keys()
    return {"p256dh": keys.p256dh, "auth": keys.auth}


def _body(endpoint="https://fcm.googleapis.com/fcm/send/abc:def", **keys):
    return {"endpoint": endpoint, "expirationTime": None, "keys": keys}


def test_subscribe_refresh_list_and_delete(client, auth, make_agent, browser_keys):
    agent = make_agent()
    headers = auth(agent.user, device_id="phone-7")
    body = _body(**_keys(browser_keys))

    created = client.post("/api/push/subscriptions", json=body, headers=headers)
    assert created.status_code == 201
    assert created.get_json()["device_id"] == "phone-7"  # from the sign-in when the body has none
    refreshed = client.post("/api/push/subscriptions", json=body, headers=headers)
    assert refreshed.status_code == 200 and refreshed.get_json()["id"] == created.get_json()["id"]

    listed = client.get("/api/push/subscriptions", headers=headers).get_json()
    assert [row["endpoint"] for row in listed] == [body["endpoint"]]

    assert client.delete("/api/push/subscriptions", json={"endpoint": body["endpoint"]}, headers=headers).status_code == 204
    again = client.delete("/api/push/subscriptions", json={"endpoint": body["endpoint"]}, headers=headers)
    assert again.status_code == 404 and again.get_json()["errors"] == {"endpoint": ["not subscribed"]}
    assert client.get("/api/push/subscriptions", headers=headers).get_json() == []


def test_a_new_endpoint_from_the_same_device_replaces_the_old_one(client, auth, make_agent, browser_keys):
    agent = make_agent()
    headers = auth(agent.user)
    old = _body("https://updates.push.services.mozilla.com/wpush/v2/old", **_keys(browser_keys))
    new = _body("https://updates.push.services.mozilla.com/wpush/v2/new", **_keys(browser_keys))
    other_device = _body("https://web.push.apple.com/other", **_keys(browser_keys))
    assert client.post("/api/push/subscriptions", json={**old, "device_id": "d1"}, headers=headers).status_code == 201
    assert client.post("/api/push/subscriptions", json={**other_device, "device_id": "d2"}, headers=headers).status_code == 201
    assert client.post("/api/push/subscriptions", json={**new, "device_id": "d1"}, headers=headers).status_code == 201
    endpoints = {row["endpoint"] for row in client.get("/api/push/subscriptions", headers=headers).get_json()}
    assert endpoints == {new["endpoint"], other_device["endpoint"]}


def test_old_endpoint_is_removed_only_when_it_is_the_callers(client, auth, make_agent, browser_keys):
    mine, theirs = make_agent(), make_agent()
    their_body = _body("https://fcm.googleapis.com/fcm/send/theirs", **_keys(browser_keys))
    client.post("/api/push/subscriptions", json={**their_body, "device_id": ""}, headers=auth(theirs.user))
    body = {**_body(**_keys(browser_keys)), "device_id": "", "old_endpoint": their_body["endpoint"]}
    assert client.post("/api/push/subscriptions", json=body, headers=auth(mine.user)).status_code == 201
    assert len(client.get("/api/push/subscriptions", headers=auth(theirs.user)).get_json()) == 1


def test_subscriptions_are_private_to_their_user(client, auth, make_agent, browser_keys):
    owner, stranger = make_agent(), make_agent()
    body = _body(**_keys(browser_keys))
    client.post("/api/push/subscriptions", json=body, headers=auth(owner.user))
    assert client.get("/api/push/subscriptions", headers=auth(stranger.user)).get_json() == []
    assert client.delete("/api/push/subscriptions", json={"endpoint": body["endpoint"]},
                         headers=auth(stranger.user)).status_code == 404
    assert len(client.get("/api/push/subscriptions", headers=auth(owner.user)).get_json()) == 1


def _point_off_the_curve() -> str:
    return _b64(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"endpoint": "http://push.example.com/x"}, "endpoint"),
        ({"endpoint": "https://10.0.0.5/push"}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.com/x"}, "endpoint"),
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"endpoint": "https://push.example.com/" + "x" * 1100}, "endpoint"),
        ({"keys": {"p256dh": _b64(b"\x04" + b"\x02" * 63), "auth": _b64(b"a" * 16)}}, "p256dh"),
        ({"keys": {"p256dh": _point_off_the_curve(), "auth": _b64(b"a" * 16)}}, "p256dh"),
        ({"keys": {"p256dh": "not base64!", "auth": _b64(b"a" * 16)}}, "p256dh"),
        ({"keys": {"auth": _b64(b"a" * 16)}}, "p256dh"),
        ({"keys": {"p256dh": None, "auth": _b64(b"a" * 15)}}, "auth"),
        ({"keys": {"p256dh": None, "auth": "+/+/+/+/+/+/+/+/+/+/+w"}}, "auth"),
        ({"expirationTime": -5}, "expirationTime"),
        ({"device_id": "d" * 65}, "device_id"),
    ],
)
def test_bad_subscriptions_get_422_per_field(client, auth, make_agent, browser_keys, change, field):
    good = _keys(browser_keys)
    body = _body(**good)
    if "keys" in change:
        keys = {name: (good[name] if value is None else value) for name, value in change.pop("keys").items()}
        body["keys"] = keys
    body.update(change)
    response = client.post("/api/push/subscriptions", json=body, headers=auth(make_agent().user))
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    if field in ("p256dh", "auth"):
        assert list(errors) == ["keys"] and list(errors["keys"]) == [field]
    else:
        assert list(errors) == [field]


def test_loopback_http_endpoints_only_when_the_setting_allows(app, client, auth, make_agent, browser_keys, monkeypatch):
    headers = auth(make_agent().user)
    body = _body("http://127.0.0.1:8765/push/x", **_keys(browser_keys))
    assert client.post("/api/push/subscriptions", json=body, headers=headers).status_code == 201
    localhost = _body("http://localhost:8765/push/y", **_keys(browser_keys))
    assert client.post("/api/push/subscriptions", json=localhost, headers=headers).status_code == 201

    monkeypatch.setitem(app.config, "PUSH_ALLOW_INSECURE_ENDPOINTS", False)
    for endpoint in ("http://127.0.0.1:8765/push/z", "https://127.0.0.1/push/z", "https://localhost/push/z"):
        response = client.post("/api/push/subscriptions", json=_body(endpoint, **_keys(browser_keys)), headers=headers)
        assert response.status_code == 422 and "https" in response.get_json()["errors"]["endpoint"][0]
