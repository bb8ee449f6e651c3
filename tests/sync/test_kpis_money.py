"""KPIs of money at the door (issue 18, point 6): collected and reconciled amounts per agent,
branch and day, and cost per visit from km and time at the jurisdiction's rates."""
from datetime import timedelta

import pytest

from backend.policy.settings import SETTINGS, change_setting
from backend.visits.models import Visit
from test_reconciliation import FEED, collect, upload


@pytest.fixture
def office(auth, owner):
    return auth(owner)


def test_collected_and_reconciled_per_agent_branch_and_day(send, client, office, make_case, make_visit, make_agent,
                                                          field_agent, owner, day, db):
    other = make_agent()
    visits = [make_visit(case=make_case(branch=field_agent.branch, owner_id=owner.id), agent=field_agent, day=day) for _ in range(3)]
    taken = [collect(send, v, amount=a, reference=f"BT-{i}") for i, (v, a) in enumerate(zip(visits, ("200.00", "300.00", "500.00")))]
    account = [v.case.account.account_number for v in visits]
    upload(client, office, "/api/payments/import", [
        FEED, f"BT-1,{account[1]},300.00,{day.isoformat()}", f"BT-2,{account[2]},499.00,{day.isoformat()}"])
    assert len(taken) == 3
    report = client.get(f"/api/kpis?from={day}&to={day}", headers=office).get_json()
    counts, rates = report["totals"]["counts"], report["totals"]["rates"]
    assert (counts["door_collected"], counts["door_receipts"], counts["door_reconciled"], counts["door_disputed"]) == (1000, 3, 300, 500)
    assert rates["reconciled_rate_amount"] == {"value": 0.3, "num": 300, "den": 1000}
    [agent_row] = report["agents"]
    assert agent_row["agent_id"] == field_agent.id and agent_row["counts"]["door_reconciled"] == 300
    [branch_row] = report["branches"]
    assert (branch_row["branch_id"], branch_row["branch"], branch_row["currency"]) == (
        field_agent.branch.id, field_agent.branch.name, "CNY")
    assert branch_row["counts"]["door_collected"] == 1000
    [day_row] = report["daily"]
    assert day_row["date"] == day.isoformat() and day_row["counts"]["door_collected"] == 1000
    # another branch's agent took nothing: its branch has no row, and filtering to it shows nothing
    alone = client.get(f"/api/kpis?from={day}&to={day}&branch_id={other.branch_id}", headers=office).get_json()
    assert alone["branches"] == [] and alone["totals"]["counts"]["door_collected"] == 0


def test_cost_per_visit_is_km_and_hours_at_the_jurisdictions_rates(send, client, office, owned_visit, field_agent, day, db):
    collect(send, owned_visit, amount="100.00")
    visit = db.session.get(Visit, owned_visit.id)
    visit.checkout_at = visit.checkin_at + timedelta(minutes=30)
    db.session.commit()

    def report():
        return client.get(f"/api/kpis?from={day}&to={day}", headers=office).get_json()["totals"]

    totals = report()
    counts = totals["counts"]
    speed = field_agent.branch.speed_kmh
    assert counts["door_hours"] == 0.5 and counts["travel_hours"] == pytest.approx(counts["km"] / speed, abs=0.01)
    # the CN defaults: 0.80 a km, 60.00 an hour
    expected = counts["km"] * 0.80 + (counts["km"] / speed + 0.5) * 60
    assert counts["cost"] == pytest.approx(expected, abs=0.02)
    assert totals["rates"]["cost_per_visit"]["value"] == pytest.approx(expected, abs=0.02)
    # a changed rate is the jurisdiction's from then on
    change_setting(jurisdiction="CN", key="cost_per_hour", value="100.00", reason="new pay scale", actor_id=None)
    db.session.commit()
    again = report()["counts"]
    assert again["cost"] == pytest.approx(counts["km"] * 0.80 + (counts["km"] / speed + 0.5) * 100, abs=0.02)
    assert SETTINGS["cost_per_km"].validate("-1") and SETTINGS["cost_per_hour"].validate(60)
    assert SETTINGS["cost_per_km"].validate("0.45") is None
