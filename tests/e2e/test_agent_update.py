"""A new app version: the waiting worker is offered, taken on accept, and queued work survives it."""
import json
from pathlib import Path

from tests.e2e.conftest import PASSWORD  # noqa: F401  (same fixtures)

PWA = Path(__file__).resolve().parents[2] / "pwa"
T = json.loads((PWA / "js/i18n/zh-CN.json").read_text(encoding="utf-8"))

QUEUE_NOTE = """async (v) => {
  const store = await import('/js/store.js');
  // an expired session holds the outbox (nothing can be sent) until the agent signs in again
  await store.saveSession(Object.assign(await store.getSession(), { expired: true }));
  await store.recordStep(v.id, [{ type: 'note.add', payload: { case_id: v.case_id, visit_id: v.id, text: 'queued before the update' } }], {}, { case_id: v.case_id });
  return store.outboxCount();
}"""


def test_update_is_offered_and_queued_work_survives_it(phone, agent_day, app, monkeypatch):
    page, context = phone.page, phone.context
    phone.login(agent_day.username)
    phone.wait_service_worker()
    old = page.evaluate("() => caches.keys()")

    visit = agent_day.visits[0]
    assert page.evaluate(QUEUE_NOTE, {"id": visit.id, "case_id": visit.case_id}) == 1
    source = (PWA / "sw.js").read_text(encoding="utf-8")
    newer = source.replace("const SHELL_VERSION = '", "const SHELL_VERSION = 'next-", 1)
    assert newer != source
    # the next release: the same server, a sw.js whose shell files (so SHELL_VERSION) changed
    original = app.view_functions["pwa_file"]

    def pwa_file(filename):
        response = original(filename)
        if filename == "sw.js":  # a whole new body, never "304 not modified"
            response.direct_passthrough = False
            response.status_code = 200
            response.set_data(newer.encode("utf-8"))
            for header in ("ETag", "Last-Modified"):
                response.headers.pop(header, None)
        return response

    monkeypatch.setitem(app.view_functions, "pwa_file", pwa_file)
    page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
    banner = page.locator(".banner-update")
    banner.wait_for()
    phone.shot("23-update-offered")
    with page.expect_event("load"):
        banner.get_by_role("button", name=T["banner.update_now"]).click()
    page.locator("ol.stops").wait_for()
    page.wait_for_function("() => caches.keys().then((k) => k.some((n) => n.startsWith('doorstep-shell-next-')))")
    shells = [n for n in page.evaluate("() => caches.keys()") if n.startswith("doorstep-shell-")]
    assert len(shells) == 1 and shells[0].startswith("doorstep-shell-next-"), (old, shells)
    assert page.locator(".banner-update").count() == 0
    assert phone.unsent() == 1
    page.locator(".banner-expired").wait_for()

    page.evaluate("() => import('/js/store.js').then(async (s) => s.saveSession(Object.assign(await s.getSession(), { expired: false })))")
    phone.sync()
    assert phone.unsent() == 0
    journal = page.evaluate("() => import('/js/store.js').then((s) => s.journal())")
    assert [(j["type"], j["status"]) for j in journal] == [("note.add", "applied")]
