"""What works: kept promises and money within 30 days per strategy and script, from a crafted history."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

import pytest

from backend.payments.models import Payment, PromiseTrack
from backend.payments.what_works import wilson_interval
from backend.visits.models import Outcome, Visit

D = date(2026, 9, 7)  # a Monday, long enough ago for every figure to be settled
_refs = count(1)


@pytest.fixture
def history(db, make_case, make_agent, make_plan):
    """visit(case, day, code, strategy=, script=, track=) and pay(case, day, amount) write rows as they stood."""
    agent = make_agent()

    def visit(case, day, code="refused", *, strategy=None, script=None, track=None):
        row = Visit(case_id=case.id, address_id=case.account.debtor.addresses[0].id, agent_id=agent.id, date=day,
                    status="completed", window_start=datetime.combine(day, time(1)), window_end=datetime.combine(day, time(12)))
        db.session.add(row)
        db.session.flush()
        data = {k: v for k, v in (("strategy", strategy), ("script", script)) if v}
        if track:
            plan = make_plan(case, made=day)
            db.session.add(PromiseTrack(plan_id=plan.id, case_id=case.id, state=track, promised_amount=Decimal("1000.00")))
            data["plan_id"] = plan.id
        db.session.add(Outcome(visit_id=row.id, case_id=case.id, agent_id=agent.id, code=code, met="debtor", data=data,
                               recorded_at=datetime.combine(day, time(3))))
        db.session.commit()
        return row

    def pay(case, day, amount, currency="CNY"):
        db.session.add(Payment(reference=f"WW-{next(_refs)}", account_id=case.account_id, case_id=case.id,
                               amount=Decimal(amount), currency=currency, paid_on=day, unallocated=Decimal(0)))
        db.session.commit()

    return visit, pay


def test_wilson_interval_against_known_values():
    low, high = wilson_interval(7, 10)
    assert (round(low, 4), round(high, 4)) == (0.3968, 0.8922)
    low, high = wilson_interval(0, 10)
    assert (low, round(high, 4)) == (0.0, 0.2775)
    low, high = wilson_interval(1, 2)
    assert (round(low, 4), round(high, 4)) == (0.0945, 0.9055)
    assert wilson_interval(0, 0) is None


def test_figures_from_a_crafted_history(db, client, auth, make_user, make_case, make_branch, history):
    visit, pay = history
    branch = make_branch()
    a, b, c, d = (make_case(branch=branch) for _ in range(4))
    c.account.currency = "USD"
    db.session.commit()
    a1 = visit(a, D, "promise_to_pay", strategy="firm", script="firm.consequences", track="kept")
    visit(b, D, "promise_to_pay", strategy="firm", script="firm.hold_agreement", track="broken")
    visit(c, D, "refused", strategy="firm")
    visit(d, D, "refused", strategy="empathy", script="empathy.listen")
    visit(d, D + timedelta(days=5), "not_home")  # no approach recorded: money after it is its own
    pay(a, D - timedelta(days=1), "400.00")  # before the visit
    pay(a, D, "50.00")  # at the door, the same day
    pay(a, D + timedelta(days=30), "100.00")  # the last day of the window
    pay(b, D + timedelta(days=31), "999.00")  # a day too late
    pay(c, D + timedelta(days=3), "70.00", currency="USD")
    pay(d, D + timedelta(days=10), "300.00")  # after the later visit: credited to it, not to empathy
    other = make_case(branch=make_branch())
    visit(other, D, "promise_to_pay", strategy="firm", track="kept")  # another branch
    # a visit outside the range does not count
    visit(a, D + timedelta(days=60), "refused", strategy="empathy")

    owner = make_user(role="owner")
    response = client.get(f"/api/kpis/what-works?branch={branch.id}&since={D}&until={D + timedelta(days=30)}", headers=auth(owner))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["filters"] == {"branch_id": branch.id, "since": D.isoformat(), "until": (D + timedelta(days=30)).isoformat()}
    assert body["recovery_days"] == 30 and body["min_visits"] == 10
    rows = {row["key"]: row for row in body["strategies"]}
    assert set(rows) == {"firm", "empathy"}
    firm = rows["firm"]
    assert (firm["visits"], firm["promises"], firm["judged"], firm["kept"]) == (3, 2, 2, 1)
    assert firm["kept_rate"] == 0.5 and (firm["low"], firm["high"]) == (0.0945, 0.9055)
    assert firm["too_few"] is True and firm["label"]
    assert firm["recovered"] == [{"currency": "CNY", "visits": 2, "amount": "150.00"},
                                 {"currency": "USD", "visits": 1, "amount": "70.00"}]
    empathy = rows["empathy"]
    assert (empathy["visits"], empathy["promises"], empathy["kept_rate"], empathy["low"]) == (1, 0, None, None)
    assert empathy["recovered"] == [{"currency": "CNY", "visits": 1, "amount": "0.00"}]
    scripts = {row["key"]: row for row in body["scripts"]}
    assert set(scripts) == {"firm.consequences", "firm.hold_agreement", "empathy.listen"}
    assert scripts["firm.consequences"]["strategy"] == "firm"
    assert (scripts["firm.consequences"]["kept"], scripts["firm.consequences"]["judged"]) == (1, 1)
    assert scripts["firm.consequences"]["recovered"] == [{"currency": "CNY", "visits": 1, "amount": "150.00"}]
    assert (scripts["firm.hold_agreement"]["kept"], scripts["firm.hold_agreement"]["judged"]) == (0, 1)
    assert scripts["firm.hold_agreement"]["recovered"][0]["amount"] == "0.00"
    assert a1.id  # the visit that earned the CNY money

    # without the branch filter the other branch's kept promise counts too
    everyone = client.get(f"/api/kpis/what-works?since={D}&until={D}", headers=auth(owner)).get_json()
    firm_all = next(row for row in everyone["strategies"] if row["key"] == "firm")
    assert (firm_all["visits"], firm_all["kept"], firm_all["judged"]) == (4, 2, 3)


def test_only_owners_and_admins_read_it_and_bad_ranges_are_422(client, auth, make_user, make_agent):
    agent = make_agent()
    assert client.get("/api/kpis/what-works", headers=auth(agent.user)).status_code == 403
    assert client.get("/api/kpis/what-works", headers=auth(make_user(role="dispatcher"))).status_code == 403
    admin = auth(make_user(role="admin"))
    assert client.get("/api/kpis/what-works", headers=admin).status_code == 200
    bad = client.get("/api/kpis/what-works?since=2026-10-02&until=2026-10-01", headers=admin)
    assert bad.status_code == 422 and "since" in bad.get_json()["errors"], bad.get_json()


def _keys(case):
    from backend.policy.strategies import recommend

    return [s["key"] for s in recommend(case, "en")["strategies"]]


def test_the_recommender_orders_only_the_strategies_the_rules_allow_by_their_record(db, make_case, history):
    visit, _ = history
    case = make_case()  # field stage, 75 days past due, never met: empathy, home visit, early repayment
    assert _keys(case) == ["empathy", "home_visit", "early_repayment_incentive"]

    past = make_case()
    day = date.today() - timedelta(days=20)
    for n in range(12):
        visit(past, day, "promise_to_pay", strategy="early_repayment_incentive", track="kept" if n < 10 else "broken")
        visit(past, day, "promise_to_pay", strategy="empathy", track="kept" if n < 2 else "broken")
        # the best record of all, for a strategy no rule allows on a field-stage case (R7)
        visit(past, day, "promise_to_pay", strategy="legal_deterrence", track="kept")
    for _ in range(3):  # too few visits to say anything: home visit keeps its place
        visit(past, day, "promise_to_pay", strategy="home_visit", track="kept")
    db.session.expire_all()

    keys = _keys(db.session.get(type(case), case.id))
    assert keys == ["early_repayment_incentive", "home_visit", "empathy"]
    assert "legal_deterrence" not in keys


def test_a_blocked_case_gets_care_only_whatever_the_record(db, make_case, history):
    from backend.cases.services import set_flag

    visit, _ = history
    past = make_case()
    day = date.today() - timedelta(days=20)
    for _ in range(12):
        visit(past, day, "promise_to_pay", strategy="firm", track="kept")
        visit(past, day, "promise_to_pay", strategy="empathy", track="kept")
        visit(past, day, "promise_to_pay", strategy="customer_care", track="broken")
    case = make_case()
    set_flag(case=case, flag="dispute", actor_id=None, reason="disputes the balance")
    db.session.commit()
    keys = _keys(case)
    assert keys == ["empathy", "customer_care"]  # reordered among the two care strategies, never firm


def test_the_recommenders_reading_is_the_tables_lower_bound(db, make_case, history):
    """kept_lower_bounds counts in the database what what_works counts row by row: the same."""
    from backend.payments.what_works import kept_lower_bounds, what_works

    visit, _ = history
    past = make_case()
    for n in range(11):
        visit(past, D, "promise_to_pay", strategy="firm", script="firm.consequences", track=("kept", "broken", "open")[n % 3])
        visit(past, D, "refused", strategy="empathy")
    visit(past, D, "promise_to_pay", strategy="empathy", track="partially_kept")
    visit(past, D, "promise_to_pay", strategy="sms_reminder", track="kept")  # too few visits
    visit(past, D - timedelta(days=1), "promise_to_pay", strategy="firm", track="kept")  # outside the range
    rows = {row["key"]: row for row in what_works(since=D, until=D)["strategies"]}
    bounds = kept_lower_bounds(since=D, until=D)
    assert bounds == {key: row["low"] for key, row in rows.items() if not row["too_few"] and row["low"] is not None}
    assert set(bounds) == {"firm", "empathy"} and bounds["empathy"] == 0.0
    assert (rows["firm"]["kept"], rows["firm"]["judged"], rows["firm"]["promises"]) == (4, 8, 11)
    assert bounds["firm"] == round(wilson_interval(4, 8)[0], 4)
