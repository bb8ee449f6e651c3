"""The office on a phone (390 px wide): on every screen of every office role the page never
scrolls sideways, and the navigation folds behind a menu button that opens and closes it."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SCREENS = {
    "owner": ["queue", "cases", "followups", "imports", "kpis", "case/{case}"],
    "dispatcher": ["board", "cases", "followups", "kpis"],
    "admin": ["users", "branches", "policy", "scripts", "imports", "cases", "kpis"],
}
NO_SIDEWAYS = "() => document.scrollingElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("role", SCREENS)
def test_office_screens_fit_a_phone(desk, world, make_user, role):
    users = {"owner": world.owner, "dispatcher": world.dispatcher, "admin": make_user(role="admin", password=world.password)}
    page = desk.page
    page.set_viewport_size(PHONE)
    desk.login(users[role].username)
    nav = page.locator(".o-nav")
    expect(nav).to_be_hidden()
    menu = page.locator("button.o-menu")
    menu.click()
    expect(nav).to_be_visible()
    assert menu.get_attribute("aria-expanded") == "true"
    nav.locator(".o-tab").last.click()  # choosing a screen folds the menu again
    expect(nav).to_be_hidden()
    for screen in SCREENS[role]:
        page.goto(f"/#/office/{screen.format(case=world.plan.case_id)}")
        page.locator(f".o-view-{screen.split('/')[0]} h1, .o-view-board .o-toolbar").first.wait_for()
        page.wait_for_function("() => !document.querySelector('.o-main .o-status') || !/…$/.test(document.querySelector('.o-main .o-status').textContent)")
        assert page.evaluate(NO_SIDEWAYS), f"{role} {screen}: {page.evaluate('document.scrollingElement.scrollWidth')} px wide"
        desk.shot(f"phone-{role}-{screen.split('/')[0]}", full=True)
