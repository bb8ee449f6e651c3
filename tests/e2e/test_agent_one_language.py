"""The agent's app in Chinese says everything in Chinese (issue 20, one language at a time):
Today, a visit and the plan builder with a policy finding show no English word but the data
the test planted (names, addresses, the branch)."""
import json
from pathlib import Path

from tests.e2e.one_language import english_words, names_of_the_house, planted

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))


def _planted_words(app, agent_day) -> set[str]:
    values = [agent_day.user.username, agent_day.user.display_name, agent_day.tz, agent_day.agent.branch.name, agent_day.agent.branch.code]
    for case in agent_day.cases:
        debtor = case.account.debtor
        values += [debtor.name, case.account.account_number] + [f"{a.line} {a.city}" for a in debtor.addresses]
    return planted(*values) | names_of_the_house(app)


def test_today_a_visit_and_the_plan_builder_speak_chinese(app, phone, agent_day):
    page = phone.page
    allowed = _planted_words(app, agent_day)
    phone.login(agent_day.username)
    found = {"today": english_words(page, allowed)}

    page.locator("ol.stops .stop-main").first.click()
    page.locator(".step[data-step=brief]").wait_for()
    found["brief"] = english_words(page, allowed)
    page.get_by_role("button", name=T["checkin.button"]).click()
    page.locator(".step[data-step=met]").wait_for()
    page.get_by_role("button", name=T["met.debtor"]).click()
    page.locator(".step[data-step=disclosure]").wait_for()
    found["disclosure"] = english_words(page, allowed)
    page.get_by_label(T["disclosure.identity"]).check()
    page.get_by_role("button", name=T["disclosure.given"]).click()
    page.locator(".step[data-step=outcome]").wait_for()
    found["outcome"] = english_words(page, allowed)
    page.get_by_text(T["outcome.plan_agreed"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()

    page.locator(".step[data-step=plan]").wait_for()
    page.get_by_role("button", name=T["plan.kind.settlement"]).click()
    page.locator("input[name=discount_pct]").fill("20")
    finding = page.locator(".findings li").first
    finding.wait_for()
    # the settlement beyond the agent's authority: a finding in the reader's language, never blocked
    assert finding.text_content() == T["policy.discount_authority"].format(pct=10)
    page.locator(".plan-status.pending_approval").wait_for()
    phone.shot("one-language-plan")
    found["plan"] = english_words(page, allowed)

    assert {screen: words for screen, words in found.items() if words} == {}
