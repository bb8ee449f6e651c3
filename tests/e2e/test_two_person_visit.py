"""A two-person visit (R9) end to end: two phones (two browser contexts) hold the same visit —
one leads, one partners, each shows "with <the other>". The lead checks in and, at the outcome,
is warned that the partner has not checked in yet; the partner's phone checks in too, leaves
the recording to the lead, and escalates a concern and notes what it saw (both land once); the
office's case page then shows both check-ins."""
import json
from pathlib import Path

from sqlalchemy import select

from backend.cases.models import Note, TimelineEvent
from backend.escalations.models import EscalationTicket
from backend.visits.models import Visit

PASSWORD = "field-pass-1"  # tests/e2e/conftest.py's agent_day password
PHONE = {"width": 390, "height": 844}
FIRST_STOP = (31.2304, 121.4737)  # agent_day's first address

PWA = Path(__file__).resolve().parents[2] / "pwa/js/i18n"
T = json.loads((PWA / "zh-CN.json").read_text(encoding="utf-8"))
O = json.loads((PWA / "office/zh-CN.json").read_text(encoding="utf-8"))


def _phone(browser, live_server, username):
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=live_server,
        geolocation={"latitude": FIRST_STOP[0], "longitude": FIRST_STOP[1], "accuracy": 12}, permissions=["geolocation"])
    context.set_default_timeout(15000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    page.locator("input[autocomplete=username]").fill(username)
    page.locator("input[autocomplete=current-password]").fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.locator("ol.stops").wait_for()
    return context, page, errors


def _sync(page):
    return page.evaluate("import('/js/sync.js').then((s) => s.syncNow())")


def test_two_phones_check_in_to_the_same_visit(agent_day, browser, live_server, db, make_user, make_agent):
    partner_user = make_user(role="agent", password=PASSWORD, display_name="林同行")
    partner = make_agent(branch=agent_day.agent.branch, user=partner_user)
    visit = agent_day.visits[0]
    db.session.get(Visit, visit.id).partner_id = partner.id
    db.session.commit()

    lead_ctx, lead, lead_errors = _phone(browser, live_server, agent_day.username)
    partner_ctx, mate, partner_errors = _phone(browser, live_server, partner_user.username)
    try:
        # Today on each phone: the visit, with the other agent's name and this phone's role
        assert lead.locator("ol.stops .crew-with").first.text_content() == T["crew.with"].replace("{name}", "林同行")
        assert lead.locator("ol.stops .crew[data-role=lead]").count() == 1
        assert mate.locator("ol.stops li").count() == 1
        assert mate.locator("ol.stops .crew-with").text_content() == T["crew.with"].replace("{name}", "陈外访")

        # the lead checks in first; at the outcome the phone warns that the partner is not in yet
        lead.locator("ol.stops .stop-main").first.click()
        lead.locator(".visit-head .crew-with").wait_for()
        lead.get_by_role("button", name=T["checkin.button"]).click()
        lead.get_by_role("button", name=T["met.nobody"]).click()
        lead.locator(".step[data-step=outcome]").wait_for()
        warning = lead.locator(".partner-absent")
        assert warning.text_content() == T["crew.partner_absent"].replace("{name}", "林同行")

        # the partner's phone checks in and hands the recording to the lead
        mate.locator("ol.stops .stop-main").click()
        mate.get_by_role("button", name=T["checkin.button"]).click()
        mate.get_by_text(T["crew.partner_checked_in"]).wait_for()
        assert mate.locator(".visit-bar").count() == 0
        # what the partner saw at the door: a concern escalated at once, and a note (R12, R16)
        mate.locator(".partner-escalate").click()
        mate.locator("dialog.sheet select").select_option("other")
        mate.locator("dialog.sheet textarea").fill("安全：院内有未拴的狗")
        mate.locator("dialog.sheet .btn.primary").click()
        mate.locator("dialog.sheet").wait_for(state="detached")
        mate.locator(".partner-actions textarea").fill("屋内另有一名成年人")
        mate.locator(".partner-note").click()
        mate.locator(".partner-actions .saved-notes li").wait_for()
        _sync(mate)
        _sync(lead)
        assert not lead_errors and not partner_errors, (lead_errors, partner_errors)
    finally:
        lead_ctx.close()
        partner_ctx.close()

    db.session.expire_all()
    kinds = db.session.execute(select(TimelineEvent.kind, TimelineEvent.actor_id).where(
        TimelineEvent.case_id == visit.case_id, TimelineEvent.kind.in_(("visit.checkin", "visit.partner_checkin")))).all()
    assert sorted(kinds) == [("visit.checkin", agent_day.user.id), ("visit.partner_checkin", partner_user.id)]
    tickets = db.session.scalars(select(EscalationTicket).where(EscalationTicket.case_id == visit.case_id)).all()
    assert [t.reason for t in tickets] == ["安全：院内有未拴的狗"]
    notes = db.session.execute(select(Note.text, Note.author_id).where(Note.case_id == visit.case_id)).all()
    assert notes == [("屋内另有一名成年人", partner_user.id)]

    # the office's case page shows both check-ins
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = desk.new_page()
        page.goto("/")
        page.locator("input[autocomplete=username]").fill(agent_day.owner.username)
        page.locator("input[autocomplete=current-password]").fill(PASSWORD)
        page.locator("form.login button[type=submit]").click()
        page.locator(".o-top").wait_for()
        page.goto(f"{live_server}/#/office/case/{visit.case_id}")
        partner_line = page.locator("li.k-visit-partner_checkin .o-event-text")
        partner_line.wait_for()
        assert page.locator("li.k-visit-checkin").count() == 1
        assert "林同行" in partner_line.text_content()
        assert "陈外访" in page.locator("li.k-visit-checkin .o-event-text").text_content()
    finally:
        desk.close()
