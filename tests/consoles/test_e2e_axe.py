"""Accessibility of the office: axe-core (WCAG 2 A/AA rules, colour contrast included) on the
main screens of every office role finds nothing serious or critical; focus moves to the new
screen's heading on each route change; status changes go to one polite live region."""
import pytest
from playwright.sync_api import expect

from tests.consoles.conftest import DESKTOP, PASSWORD

pytestmark = pytest.mark.e2e

SCREENS = {
    "owner": ["queue", "cases", "followups", "imports", "kpis", "case/{case}", "nothing-here"],
    "dispatcher": ["board", "cases", "followups", "kpis"],
    "admin": ["users", "branches", "policy", "scripts", "imports", "cases", "kpis"],
}


@pytest.fixture
def open_page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True)
    context.set_default_timeout(20000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("role", SCREENS)
def test_office_screens_have_no_serious_violations(open_page, world, make_user, axe, role):
    users = {"owner": world.owner, "dispatcher": world.dispatcher, "admin": make_user(role="admin", password=PASSWORD)}
    page = open_page
    page.goto("/")
    page.locator("form.login").wait_for()
    found = axe(page, "login")
    page.locator("input[autocomplete=username]").fill(users[role].username)
    page.locator("input[autocomplete=current-password]").fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.locator(".o-top").wait_for()
    for screen in SCREENS[role]:
        page.goto(f"/#/office/{screen.format(case=world.plan.case_id)}")
        name = screen.split("/")[0]
        page.locator(f".o-view-{'notfound' if name == 'nothing-here' else name} h1, .o-view-board .o-toolbar").first.wait_for()
        page.wait_for_function("() => ![...document.querySelectorAll('.o-main .o-status')].some((el) => /…$/.test(el.textContent))")
        page.wait_for_timeout(300)  # maps and charts settle
        found += axe(page, name)
    assert found == [], "\n".join(f"{v['screen']}: {v['id']} {v['nodes']}" for v in found)


def test_focus_follows_the_route_and_changes_are_announced(desk, world):
    page = desk.page
    desk.login(world.owner.username)
    page.locator(".o-tab", has_text="案件").click()
    expect(page.locator(".o-view-cases h1")).to_be_focused()
    assert page.title().startswith("案件")
    expect(page.locator("#office-live")).to_have_text("找到 3 个案件。")
    assert page.locator("[aria-live]").count() == 1  # one region: the screen is not re-read on each change
    page.locator(".o-tab", has_text="绩效指标").click()
    expect(page.locator(".o-view-kpis h1")).to_be_focused()
