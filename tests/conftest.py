"""Fixtures: one migrated database per session, emptied before each test;
factories `make_*(**overrides)`; `auth(user)` headers; a live server for browser tests."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import OperationalError

from backend import create_app, jobs
from backend.cases.models import ImportRun
from backend.config import TestConfig
from backend.extensions import db as _db

_seq = count(1)


def _database_url(tmpdir: str) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmpdir}/test.sqlite3"


@pytest.fixture(scope="session")
def app():
    tmpdir = tempfile.mkdtemp(prefix="doorstep-test-")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = _database_url(tmpdir)

    os.environ.setdefault("DOORSTEP_INSTANCE", tmpdir)
    application = create_app(Config)
    application.config["TEST_TMPDIR"] = tmpdir
    with application.app_context():
        from flask_migrate import downgrade, upgrade

        if application.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            downgrade(revision="base")  # a clean schema even if a previous run died
        upgrade(revision="head")
    yield application


def _empty_all_tables():
    existing = set(inspect(_db.engine).get_table_names())
    tables = [t.name for t in reversed(_db.metadata.sorted_tables) if t.name in existing]
    if _db.engine.dialect.name == "postgresql":
        # a browser test's last requests may still hold a table of the live server: PostgreSQL
        # then picks the TRUNCATE as a deadlock's victim, and the next try finds them gone
        statement = text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        for attempt in range(5):
            try:
                _db.session.execute(statement)
                break
            except OperationalError as exc:
                _db.session.rollback()
                if "deadlock" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    else:
        for table in tables:
            _db.session.execute(text(f'DELETE FROM "{table}"'))
    _db.session.commit()


@pytest.fixture(autouse=True)
def db(request, app):
    """A fresh, empty database for every test (tables kept, rows removed)."""
    if "no_db" in request.keywords:
        yield None
        return
    ctx = app.app_context()
    ctx.push()
    # work a previous test queued (a packet built ahead, a push retry) must not run into this
    # test's emptied tables — or write rows into them
    assert jobs.wait_idle(app, timeout=60), "background jobs of the previous test still running"
    _empty_all_tables()
    yield _db
    _db.session.rollback()
    _db.session.remove()
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


# --- factories ----------------------------------------------------------------


@pytest.fixture
def make_user(db):
    from backend.auth.services import create_user

    def make(role="owner", username=None, password="secret-pass", **kw):
        user = create_user(username=username or f"{role}{next(_seq)}", password=password, role=role, **kw)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_branch(db):
    from backend.org.models import Branch

    def make(**kw):
        n = next(_seq)
        values = dict(code=f"B{n}", name=f"Branch {n}", lat=31.23, lon=121.47, timezone="Asia/Shanghai", jurisdiction="CN")
        values.update(kw)
        branch = Branch(**values)
        db.session.add(branch)
        db.session.commit()
        return branch

    return make


@pytest.fixture
def make_agent(db, make_user, make_branch):
    from backend.org.models import Agent

    def make(branch=None, user=None, **kw):
        branch = branch or make_branch()
        user = user or make_user(role="agent")
        values = dict(user_id=user.id, branch_id=branch.id, start_lat=branch.lat, start_lon=branch.lon)
        values.update(kw)
        agent = Agent(**values)
        db.session.add(agent)
        db.session.commit()
        return agent

    return make


@pytest.fixture
def make_case(db, make_branch):
    from backend.cases.models import Account, Address, Case, Debtor
    from backend.cases.services import append_event

    def make(branch=None, stage="field", days_past_due=75, overdue="5000.00", balance="20000.00",
             lat=31.2304, lon=121.4737, tz="Asia/Shanghai", country="CN", debtor_name=None, **kw):
        branch = branch if branch is not None else make_branch()
        n = next(_seq)
        debtor = Debtor(name=debtor_name or f"Debtor {n}", phone="13800000000", id_last4="1234")
        db.session.add(debtor)
        db.session.flush()
        db.session.add(Address(debtor_id=debtor.id, line=f"{n} Test Road", city="Shanghai", country=country,
                               lat=lat, lon=lon, geocode_status="provided", timezone=tz))
        account = Account(account_number=f"ACC{n:08d}", card_masked="**** **** **** 4242", debtor_id=debtor.id,
                          balance=Decimal(balance), overdue_amount=Decimal(overdue), days_past_due=days_past_due)
        db.session.add(account)
        db.session.flush()
        case = Case(account_id=account.id, stage=stage, branch_id=branch.id if branch else None, **kw)
        db.session.add(case)
        db.session.flush()
        append_event(case=case, kind="case.imported", actor_id=None, data={})
        db.session.commit()
        return case

    return make


@pytest.fixture
def make_visit(db, make_case, make_agent):
    from backend.visits.services import create_visit

    def make(case=None, agent=None, day=None, publish=True, **kw):
        case = case or make_case()
        agent = agent or make_agent()
        visit = create_visit(case_id=case.id, date=day or date.today() + timedelta(days=1), actor_id=None,
                             agent_id=agent.id, publish=publish, **kw)
        db.session.commit()
        return visit

    return make


@pytest.fixture
def auth(client):
    """auth(user) -> headers with a fresh bearer token for that user."""

    def headers(user, password="secret-pass", device_id="test-device"):
        response = client.post("/api/auth/login", json={"username": user.username, "password": password, "device_id": device_id})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return headers


# --- browser tests: Debian's Chromium through one Playwright per session -------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def playwright():
    """One sync Playwright for the whole session: only one may run in a thread."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make system-test-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium_options():
    """Launch options for Debian's Chromium (never a downloaded browser)."""
    return {"executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS)}


@pytest.fixture(scope="session")
def browser(playwright, chromium_options):
    chromium = playwright.chromium.launch(**chromium_options)
    yield chromium
    chromium.close()


# --- a real HTTP server for browser tests ---------------------------------------


@pytest.fixture(scope="session")
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


# --- map tiles from a local stub (tests never reach a real tile server) ----------


class TileStub:
    """Serves every /z/x/y.png as one small PNG, with CORS; counts what was asked; can hang
    (a dead zone that still reports "online") for `hang_s` seconds per request."""

    def __init__(self):
        import io
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), (214, 226, 214)).save(buffer, format="PNG")
        png = buffer.getvalue()
        self.requests: list[str] = []
        self.hang_s = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stub.requests.append(self.path)
                if stub.hang_s:
                    import time

                    time.sleep(stub.hang_s)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/{{z}}/{{x}}/{{y}}.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def tile_stub(app):
    """MAP_TILE_URL pointed at a local tile stub for one test."""
    stub = TileStub()
    before = app.config["MAP_TILE_URL"], app.config["MAP_TILE_ATTRIBUTION"]
    app.config["MAP_TILE_URL"], app.config["MAP_TILE_ATTRIBUTION"] = stub.url, "© Stub tiles"
    yield stub
    app.config["MAP_TILE_URL"], app.config["MAP_TILE_ATTRIBUTION"] = before
    stub.hang_s = 0
    stub.server.shutdown()


# --- accessibility: axe-core over a page (vendored by `make vendor`) -------------

AXE_JS = Path(__file__).resolve().parents[1] / "pwa" / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_source():
    """axe-core's script: pwa/vendor/axe-core (make vendor), or the file AXE_CORE_JS names."""
    path = Path(os.environ.get("AXE_CORE_JS") or AXE_JS)
    if not path.exists():
        pytest.fail(f"axe-core is not vendored at {path}: run `make vendor` (package.json pins it)")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def axe(axe_source):
    """axe(page, name) -> the serious and critical violations on the page as it is now. The
    page's context needs bypass_csp=True: the script goes in as an inline <script> tag."""

    def run(page, name: str) -> list[dict]:
        if not page.evaluate("() => Boolean(window.axe)"):
            page.add_script_tag(content=axe_source)
        found = page.evaluate("""async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ')) }))""")
        return [dict(v, screen=name) for v in found if v["impact"] in SERIOUS]

    return run


# --- chunked imports (tests/scale, tests/payments) -----------------------------------------------


@pytest.fixture
def commits(db):
    """The import record each time it is written: (processed_rows, status). Each chunk's
    transaction writes it once, with the chunk's rows."""
    seen = []

    def written(mapper, connection, run):
        seen.append((run.processed_rows or 0, run.status))

    for name in ("after_insert", "after_update"):
        event.listen(ImportRun, name, written)
    yield seen
    for name in ("after_insert", "after_update"):
        event.remove(ImportRun, name, written)


# --- an agent with a published day, and the ops protocol (tests/sync, tests/presence) --------------


@pytest.fixture
def day():
    """A weekday in the future, so visits are allowed and windows are in the debtor's hours."""
    d = date.today() + timedelta(days=7)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


@pytest.fixture
def field_agent(make_agent):
    return make_agent()


@pytest.fixture
def agent_headers(auth, field_agent):
    return auth(field_agent.user)


@pytest.fixture
def owner(make_user):
    return make_user(role="owner")


@pytest.fixture
def owned_visit(make_case, make_visit, field_agent, owner, day):
    """A published visit of the agent on a case the owner owns."""
    case = make_case(branch=field_agent.branch, owner_id=owner.id)
    return make_visit(case=case, agent=field_agent, day=day)


@pytest.fixture
def send(client, agent_headers):
    """send(ops, headers=None, device_id=...) -> (status_code, json)."""

    def post(ops, headers=None, device_id="phone-1"):
        response = client.post("/api/sync/ops", json={"device_id": device_id, "ops": ops}, headers=headers or agent_headers)
        return response.status_code, response.get_json()

    return post


# --- Redis and the RQ backend (tests/scale, tests/ops) ------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("Debian's redis-server is not installed (make stack installs it)")
    from redis import Redis

    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="doorstep-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def rq_app(app, redis_url, monkeypatch):
    """The test app switched to the RQ backend on the session's Redis, on a queue of its own."""
    from redis import Redis

    monkeypatch.setitem(app.config, "JOBS_BACKEND", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", "doorstep-rq-tests")
    Redis.from_url(redis_url).flushdb()
    return app
