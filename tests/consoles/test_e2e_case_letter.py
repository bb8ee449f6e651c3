"""The letter rung from the office: on the case page the owner chooses an approved letter
template, reads the letter filled with the case's fields, sends it, and finds it on the
timeline with its PDF — the very document kept on the server."""
import hashlib
import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

pytestmark = pytest.mark.e2e


def test_owner_previews_and_sends_a_letter_that_lands_on_the_timeline(desk, world, db):
    from backend.cases.models import TimelineEvent
    from backend.policy.demo import seed_letter_templates

    seed_letter_templates()
    db.session.commit()
    case = world.cases[1]
    page = desk.page
    desk.login(world.owner.username)
    page.goto(f"/#/office/case/{case.id}")
    letters = page.locator("[data-part=letters]")
    letters.locator("select[name=letter-template] option").first.wait_for(state="attached")
    send = letters.locator("[data-action=letter-send]")
    expect(send).to_be_disabled()  # nothing goes out unread
    events_before = page.locator(".o-event").count()

    zh = letters.locator("select[name=letter-template] option", has_text="中文").get_attribute("value")
    letters.locator("select[name=letter-template]").select_option(zh)
    letters.locator("[data-action=letter-preview]").click()
    text = letters.locator(".o-letter-text")
    expect(text).to_contain_text("尊敬的李建国")
    assert "{" not in text.text_content()
    desk.shot("case-letter-preview")
    send.click()

    # the page reloads the case: the letter is the newest event, with its PDF
    newest = page.locator(".o-event").first
    expect(newest).to_contain_text("寄送了信函")
    expect(page.locator(".o-event")).to_have_count(events_before + 1)
    db.session.expire_all()
    [event] = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "contact.letter")).all()
    digest = event.data["document"]["pdf_sha256"]

    served = []

    def keep(route):  # the very bytes the page receives for the PDF
        response = route.fetch()
        served.append((response.status, response.body()))
        route.fulfill(response=response)

    page.route(f"**/api/cases/{case.id}/letters/{digest}", keep)
    with page.expect_popup() as popup:
        newest.locator(f"[data-letter-pdf='{digest}']").click()
    popup.value.wait_for_url(lambda url: url.startswith("blob:"), wait_until="commit")
    status, pdf = served[0]
    assert status == 200 and hashlib.sha256(pdf).hexdigest() == digest
    assert "李建国" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    popup.value.close()
    desk.shot("case-letter-sent")
