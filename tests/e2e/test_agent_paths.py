"""The other paths through a visit: a third party (location questions only), a promise to pay,
a settlement beyond the agent's authority that the debtor refuses to sign; then signing out."""
import json
from datetime import timedelta
from pathlib import Path

from tests.e2e.conftest import PASSWORD, STOPS

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))


def step(page, name):
    page.locator(f".step[data-step={name}]").wait_for()


def check_in(phone, stop_index, visit_id):
    stop = STOPS[stop_index]
    phone.context.set_geolocation({"latitude": stop[1], "longitude": stop[2], "accuracy": 15})
    phone.page.goto(f"/#/visit/{visit_id}")
    phone.page.get_by_role("button", name=T["checkin.button"]).click()
    step(phone.page, "met")


def met_and_told(page):
    """At the door: the debtor in person, the identity disclosure given; the outcome step next."""
    page.get_by_role("button", name=T["met.debtor"]).click()
    step(page, "disclosure")
    page.get_by_label(T["disclosure.identity"]).check()
    page.get_by_role("button", name=T["disclosure.given"]).click()
    step(page, "outcome")


def finish(page):
    step(page, "notes")
    page.get_by_role("button", name=T["notes.continue"]).click()
    step(page, "checkout")
    page.get_by_role("button", name=T["checkout.button"]).click()
    step(page, "done")


def test_third_party_promise_and_refused_signature(phone, agent_day, client, auth, db):
    page = phone.page
    phone.login(agent_day.username)
    first, second, third = agent_day.visits

    # a third party: only location outcomes, no debt details or scripts on screen (R5)
    check_in(phone, 1, second.id)
    page.get_by_role("button", name=T["met.third_party"]).click()
    step(page, "outcome")
    offered = page.locator("fieldset.codes input[type=radio]").evaluate_all("(els) => els.map((e) => e.value)")
    assert set(offered) == {"third_party_only", "moved", "asked_to_leave", "vulnerable"}
    assert page.locator(".approach").count() == 0 and page.locator(".amount").count() == 0
    assert STOPS[1][0] in page.locator("blockquote.script").inner_text()
    phone.shot("24-visit-third-party")
    page.get_by_text(T["outcome.third_party_only"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()
    finish(page)

    # the debtor promises to pay
    check_in(phone, 0, first.id)
    page.get_by_role("button", name=T["met.debtor"]).click()
    page.get_by_label(T["disclosure.identity"]).check()
    page.get_by_role("button", name=T["disclosure.given"]).click()
    page.get_by_text(T["outcome.promise_to_pay"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()
    page.locator(".error").filter(has_text=T["outcome.field.amount"]).wait_for()  # required fields first
    page.get_by_label(T["outcome.field.amount"], exact=True).fill("2000")
    page.get_by_label(T["outcome.field.due_date"], exact=True).fill((agent_day.date + timedelta(days=10)).isoformat())
    page.get_by_role("button", name=T["outcome.record"]).click()
    finish(page)

    # a settlement above the agent's authority: offered for approval, the debtor refuses to sign
    check_in(phone, 2, third.id)
    page.get_by_role("button", name=T["met.debtor"]).click()
    page.get_by_label(T["disclosure.identity"]).check()
    page.get_by_role("button", name=T["disclosure.given"]).click()
    page.get_by_text(T["outcome.plan_agreed"], exact=True).click()
    page.get_by_role("button", name=T["outcome.record"]).click()
    step(page, "plan")
    page.get_by_role("button", name=T["plan.kind.settlement"]).click()
    page.get_by_role("button", name=f'{T["plan.use_balance"]} ¥40,000.00').click()
    page.get_by_label(T["plan.discount"]).fill("20")
    page.locator(".plan-status.pending_approval").wait_for()
    phone.shot("25-visit-plan-needs-approval")
    page.get_by_role("button", name=T["plan.propose"]).click()
    step(page, "signature")
    page.locator(".notice.warn").filter(has_text=T["sign.pending"]).wait_for()
    page.get_by_role("button", name=T["sign.refused"]).click()
    page.get_by_label(T["sign.refuse_reason"]).fill("需要和家人商量后再签字")
    phone.shot("26-visit-refuse-to-sign")
    page.get_by_role("button", name=T["sign.refuse_confirm"]).click()
    finish(page)

    phone.sync()
    assert phone.unsent() == 0
    journal = page.evaluate("() => import('/js/store.js').then((s) => s.journal())")
    assert {j["status"] for j in journal} == {"applied"}, [j for j in journal if j["status"] != "applied"]
    proposed = next(j for j in journal if j["type"] == "plan.propose")
    assert proposed["server"]["status"] == "pending_approval"
    refused = next(j for j in journal if j["type"] == "signature.add")
    assert refused["server"]["refused"] is True and refused["server"]["blob_sha256"] is None

    db.session.expire_all()
    owner = auth(agent_day.owner, password=PASSWORD)
    outcomes = {v.id: client.get(f"/api/visits/{v.id}", headers=owner).get_json()["outcome"] for v in agent_day.visits}
    assert outcomes[second.id]["code"] == "third_party_only" and outcomes[second.id]["met"] == "third_party"
    assert outcomes[first.id]["code"] == "promise_to_pay" and outcomes[first.id]["data"]["amount"] in ("2000.00", "2000")
    assert outcomes[third.id]["code"] == "plan_agreed"

    # everything sent and no visit open: signing out is allowed and clears the day
    page.goto("/#/settings")
    page.get_by_role("button", name=T["settings.logout"]).click()
    page.locator("form.login").wait_for()
    assert page.evaluate("() => import('/js/store.js').then((s) => s.listVisits()).then((v) => v.length)") == 0
    assert page.evaluate("() => import('/js/store.js').then((s) => s.getSession())") is None
