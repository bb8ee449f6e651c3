"""The server POSTs only to public addresses: at subscribe and again at every send, connecting to
the address it checked (no DNS rebinding between check and connect), never following a redirect."""
import socket

import pytest
from sqlalchemy import select

from backend.push import addresses
from backend.push.models import PushSubscription


def _keys(browser_keys):
    keys = browser_keys()
    return {"p256dh": keys.p256dh, "auth": keys.auth}


@pytest.fixture
def dns(monkeypatch):
    """dns[name] = [addresses]: what the resolver answers for the test's made-up names (in turn
    when a list of lists); other names resolve as usual."""
    answers: dict = {}
    lookups: list = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        answer = answers[host]
        if isinstance(answer[0], list):  # answers in turn, the last one repeating
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answer]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)
    answers["lookups"] = lookups
    return answers


@pytest.fixture
def strict(app, monkeypatch):
    """Production's setting: no loopback, https only."""
    monkeypatch.setitem(app.config, "PUSH_ALLOW_INSECURE_ENDPOINTS", False)


@pytest.mark.parametrize("host", [
    "127.1", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.000.000.001", "0",
    "[::1]", "[::ffff:127.0.0.1]", "[::ffff:a00:5]", "169.254.169.254", "100.64.0.1", "192.168.1.1",
    "localhost.", "LOCALHOST", "internal.push.example",
])
def test_subscribing_a_non_public_host_is_refused(client, auth, make_agent, browser_keys, strict, dns, host):
    dns["internal.push.example"] = ["10.0.0.5"]
    body = {"endpoint": f"https://{host}/push/x", "keys": _keys(browser_keys)}
    response = client.post("/api/push/subscriptions", json=body, headers=auth(make_agent().user))
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == ["endpoint"]


def test_a_name_with_one_private_answer_among_public_ones_is_refused(client, auth, make_agent, browser_keys, strict, dns):
    dns["mixed.push.example"] = ["93.184.216.34", "127.0.0.1"]
    body = {"endpoint": "https://mixed.push.example/push/x", "keys": _keys(browser_keys)}
    assert client.post("/api/push/subscriptions", json=body, headers=auth(make_agent().user)).status_code == 422


def test_a_public_push_service_is_accepted(client, auth, make_agent, browser_keys, strict, dns):
    dns["fcm.push.example"] = ["142.250.72.10", "2607:f8b0:4005:80b::200a"]
    body = {"endpoint": "https://fcm.push.example/fcm/send/abc", "keys": _keys(browser_keys)}
    assert client.post("/api/push/subscriptions", json=body, headers=auth(make_agent().user)).status_code == 201


def _stop_work(client, auth, make_user, case):
    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(make_user(role="owner")),
                           json={"flag": "dispute", "reason": "r"})
    assert response.status_code == 201


def test_a_name_that_turns_private_after_subscribing_is_not_contacted(app, db, client, auth, make_user, make_agent,
                                                                      make_case, make_visit, browser_keys, strict,
                                                                      dns, settle, monkeypatch):
    connects = []
    real_connect = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: connects.append(address) or real_connect(address, *a, **k))
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    dns["rebind.push.example"] = ["93.184.216.34"]
    body = {"endpoint": "https://rebind.push.example/push/x", "keys": _keys(browser_keys)}
    assert client.post("/api/push/subscriptions", json=body, headers=auth(agent.user)).status_code == 201
    dns["rebind.push.example"] = ["127.0.0.1"]  # the attacker's DNS now answers loopback

    _stop_work(client, auth, make_user, case)
    settle()
    assert connects == []
    row = db.session.scalar(select(PushSubscription))
    db.session.refresh(row)
    assert row.failure_count == 1 and "not a public address" in row.last_error
    assert dns["lookups"].count("rebind.push.example") == 2  # subscribe, one send: refused, not retried


def test_the_send_connects_to_the_address_it_checked(app, db, client, auth, make_user, make_agent, make_case,
                                                     make_visit, browser_keys, push_service, dns, settle):
    # loopback allowed (tests): the first answer is checked and used; a second lookup would say
    # 10.255.255.1, where nothing answers — the message arrives only if the checked address is used
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    port = push_service.server.server_port
    dns["pinned.push.example"] = ["127.0.0.1"]
    endpoint = f"http://pinned.push.example:{port}/push/pinned"
    keys = browser_keys()
    body = {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    app.config["PUSH_ALLOW_INSECURE_ENDPOINTS"] = True
    assert client.post("/api/push/subscriptions", json=body, headers=auth(agent.user)).status_code == 201
    dns["pinned.push.example"] = [["127.0.0.1"], ["10.255.255.1"]]

    _stop_work(client, auth, make_user, case)
    settle()
    received = push_service.requests_to(f"http://127.0.0.1:{port}/push/pinned")
    assert len(received) == 1
    assert received[0].headers["host"] == f"pinned.push.example:{port}"
    assert keys.decrypt(received[0].body)["case_id"] == case.id


def test_a_redirect_is_not_followed(app, db, client, auth, make_user, make_agent, make_case, make_visit,
                                    browser_keys, push_service, subscribe, settle):
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    moved = push_service.endpoint("moved", 307)
    target = push_service.endpoint("internal-admin")
    push_service.locations = {"/push/moved": target}
    subscribe(agent.user, moved, browser_keys())

    _stop_work(client, auth, make_user, case)
    settle()
    assert len(push_service.requests_to(moved)) == 1  # not retried either: a redirect is a refusal
    assert push_service.requests_to(target) == []
    row = db.session.scalar(select(PushSubscription))
    db.session.refresh(row)
    assert row.failure_count == 1 and row.last_error.startswith("307")


@pytest.mark.no_db
def test_tls_to_the_pinned_address_checks_the_certificate_of_the_name(tmp_path, dns):
    """Connecting to the vetted IP keeps TLS about the name: SNI and the certificate check use it."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls.push.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("tls.push.example")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["host"] = self.headers["Host"]
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda sock, server_name, ctx: seen.__setitem__("sni", server_name)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    try:
        dns["tls.push.example"] = ["127.0.0.1"]
        dns["other.push.example"] = ["127.0.0.1"]
        with addresses.pinned_session(allow_loopback=True) as session:
            session.verify = str(tmp_path / "cert.pem")
            response = session.post(f"https://tls.push.example:{port}/push/x", data=b"m", timeout=5)
            assert response.status_code == 201
            assert seen == {"sni": "tls.push.example", "host": f"tls.push.example:{port}"}
            import requests

            with pytest.raises(requests.exceptions.SSLError):  # the certificate is not for this name
                session.post(f"https://other.push.example:{port}/push/x", data=b"m", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
