"""The office consoles in Debian's Chromium at 1440 px, through the real sign-in page:
the case owner reviews, approves and opens the agreement PDF; the dispatcher plans the
day, drags a stop to another agent and publishes. Screenshots go to test-artifacts/."""
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select


pytestmark = pytest.mark.e2e


def test_owner_reviews_approves_and_opens_the_agreement(desk, world, db):
    from backend.plans.models import RepaymentPlan

    page = desk.page
    desk.login(world.owner.username)
    queue = page.locator(".o-queue-body")
    queue.locator("tr[data-outcome-id]").first.wait_for()
    assert page.locator("[data-section=outcomes] .o-count").text_content() == "3"
    desk.shot("owner-queue")

    queue.locator(f"tr[data-outcome-id='{world.outcomes[0].id}'] button").click()
    expect(page.locator("[data-section=outcomes] .o-count")).to_have_text("2")

    page.locator("[data-section=plans]").click()
    card = page.locator(f"article[data-plan-id='{world.plan.id}']")
    card.locator("button.danger").click()  # reject without a reason: refused in place
    assert "理由" in card.locator(".o-inline-msg").text_content()
    desk.shot("owner-plans")
    card.locator("textarea").fill("困难证明已核实 hardship documented")
    card.locator("button.ok").click()
    expect(page.locator("[data-section=plans] .o-count")).to_have_text("0")
    db.session.expire_all()
    plan = db.session.get(RepaymentPlan, world.plan.id)
    assert plan.status == "active" and plan.decision_reason.startswith("困难证明")

    page.locator("[data-section=escalations]").click()
    ticket = page.locator(f"tr[data-ticket-id='{world.ticket.id}']")
    ticket.locator("button", has_text="认领").click()
    expect(ticket.locator(".o-badge", has_text="已认领")).to_be_visible()
    desk.shot("owner-escalations")
    ticket.locator("input").fill("已致电持卡人道歉并更换外访员 Apologised, agent changed")
    ticket.locator("button", has_text="解决").click()
    expect(page.locator("[data-section=escalations] .o-count")).to_have_text("0")

    page.locator("[data-section=sync]").click()
    conflict = page.locator(f"tr[data-op-id='{world.sync_op.id}']")
    assert "cancelled by the dispatcher" in conflict.text_content()
    conflict.locator("input").fill("outcome re-entered on the new visit")
    conflict.locator("button", has_text="标记已审").click()
    expect(page.locator("[data-section=sync] .o-count")).to_have_text("0")

    page.locator("[data-section=compliance]").click()
    page.locator(".o-queue-body tr[data-kind=note]").wait_for()
    desk.shot("owner-compliance")

    page.goto(f"/#/office/case/{world.plan.case_id}")
    page.locator(".o-chain.ok").wait_for()
    assert "哈希链已验证" in page.locator(".o-chain").text_content()
    signature = page.locator(f"article[data-plan-id='{world.plan.id}'] .o-signature img")
    signature.wait_for()
    expect(signature).to_have_js_property("complete", True)
    assert signature.evaluate("(img) => img.naturalWidth") > 0
    assert page.locator(".o-event").count() >= 3
    desk.shot("owner-case")

    served = []

    def keep(route):  # the very bytes the page receives for the PDF
        response = route.fetch()
        served.append((response.status, response.headers.get("content-type"), response.body()))
        route.fulfill(response=response)

    page.route(f"**/api/plans/{world.plan.id}/agreement.pdf", keep)
    with page.expect_popup() as popup:
        page.locator(f"[data-pdf='{world.plan.id}']").click()
    popup.value.wait_for_url(lambda url: url.startswith("blob:"), wait_until="commit")
    status, content_type, pdf = served[0]
    assert status == 200 and content_type == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert plan.terms_hash in text and "王秀英" in text and "还款协议" in text
    popup.value.close()


def test_owner_kpi_dashboard_filters_and_exports(desk, world):
    page = desk.page
    desk.login(world.owner.username)
    page.goto("/#/office/kpis")
    page.locator("[data-kpi=contact_rate] .o-kpi-value").wait_for()
    page.locator("select").first.select_option(str(world.branch.id))
    with page.expect_response(lambda r: f"/api/kpis?branch_id={world.branch.id}" in r.url):
        page.locator("form.o-filters button[type=submit]").click()
    expect(page.locator(".o-view-kpis .o-status")).to_have_text("")
    expect(page.locator("[data-kpi=contact_rate] .o-sub")).to_have_text("2 / 3")
    assert page.locator("[data-kpi=contact_rate] .o-kpi-value").text_content() == "66.7%"
    # the daily trend of counts draws its four series; money at the door has a chart of its own
    assert page.locator("svg.bars rect").count() == 1
    assert page.locator(".o-kpi-charts svg.trend").first.locator("path").count() == 4
    assert page.locator(".o-door-money svg.trend path").count() == 2
    desk.shot("owner-kpis", full=True)
    with page.expect_download() as download:
        page.locator("button", has_text="导出 CSV").click()
    content = open(download.value.path(), encoding="utf-8-sig").read()
    assert content.splitlines()[0].startswith("agent_id,agent") and "TOTAL" in content and "陈外访" in content


def test_dispatcher_plans_drags_and_publishes(desk, world, dispatch_day, db):
    from backend.auth.models import Token
    from backend.routing.models import RoutePlan
    from backend.visits.models import Visit

    page = desk.page
    desk.login(world.dispatcher.username)
    page.locator("select[aria-label='分部']").select_option(str(world.branch.id))
    page.locator(".o-agent").first.wait_for()
    expect(page.locator("[data-counter=late] b")).to_have_text("1")
    assert page.locator("[data-counter=checked_in] b").text_content() == "1"
    assert page.locator(".o-stop.late").count() == 1
    page.locator(".o-map .leaflet-marker-icon").first.wait_for()
    desk.shot("dispatcher-today")

    page.once("dialog", lambda dialog: dialog.accept())
    card = page.locator(f".o-agent[data-agent-id='{world.agent.id}']")
    card.locator("button", has_text="吊销设备").click()
    card.locator(".o-inline-msg", has_text="已吊销").wait_for()
    db.session.expire_all()
    assert db.session.scalars(select(Token).where(Token.user_id == world.agent_user.id, Token.revoked_at.is_(None))).all() == []

    page.locator("input[type=date]").fill(dispatch_day["tomorrow"].isoformat())
    page.locator("input[type=date]").dispatch_event("change")
    page.locator(".o-plan-chip", has_text="尚无").wait_for()
    page.locator("input[aria-label='秒数']").fill("2")
    page.locator("input[aria-label='秒数']").dispatch_event("change")
    page.locator("[data-action=plan]").click()
    page.locator(".o-progress").wait_for(state="visible")
    page.locator(".o-plan-chip.draft").wait_for(timeout=90000)
    page.locator(".o-stop[draggable=true]").first.wait_for()
    desk.shot("dispatcher-draft")

    first_card = page.locator(f".o-agent[data-agent-id='{world.agent.id}']")
    other_id = dispatch_day["second"].id
    other_card = page.locator(f".o-agent[data-agent-id='{other_id}']")
    before = other_card.locator(".o-stop").count()
    # a drag between two stops both in view (as a person would): the target card and the last stop above it
    other_card.scroll_into_view_if_needed()
    key = first_card.locator(".o-stop[draggable=true]").last.get_attribute("data-key")
    page.locator(f".o-stop[data-key='{key}']").drag_to(other_card.locator(".o-stop").first if before else other_card.locator(".o-stops"))
    moved = page.locator(f".o-agent[data-agent-id='{other_id}'] .o-stop.moved[data-key='{key}']")
    moved.wait_for()
    assert moved.locator(".o-pos").text_content() == "1"
    if before:  # over the cap of one: said on the stop, on the route and above; publishing waits
        assert "每日上限" in moved.locator(".o-stop-violations").text_content()  # the rule by its name, in the reader's language
        assert page.locator("[data-action=publish]").is_disabled()
        desk.shot("dispatcher-violation")
        other_card.locator(f".o-stop:not([data-key='{key}']) [data-action=unassign]").click()
        expect(other_card.locator(".o-stop")).to_have_count(1)
        expect(page.locator("[data-action=publish]")).to_be_enabled()
    desk.shot("dispatcher-moved")

    page.locator(f".o-stop[data-key='{key}'] [data-action=pin]").click()
    page.locator(f".o-stop.pinned[data-key='{key}']").wait_for()

    page.locator("[data-action=publish]").click()
    page.locator(".o-plan-chip.published").wait_for()
    desk.shot("dispatcher-published")
    first_plan_id = plan_id_on(page)
    db.session.expire_all()
    plan = db.session.scalars(select(RoutePlan).order_by(RoutePlan.id.desc())).first()
    assert plan.status == "published"
    published = db.session.scalars(select(Visit).where(Visit.date == dispatch_day["tomorrow"], Visit.status == "published")).all()
    moved_case = int(key[1:]) if key.startswith("c") else None
    assert published and any(v.agent_id == other_id and v.route_position == 1 and (moved_case is None or v.case_id == moved_case) for v in published)
    assert page.locator("[data-action=replan]").is_visible() and not page.locator("[data-action=publish]").is_visible()

    # the day changes: re-plan the rest (published stops not under way are re-optimized), publish again
    page.locator("[data-action=replan]").click()
    page.locator(".o-plan-chip.draft").wait_for(timeout=90000)
    assert plan_id_on(page) > first_plan_id
    page.locator("[data-action=publish]").click()
    page.locator(".o-plan-chip.published").wait_for()
    db.session.expire_all()
    assert db.session.get(RoutePlan, first_plan_id).status == "superseded"


def test_dispatcher_moves_a_stop_without_dragging_over_street_tiles(desk, world, dispatch_day, db, tile_stub):
    """Touch and keyboard: "Move…" opens a dialog (agent, position), the same move as a drop;
    the board draws the street map from the tile server (a local stub) with its credit."""
    page = desk.page
    desk.login(world.dispatcher.username)
    page.locator("select[aria-label='分部']").select_option(str(world.branch.id))
    page.wait_for_function("() => document.querySelectorAll('.o-map img.leaflet-tile-loaded').length > 0")
    assert page.locator(".o-map .map-credit").text_content() == "© Stub tiles" and tile_stub.requests
    page.locator("input[type=date]").fill(dispatch_day["tomorrow"].isoformat())
    page.locator("input[type=date]").dispatch_event("change")
    page.locator("input[aria-label='秒数']").fill("1")
    page.locator("input[aria-label='秒数']").dispatch_event("change")
    page.locator("[data-action=plan]").click()
    page.locator(".o-plan-chip.draft").wait_for(timeout=90000)
    first_card = page.locator(f".o-agent[data-agent-id='{world.agent.id}']")
    stop = first_card.locator(".o-stop[draggable=true]").last
    key = stop.get_attribute("data-key")
    stop.locator("[data-action=move]").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.o-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#move-agent")).to_be_focused()
    desk.shot("dispatcher-move-dialog")
    dialog.locator("#move-agent").select_option(str(dispatch_day["second"].id))
    dialog.locator("#move-position").select_option("1")
    dialog.locator("#move-position").press("Tab")
    page.keyboard.press("Enter")  # on "Move", the next control
    moved = page.locator(f".o-agent[data-agent-id='{dispatch_day['second'].id}'] .o-stop.moved[data-key='{key}']")
    moved.wait_for()
    assert moved.locator(".o-pos").text_content() == "1"
    expect(page.locator(f"[data-key='{key}'] [data-action=move]")).to_be_focused()  # the keyboard stays on the stop
    assert page.locator("dialog").count() == 0
    desk.shot("dispatcher-moved-by-dialog")


def plan_id_on(page) -> int:
    import re

    return int(re.search(r"#(\d+)", page.locator(".o-plan-chip").text_content()).group(1))


def test_owner_rejects_a_plan_on_its_case_page(desk, world, db):
    from backend.plans.models import RepaymentPlan

    page = desk.page
    desk.login(world.owner.username)
    page.goto(f"/#/office/case/{world.plan.case_id}")
    card = page.locator(f"article[data-plan-id='{world.plan.id}']")
    card.locator(".o-signature img").wait_for()
    card.locator(".o-decision button.danger").click()
    expect(card.locator(".o-decision .o-inline-msg")).to_contain_text("理由")
    card.locator(".o-decision textarea").fill("减免超出政策，请改为分期 Discount too deep; offer installments")
    card.locator(".o-decision button.danger").click()
    expect(page.locator(f"article[data-plan-id='{world.plan.id}'] .o-badge.rejected")).to_be_visible()
    assert page.locator(f"article[data-plan-id='{world.plan.id}'] .o-decision").count() == 0
    db.session.expire_all()
    assert db.session.get(RepaymentPlan, world.plan.id).status == "rejected"


MARKUP = "<img src=/x id=p>"
# Every Leaflet map the page makes, so the test can open each layer's tooltip as a hover would.
TRACK_MAPS = """(() => {
  let leaflet;
  Object.defineProperty(window, 'L', { configurable: true, get: () => leaflet, set: (value) => {
    leaflet = value;
    if (value && value.Map && !value.__tracked) {
      value.__tracked = true;
      value.Map.addInitHook(function () { (window.__maps = window.__maps || []).push(this); });
    }
  } });
})()"""
OPEN_TOOLTIPS = """() => {
  for (const map of window.__maps || []) map.eachLayer((layer) => { if (layer.getTooltip && layer.getTooltip()) layer.openTooltip(); });
  return [...document.querySelectorAll('.leaflet-tooltip')].map((el) => el.textContent);
}"""


def test_names_that_look_like_markup_stay_text_on_the_board(desk, world, db, make_agent, make_case, make_user, make_visit):
    """Imported names are data: an agent and debtors named like HTML are shown as those characters
    in the board's lists, map tooltips and pins; no element is made and nothing asks for /x."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    agent = make_agent(branch=world.branch, user=make_user(role="agent", display_name=f"{MARKUP}外访"),
                       start_lat=31.2200, start_lon=121.4800)
    visit = make_visit(case=make_case(branch=world.branch, debtor_name="<img src=/x id=p onerror=alert(1)>赵", lat=31.235, lon=121.48),
                       agent=agent, day=today)
    visit.route_position = 1
    make_case(branch=world.branch, debtor_name=f"{MARKUP}钱", lat=31.236, lon=121.46, days_past_due=90)
    db.session.commit()
    page = desk.page
    asked = []
    page.on("request", lambda request: asked.append(request.url) if request.url.split("?")[0].endswith("/x") else None)
    page.add_init_script(TRACK_MAPS)

    desk.login(world.dispatcher.username)
    page.locator("select[aria-label='分部']").select_option(str(world.branch.id))
    card = page.locator(f".o-agent[data-agent-id='{agent.id}']")
    card.wait_for()
    assert card.locator(".o-agent-name strong").text_content() == f"{MARKUP}外访"
    assert card.locator(".o-stop .o-link").text_content() == "<img src=/x id=p onerror=alert(1)>赵"
    page.locator(".o-map .leaflet-marker-icon").first.wait_for()
    page.wait_for_function("() => (window.__maps || []).length > 0")
    tooltips = page.evaluate(OPEN_TOOLTIPS)
    assert f"{MARKUP}外访" in tooltips  # the agent's start, as text
    assert f"{MARKUP}钱" in tooltips  # an eligible case not yet planned, as text
    assert page.evaluate("() => document.querySelectorAll('#p, img[src=\"/x\"]').length") == 0
    assert asked == []
