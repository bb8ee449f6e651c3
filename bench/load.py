"""Field-force load: 100, 300 and 1,000 simulated agents against gunicorn on loopback.

Each agent is a phone: it pulls its day packet (GET /api/sync/packet), then until the scenario
ends, after a think time, polls its delta feed (GET /api/sync/changes?since=cursor), pushes
the ops of its next visit (POST /api/sync/ops: check-in, outcome, note, check-out; a 503 "busy"
is resent as the device does), or pulls the packet again. All agents start within the first
`--ramp` seconds: the morning burst. One asyncio client, one connection per request.

Prints, per scenario: requests, throughput, p50/p95/p99 per endpoint, gunicorn's CPU ms per
request (robust to a shared machine, unlike latency), errors (any non-2xx but a resent 503, any
connection failure), and the machine's load average when it started. Targets: packet p95 ≤ 50 ms at 100 agents; no errors at 1,000.

    scripts/with-postgres.sh .venv/bin/python bench/load.py              # all three scenarios
    scripts/with-postgres.sh .venv/bin/python bench/load.py --agents 100 --duration 20

Seeding (through the backend's services, like bench/sync_load.py) is not timed.
"""
import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_faults as harness  # noqa: E402  (seeding, op generation, the gunicorn process)
from sync_load import server_cpu_s  # noqa: E402  (gunicorn's CPU seconds, from /proc)

ENDPOINTS = ("packet", "changes", "ops")


class Stats:
    def __init__(self):
        self.latency = defaultdict(list)  # endpoint -> seconds
        self.errors = defaultdict(int)  # "endpoint status" -> count
        self.resent = 0
        self.requests = 0


async def http(port: int, method: str, path: str, token: str, body: bytes | None = None,
               timeout: float = 120.0) -> tuple[int, bytes]:
    """One HTTP/1.1 request on its own connection (Connection: close)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                "Accept-Encoding: identity\r\nConnection: close\r\n")
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + (body or b""))
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1])
    return status, raw.partition(b"\r\n\r\n")[2]


async def timed(stats: Stats, endpoint: str, port: int, method: str, path: str, token: str, body=None):
    started = time.perf_counter()
    try:
        status, payload = await http(port, method, path, token, body)
    except (OSError, asyncio.TimeoutError, IndexError, ValueError) as exc:
        stats.requests += 1
        stats.errors[f"{endpoint} {type(exc).__name__}"] += 1
        return None, None
    stats.requests += 1
    stats.latency[endpoint].append(time.perf_counter() - started)
    if status != 200 and not (status == 503 and endpoint == "ops"):
        stats.errors[f"{endpoint} {status}"] += 1
    return status, payload


async def agent_loop(agent, batches: list[bytes], *, port: int, day: str, end: float, ramp: float, think: float,
                     rng: random.Random, stats: Stats):
    await asyncio.sleep(rng.uniform(0, ramp))
    status, payload = await timed(stats, "packet", port, "GET", f"/api/sync/packet?date={day}", agent.token)
    cursor = json.loads(payload)["cursor"] if status == 200 else 0
    while time.monotonic() < end:
        await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        if time.monotonic() >= end:
            break
        roll = rng.random()
        if roll < 0.3 and batches:
            body = batches[0]
            status, payload = await timed(stats, "ops", port, "POST", "/api/sync/ops", agent.token, body)
            while status == 503 and time.monotonic() < end:  # "busy": the device sends the same batch again
                stats.resent += 1
                await asyncio.sleep(0.2)
                status, payload = await timed(stats, "ops", port, "POST", "/api/sync/ops", agent.token, body)
            if status == 200:
                batches.pop(0)
                cursor = max(cursor, json.loads(payload)["cursor"])
        elif roll < 0.4:
            await timed(stats, "packet", port, "GET", f"/api/sync/packet?date={day}", agent.token)
        else:
            status, payload = await timed(stats, "changes", port, "GET", f"/api/sync/changes?since={cursor}", agent.token)
            if status == 200:
                cursor = max(cursor, json.loads(payload).get("cursor", cursor))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


async def scenario(agents, batches, *, port, day, duration, ramp, think, seed) -> tuple[Stats, float]:
    stats = Stats()
    rng = random.Random(seed)
    started = time.monotonic()
    end = started + duration
    await asyncio.gather(*(agent_loop(a, batches[a.agent_id], port=port, day=day, end=end, ramp=ramp, think=think,
                                      rng=random.Random(rng.random()), stats=stats) for a in agents))
    return stats, time.monotonic() - started


def row(n: int, stats: Stats, elapsed: float, cpu_s: float, load: float, client_cpu_s: float) -> dict:
    out = {"agents": n, "requests": stats.requests, "rps": stats.requests / elapsed,
           "cpu_ms_per_request": 1000 * cpu_s / max(1, stats.requests), "load_avg": load,
           "client_cpu_ms_per_request": 1000 * client_cpu_s / max(1, stats.requests),
           "errors": sum(stats.errors.values()), "error_kinds": dict(stats.errors), "resent_503": stats.resent}
    for endpoint in ENDPOINTS:
        values = stats.latency[endpoint]
        out[endpoint] = {"n": len(values), "p50": pct(values, 0.50), "p95": pct(values, 0.95), "p99": pct(values, 0.99)}
    return out


def print_table(rows: list[dict]) -> None:
    print()
    print("| agents | requests | req/s | packet p50 / p95 / p99 ms | changes p50 / p95 / p99 ms | ops p50 / p95 / p99 ms "
          "| server CPU ms/request | client CPU ms/request | errors | machine load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [f"{r[e]['p50']:.0f} / {r[e]['p95']:.0f} / {r[e]['p99']:.0f} (n={r[e]['n']})" for e in ENDPOINTS]
        errors = f"{r['errors']}" + (f" {r['error_kinds']}" if r["errors"] else "") + (f", {r['resent_503']} resent 503" if r["resent_503"] else "")
        print(f"| {r['agents']} | {r['requests']} | {r['rps']:.0f} | " + " | ".join(cells)
              + f" | {r['cpu_ms_per_request']:.1f} | {r['client_cpu_ms_per_request']:.1f} | {errors} | {r['load_avg']:.1f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--visits", type=int, default=8, help="visits per agent in the packet")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument("--ramp", type=float, default=3.0, help="agents start within this many seconds")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between an agent's requests")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cold", action="store_true",
                        help="no packet built ahead: every agent's first pull builds it (default: built as the RQ "
                             "worker does when the route is published, outside the timed scenario)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL")
    if not (database_url or "").startswith("postgresql"):
        print("load: run it under scripts/with-postgres.sh (DATABASE_URL=postgresql+psycopg://...)", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="doorstep-load-")
    db_url, drop = harness.fresh_database(database_url, workdir)
    server = None
    try:
        most = max(args.agents)
        t0 = time.perf_counter()
        world = harness.seed(db_url, n_agents=most, visits_per_agent=args.visits, day=harness.bench_day())
        print(f"load: seeded {most} agents × {args.visits} visits in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        rng = random.Random(5)
        batches = {}
        for agent in world["agents"]:
            ops = harness.day_ops(agent, random.Random(rng.random()), signature_bytes=2000)
            per_visit: list[list] = []
            for op in ops:  # one batch per visit: from its check-in to its check-out
                if op["type"] == "visit.checkin":
                    per_visit.append([])
                per_visit[-1].append(harness.wire(op))
            batches[agent.agent_id] = [json.dumps({"device_id": f"phone-{agent.agent_id}", "ops": b}).encode()
                                       for b in per_visit]
        if not args.cold:
            # what the production layout's RQ worker does on route.published (sync.packet.warm_published_day)
            from backend.sync.packet import warm_packets

            app = harness.make_app(db_url)
            with app.app_context():
                t0 = time.perf_counter()
                built = warm_packets(day=world["day"])
                print(f"load: built {built} packets ahead in {time.perf_counter() - t0:.1f} s "
                      "(the worker's job at route publish)", file=sys.stderr)
                from backend.extensions import db

                db.session.remove()
                db.engine.dispose()
        server = harness.Server(db_url, workdir, workers=args.workers, threads=args.threads)
        server.start()
        port = server.port
        rows = []
        for n in args.agents:
            load = os.getloadavg()[0]  # the machine is shared: other work skews latency, not CPU per request
            cpu_before, client_before = server_cpu_s(server), time.process_time()
            stats, elapsed = asyncio.run(scenario(world["agents"][:n], batches, port=port, day=world["day"].isoformat(),
                                                  duration=args.duration, ramp=args.ramp, think=args.think, seed=n))
            rows.append(row(n, stats, elapsed, server_cpu_s(server) - cpu_before, load,
                            client_cpu_s=time.process_time() - client_before))
            r = rows[-1]
            print(f"load: {n} agents: {r['requests']} requests in {elapsed:.1f} s, packet p95 {r['packet']['p95']:.0f} ms, "
                  f"errors {r['errors']}", file=sys.stderr)
        print(f"\ngunicorn {args.workers} workers × {args.threads} threads, PostgreSQL on loopback, "
              f"{args.visits} visits per packet, think {args.think} s, ramp {args.ramp} s, {args.duration:.0f} s per scenario, "
              f"packets {'cold' if args.cold else 'built ahead'}")
        print_table(rows)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return 0
    finally:
        if server:
            server.stop()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
