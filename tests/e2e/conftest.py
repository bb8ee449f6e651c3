"""Browser fixtures: Debian's Chromium driven by Playwright against the live server, and an
agent with a day route seeded through the factories in tests/conftest.py."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "field-pass-1"


def midday_zone(now: datetime | None = None) -> tuple[str, datetime]:
    """A fixed-offset zone where it is about 13:00 now, so the legal visiting window (R1,
    09:00–20:00 in the debtor's time) is open whenever the suite runs."""
    now = now or datetime.now(timezone.utc)
    offset = 13 - now.hour
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    name = "Etc/GMT" if offset == 0 else (f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}")
    return name, now + timedelta(hours=offset)


@dataclass
class Day:
    user: object
    agent: object
    tz: str
    date: object
    cases: list = field(default_factory=list)
    visits: list = field(default_factory=list)
    owner: object = None

    @property
    def username(self) -> str:
        return self.user.username


# Addresses around People's Square, Shanghai, a few hundred metres apart.
STOPS = [
    ("王秀英", 31.2304, 121.4737, "6200.00", "18000.00", 95),
    ("李建国", 31.2335, 121.4790, "3150.50", "9000.00", 64),
    ("张海燕", 31.2268, 121.4695, "12800.00", "40000.00", 182),
]


@pytest.fixture
def agent_day(db, make_user, make_branch, make_agent, make_case, make_visit):
    """An agent (password PASSWORD) with three published visits today, in route order."""
    tz, local_now = midday_zone()
    branch = make_branch(timezone=tz, jurisdiction="CN")
    user = make_user(role="agent", password=PASSWORD, display_name="陈外访")
    agent = make_agent(branch=branch, user=user)
    owner = make_user(role="owner", password=PASSWORD)
    day = Day(user=user, agent=agent, tz=tz, date=local_now.date(), owner=owner)
    for position, (name, lat, lon, overdue, balance, dpd) in enumerate(STOPS, start=1):
        case = make_case(branch=branch, tz=tz, lat=lat, lon=lon, overdue=overdue, balance=balance,
                         days_past_due=dpd, debtor_name=name, owner_id=owner.id)
        visit = make_visit(case=case, agent=agent, day=local_now.date())
        visit.route_position = position
        db.session.commit()
        day.cases.append(case)
        day.visits.append(visit)
    return day


@pytest.fixture
def phone(browser, live_server, agent_day, request):
    """A phone-sized browser context at the first stop, with location allowed."""
    first = STOPS[0]
    options = dict(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        geolocation={"latitude": first[1], "longitude": first[2], "accuracy": 12},
        permissions=["geolocation"], timezone_id=agent_day.tz, locale="zh-CN", base_url=live_server,
    )
    marker = request.node.get_closest_marker("no_service_worker")
    if marker:
        options["service_workers"] = "block"
    context = browser.new_context(**options)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield Phone(context=context, page=page, base=live_server, errors=errors)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@dataclass
class Phone:
    context: object
    page: object
    base: str
    errors: list

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def login(self, username: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/")
        page.locator("input[autocomplete=username]").fill(username)
        page.locator("input[autocomplete=current-password]").fill(password)
        page.locator("form.login button[type=submit]").click()
        page.locator("ol.stops").wait_for()

    def wait_service_worker(self) -> None:
        # sw.js claims the page on activation: after that every request goes through it
        self.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        self.page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    def unsent(self) -> int:
        return self.page.evaluate("import('/js/store.js').then((s) => s.outboxCount())")

    def sync(self) -> dict:
        return self.page.evaluate("import('/js/sync.js').then((s) => s.syncNow())")


def pytest_configure(config):
    config.addinivalue_line("markers", "no_service_worker: run the page without its service worker")


def pytest_collection_modifyitems(items):
    # every test that drives the browser carries the suite's `e2e` marker (-m "not e2e" skips them)
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
