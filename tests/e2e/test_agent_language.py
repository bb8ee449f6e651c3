"""One language at a time: what the server answers (a conflict, a refusal by a rule) reaches a
zh-CN agent, and the case owner's review queue, from its code and params in Chinese, never in
the server's English."""
import json
import re
from pathlib import Path

from tests.e2e.conftest import PASSWORD

PWA = Path(__file__).resolve().parents[2] / "pwa/js/i18n"
T = json.loads((PWA / "zh-CN.json").read_text(encoding="utf-8"))
OFFICE = json.loads((PWA / "office/zh-CN.json").read_text(encoding="utf-8"))
EN = json.loads((PWA / "en.json").read_text(encoding="utf-8"))
# what may stay Latin on a Chinese screen: ids and codes in monospace, rule names (R6), numbers
ALLOWED = re.compile(r"\bR\d+\b|\b[0-9a-f]{8,}\b|\d+")

RECORD = """async ([visit, outcome]) => {
  const store = await import('/js/store.js');
  const ops = [{ type: 'visit.checkin', payload: { visit_id: visit.id, lat: visit.lat, lon: visit.lon, accuracy_m: 9 } }];
  if (outcome) ops.push({ type: 'visit.outcome', payload: { visit_id: visit.id, code: 'refused', met: 'debtor' } });
  await store.recordStep(visit.id, ops, {}, { case_id: visit.case_id });
}"""


def test_a_chinese_screen_says_conflicts_and_rule_findings_in_chinese(phone, agent_day, client, auth, browser, live_server):
    page = phone.page
    phone.login(agent_day.username)
    (first, second), (case_one, case_two) = agent_day.visits[:2], agent_day.cases[:2]

    phone.context.set_offline(True)
    owner = auth(agent_day.owner, password=PASSWORD)
    for flag in ("dispute", "complaint"):
        answer = client.post(f"/api/cases/{case_one.id}/flags", headers=owner, json={"flag": flag, "reason": "债务人书面提出异议"})
        assert answer.status_code == 201, answer.get_json()
    # stop 1: a check-in after the flags (a conflict); stop 2: an outcome with no disclosure (R6 refuses it)
    for visit, case, outcome in ((first, case_one, False), (second, case_two, True)):
        address = case.account.debtor.addresses[0]
        page.evaluate(RECORD, [{"id": visit.id, "case_id": case.id, "lat": address.lat, "lon": address.lon}, outcome])
    phone.context.set_offline(False)
    phone.sync()

    journal = {(j["visit_id"], j["type"]): j for j in page.evaluate("import('/js/store.js').then((s) => s.journal())")}
    conflict, refusal = journal[(first.id, "visit.checkin")], journal[(second.id, "visit.outcome")]
    assert conflict["status"] == "conflict" and conflict["code"] == "case_blocked", conflict
    assert refusal["status"] == "rejected" and refusal["params"]["finding"] == "no_disclosure", refusal
    assert "blocked" in conflict["detail"] and "disclosure" in refusal["detail"]  # what the server said in English

    page.goto("/#/sync")
    words = page.locator(".view-sync li.op .server-words")
    words.first.wait_for()
    texts = words.all_inner_texts()
    # two flags: the plural form, the flags named from the catalogue and joined the Chinese way
    flags = f'{T["flag.dispute"]}和{T["flag.complaint"]}'
    assert T["server.case_blocked.other"].format(n=2, flags=flags) in texts, texts
    assert T["finding.no_disclosure"] in texts, texts
    screen = page.locator("#main").inner_text()
    for code in page.locator("#main code").all_inner_texts():
        screen = screen.replace(code, "")
    latin = re.findall(r"[A-Za-z][A-Za-z'’-]+", ALLOWED.sub("", screen))
    assert not latin, latin
    phone.shot("agent-sync-zh-no-server-english")

    # the case owner's review queue says the same answers from the same codes
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    office = desk.new_page()
    office.goto("/")
    office.locator("input[autocomplete=username]").fill(agent_day.owner.username)
    office.locator("input[autocomplete=current-password]").fill(PASSWORD)
    office.locator("form.login button[type=submit]").click()
    office.locator("[data-section=sync]").click()
    row = office.locator(f"tr[data-op-id='{conflict['id']}'] td.o-wrap")
    row.wait_for()
    flags = f'{OFFICE["flag.dispute"]}和{OFFICE["flag.complaint"]}'
    assert row.inner_text() == OFFICE["server.case_blocked.other"].format(n=2, flags=flags)
    assert office.locator(f"tr[data-op-id='{refusal['id']}'] td.o-wrap").inner_text() == OFFICE["finding.no_disclosure"]
    desk.close()

    # the same answers in English for an English reader, from the same codes
    page.goto("/#/settings")
    with page.expect_navigation():  # the choice reloads the app in the new language
        page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.goto("/#/sync")
    page.locator(".view-sync li.op .server-words").first.wait_for()
    english = page.locator(".view-sync li.op .server-words").all_inner_texts()
    flags = f'{EN["flag.dispute"]} and {EN["flag.complaint"]}'
    assert EN["server.case_blocked.other"].format(n=2, flags=flags) in english, english
    assert EN["finding.no_disclosure"] in english, english
