"""Cash taken at the door, offline: the device shows the receipt at once, marked provisional;
after sync it carries the server's receipt number and verification code."""
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.payments.models import Collection

from tests.e2e.test_agent_paths import met_and_told, step

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))



def paid_at_the_door(page, amount):
    """The first stop: checked in, debtor met, disclosure given, outcome `paid` with the amount."""
    page.locator("ol.stops .stop-main").first.click()
    step(page, "brief")
    page.get_by_role("button", name=T["checkin.button"]).click()
    step(page, "met")
    met_and_told(page)
    page.get_by_text(T["outcome.paid"], exact=True).click()
    page.get_by_role("textbox", name=T["outcome.field.amount"]).fill(amount)
    page.get_by_role("button", name=T["outcome.record"]).click()
    step(page, "payment")


def test_cash_offline_shows_a_provisional_receipt_then_the_final_number(phone, agent_day, db):
    page = phone.page
    phone.login(agent_day.username)
    phone.wait_service_worker()
    phone.context.set_offline(True)

    paid_at_the_door(page, "500")
    assert page.get_by_label(T["payment.amount_in"].replace("{currency}", "CNY")).input_value() == "500.00"
    page.get_by_label(T["payment.method"]).select_option("cash")
    page.get_by_role("button", name=T["payment.record"]).click()
    page.locator(".receipt .receipt-status.provisional").wait_for()
    assert page.locator(".receipt .receipt-number").inner_text() == T["payment.number_pending"]
    assert "500.00 CNY" in page.locator(".receipt").inner_text()
    phone.shot("20-payment-receipt-provisional")

    page.reload()  # the receipt is part of the draft: still there, still provisional
    step(page, "payment")
    page.locator(".receipt .receipt-status.provisional").wait_for()

    phone.context.set_offline(False)
    phone.sync()
    page.locator(".receipt .receipt-status.final").wait_for()
    number = page.locator(".receipt .receipt-number").inner_text()
    assert re.fullmatch(rf"{agent_day.agent.branch.code}-000001", number), number
    phone.shot("21-payment-receipt-final")

    db.session.expire_all()  # rows written by the live server
    collection = db.session.scalar(select(Collection))
    assert (collection.receipt_number, str(collection.amount), collection.method) == (number, "500.00", "cash")
    assert collection.verify_code in page.locator(".receipt").inner_text()
    page.get_by_role("button", name=T["payment.continue"]).click()
    step(page, "notes")


@pytest.fixture
def pay_page(app):
    """The bank's pay page for a case, as a deployment configures it."""
    before = app.config.get("PAYMENT_LINK_TEMPLATE", "")
    app.config["PAYMENT_LINK_TEMPLATE"] = "https://pay.bank.example/repay?ref={reference}&amt={amount}"
    yield
    app.config["PAYMENT_LINK_TEMPLATE"] = before


def test_the_payment_link_shows_as_a_qr_offline_and_records_a_link_payment(pay_page, phone, agent_day, db):
    page = phone.page
    phone.login(agent_day.username)
    phone.wait_service_worker()
    phone.context.set_offline(True)  # the QR encoder is part of the precached shell

    paid_at_the_door(page, "800")
    assert page.locator(".pay-link canvas").count() == 0
    page.get_by_label(T["payment.method"]).select_option("payment_link")
    qr = page.get_by_role("img", name=T["payment.link.qr"])
    qr.wait_for()
    url = page.locator(".pay-link .link-url").inner_text()
    assert url.startswith("https://pay.bank.example/repay?ref=DS-") and "&amt=" in url
    # a real QR: at least version 2 (25 modules) for an address this long, painted dark and light
    assert int(qr.get_attribute("data-modules")) >= 25
    dark = qr.evaluate("""(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n += 1; return n / (d.length / 4); }""")
    assert 0.2 < dark < 0.6, dark
    phone.shot("22-payment-link-qr")

    page.get_by_label(T["payment.reference"]).fill("BANKPAY-7731")
    page.get_by_role("button", name=T["payment.record"]).click()
    page.locator(".receipt .receipt-status.provisional").wait_for()
    phone.context.set_offline(False)
    phone.sync()
    page.locator(".receipt .receipt-status.final").wait_for()
    db.session.expire_all()
    collection = db.session.scalar(select(Collection))
    assert (collection.method, collection.reference, str(collection.amount)) == ("payment_link", "BANKPAY-7731", "800.00")
    assert url.startswith(f"https://pay.bank.example/repay?ref=DS-{collection.case_id}&amt=")
