"""Accessibility of the agent's app: axe-core (WCAG 2 A/AA rules, colour contrast included) on
the sign-in page, Today (list and map), a visit, Sync and Settings finds nothing serious or
critical."""
import pytest

from tests.e2e.conftest import PASSWORD, PHONE

pytestmark = pytest.mark.e2e


def test_agent_screens_have_no_serious_violations(browser, live_server, agent_day, axe):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, base_url=live_server, locale="zh-CN",
                                  timezone_id=agent_day.tz, bypass_csp=True, permissions=["geolocation"],
                                  geolocation={"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12})
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.goto("/")
        page.locator("form.login").wait_for()
        found = axe(page, "login")
        page.locator("input[autocomplete=username]").fill(agent_day.username)
        page.locator("input[autocomplete=current-password]").fill(PASSWORD)
        page.locator("form.login button[type=submit]").click()
        page.locator("ol.stops").wait_for()
        found += axe(page, "today")
        page.locator("button.seg", has_text="地图").click()
        page.locator("#route-map .map-stop").first.wait_for()
        found += axe(page, "today-map")
        page.locator("button.seg", has_text="列表").click()
        for name, hash_, ready in (("visit", f"#/visit/{agent_day.visits[0].id}", "#main h1"),
                                   ("sync", "#/sync", "#main h1"), ("settings", "#/settings", "#main h1")):
            page.goto(f"/{hash_}")
            page.locator(ready).first.wait_for()
            found += axe(page, name)
        assert found == [], "\n".join(f"{v['screen']}: {v['id']} {v['nodes']}" for v in found)
    finally:
        context.close()
