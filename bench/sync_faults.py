"""Exactly-once under faults, against a real server process.

Seeds agents, cases and published visits through the backend's services into a fresh database
(its own SQLite file, or a fresh PostgreSQL database when --database-url / TEST_DATABASE_URL
points at a server), starts gunicorn on a free loopback port, and lets every agent's device flush
its day of ops with faults: random batch sizes, replays of old ops mixed into later batches
(reordered across batches), a second device replaying ops, responses lost (the client gives up
while the server works, then resends), and the server SIGKILLed mid-batch and restarted.
Then it reads the database and checks each op took effect exactly once.

    python bench/sync_faults.py                 # ≥ 10,000 ops on SQLite
    scripts/with-postgres.sh .venv/bin/python bench/sync_faults.py   # the same on PostgreSQL

tests/sync/test_faults.py runs a small version of the same harness.
"""
import argparse
import base64
import io
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-123"
# which timeline event each applied op leaves (exactly one per op: the exactly-once witness)
EVENT_OF = {
    "visit.checkin": "visit.checkin",
    "visit.checkout": "visit.checkout",
    "visit.outcome": "visit.outcome",
    "plan.propose": "plan.proposed",
    "signature.add": "plan.signed",
    "note.add": "note.added",
    "case.escalate": "case.escalated",
}


# --- database and seed ---------------------------------------------------------------------


def fresh_database(base_url: str | None, workdir: str) -> tuple[str, callable]:
    """A database of our own: a SQLite file, or a new database on the PostgreSQL server."""
    if base_url and base_url.startswith("postgresql"):
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(base_url)
        name = f"doorstep_faults_{uuid.uuid4().hex[:10]}"
        admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return url.set(database=name).render_as_string(hide_password=False), drop
    return f"sqlite:///{workdir}/sync-bench.sqlite3", lambda: None


def bench_day() -> date:
    """A coming weekday: visits are allowed and every visit gets the same legal window."""
    day = date.today() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def make_app(db_url: str):
    from backend import create_app
    from backend.config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = db_url
        SECRET_KEY = "bench-secret"

    return create_app(BenchConfig)


@dataclass
class SeededAgent:
    username: str
    token: str
    agent_id: int
    user_id: int
    visits: list = field(default_factory=list)  # [{"id", "case_id", "version", "lat", "lon", "window_start"}]


def seed(db_url: str, *, n_agents: int, visits_per_agent: int, day: date, seed_value: int = 1) -> dict:
    """Users, agents, cases (CSV import service) and published visits (create_visit), then tokens."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from backend.auth.models import Token, User
    from backend.auth.services import create_user, hash_password, log_in
    from backend.common import sha256_hex, utcnow
    from backend.cases.importing import import_cases
    from backend.extensions import db
    from backend.org.models import Agent, Branch
    from backend.visits.models import Visit
    from backend.visits.services import create_visit

    rng = random.Random(seed_value)
    app = make_app(db_url)
    with app.app_context():
        upgrade(revision="heads")
        if db.engine.dialect.name == "sqlite":
            # WAL: readers never wait for the writer (a file property, kept by the server processes)
            db.session.execute(text("PRAGMA journal_mode=WAL"))
        branch = Branch(code="BN", name="Bench branch", lat=31.23, lon=121.47, timezone="Asia/Shanghai", jurisdiction="CN")
        db.session.add(branch)
        owner = create_user(username="bench-owner", password=PASSWORD, role="owner")
        create_user(username="bench-dispatcher", password=PASSWORD, role="dispatcher")
        db.session.commit()
        rows = ["account_number,debtor_name,address_line,city,lat,lon,balance,overdue_amount,days_past_due,stage,branch_code,owner_username"]
        n_cases = n_agents * visits_per_agent
        points = []
        for n in range(n_cases):
            lat, lon = 31.23 + rng.uniform(-0.08, 0.08), 121.47 + rng.uniform(-0.08, 0.08)
            points.append((lat, lon))
            rows.append(f"BENCH{n:07d},Debtor {n},{n} Bench Road,Shanghai,{lat:.6f},{lon:.6f},20000.00,6000.00,{rng.randint(35, 400)},field,BN,bench-owner")
        report = import_cases(raw="\n".join(rows).encode(), actor_id=None)
        assert report["created"] == n_cases, report
        db.session.commit()
        from backend.cases.models import Account, Case

        case_ids = db.session.scalars(
            db.select(Case.id).join(Account, Account.id == Case.account_id).order_by(Account.account_number)
        ).all()
        agents = []
        # argon2 is slow on purpose (~0.2 s a hash here): 500 agents share one hash of the same password
        shared_hash = hash_password(PASSWORD)
        for a in range(n_agents):
            user = User(username=f"bench-agent{a}", display_name=f"Bench agent {a}", password_hash=shared_hash, role="agent")
            db.session.add(user)
            db.session.flush()
            agent = Agent(user_id=user.id, branch_id=branch.id, start_lat=branch.lat, start_lon=branch.lon, daily_cap=visits_per_agent)
            db.session.add(agent)
            db.session.flush()
            seeded = SeededAgent(username=user.username, token="", agent_id=agent.id, user_id=user.id)
            for position in range(visits_per_agent):
                case_id = case_ids[a * visits_per_agent + position]
                visit = create_visit(case_id=case_id, date=day, actor_id=None, agent_id=agent.id, publish=True)
                visit.route_position = position + 1
                db.session.flush()
                seeded.visits.append({"id": visit.id, "case_id": case_id, "version": visit.version,
                                      "lat": visit.address.lat, "lon": visit.address.lon, "window_start": visit.window_start})
            agents.append(seeded)
            db.session.commit()
        # tokens as log_in issues them (only their hash stored), without 500 password checks
        for seeded in agents:
            seeded.token = secrets.token_urlsafe(32)
            db.session.add(Token(user_id=seeded.user_id, token_hash=sha256_hex(seeded.token), device_id="bench",
                                 expires_at=utcnow() + timedelta(hours=12)))
        db.session.commit()
        owner_token, _ = log_in(username="bench-owner", password=PASSWORD, device_id="bench")
        db.session.remove()
        db.engine.dispose()
    return {"agents": agents, "owner_token": owner_token, "day": day}


# --- the ops of an agent's day ------------------------------------------------------------------


def noise_png(rng: random.Random, target_bytes: int = 8000) -> bytes:
    """A signature-sized PNG that does not compress away: every op's bytes are distinct."""
    from PIL import Image

    side = int((target_bytes / 3) ** 0.5) + 1
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _at(visit: dict, minutes: float) -> str:
    return (visit["window_start"] + timedelta(minutes=minutes)).replace(tzinfo=timezone.utc).isoformat()


def day_ops(agent: SeededAgent, rng: random.Random, *, signature_bytes: int = 8000, malformed_rate: float = 0.0,
            full_day: bool = False) -> list[dict]:
    """One agent's day, in the order the device records it. Each op carries `_expect`."""
    from backend.common import canonical_json, sha256_hex

    ops = []

    def add(type_, payload, at, expect="applied"):
        ops.append({"id": str(uuid.uuid4()), "type": type_, "at": at, "payload": payload, "_expect": expect})

    for v in agent.visits:
        base = rng.uniform(0, 400)
        add("visit.checkin", {"visit_id": v["id"], "version": v["version"], "lat": v["lat"] + rng.uniform(-2e-4, 2e-4),
                              "lon": v["lon"] + rng.uniform(-2e-4, 2e-4), "accuracy_m": rng.uniform(5, 40)}, _at(v, base))
        with_plan = full_day or rng.random() < 0.5
        if with_plan:
            months = rng.choice((3, 6, 12))
            each_cents = 600000 // (months + 1)
            down_cents = 600000 - each_cents * months  # at least one installment, as the policy asks
            schedule = [{"seq": m + 1, "due_date": (date.today() + timedelta(days=30 * (m + 1))).isoformat(),
                         "amount": f"{each_cents / 100:.2f}"} for m in range(months)]
            terms = {"case_id": v["case_id"], "kind": "installments", "currency": "CNY", "total": "6000.00", "discount_pct": "0",
                     "payable": "6000.00", "down_payment": f"{down_cents / 100:.2f}", "schedule": schedule}
            plan_ref = str(uuid.uuid4())
            terms_hash = sha256_hex(canonical_json(terms))
            add("plan.propose", {"case_id": v["case_id"], "visit_id": v["id"], "plan_ref": plan_ref, "terms": terms,
                                 "terms_hash": terms_hash}, _at(v, base + 10))
            png = noise_png(rng, signature_bytes)
            add("signature.add", {"case_id": v["case_id"], "visit_id": v["id"], "plan_ref": plan_ref, "terms_hash": terms_hash,
                                  "png_base64": base64.b64encode(png).decode(), "png_sha256": sha256_hex(png),
                                  "strokes": [[[rng.randint(0, 300), rng.randint(0, 100), t * 16] for t in range(30)]],
                                  "signer_name": f"Debtor {v['case_id']}"}, _at(v, base + 12))
            add("visit.outcome", {"visit_id": v["id"], "code": "plan_agreed", "met": "debtor", "disclosure_at": _at(v, base + 2),
                                  "plan_ref": plan_ref}, _at(v, base + 14))
        else:
            code = rng.choice(("not_home", "refused", "third_party_only", "hardship"))
            met = {"not_home": "nobody", "third_party_only": "third_party"}.get(code, "debtor")
            payload = {"visit_id": v["id"], "code": code, "met": met}
            if met == "debtor":
                payload["disclosure_at"] = _at(v, base + 2)
            add("visit.outcome", payload, _at(v, base + 8))
        if full_day or rng.random() < 0.7:
            # unique text: the check counts notes by it (notes carry no op id of their own)
            add("note.add", {"case_id": v["case_id"], "visit_id": v["id"], "text": f"Visit note {uuid.UUID(int=rng.getrandbits(128))}"}, _at(v, base + 16))
        if malformed_rate and rng.random() < malformed_rate:
            # a note the server must refuse per field, and still keep
            add("note.add", {"case_id": v["case_id"], "text": ""}, _at(v, base + 17), expect="rejected")
        if not full_day and rng.random() < 0.05:
            add("case.escalate", {"case_id": v["case_id"], "visit_id": v["id"], "kind": "complaint", "reason": "Wants to complain about the bank"}, _at(v, base + 18))
        add("visit.checkout", {"visit_id": v["id"]}, _at(v, base + 20))
    return ops


def wire(op: dict) -> dict:
    return {k: v for k, v in op.items() if not k.startswith("_")}


# --- the server process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn in its own process group, so SIGKILL takes the master and every worker at once."""

    def __init__(self, db_url: str, workdir: str, *, workers: int = 2, threads: int = 4, port: int | None = None):
        self.db_url, self.workdir, self.workers, self.threads = db_url, workdir, workers, threads
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self, timeout: float = 30.0) -> None:
        env = dict(os.environ, DATABASE_URL=self.db_url, DOORSTEP_INSTANCE=self.workdir, SECRET_KEY="bench-secret",
                   PUBLIC_BASE_URL=self.url)
        log = open(Path(self.workdir) / "gunicorn.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--timeout", "60", "--graceful-timeout", "2", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/openapi.json", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.workdir}/gunicorn.log")
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — whatever was mid-transaction is rolled back by the database."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --- devices with faults ------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    sent: int = 0  # op transmissions, replays included
    answers: Counter = field(default_factory=Counter)
    lost_responses: int = 0
    network_errors: int = 0
    server_errors: int = 0
    latencies: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: int = 0  # client threads with every device done, waiting for the killer to be done
    kills_done: threading.Event = field(default_factory=threading.Event)

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                if k == "answers":
                    self.answers.update(v)
                elif k == "latency":
                    self.latencies.append(v)
                else:
                    setattr(self, k, getattr(self, k) + v)


def _wait_for_the_killer(tally: Tally, deadline: float) -> None:
    """A client thread with no device left stays until every kill has happened, so the run lasts
    past the last kill however fast the server is. (The thread waits, not each device: a thread
    waiting on a finished device could not start the next one, and the killer — waiting for
    requests or for every thread to be waiting — would wait for it in turn.)"""
    tally.add(finished=1)
    tally.kills_done.wait(max(0.0, deadline - time.monotonic()))


def run_device(server: Server, agent: SeededAgent, ops: list[dict], tally: Tally, rng: random.Random, *,
               max_batch: int = 12, replay_rate: float = 0.3, lost_rate: float = 0.1, second_device_rate: float = 0.1,
               deadline: float) -> dict:
    """Flush the outbox in order until every op has its final answer, misbehaving on purpose.

    Returns {op_id: first final status seen}.
    """
    session = requests.Session()
    headers = {"Authorization": f"Bearer {agent.token}"}
    answered: dict[str, str] = {}
    pending = list(ops)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{agent.username}: {len(pending)} ops still without an answer")
        batch = pending[: rng.randint(1, max_batch)]
        sendable = [wire(op) for op in batch]
        done = [op for op in ops if op["id"] in answered]
        if done and rng.random() < replay_rate:
            # replays of ops already answered, at random places: reordered across batches
            for old in rng.sample(done, min(len(done), rng.randint(1, 3))):
                sendable.insert(rng.randint(0, len(sendable)), wire(old))
        device = "phone-b" if rng.random() < second_device_rate else "phone-a"
        lose = rng.random() < lost_rate
        started = time.perf_counter()
        try:
            response = session.post(f"{server.url}/api/sync/ops", json={"device_id": device, "ops": sendable}, headers=headers,
                                    timeout=(2, rng.uniform(0.005, 0.05) if lose else 30))
        except requests.Timeout:
            # the response is lost, the server may well have applied the batch: resend later
            tally.add(requests=1, sent=len(sendable), lost_responses=1)
            continue
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # a kill mid-response is a network error to a device too: resend later
            tally.add(requests=1, sent=len(sendable), network_errors=1)
            time.sleep(0.05)
            continue
        if lose:
            # the answer beat the short timeout: it is lost all the same (the device never reads it)
            tally.add(requests=1, sent=len(sendable), lost_responses=1)
            continue
        tally.add(requests=1, sent=len(sendable), latency=time.perf_counter() - started)
        if response.status_code >= 500:
            tally.add(server_errors=1)
            time.sleep(0.05)
            continue
        if response.status_code != 200:
            raise AssertionError(f"{response.status_code}: {response.text[:500]}")
        results = response.json()["results"]
        tally.add(answers=Counter(r["status"] for r in results))
        for r in results:
            status = r["first"]["status"] if r["status"] == "duplicate" else r["status"]
            answered.setdefault(r["id"], status)
        pending = [op for op in pending if op["id"] not in answered]
    session.close()
    return answered


def run_killer(server: Server, stop: threading.Event, tally: "Tally", *, kills: int, expected_requests: int,
               interval: tuple[float, float], rng: random.Random, clients: int) -> None:
    """SIGKILL the server while devices are mid-batch, then restart it on the same port.

    Each kill waits for both a random pause and a random point in the run (a request count
    drawn from its first 80 %), so the kills land mid-run however fast the machine is.
    """
    points = sorted(rng.sample(range(2, max(kills + 3, int(expected_requests * 0.8))), kills))
    try:
        for point in points:
            if stop.wait(rng.uniform(*interval)):
                return
            # a fast machine may finish before the point: then the kill lands while the clients wait
            while tally.requests < point and tally.finished < clients:
                if stop.wait(0.01):
                    return
            server.kill()
            time.sleep(rng.uniform(0.05, 0.3))
            server.start()
    finally:
        tally.kills_done.set()


def race(server: Server, agent: SeededAgent, ops: list[dict], *, copies: int = 6) -> list[list[str]]:
    """The same batch from `copies` devices at the same instant; returns each answer's statuses."""
    barrier = threading.Barrier(copies)
    answers: list[list[str]] = []
    lock = threading.Lock()

    def send(n):
        body = {"device_id": f"racer-{n}", "ops": [wire(op) for op in ops]}
        barrier.wait()
        response = requests.post(f"{server.url}/api/sync/ops", json=body, timeout=30,
                                 headers={"Authorization": f"Bearer {agent.token}"})
        with lock:
            answers.append([r["status"] for r in response.json()["results"]] if response.status_code == 200 else [str(response.status_code)])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


# --- the check ------------------------------------------------------------------------------------


def verify(db_url: str, ops: list[dict]) -> dict:
    """Read the database: every op has its record, and each applied op took effect exactly once."""
    from sqlalchemy import select

    from backend.cases.models import Note, TimelineEvent
    from backend.cases.services import verify_timeline
    from backend.extensions import db
    from backend.plans.models import RepaymentPlan, Signature
    from backend.sync.models import SyncOp
    from backend.visits.models import OUTCOMES, Outcome, Visit

    app = make_app(db_url)
    with app.app_context():
        records = {op.id: op for op in db.session.scalars(select(SyncOp))}
        events = Counter()
        cases = set()
        for case_id, kind, data in db.session.execute(select(TimelineEvent.case_id, TimelineEvent.kind, TimelineEvent.data)):
            if data.get("op_id"):
                events[(data["op_id"], kind)] += 1
                cases.add(case_id)
        rows = Counter()
        rows.update(("note", n) for n in db.session.scalars(select(Note.text)))
        rows.update(("outcome", o) for o in db.session.scalars(select(Outcome.op_id)))
        rows.update(("plan", p) for p in db.session.scalars(select(RepaymentPlan.op_id)))
        rows.update(("signature", s) for s in db.session.scalars(select(Signature.op_id)))
        visits = {v.id: v for v in db.session.scalars(select(Visit))}

        lost, duplicated, wrong = [], [], []
        applied = rejected = 0
        for op in ops:
            record = records.get(op["id"])
            if record is None:
                lost.append(op["id"])
                continue
            effects = events[(op["id"], EVENT_OF[op["type"]])]
            if op["type"] == "note.add":
                effects_rows = rows[("note", op["payload"]["text"])] if op["payload"]["text"] else 0
            else:
                key = {"visit.outcome": "outcome", "plan.propose": "plan", "signature.add": "signature"}.get(op["type"])
                effects_rows = rows[(key, op["id"])] if key else effects
            if record.status != op["_expect"]:
                wrong.append((op["id"], op["type"], record.status, (record.result or {}).get("detail")))
            if op["_expect"] == "applied":
                applied += record.status == "applied"
                if effects == 0 or effects_rows == 0:
                    lost.append(op["id"])
                if effects > 1 or effects_rows > 1:
                    duplicated.append((op["id"], op["type"], effects, effects_rows))
            else:
                rejected += record.status == "rejected"
                if effects or effects_rows:
                    duplicated.append((op["id"], op["type"], effects, effects_rows))
        # the state a single in-order application would give: each visit closed as its outcome says
        finals = []
        for op in ops:
            if op["type"] == "visit.outcome" and op["_expect"] == "applied":
                visit = visits[op["payload"]["visit_id"]]
                if visit.status != OUTCOMES[op["payload"]["code"]]["visit"] or visit.checkout_at is None:
                    finals.append(visit.id)
        broken = [c for c in cases if not verify_timeline(case_id=c)["verified"]]
        extra = set(records) - {op["id"] for op in ops}
        db.session.remove()
        db.engine.dispose()
    return {
        "ops": len(ops), "records": len(records), "applied": applied, "rejected_as_expected": rejected,
        "lost": len(lost), "duplicated": len(duplicated), "duplicated_ops": duplicated[:10], "wrong_status": wrong[:10], "n_wrong_status": len(wrong),
        "visits_not_in_final_state": len(finals), "broken_timelines": len(broken), "unexpected_records": len(extra),
    }


# --- the whole run --------------------------------------------------------------------------------


def run(*, n_agents: int, visits_per_agent: int, kills: int, kill_interval=(0.5, 1.5), seed_value: int = 1,
        database_url: str | None = None, workers: int = 2, threads: int = 4, concurrency: int = 8,
        malformed_rate: float = 0.03, replay_rate: float = 0.3, lost_rate: float = 0.1, timeout_s: float = 600,
        log=print) -> dict:
    rng = random.Random(seed_value)
    workdir = tempfile.mkdtemp(prefix="doorstep-sync-faults-")
    db_url, drop = fresh_database(database_url, workdir)
    server = None
    try:
        t0 = time.perf_counter()
        world = seed(db_url, n_agents=n_agents, visits_per_agent=visits_per_agent, day=bench_day(), seed_value=seed_value)
        plans = {a.username: day_ops(a, random.Random(rng.random()), malformed_rate=malformed_rate) for a in world["agents"]}
        all_ops = [op for ops in plans.values() for op in ops]
        log(f"seeded {n_agents} agents × {visits_per_agent} visits, {len(all_ops)} ops to send "
            f"({'PostgreSQL' if db_url.startswith('postgresql') else 'SQLite'}) in {time.perf_counter() - t0:.1f} s")
        server = Server(db_url, workdir, workers=workers, threads=threads)
        server.start()
        tally = Tally()
        stop = threading.Event()
        max_batch = 12  # the devices' batch size, and the killer's estimate of requests from it
        expected_requests = int(len(all_ops) / ((1 + max_batch) / 2))
        killer = threading.Thread(target=run_killer, args=(server, stop, tally),
                                  kwargs=dict(kills=kills, expected_requests=expected_requests, interval=kill_interval,
                                              clients=concurrency,  # the client threads that wait for it
                                              rng=random.Random(rng.random())))
        deadline = time.monotonic() + timeout_s
        answers: dict[str, str] = {}
        errors = []
        lock = threading.Lock()
        queue = list(world["agents"])

        def worker():
            while True:
                with lock:
                    if not queue:
                        break
                    agent = queue.pop()
                try:
                    got = run_device(server, agent, plans[agent.username], tally, random.Random(rng.random()),
                                     max_batch=max_batch, replay_rate=replay_rate, lost_rate=lost_rate,
                                     deadline=deadline)
                    with lock:
                        answers.update(got)
                except Exception as exc:  # reported, and the run fails
                    errors.append(repr(exc))
            _wait_for_the_killer(tally, deadline)

        # first, a race: one agent's first visit sent by several devices at the same instant
        racer = world["agents"][0]
        first_visit = [op for op in plans[racer.username] if op["payload"].get("visit_id") == racer.visits[0]["id"]
                       or op["payload"].get("case_id") == racer.visits[0]["case_id"]]
        race_answers = race(server, racer, first_visit)
        t1 = time.perf_counter()
        killer.start()
        threads_ = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads_:
            t.start()
        for t in threads_:
            t.join()
        stop.set()
        killer.join()
        elapsed = time.perf_counter() - t1
        server.stop()
        report = verify(db_url, all_ops)
        report.update({
            "sent": tally.sent, "requests": tally.requests, "elapsed_s": round(elapsed, 1),
            "answers": dict(tally.answers), "duplicates": tally.answers.get("duplicate", 0),
            "lost_responses": tally.lost_responses, "network_errors": tally.network_errors,
            "server_5xx": tally.server_errors, "kills": server.kills, "client_errors": errors,
            "answered": len(answers), "race": race_answers,
        })
        return report
    finally:
        if server is not None:
            server.stop()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--visits", type=int, default=15)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args(argv)
    report = run(n_agents=args.agents, visits_per_agent=args.visits, kills=args.kills, kill_interval=(1.0, 6.0),
                 seed_value=args.seed, database_url=args.database_url, concurrency=args.concurrency)
    print(f"ops generated         {report['ops']}")
    print(f"ops sent (with replays and resends) {report['sent']} in {report['requests']} requests, {report['elapsed_s']} s")
    print(f"applied               {report['applied']}  (+ {report['rejected_as_expected']} malformed, rejected and kept)")
    print(f"duplicates answered   {report['duplicates']}")
    print(f"faults                {report['kills']} server kills, {report['lost_responses']} lost responses, "
          f"{report['network_errors']} connection errors, {report['server_5xx']} 5xx")
    print(f"lost                  {report['lost']}   (must be 0)")
    print(f"duplicated            {report['duplicated']}   (must be 0)")
    print(f"wrong status          {report['n_wrong_status']}  visits not in final state {report['visits_not_in_final_state']}  "
          f"broken timelines {report['broken_timelines']}  client errors {len(report['client_errors'])}")
    ok = (report["lost"] == 0 and report["duplicated"] == 0 and report["n_wrong_status"] == 0
          and report["visits_not_in_final_state"] == 0 and report["broken_timelines"] == 0 and not report["client_errors"]
          and report["answered"] == report["ops"])
    if not ok:
        print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
