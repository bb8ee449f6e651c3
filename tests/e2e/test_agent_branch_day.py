"""The agent's day is the branch's day: a phone set to a timezone where it is already another
date still asks for (and shows) the branch's day of visits."""
import re
from datetime import datetime, timezone

import pytest

from tests.e2e.conftest import PASSWORD, PHONE

pytestmark = pytest.mark.e2e


def other_day_zone(branch_zone: str) -> str:
    """A fixed-offset zone whose date differs from the branch's now (about 13:00 there)."""
    branch_offset = -int(re.sub(r"^Etc/GMT", "", branch_zone) or 0)  # Etc/GMT-8 is UTC+8
    offset = branch_offset - 14 if branch_offset - 14 >= -12 else branch_offset + 11
    return "Etc/GMT" if offset == 0 else (f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}")


def test_a_phone_in_another_timezone_gets_the_branch_day(browser, live_server, agent_day):
    from zoneinfo import ZoneInfo

    phone_zone = other_day_zone(agent_day.tz)
    now = datetime.now(timezone.utc)
    assert now.astimezone(ZoneInfo(phone_zone)).date() != now.astimezone(ZoneInfo(agent_day.tz)).date()
    context = browser.new_context(viewport=PHONE, is_mobile=True, base_url=live_server, locale="zh-CN", timezone_id=phone_zone)
    context.set_default_timeout(15000)
    page = context.new_page()
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/api/sync/packet" in request.url else None)
    try:
        page.goto("/")
        page.locator("input[autocomplete=username]").fill(agent_day.username)
        page.locator("input[autocomplete=current-password]").fill(PASSWORD)
        page.locator("form.login button[type=submit]").click()
        page.locator("ol.stops li").first.wait_for()
        assert page.locator("ol.stops li.stop").count() == 3
        packet_date = page.evaluate("import('/js/store.js').then((s) => s.kvGet('packet')).then((p) => p.date)")
        assert packet_date == agent_day.date.isoformat()
        assert all("date=" not in url or f"date={agent_day.date.isoformat()}" in url for url in asked)
        assert page.locator(".notice.warn").count() == 0  # not "a stale day"
    finally:
        context.close()

