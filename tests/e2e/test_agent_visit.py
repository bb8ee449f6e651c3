"""A whole visit recorded offline, interrupted by reloads, then synced: every record reaches
the case timeline exactly once and the signature bytes match their hash."""
import hashlib
import json
from pathlib import Path

from tests.e2e.conftest import PASSWORD

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))


def step(page, name):
    page.locator(f".step[data-step={name}]").wait_for()


def draw_signature(page):
    box = page.locator("canvas.sigpad").bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in ([(0.1, 0.6), (0.2, 0.3), (0.3, 0.7), (0.4, 0.35), (0.5, 0.65)], [(0.55, 0.5), (0.7, 0.4), (0.85, 0.55)]):
        page.mouse.move(x0 + w * stroke[0][0], y0 + h * stroke[0][1])
        page.mouse.down()
        for fx, fy in stroke[1:]:
            page.mouse.move(x0 + w * fx, y0 + h * fy, steps=6)
        page.mouse.up()


def test_whole_visit_offline_then_synced_exactly_once(phone, agent_day, client, auth, db):
    page = phone.page
    phone.login(agent_day.username)
    phone.wait_service_worker()
    phone.context.set_offline(True)
    case = agent_day.cases[0]

    page.locator("ol.stops .stop-main").first.click()
    step(page, "brief")
    phone.shot("05-visit-brief")
    page.get_by_role("button", name=T["checkin.button"]).click()
    step(page, "met")
    phone.shot("06-visit-met")
    page.get_by_role("button", name=T["met.debtor"]).click()
    step(page, "disclosure")
    page.get_by_label(T["disclosure.identity"]).check()
    phone.shot("07-visit-disclosure")
    page.get_by_role("button", name=T["disclosure.given"]).click()
    step(page, "outcome")
    page.get_by_text(T["outcome.plan_agreed"], exact=True).click()
    phone.shot("08-visit-outcome")
    page.get_by_role("button", name=T["outcome.record"]).click()

    step(page, "plan")
    page.get_by_label(T["plan.down_payment"]).fill("1200")
    page.get_by_label(T["plan.months"]).fill("5")
    page.locator(".plan-status.proposed").wait_for()
    assert page.locator("table.schedule tbody tr").count() == 5
    phone.shot("09-visit-plan")
    page.get_by_role("button", name=T["plan.propose"]).click()

    step(page, "signature")
    draw_signature(page)
    page.wait_for_function("() => import('/js/store.js').then(async (s) => ((await s.getDraft(%d)).signature.strokes || []).length === 2)" % agent_day.visits[0].id)
    page.reload()  # mid-visit: the drawn signature is part of the draft
    step(page, "signature")
    assert page.get_by_role("button", name=T["sign.save"]).is_enabled()
    phone.shot("10-visit-signature")
    terms_hash = page.locator(".hash code").inner_text()
    page.get_by_role("button", name=T["sign.save"]).click()

    step(page, "notes")
    note = "客户同意分期，首付今日转账。"
    page.get_by_label(T["notes.label"]).fill(note)
    page.wait_for_timeout(400)  # typed text is kept after a short pause
    page.reload()
    step(page, "notes")
    assert page.get_by_label(T["notes.label"]).input_value() == note
    phone.shot("11-visit-notes")
    page.get_by_role("button", name=T["notes.save"]).click()
    page.locator(".saved-notes li").wait_for()
    page.get_by_role("button", name=T["notes.continue"]).click()
    step(page, "checkout")
    phone.shot("12-visit-checkout")
    page.get_by_role("button", name=T["checkout.button"]).click()
    step(page, "done")
    phone.shot("13-visit-done-offline")
    assert phone.unsent() == 6

    # nothing unsent may be lost by signing out
    page.goto("/#/sync")
    page.locator(".view-sync .oplist li.op.queued").first.wait_for()
    assert page.locator(".view-sync .oplist li.op.queued").count() == 6
    phone.shot("14-sync-offline")
    page.goto("/#/settings")
    page.locator(".view-settings").get_by_role("button", name=T["settings.logout"]).click()
    page.locator(".view-settings .notice.warn").wait_for()
    phone.shot("15-settings-logout-refused")
    assert phone.unsent() == 6

    phone.context.set_offline(False)
    phone.sync()
    page.wait_for_function("() => import('/js/store.js').then((s) => s.outboxCount()).then((n) => n === 0)")
    page.goto(f"/#/visit/{agent_day.visits[0].id}")
    step(page, "done")
    page.locator(".oplist li.op.applied").nth(5).wait_for()
    phone.shot("16-visit-done-synced")

    journal = page.evaluate("import('/js/store.js').then((s) => s.journal())")
    assert sorted(j["type"] for j in journal) == sorted(
        ["visit.checkin", "plan.propose", "signature.add", "visit.outcome", "note.add", "visit.checkout"])
    assert {j["status"] for j in journal} == {"applied"}, journal

    db.session.expire_all()  # rows written by the live server
    owner = auth(agent_day.owner, password=PASSWORD)
    timeline = client.get(f"/api/cases/{case.id}/timeline", headers=owner).get_json()
    assert timeline["chain"]["verified"] is True
    op_ids = {j["id"] for j in journal}
    by_op = {}
    for event in timeline["events"]:
        op_id = (event["data"] or {}).get("op_id")
        if op_id in op_ids:
            by_op.setdefault(op_id, []).append(event["kind"])
    assert set(by_op) == op_ids, "every record is on the timeline"
    kinds = [k for ks in by_op.values() for k in ks]
    for kind in ("visit.checkin", "plan.proposed", "plan.signed", "visit.outcome", "note.added", "visit.checkout"):
        assert kinds.count(kind) == 1, (kind, kinds)

    draft = page.evaluate(f"import('/js/store.js').then((s) => s.getDraft({agent_day.visits[0].id}))")
    assert draft["plan"]["terms_hash"] == terms_hash
    proposed = next(j for j in journal if j["type"] == "plan.propose")
    assert proposed["server"]["terms_hash"] == terms_hash
    signed = next(j for j in journal if j["type"] == "signature.add")
    sha = signed["server"]["blob_sha256"]
    assert sha == draft["signature"]["png_sha256"]
    blob = client.get(f"/api/blobs/{sha}", headers=owner)
    assert blob.status_code == 200
    assert blob.data.startswith(b"\x89PNG") and hashlib.sha256(blob.data).hexdigest() == sha
