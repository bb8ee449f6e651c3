"""payment.record: money taken at the door becomes a collection with a receipt number from the
branch's gapless sequence, exactly once, in the case's currency, never above what is owed."""
import threading

from sqlalchemy import select

from backend.cases.models import TimelineEvent
from backend.payments.models import Collection
from sync_ops_helpers import checkin_op, in_window, make_op


def payment_op(visit, amount="500.00", currency="CNY", method="cash", op_id=None, **kw):
    payload = {"case_id": visit.case_id, "visit_id": visit.id, "amount": amount, "currency": currency, "method": method}
    payload.update(kw)
    return make_op("payment.record", payload, at=in_window(visit, 75), op_id=op_id)


def test_a_cash_payment_gets_a_receipt_and_is_on_the_timeline(send, owned_visit, field_agent, db):
    status, body = send([checkin_op(owned_visit), payment_op(owned_visit, amount="500.00", reference="R-1")])
    assert status == 200
    result = body["results"][1]
    assert result["status"] == "applied", result
    collection = result["server"]["collection"]
    assert collection["receipt_number"] == f"{field_agent.branch.code}-000001"
    assert collection["amount"] == "500.00" and collection["status"] == "unreconciled"
    row = db.session.get(Collection, collection["id"])
    assert (row.method, row.reference, row.case_id, row.visit_id) == ("cash", "R-1", owned_visit.case_id, owned_visit.id)
    event = db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == owned_visit.case_id,
                                                          TimelineEvent.kind == "payment.collected"))
    assert event.data["receipt_number"] == collection["receipt_number"]
    assert event.data["amount"] == "500.00"


def test_a_replay_of_a_lost_response_returns_the_same_receipt_number(send, owned_visit, db):
    op = payment_op(owned_visit)
    first = send([op])[1]["results"][0]
    again = send([op], device_id="phone-1")[1]["results"][0]
    other_device = send([op], device_id="phone-2")[1]["results"][0]
    assert first["status"] == "applied"
    assert again["status"] == other_device["status"] == "duplicate"
    number = first["server"]["collection"]["receipt_number"]
    assert again["server"]["collection"]["receipt_number"] == other_device["server"]["collection"]["receipt_number"] == number
    assert len(db.session.scalars(select(Collection)).all()) == 1


def test_amounts_are_two_decimal_strings_and_the_method_is_known(send, owned_visit):
    results = send([
        payment_op(owned_visit, amount=500),
        payment_op(owned_visit, amount="500.5"),
        payment_op(owned_visit, amount="0.00"),
        payment_op(owned_visit, method="crypto"),
        payment_op(owned_visit, card_number="4111111111111111"),
    ])[1]["results"]
    assert [r["status"] for r in results] == ["rejected"] * 5
    assert "payload.amount" in results[0]["errors"] and "payload.amount" in results[1]["errors"]
    assert "payload.amount" in results[2]["errors"]
    assert "payload.method" in results[3]["errors"]
    assert "payload.card_number" in results[4]["errors"]


def test_refused_in_another_currency_or_above_what_is_owed(send, make_case, make_visit, field_agent, owner, day, db):
    case = make_case(branch=field_agent.branch, owner_id=owner.id, balance="800.00")
    visit = make_visit(case=case, agent=field_agent, day=day)
    results = send([
        payment_op(visit, currency="USD"),
        payment_op(visit, amount="800.01"),
        payment_op(visit, amount="600.00"),
        payment_op(visit, amount="200.01"),  # 600 already taken and not yet confirmed by the bank
        payment_op(visit, amount="200.00"),
    ])[1]["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "applied", "rejected", "applied"]
    assert "currency" in results[0]["errors"] and "amount" in results[1]["errors"] and "amount" in results[3]["errors"]
    numbers = [r["server"]["collection"]["receipt_number"] for r in (results[2], results[4])]
    assert [n.rsplit("-", 1)[1] for n in numbers] == ["000001", "000002"]  # the refused ones took no number


def test_someone_elses_case_is_refused_and_takes_no_number(send, make_visit, owned_visit, db):
    stranger = make_visit()
    result = send([payment_op(stranger)])[1]["results"][0]
    assert result["status"] == "rejected" and result["code"] == "not_your_case"
    assert db.session.scalars(select(Collection)).all() == []


def test_numbers_have_no_gaps_under_concurrent_ops(app, make_agent, make_branch, make_case, make_visit, owner, auth, day, db):
    """Agents of one branch record payments at once (some refused): every applied payment has a
    number, and the numbers are exactly 1..n."""
    branch = make_branch()
    crews = []
    for _ in range(4):
        agent = make_agent(branch=branch)
        visit = make_visit(case=make_case(branch=branch, owner_id=owner.id, balance="1000.00"), agent=agent, day=day)
        # one refused op each (above what is owed): it must give its number back
        ops = [payment_op(visit, amount="1000.01" if n == 2 else "100.00") for n in range(5)]
        crews.append((auth(agent.user), f"device-{visit.id}", ops))
    errors, results = [], []
    start = threading.Barrier(len(crews), timeout=20)

    def agent_sends(headers, device_id, ops):
        client = app.test_client()
        try:
            start.wait()
            for op in ops:
                response = client.post("/api/sync/ops", json={"device_id": device_id, "ops": [op]}, headers=headers)
                results.extend(response.get_json()["results"])
        except Exception as exc:  # noqa: BLE001 — the test reports whatever went wrong
            errors.append(exc)

    threads = [threading.Thread(target=agent_sends, args=crew) for crew in crews]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(r["status"] for r in results) == ["applied"] * 16 + ["rejected"] * 4
    db.session.rollback()
    seqs = sorted(db.session.scalars(select(Collection.receipt_seq).where(Collection.branch_id == branch.id)))
    assert seqs == list(range(1, 17))
    numbers = {r["server"]["collection"]["receipt_number"] for r in results if r["status"] == "applied"}
    assert numbers == {f"{branch.code}-{n:06d}" for n in range(1, 17)}


# --- the receipt -------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_receipt_pdf_carries_number_amount_method_agent_time_masked_case_and_verify_link(
        app, client, send, owned_visit, field_agent, agent_headers, owner, auth, make_agent, db):
    collection = send([payment_op(owned_visit, amount="1234.56", method="card_terminal", reference="POS-778")])[1]["results"][0]["server"]["collection"]
    response = client.get(f"/api/collections/{collection['id']}/receipt.pdf", headers=auth(owner))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    account_number = owned_visit.case.account.account_number
    assert collection["receipt_number"] in text and "1234.56 CNY" in text
    assert "刷卡 Card terminal" in text and "POS-778" in text and field_agent.user.username in text
    assert "收款收据" in text and "Payment receipt" in text
    assert account_number[-4:] in text and account_number not in text  # the case reference, masked
    assert collection["verify_code"] in text
    assert f"{app.config['PUBLIC_BASE_URL']}/api/receipts/verify?code={collection['verify_code']}" in text.replace("\n", "")
    # the agent who took the money may print it; another agent may not even learn it exists
    assert client.get(f"/api/collections/{collection['id']}/receipt.pdf", headers=agent_headers).status_code == 200
    other = make_agent(branch=field_agent.branch)
    assert client.get(f"/api/collections/{collection['id']}/receipt.pdf", headers=auth(other.user)).status_code == 404


def test_the_public_verify_answers_only_for_that_code(client, send, owned_visit):
    collection = send([payment_op(owned_visit, amount="300.00")])[1]["results"][0]["server"]["collection"]
    body = client.get(f"/api/receipts/verify?code={collection['verify_code']}").get_json()
    assert body == {"valid": True, "receipt_number": collection["receipt_number"], "amount": "300.00", "currency": "CNY",
                    "method": "cash", "collected_at": body["collected_at"], "status": "unreconciled"}
    assert client.get("/api/receipts/verify?code=00000-00000").get_json() == {"valid": False}
    bad = client.get("/api/receipts/verify?code=not-a-code")
    assert bad.status_code == 422 and "code" in bad.get_json()["errors"]
