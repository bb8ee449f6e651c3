"""A push service stand-in on loopback and a browser's key pair: real HTTP, real keys, nothing
mocked. Used by tests/push and by the RQ worker test in tests/scale."""
import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class BrowserKeys:
    """What a browser makes for a PushSubscription: a P-256 key pair and a 16-byte auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")
        return json.loads(plain)


class PushService:
    """A push service stand-in on 127.0.0.1: records every request, answers a status per path."""

    def __init__(self):
        self.received: list[Received] = []
        self.statuses: dict[str, list[int]] = {}
        self.delays: dict[str, float] = {}
        self.locations: dict[str, str] = {}  # a Location header to send for a path (redirects)
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(service.delays.get(self.path, 0))
                with service._lock:
                    service.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    queue = service.statuses.get(self.path) or [201]
                    status = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                if self.path in service.locations:
                    self.send_header("Location", service.locations[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def endpoint(self, name: str, *statuses: int, delay_s: float = 0) -> str:
        """A subscription URL on this service; it answers `statuses` in turn, repeating the last."""
        path = f"/push/{name}"
        self.statuses[path] = list(statuses) or [201]
        self.delays[path] = delay_s
        return self.origin + path

    def requests_to(self, endpoint: str) -> list[Received]:
        path = endpoint.removeprefix(self.origin)
        with self._lock:
            return [r for r in self.received if r.path == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()
