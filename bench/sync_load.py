"""A whole field force's day through /api/sync/ops, against gunicorn on loopback.

500 agents × 15 visits, each visit: check-in, plan proposal, ~8 KB signature, outcome (plan
agreed), note, check-out — 45,000 ops. Each agent's device sends one batch per visit, in order;
`--concurrency` devices at a time. Prints ops/s and p50/p95 request latency; target: the whole
day applied in ≤ 60 s. Seeding (through the backend's services) is not timed.

    python bench/sync_load.py                                   # SQLite
    scripts/with-postgres.sh .venv/bin/python bench/sync_load.py # PostgreSQL (DATABASE_URL)
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_faults as harness  # noqa: E402  (the same seed, ops and server process)


def run(*, n_agents: int, visits: int, concurrency: int, workers: int, threads: int, database_url: str | None,
        signature_bytes: int = 8000, seed_value: int = 3) -> dict:
    rng = random.Random(seed_value)
    workdir = tempfile.mkdtemp(prefix="doorstep-sync-load-")
    db_url, drop = harness.fresh_database(database_url, workdir)
    server = None
    try:
        t0 = time.perf_counter()
        world = harness.seed(db_url, n_agents=n_agents, visits_per_agent=visits, day=harness.bench_day(), seed_value=seed_value)
        seeded_s = time.perf_counter() - t0
        # every request body built up front: the timed part measures the server, not the client
        devices = []
        n_ops = 0
        for agent in world["agents"]:
            ops = harness.day_ops(agent, random.Random(rng.random()), signature_bytes=signature_bytes, full_day=True)
            n_ops += len(ops)
            per_visit = 6
            bodies = [json.dumps({"device_id": f"phone-{agent.agent_id}", "ops": [harness.wire(op) for op in ops[i:i + per_visit]]})
                      for i in range(0, len(ops), per_visit)]
            devices.append((agent, bodies))
        server = harness.Server(db_url, workdir, workers=workers, threads=threads)
        server.start()
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        failures: list[str] = []
        lock = threading.Lock()
        queue = list(devices)

        def device_loop():
            session = requests.Session()
            while True:
                with lock:
                    if not queue:
                        return
                    agent, bodies = queue.pop()
                headers = {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"}
                for body in bodies:
                    while True:
                        started = time.perf_counter()
                        response = session.post(f"{server.url}/api/sync/ops", data=body, headers=headers, timeout=60)
                        took = time.perf_counter() - started
                        if response.status_code == 503:  # busy database: the protocol says resend
                            continue
                        break
                    with lock:
                        latencies.append(took)
                        if response.status_code != 200:
                            failures.append(f"{response.status_code} {response.text[:200]}")
                            continue
                        for result in response.json()["results"]:
                            statuses[result["status"]] = statuses.get(result["status"], 0) + 1

        t1 = time.perf_counter()
        pool = [threading.Thread(target=device_loop) for _ in range(concurrency)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t1
        server.stop()
        latencies.sort()
        return {
            "database": "PostgreSQL" if db_url.startswith("postgresql") else "SQLite",
            "agents": n_agents, "visits": visits, "ops": n_ops, "requests": len(latencies), "seed_s": round(seeded_s, 1),
            "elapsed_s": round(elapsed, 1), "ops_per_s": round(n_ops / elapsed), "statuses": statuses,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "failures": failures[:5], "n_failures": len(failures), "workers": workers, "threads": threads,
            "concurrency": concurrency,
        }
    finally:
        if server is not None:
            server.stop()
        drop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--visits", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") if os.environ.get("DATABASE_URL", "").startswith("postgresql") else None)
    args = parser.parse_args(argv)
    r = run(n_agents=args.agents, visits=args.visits, concurrency=args.concurrency, workers=args.workers,
            threads=args.threads, database_url=args.database_url)
    print(f"{r['database']}: {r['agents']} agents × {r['visits']} visits = {r['ops']} ops in {r['requests']} requests "
          f"(gunicorn {r['workers']} workers × {r['threads']} threads, {r['concurrency']} devices at a time; seeding {r['seed_s']} s)")
    print(f"  whole day applied in {r['elapsed_s']} s   (target ≤ 60 s: {'met' if r['elapsed_s'] <= 60 else 'NOT met'})")
    print(f"  {r['ops_per_s']} ops/s   request latency p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms (6 ops per request)")
    print(f"  answers {r['statuses']}   failed requests {r['n_failures']} {r['failures']}")
    return 0 if r["n_failures"] == 0 and r["statuses"].get("applied") == r["ops"] else 1


if __name__ == "__main__":
    sys.exit(main())
