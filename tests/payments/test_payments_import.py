"""POST /api/payments/import and `flask payments import`: idempotent by reference, every row reported."""
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from backend.payments.models import Payment


@pytest.fixture
def owner_headers(auth, make_user):
    return auth(make_user(role="owner"))


def _upload(client, headers, raw, as_of=None):
    url = "/api/payments/import" + (f"?as_of={as_of}" if as_of else "")
    return client.post(url, data={"file": (io.BytesIO(raw), "feed.csv")}, headers=headers, content_type="multipart/form-data")


def test_import_creates_and_a_reimport_changes_nothing(client, owner_headers, make_case, feed, db):
    case = make_case()
    raw = feed(("PAY-1", case.account.account_number, "300.00", "2026-11-05"), ("PAY-2", case.account.account_number, "200.00", "2026-11-06"))
    first = _upload(client, owner_headers, raw)
    assert first.status_code == 200
    assert (first.get_json()["created"], first.get_json()["duplicate"]) == (2, 0)
    again = _upload(client, owner_headers, raw)
    assert (again.get_json()["created"], again.get_json()["duplicate"]) == (0, 2)
    assert db.session.scalar(select(func.count(Payment.id))) == 2


def test_bad_rows_are_reported_the_rest_imported(client, owner_headers, make_case, feed):
    case = make_case()
    acct = case.account.account_number
    raw = feed(
        ("PAY-OK", acct, "100.00", "2026-11-05"),
        ("PAY-NEG", acct, "-5", "2026-11-05"),
        ("PAY-DATE", acct, "10.00", "05/11/2026"),
        ("PAY-WHO", "NOPE0000", "10.00", "2026-11-05"),
    )
    body = _upload(client, owner_headers, raw).get_json()
    assert (body["created"], body["rejected"]) == (1, 3)
    errors = {row["reference"]: row.get("errors") for row in body["rows"]}
    assert "amount" in errors["PAY-NEG"] and "paid_on" in errors["PAY-DATE"] and "account_number" in errors["PAY-WHO"]


def test_a_reused_reference_with_different_details_is_rejected(client, owner_headers, make_case, feed):
    case = make_case()
    acct = case.account.account_number
    _upload(client, owner_headers, feed(("PAY-1", acct, "300.00", "2026-11-05")))
    body = _upload(client, owner_headers, feed(("PAY-1", acct, "999.00", "2026-11-05"))).get_json()
    assert body["rejected"] == 1 and "reference" in body["rows"][0]["errors"]


def test_a_currency_other_than_the_accounts_is_rejected(client, owner_headers, make_case):
    case = make_case()
    raw = f"reference,account_number,amount,paid_on,currency\nP-USD,{case.account.account_number},10.00,2026-11-05,USD\n".encode()
    body = _upload(client, owner_headers, raw).get_json()
    assert body["rejected"] == 1 and "currency" in body["rows"][0]["errors"]


def test_datetimes_in_the_feed_are_taken_as_their_date(client, owner_headers, make_case, db):
    case = make_case()
    raw = f"reference,account_number,amount,paid_on\nP-T,{case.account.account_number},10.00,2026-11-05T23:10:00+08:00\n".encode()
    assert _upload(client, owner_headers, raw).get_json()["created"] == 1
    assert db.session.scalar(select(Payment.paid_on)) == date(2026, 11, 5)


@pytest.mark.parametrize("raw,field", [(b"foo,bar\n1,2\n", "file"), (b"\xff\xfe\x00bad", "file")])
def test_an_unusable_file_is_a_422(client, owner_headers, raw, field):
    response = _upload(client, owner_headers, raw)
    assert response.status_code == 422 and field in response.get_json()["errors"]


@pytest.mark.parametrize("role", ["dispatcher", "agent"])
def test_only_owners_and_admins_import(client, auth, make_user, make_agent, role, feed):
    user = make_agent().user if role == "agent" else make_user(role=role)
    assert _upload(client, auth(user), feed()).status_code == 403


def test_cli_import_and_evaluate(app, make_case, make_plan, feed, tmp_path, db, plan_day):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    path = tmp_path / "feed.csv"
    path.write_bytes(feed(("CLI-1", case.account.account_number, "1000.00", "2026-11-08")))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "import", str(path), "--as-of", "2026-11-09"])
    assert result.exit_code == 0, result.output
    assert "created 1, duplicate 0, rejected 0" in result.output and "kept 1" in result.output
    result = runner.invoke(args=["payments", "import", str(path)])
    assert "created 0, duplicate 1" in result.output
    db.session.expire_all()
    assert db.session.get(type(plan), plan.id).status == "kept"
    result = runner.invoke(args=["payments", "evaluate", "--as-of", "2026-12-31"])
    assert result.exit_code == 0 and "no open promises" in result.output


def test_payments_list_shows_allocations(client, owner_headers, make_case, make_plan, feed):
    case = make_case()
    plan = make_plan(case, amounts=("1000.00",))
    _upload(client, owner_headers, feed(("PAY-A", case.account.account_number, "600.00", "2026-11-05")), as_of="2026-11-06")
    body = client.get(f"/api/payments?case_id={case.id}", headers=owner_headers).get_json()
    [payment] = body["items"]
    assert payment["unallocated"] == "0.00" and payment["allocations"][0]["plan_id"] == plan.id
