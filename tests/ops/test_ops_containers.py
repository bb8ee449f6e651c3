"""The container files, checked with what runs without a container engine: hadolint on the
Dockerfile, Compose's own parser on compose.yaml, and nginx itself on deploy/nginx.conf (its
syntax, then a real nginx in front of a stub upstream)."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backend.config import ROOT

pytestmark = pytest.mark.no_db
SETTINGS = {"POSTGRES_PASSWORD": "pw", "SECRET_KEY": "k" * 64, "PUBLIC_BASE_URL": "https://doorstep.example"}


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (make install-dev / system-test-deps install it)")
    return found


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run([_tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_numeric_non_root_user_with_the_cjk_font():
    text = (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "fonts-wqy-microhei" in text and "--require-hashes" in text


def _compose(*args: str, env: dict) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (make system-test-deps installs Debian's)")
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.run(
        [binary, "-f", str(ROOT / "compose.yaml"), *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_compose_parses_and_runs_the_five_services():
    result = _compose("config", env=SETTINGS)
    assert result.returncode == 0, result.stderr
    services = _compose("config", "--services", env=SETTINGS).stdout.split()
    assert {"web", "worker", "db", "redis", "nginx"} <= set(services)
    config = result.stdout
    assert "gunicorn.conf.py" in config and "backend.worker" in config


def test_compose_refuses_to_run_without_the_secrets():
    result = _compose("config", env={k: v for k, v in SETTINGS.items() if k != "SECRET_KEY"})
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf(tmp_path: Path, upstream_port: int, listen_port: int) -> Path:
    """deploy/nginx.conf with the compose service names swapped for loopback ports."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server web:8000;" in text and "listen 80;" in text
    text = text.replace("server web:8000;", f"server 127.0.0.1:{upstream_port};").replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    path = tmp_path / "nginx.conf"
    path.write_text(text)
    return path


def test_nginx_accepts_the_configuration(tmp_path):
    conf = _conf(tmp_path, 8000, _free_port())
    result = subprocess.run([_tool("nginx"), "-t", "-c", str(conf), "-g", f"pid {tmp_path}/nginx.pid;"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class _Upstream(BaseHTTPRequestHandler):
    """Answers as the app does: JSON, with its own copy of the security headers."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "request_id": self.headers.get("X-Request-ID"), "pad": "x" * 4000}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy(tmp_path):
    nginx = _tool("nginx")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = _free_port()
    conf = _conf(tmp_path, upstream.server_address[1], port)
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-g", f"pid {tmp_path}/nginx.pid; daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nginx did not start: {process.stderr.read().decode()}") from None
            time.sleep(0.05)
    yield base
    process.terminate()
    process.wait(timeout=10)
    upstream.shutdown()


def test_nginx_proxies_with_gzip_one_copy_of_each_header_and_its_own_request_id(proxy):
    request = urllib.request.Request(proxy + "/api/cases", headers={"Accept-Encoding": "gzip", "X-Request-ID": "forged"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        body = json.loads(gzip.decompress(response.read()))
        assert response.headers.get_all("X-Frame-Options") == ["DENY"]
        assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_all("Content-Security-Policy") == ["default-src 'self'"]  # the app's
        assert "Server" not in response.headers or "/" not in response.headers["Server"]
    assert body["path"] == "/api/cases"
    assert body["request_id"] != "forged" and len(body["request_id"]) == 32


def test_nginx_does_not_expose_metrics(proxy):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(proxy + "/metrics", timeout=10)
    assert error.value.code == 404
    assert error.value.headers["X-Frame-Options"] == "DENY"  # nginx's own answers carry the headers too
