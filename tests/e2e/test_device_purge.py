"""R15 on the phone: debtor data leaves the device N days after acknowledgement (the rules'
`device_purge_days`), a past day's visits with it — and nothing waiting in the outbox ever does.

The browser's clock is moved with Playwright's clock (the app reloads offline, as a phone left
in a drawer would be opened days later); the purge is reported with the next day's pull.
"""
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

STATE = """async () => {
  const core = globalThis.doorstepCore;
  const all = (name) => core.tx(name, 'readonly', (s) => core.req(s[name].getAll()));
  const [visits, drafts, journal, outbox] = await Promise.all(['visits', 'drafts', 'journal', 'outbox'].map(all));
  return {
    visits: visits.map((v) => v.id).sort((a, b) => a - b),
    drafts: drafts.map((d) => d.visit_id).sort((a, b) => a - b),
    journal: journal.map((j) => ({ visit_id: j.visit_id, status: j.status, acknowledged_at: j.acknowledged_at })),
    outbox: outbox.map((e) => e.meta.visit_id),
  };
}"""

NOTE = """async ([visitId, caseId, text]) => {
  const store = await import('/js/store.js');
  await store.recordStep(visitId, [{ type: 'note.add', payload: { case_id: caseId, visit_id: visitId, text } }],
    { notes: [text] }, { case_id: caseId });
}"""


def _send_all(phone) -> None:
    """Sync until the outbox is empty: a sync already running (start-up, `online`) may have read
    the outbox before the last step was recorded."""
    for _ in range(20):
        phone.sync()
        if phone.unsent() == 0:
            return
        time.sleep(0.25)
    assert phone.unsent() == 0


def _reload_at(phone, at: datetime) -> dict:
    """Open the app again at `at` (device clock), offline: the start-up purge runs before the shell."""
    page = phone.page
    page.clock.set_system_time(at)
    page.reload()
    page.locator(".statusline").wait_for()
    page.wait_for_function("() => globalThis.doorstepCore !== undefined")
    return page.evaluate(STATE)


def test_purge_after_n_days_and_never_the_outbox(phone, agent_day, db):
    page = phone.page
    v1, v2, v3 = agent_day.visits
    start = datetime.now(timezone.utc)
    page.clock.set_system_time(start)
    phone.login(agent_day.username)
    phone.wait_service_worker()
    rules = page.evaluate("import('/js/store.js').then((s) => s.kvGet('packet')).then((p) => p.rules)")
    assert rules["device_purge_days"] == 1

    # visit 1: a note the server takes (applied → acknowledged at once)
    page.evaluate(NOTE, [v1.id, v1.case_id, "Neighbour says the debtor is at work until six."])
    _send_all(phone)
    state = page.evaluate(STATE)
    assert state["outbox"] == [] and state["journal"][0]["status"] == "applied"
    assert state["journal"][0]["acknowledged_at"]

    # visit 2: recorded without network — it waits in the outbox
    phone.context.set_offline(True)
    page.evaluate(NOTE, [v2.id, v2.case_id, "Door closed, a note left in the letterbox."])
    assert phone.unsent() == 1

    # half a day later (a new calendar day in the debtor's zone, where it was ~13:00): visit 3 had
    # no work and goes; visit 1's answer is younger than the period and keeps it; visit 2 waits
    state = _reload_at(phone, start + timedelta(hours=12))
    assert state["visits"] == [v1.id, v2.id]
    assert state["drafts"] == [v1.id, v2.id]
    assert len(state["journal"]) == 1 and state["outbox"] == [v2.id]

    # past the period: visit 1's answer, its visit and its draft are purged
    state = _reload_at(phone, start + timedelta(days=1, hours=1))
    assert state == {"visits": [v2.id], "drafts": [v2.id], "journal": [], "outbox": [v2.id]}
    # the shell renders after the purge: only the visit with work waiting is listed
    page.wait_for_function("() => document.querySelectorAll('ol.stops > li').length === 1")

    # forty days on, still offline: the outbox, its visit and its draft are all still there
    state = _reload_at(phone, start + timedelta(days=40))
    assert state == {"visits": [v2.id], "drafts": [v2.id], "journal": [], "outbox": [v2.id]}
    assert phone.unsent() == 1

    from backend.auth.models import AuditEvent

    # back online: the op is sent (and answered), and the next day's pull reports the purges
    phone.context.set_offline(False)
    _send_all(phone)
    phone.sync()  # and the pull after it, whichever sync sent the op
    db.session.expire_all()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "device.purge")).all()
    assert len(events) == 1 and events[0].actor_id == agent_day.user.id
    assert events[0].data["purged"] == 4  # visit 3, then visit 1 with its draft and its answer
