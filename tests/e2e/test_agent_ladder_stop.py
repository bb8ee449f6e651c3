"""A case closed or handed to legal by the office reaches the phone like a stop-work flag: the
next sync carries it, and the device refuses the check-in and says why (issue 15)."""
import json
from pathlib import Path

from tests.e2e.conftest import PASSWORD

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))


def test_closing_or_handing_to_legal_refuses_check_in_on_the_phone(phone, agent_day, client, auth, db):
    page = phone.page
    phone.login(agent_day.username)
    closed_visit, legal_visit = agent_day.visits[1], agent_day.visits[2]
    # before the office acts, the device offers the check-in
    page.goto(f"/#/visit/{closed_visit.id}")
    page.locator(".step[data-step=brief]").wait_for()
    assert page.get_by_role("button", name=T["checkin.button"]).is_enabled()

    owner = auth(agent_day.owner, password=PASSWORD)
    for case, stage, reason in ((agent_day.cases[1], "closed", "已与银行直接结清"), (agent_day.cases[2], "legal", "移交律师处理")):
        response = client.patch(f"/api/cases/{case.id}", json={"stage": stage, "version": case.version, "reason": reason}, headers=owner)
        assert response.status_code == 200, response.get_json()
    phone.sync()

    page.goto(f"/#/visit/{closed_visit.id}")
    page.locator(".step[data-step=brief] .refusal").wait_for()
    assert page.locator(".refusal").inner_text() == T["checkin.case_closed"]
    assert page.locator(".ladder-stop").inner_text() == f"{T['stop.case_closed']} — 已与银行直接结清"
    assert page.get_by_role("button", name=T["checkin.button"]).is_disabled()
    phone.shot("20-case-closed-refuses-check-in")

    page.goto(f"/#/visit/{legal_visit.id}")
    page.locator(".step[data-step=brief] .refusal").wait_for()
    assert page.locator(".refusal").inner_text() == T["checkin.stage_changed"]
    assert page.locator(".ladder-stop").inner_text() == T["stop.stage_changed"].replace("{stage}", T["stage.legal"]) + " — 移交律师处理"

    page.goto("/#/today")
    page.locator("ol.stops li.stop.blocked").first.wait_for()
    assert page.locator("ol.stops li.stop.blocked").count() == 2
