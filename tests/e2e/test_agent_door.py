"""At the door and back in range: the outbox goes at once when the network returns, an empty
note says why it was not saved, the signature pad spans the width (and keeps its strokes when
the phone is turned), and the debtor reads a short fingerprint of the terms."""
import json
from pathlib import Path

import pytest

from tests.e2e.test_agent_paths import check_in, met_and_told, step
from tests.e2e.test_agent_sync import RECORD
from tests.e2e.test_agent_visit import draw_signature

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))
FLUSH_STATE = "import('/js/store.js').then((s) => s.kvGet('flush'))"


@pytest.mark.no_service_worker  # page.route sees every request only without a service worker in between
def test_outbox_goes_at_once_when_the_network_comes_back(phone, agent_day):
    page = phone.page
    phone.login(agent_day.username)
    visit, case = agent_day.visits[0], agent_day.cases[0]
    address = case.account.debtor.addresses[0]

    # a dead zone that says "online": every send fails and the back-off grows
    page.route("**/api/sync/ops", lambda route: route.abort("connectionreset"))
    page.evaluate(RECORD, [{"id": visit.id, "case_id": case.id, "lat": address.lat, "lon": address.lon}, 2])
    # a send started by the page itself (focus, the timer) is joined, not repeated: keep
    # sending until four failures are on record
    for _ in range(12):
        phone.sync()
        state = page.evaluate(FLUSH_STATE)
        if state and state["failures"] >= 4:
            break
    assert state["failures"] >= 4 and state["next_at"] - page.evaluate("Date.now()") > 20000, state
    assert phone.unsent() == 3

    # one more send hangs on the dead connection while the radio drops and comes back
    held = []
    network = {"back": False}

    def ops(route):
        if network["back"]:
            route.continue_()
        else:
            held.append(route)

    page.unroute("**/api/sync/ops")
    page.route("**/api/sync/ops", ops)
    page.evaluate("import('/js/sync.js').then((s) => { s.syncNow(); })")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the send did not start"
    phone.context.set_offline(True)
    network["back"] = True
    phone.context.set_offline(False)
    try:
        held[0].abort("connectionreset")  # the hanging send fails late, and backs off again
    except Exception:  # the browser may have dropped it already when the radio went
        pass
    # sent at once, not after the minute of back-off the failures earned (polled here: a
    # promise handed to wait_for_function counts as truthy before it resolves)
    for _ in range(60):
        if phone.unsent() == 0:
            break
        page.wait_for_timeout(100)
    assert phone.unsent() == 0
    state = page.evaluate(FLUSH_STATE)
    assert state["failures"] == 0 and state["next_at"] == 0, state
    journal = page.evaluate("import('/js/store.js').then((s) => s.journal())")
    assert len(journal) == 3 and {j["status"] for j in journal} == {"applied"}, journal


def test_empty_note_fingerprint_and_a_pad_the_width_of_the_phone(phone, agent_day):
    page = phone.page
    phone.login(agent_day.username)
    visit = agent_day.visits[0]
    check_in(phone, 0, visit.id)
    met_and_told(page)
    page.get_by_text(T["outcome.plan_agreed"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()
    step(page, "plan")
    page.get_by_label(T["plan.down_payment"]).fill("1200")
    page.get_by_label(T["plan.months"]).fill("5")
    page.locator(".plan-status.proposed").wait_for()
    page.get_by_role("button", name=T["plan.propose"]).click()
    step(page, "signature")

    # the debtor compares 8 hex digits, the same the agreement PDF prints by the full hash
    terms_hash = page.locator(".hash code").inner_text()
    assert page.locator(".fingerprint .fp").inner_text() == f"{terms_hash[:4]} {terms_hash[4:8]}"

    pad = page.locator("canvas.sigpad")
    portrait = pad.bounding_box()
    assert portrait["width"] >= 360, portrait  # the card's full width on a 390 px phone
    draw_signature(page)
    strokes_of = f"() => import('/js/store.js').then((s) => s.getDraft({visit.id})).then((d) => d.signature.strokes || [])"
    for _ in range(50):
        drawn = page.evaluate(f"({strokes_of})()")
        if len(drawn) == 2:
            break
        page.wait_for_timeout(100)
    assert len(drawn) == 2
    phone.shot("agent-signature-portrait")

    # turned: the pad takes the screen's width (as the bars allow) and its pixels, the strokes drawn again in place
    page.set_viewport_size({"width": 844, "height": 390})
    page.wait_for_function(
        "() => { const c = document.querySelector('canvas.sigpad'); return c.width === Math.round(c.clientWidth * devicePixelRatio); }")
    landscape = pad.bounding_box()
    assert landscape["width"] >= 700, landscape  # out of the 640 px column, whole between the bars
    inked = page.evaluate("""([x, y]) => {
      const c = document.querySelector('canvas.sigpad');
      const px = Math.round(x / 600 * c.width), py = Math.round(y / 200 * c.height);
      const data = c.getContext('2d').getImageData(px - 3, py - 3, 7, 7).data;
      return data.some((v, i) => i % 4 === 3 && v > 0);
    }""", drawn[0][len(drawn[0]) // 2][:2])
    assert inked, "the strokes drawn before the turn are on the turned pad"
    assert page.evaluate(f"({strokes_of})()") == drawn
    phone.shot("agent-signature-landscape")
    pad.evaluate("(c) => c.scrollIntoView({ block: 'center' })")
    landscape = pad.bounding_box()
    page.mouse.move(landscape["x"] + landscape["width"] * 0.9, landscape["y"] + landscape["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(landscape["x"] + landscape["width"] * 0.95, landscape["y"] + landscape["height"] * 0.7, steps=5)
    page.mouse.up()
    phone.context.set_offline(True)  # the op stays in the outbox to be read back (online, it may be sent at once)
    page.get_by_role("button", name=T["sign.save"]).click()
    step(page, "notes")
    page.set_viewport_size({"width": 390, "height": 844})
    signed = next(item["op"]["payload"] for item in page.evaluate("import('/js/store.js').then((s) => s.outboxAll())")
                  if item["op"]["type"] == "signature.add")
    assert signed["strokes"][:2] == drawn and len(signed["strokes"]) == 3
    assert all(0 <= x <= 600 and 0 <= y <= 200 for stroke in signed["strokes"] for x, y, _ in stroke)

    # an empty note is not saved, and the agent reads why
    page.get_by_role("button", name=T["notes.save"]).click()
    page.locator("#note-warn").filter(has_text=T["notes.empty"]).wait_for()
    assert page.locator(".saved-notes li").count() == 0
    phone.shot("agent-note-empty")


@pytest.mark.no_service_worker  # page.route sees every request only without a service worker in between
def test_a_step_recorded_during_a_sync_goes_right_after_it(phone, agent_day):
    """A step recorded while a sync is still going (its ops sent, its pull on the wire) is sent
    by the run that follows at once, not left for the next tick (20 s)."""
    page = phone.page
    phone.login(agent_day.username)
    visit, case = agent_day.visits[0], agent_day.cases[0]
    address = case.account.debtor.addresses[0]
    held = []
    page.route("**/api/sync/changes*", lambda route: route.continue_() if held else held.append(route))  # the first pull hangs
    page.evaluate(RECORD, [{"id": visit.id, "case_id": case.id, "lat": address.lat, "lon": address.lon}, 0])
    page.evaluate("import('/js/sync.js').then((s) => { s.syncNow(); })")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1, "the first pull did not start"
    assert phone.unsent() == 0  # the check-in went before the pull

    # the note is recorded while that sync is still pulling, and the step asks for a send
    page.evaluate("""async ([visit, caseId]) => {
      const store = await import('/js/store.js');
      await store.recordStep(visit, [{ type: 'note.add', payload: { case_id: caseId, visit_id: visit, text: 'recorded mid-send' } }], {}, { case_id: caseId });
      (await import('/js/sync.js')).syncNow();
    }""", [visit.id, case.id])
    held[0].continue_()
    for _ in range(50):  # 5 s: well inside the 20 s tick that would otherwise send it
        if phone.unsent() == 0:
            break
        page.wait_for_timeout(100)
    assert phone.unsent() == 0
    journal = page.evaluate("import('/js/store.js').then((s) => s.journal())")
    assert sorted(j["type"] for j in journal) == ["note.add", "visit.checkin"] and {j["status"] for j in journal} == {"applied"}, journal
