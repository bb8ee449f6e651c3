"""What works, end to end: the agent records an outcome with the script opened at the door (a
strategy other than the first recommended), and the owner's KPI screen counts that visit in the
What works table under that strategy and script."""
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.policy.strategies import playbook
from backend.visits.models import Outcome

from tests.e2e.conftest import PASSWORD, PHONE, STOPS
from tests.e2e.test_agent_paths import met_and_told, step

ROOT = Path(__file__).resolve().parents[2]
T = json.loads((ROOT / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))
OFFICE = json.loads((ROOT / "pwa/js/i18n/office/zh-CN.json").read_text(encoding="utf-8"))



@pytest.fixture
def shanghai_phone(browser, live_server):
    first = STOPS[0]
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        geolocation={"latitude": first[1], "longitude": first[2], "accuracy": 12}, permissions=["geolocation"],
        timezone_id="Asia/Shanghai", locale="zh-CN", base_url=live_server,
    )
    context.set_default_timeout(15000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def test_the_script_used_at_the_door_reaches_the_owners_what_works_table(shanghai_phone, browser, live_server, agent_day, db):
    page = shanghai_phone
    page.goto("/")
    page.locator("input[autocomplete=username]").fill(agent_day.username)
    page.locator("input[autocomplete=current-password]").fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.locator("ol.stops .stop-main").first.click()
    step(page, "brief")
    page.get_by_role("button", name=T["checkin.button"]).click()
    step(page, "met")
    met_and_told(page)

    # the first recommended strategy is preselected, with no script until one is opened
    strategy = page.get_by_label(T["approach.strategy"])
    script = page.get_by_label(T["approach.script"])
    assert strategy.input_value() == "empathy" and script.input_value() == ""
    # the agent opens the second script of the home-visit approach and uses it
    page.locator("details.approach summary").click()
    page.locator("button.use-script[data-script='home_visit.understand']").click()
    assert page.locator("button.use-script[data-script='home_visit.understand']").get_attribute("aria-pressed") == "true"
    assert strategy.input_value() == "home_visit" and script.input_value() == "home_visit.understand"
    page.get_by_text(T["outcome.refused"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()
    step(page, "notes")
    page.evaluate("import('/js/sync.js').then((s) => s.syncNow())")
    page.wait_for_function("import('/js/store.js').then((s) => s.outboxCount()).then((n) => n === 0)")

    db.session.expire_all()  # written by the live server
    outcome = db.session.scalar(select(Outcome).where(Outcome.visit_id == agent_day.visits[0].id))
    assert outcome is not None and outcome.code == "refused", outcome
    assert (outcome.data["strategy"], outcome.data["script"]) == ("home_visit", "home_visit.understand")

    desk = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    office = desk.new_page()
    office.goto("/")
    office.locator("input[autocomplete=username]").fill(agent_day.owner.username)
    office.locator("input[autocomplete=current-password]").fill(PASSWORD)
    office.locator("form.login button[type=submit]").click()
    office.locator(".o-top").wait_for()
    office.goto("/#/office/kpis")
    office.get_by_label(OFFICE["kpi.to"]).fill(agent_day.date.isoformat())
    office.get_by_role("button", name=OFFICE["kpi.apply"]).click()
    row = office.locator(".o-what-works .o-ww-strategy tr[data-key=home_visit]")
    row.wait_for()
    cells = row.locator("td")
    assert cells.nth(0).inner_text() == playbook()["strategies"]["home_visit"]["label"]["zh-CN"]
    assert cells.nth(1).inner_text() == "1"
    assert cells.nth(3).inner_text() == OFFICE["kpi.ww.too_few"].format(n=1)
    assert "0" in cells.nth(4).inner_text()
    script_row = office.locator(".o-what-works .o-ww-script tr[data-key='home_visit.understand'] td")
    assert script_row.nth(1).inner_text() == "1"
    assert office.locator(".o-what-works .o-ww-strategy tr[data-key=empathy]").count() == 0
    ARTIFACTS = ROOT / "test-artifacts"
    ARTIFACTS.mkdir(exist_ok=True)
    office.screenshot(path=str(ARTIFACTS / "owner-kpis-what-works.png"), full_page=True)  # the section may be drawn again meanwhile
    desk.close()
