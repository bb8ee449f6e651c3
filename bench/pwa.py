"""The agent app's weight and its offline cold start.

    .venv/bin/python bench/pwa.py [--runs 7] [--stops 15]

1. App shell: every file the service worker precaches (parsed from pwa/sw.js), gzip-compressed
   one by one as a server would send them; Leaflet reported apart (target: shell <= 150 KB).
2. Offline cold start: a real server with an agent's day of --stops visits; Debian's Chromium
   signs in once online, then, offline, each run stops the service worker, opens a fresh page
   and times navigation start -> today's route on screen (all stops rendered). Median of --runs
   (target: <= 1 s).
"""
import argparse
import gzip
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PWA = ROOT / "pwa"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "bench-pass-1"


def shell_files() -> list[str]:
    sys.path.insert(0, str(PWA))
    from make_shell import shell_urls

    return shell_urls()


def shell_size() -> dict:
    rows = []
    for url in shell_files():
        path = PWA / ("index.html" if url == "/" else url.lstrip("/"))
        raw = path.read_bytes()
        rows.append((url, len(raw), len(gzip.compress(raw, compresslevel=6))))
    vendor = [r for r in rows if r[0].startswith("/vendor/")]
    own = [r for r in rows if not r[0].startswith("/vendor/")]
    return {
        "files": len(own),
        "raw": sum(r[1] for r in own),
        "gzip": sum(r[2] for r in own),
        "vendor_gzip": sum(r[2] for r in vendor),
        "largest": sorted(own, key=lambda r: -r[2])[:5],
    }


def _zone_at_midday() -> tuple[str, date]:
    """A fixed-offset zone where it is early afternoon, so the R1 window is open."""
    now = datetime.now(timezone.utc)
    offset = 13 - now.hour
    offset = offset - 24 if offset > 14 else (offset + 24 if offset < -12 else offset)
    name = "Etc/GMT" if offset == 0 else (f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}")
    return name, (now + timedelta(hours=offset)).date()


def seed_day(app, stops: int) -> tuple[str, str]:
    from backend.auth.services import create_user
    from backend.cases.models import Account, Address, Case, Debtor
    from backend.cases.services import append_event
    from backend.extensions import db
    from backend.org.models import Agent, Branch
    from backend.visits.services import create_visit

    tz, day = _zone_at_midday()
    with app.app_context():
        branch = Branch(code="BN", name="Bench", lat=31.23, lon=121.47, timezone=tz, jurisdiction="CN")
        db.session.add(branch)
        user = create_user(username="benchagent", password=PASSWORD, role="agent", display_name="Bench Agent")
        db.session.flush()
        agent = Agent(user_id=user.id, branch_id=branch.id, start_lat=31.23, start_lon=121.47)
        db.session.add(agent)
        db.session.flush()
        for n in range(stops):
            debtor = Debtor(name=f"债务人{n + 1:02d}", phone="13800000000", id_last4="1234")
            db.session.add(debtor)
            db.session.flush()
            db.session.add(Address(debtor_id=debtor.id, line=f"南京东路{100 + n}号", city="上海", country="CN",
                                   lat=31.23 + n * 0.002, lon=121.47 + (n % 5) * 0.003, geocode_status="provided", timezone=tz))
            account = Account(account_number=f"B{n:010d}", card_masked="**** **** **** 4242", debtor_id=debtor.id,
                              balance=Decimal("20000.00"), overdue_amount=Decimal("5000.00"), days_past_due=60 + n * 7)
            db.session.add(account)
            db.session.flush()
            case = Case(account_id=account.id, stage="field", branch_id=branch.id)
            db.session.add(case)
            db.session.flush()
            append_event(case=case, kind="case.imported", actor_id=None, data={})
            visit = create_visit(case_id=case.id, date=day, actor_id=None, agent_id=agent.id, publish=True)
            visit.route_position = n + 1
        db.session.commit()
    return "benchagent", tz


def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


# Records when the whole route is on screen, relative to the navigation's start.
MARK = """
(() => {
  const want = %d;
  const check = () => {
    if (document.querySelectorAll('ol.stops > li').length >= want) {
      window.__routeShownAt = performance.now();
      return true;
    }
    return false;
  };
  new MutationObserver((_, obs) => { if (check()) obs.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();
"""


def cold_starts(base: str, username: str, tz: str, runs: int, stops: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id=tz, base_url=base)
        context.add_init_script(MARK % stops)
        page = context.new_page()
        page.goto("/")
        page.locator("input[autocomplete=username]").fill(username)
        page.locator("input[autocomplete=current-password]").fill(PASSWORD)
        page.locator("form.login button[type=submit]").click()
        page.locator("ol.stops").wait_for()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.close()
        context.set_offline(True)
        times = []
        for _ in range(runs):
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("ServiceWorker.enable")
            cdp.send("ServiceWorker.stopAllWorkers")  # the worker starts cold, as after the phone slept
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            page.goto("/#/today")
            page.wait_for_function("() => window.__routeShownAt !== undefined", timeout=20000)
            times.append(page.evaluate("window.__routeShownAt"))
            page.close()
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--stops", type=int, default=15)
    args = parser.parse_args()

    size = shell_size()
    print(f"app shell: {size['files']} files, {size['raw'] / 1024:.1f} KB raw, {size['gzip'] / 1024:.1f} KB gzip "
          f"(target <= 150 KB; Leaflet apart: {size['vendor_gzip'] / 1024:.1f} KB gzip)")
    for url, raw, gz in size["largest"]:
        print(f"    {url:28s} {raw / 1024:6.1f} KB raw {gz / 1024:6.1f} KB gzip")

    if not os.path.exists(CHROMIUM):
        print("offline cold start: skipped (no /usr/bin/chromium)")
        return 0
    tmp = tempfile.mkdtemp(prefix="doorstep-bench-pwa-")
    os.environ["DOORSTEP_INSTANCE"] = tmp
    sys.path.insert(0, str(ROOT))
    from backend import create_app
    from backend.config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp}/bench.sqlite3"
        SECRET_KEY = "bench-only"

    app = create_app(BenchConfig)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
    username, tz = seed_day(app, args.stops)
    server, base = serve(app)
    try:
        started = time.perf_counter()
        times = cold_starts(base, username, tz, args.runs, args.stops)
        spent = time.perf_counter() - started
    finally:
        server.shutdown()
    print(f"offline cold start to today's route ({args.stops} stops): median {statistics.median(times):.0f} ms, "
          f"min {min(times):.0f}, max {max(times):.0f} over {len(times)} runs (target <= 1000 ms; bench took {spent:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
