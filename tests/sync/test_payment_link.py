"""The payment link: each visit of the day packet carries the bank's pay page for its case, built
from PAYMENT_LINK_TEMPLATE with the case reference and the overdue amount URL-encoded; without a
template there is no link. A payment the debtor made that way is recorded as method payment_link."""
import pytest

from backend.config import production_problems
from backend.payments.models import Collection
from sync_ops_helpers import make_op, in_window


@pytest.fixture
def template(app):
    before = app.config.get("PAYMENT_LINK_TEMPLATE", "")
    app.config["PAYMENT_LINK_TEMPLATE"] = "https://pay.bank.example/repay?ref={reference}&amt={amount}&cur={currency}&note=a%20b"
    yield app.config["PAYMENT_LINK_TEMPLATE"]
    app.config["PAYMENT_LINK_TEMPLATE"] = before


def packet_visit(client, headers, visit):
    body = client.get(f"/api/sync/packet?date={visit.date.isoformat()}", headers=headers).get_json()
    return next(v for v in body["visits"] if v["id"] == visit.id)


def test_without_a_template_there_is_no_link(client, agent_headers, owned_visit):
    assert packet_visit(client, agent_headers, owned_visit)["payment_link"] is None


def test_the_link_carries_the_case_reference_and_the_overdue_amount_url_encoded(template, client, agent_headers, make_case,
                                                                                make_visit, field_agent, day):
    case = make_case(branch=field_agent.branch, overdue="1234.50", balance="20000.00")
    visit = make_visit(case=case, agent=field_agent, day=day)
    link = packet_visit(client, agent_headers, visit)["payment_link"]
    assert link == {
        "url": f"https://pay.bank.example/repay?ref=DS-{case.id}&amt=1234.50&cur=CNY&note=a%20b",
        "reference": f"DS-{case.id}", "amount": "1234.50", "currency": "CNY",
    }
    # never the account number, which the agent's device does not hold (R15)
    assert case.account.account_number not in link["url"]


def test_the_amount_is_never_above_the_balance_and_a_settled_case_has_no_link(template, client, agent_headers, make_case,
                                                                            make_visit, field_agent, day):
    capped = make_visit(case=make_case(branch=field_agent.branch, overdue="900.00", balance="300.00"), agent=field_agent, day=day)
    settled = make_visit(case=make_case(branch=field_agent.branch, overdue="0.00", balance="0.00"), agent=field_agent, day=day)
    assert packet_visit(client, agent_headers, capped)["payment_link"]["amount"] == "300.00"
    assert packet_visit(client, agent_headers, settled)["payment_link"] is None


def test_each_value_is_url_encoded_wherever_the_placeholder_stands(app, owned_visit, monkeypatch):
    from backend.payments import links

    monkeypatch.setitem(app.config, "PAYMENT_LINK_TEMPLATE", "https://pay.bank.example/{reference}/{amount}")
    monkeypatch.setattr(links, "case_reference", lambda case: "A/B C&D=1")
    owned_visit.case.account.overdue_amount = "10.5"
    assert links.build_payment_link(owned_visit.case)["url"] == "https://pay.bank.example/A%2FB%20C%26D%3D1/10.50"


def test_a_production_template_must_be_https_with_a_reference():
    base = {"SECRET_KEY": "x" * 48, "PUBLIC_BASE_URL": "https://doorstep.bank.example"}
    assert production_problems({**base, "PAYMENT_LINK_TEMPLATE": "https://pay.bank.example/?r={reference}"}) == []
    [problem] = production_problems({**base, "PAYMENT_LINK_TEMPLATE": "http://pay.bank.example/?r={reference}"})
    assert "PAYMENT_LINK_TEMPLATE" in problem
    [problem] = production_problems({**base, "PAYMENT_LINK_TEMPLATE": "https://pay.bank.example/"})
    assert "{reference}" in problem


def test_a_payment_made_through_the_link_is_recorded_as_such(send, owned_visit, db):
    op = make_op("payment.record", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "amount": "800.00",
                                    "currency": "CNY", "method": "payment_link", "reference": "BANKPAY-7731"},
                 at=in_window(owned_visit, 75))
    status, body = send([op])
    assert status == 200 and body["results"][0]["status"] == "applied", body
    row = db.session.get(Collection, body["results"][0]["server"]["collection"]["id"])
    assert (row.method, row.reference, str(row.amount)) == ("payment_link", "BANKPAY-7731", "800.00")
