"""The digital badge end to end (R10): the agent's phone, offline at the door, makes the badge
link and its QR code from the day packet; a second browser context plays the debtor's own
phone, opens the link, sees who is at the door, gives the last four digits of the ID and
confirms the visit, which lands on the case timeline once. Leaving, the agent's phone shows
the leave-behind card (R14)."""
import json
from pathlib import Path

from sqlalchemy import select

from backend.cases.models import TimelineEvent

PWA = Path(__file__).resolve().parents[2] / "pwa/js/i18n"
T = json.loads((PWA / "zh-CN.json").read_text(encoding="utf-8"))
B = json.loads((PWA / "badge/zh-CN.json").read_text(encoding="utf-8"))


def test_the_debtor_checks_the_badge_made_offline_and_confirms_the_visit(phone, agent_day, browser, live_server, db):
    page = phone.page
    phone.login(agent_day.username)
    phone.wait_service_worker()
    phone.context.set_offline(True)
    page.locator("ol.stops .stop-main").first.click()
    page.locator(".step[data-step=brief]").wait_for()
    page.get_by_role("button", name=T["checkin.button"]).click()
    page.locator(".step[data-step=met]").wait_for()

    page.get_by_role("button", name=T["badge.show"]).click()
    dialog = page.locator("dialog.badge")
    dialog.locator("canvas.qr").wait_for()
    assert page.evaluate("""() => { const c = document.querySelector('canvas.qr');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i] === 0) dark++; return dark > 1000; }""")
    link = dialog.locator(".badge-link a").get_attribute("href")
    assert link.startswith(f"{live_server}/badge.html#{agent_day.visits[0].id}.")
    phone.shot("40-badge-qr")
    dialog.get_by_role("button", name=T["common.close"]).click()

    # the debtor's own phone: another browser, online, no sign-in
    debtor = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        other = debtor.new_page()
        errors = []
        other.on("pageerror", lambda exc: errors.append(str(exc)))
        other.goto(link)
        other.locator("[data-status=valid]").wait_for()
        assert other.locator(".agent-name").text_content() == "陈外访"
        other.get_by_label(B["id_last4"]).fill("9999")
        other.get_by_role("button", name=B["confirm"]).click()
        other.get_by_text(B["no_match"]).wait_for()
        other.get_by_label(B["id_last4"]).fill("1234")
        other.get_by_role("button", name=B["confirm"]).click()
        other.locator("h2.confirmed").wait_for()
        assert "外访人员陈外访" in other.locator("blockquote.script").text_content()  # R6, in the debtor's language
        other.screenshot(path=str(Path(__file__).resolve().parents[2] / "test-artifacts/41-badge-debtor.png"), full_page=True)

        # the same link scanned again: still one confirmation
        other.goto("about:blank")
        other.goto(link)
        other.get_by_label(B["id_last4"]).fill("1234")
        other.get_by_role("button", name=B["confirm"]).click()
        other.locator("h2.confirmed").wait_for()
        assert not errors, errors
    finally:
        debtor.close()

    # leaving: the leave-behind card (R14) on the agent's phone, still offline — neutral lines
    page.get_by_role("button", name=T["met.third_party"]).click()
    page.locator(".step[data-step=outcome]").wait_for()
    page.get_by_text(T["outcome.third_party_only"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()
    page.locator(".step[data-step=notes]").wait_for()
    page.get_by_role("button", name=T["notes.continue"]).click()
    page.locator(".step[data-step=checkout]").wait_for()
    page.get_by_role("button", name=T["card.show"]).click()
    card = page.locator("dialog.leave-card")
    card.locator("canvas.qr").wait_for()
    text = card.inner_text()
    assert "400-000-0000" in text and f"V{agent_day.visits[0].id}" in text and "#c." in text
    assert agent_day.cases[0].account.debtor.name not in text and "逾期" not in text and "6200" not in text
    phone.shot("42-leave-behind-card")

    db.session.expire_all()
    confirmed = db.session.scalars(select(TimelineEvent).where(
        TimelineEvent.case_id == agent_day.cases[0].id, TimelineEvent.kind == "visit.confirmed")).all()
    assert len(confirmed) == 1 and confirmed[0].data["visit_id"] == agent_day.visits[0].id
