"""Payment imports in chunks: each its own transaction with progress on the import record; promises
are decided once every row is in, and an import cut off part-way is finished by the next one."""
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.cases.models import ImportRun
from backend.payments.models import Payment


def _post(client, url, headers, raw):
    return client.post(url, data={"file": (io.BytesIO(raw), "f.csv")}, headers=headers, content_type="multipart/form-data")


@pytest.fixture
def owner_headers(auth, make_user):
    return auth(make_user(role="owner"))


def _feed(rows) -> bytes:
    return ("reference,account_number,amount,paid_on\n" + "".join(f"{r},{a},{m},{d}\n" for r, a, m, d in rows)).encode()


def test_a_payment_import_commits_chunk_by_chunk_and_reports_progress(client, owner_headers, make_case, commits, monkeypatch):
    monkeypatch.setattr("backend.payments.services.CHUNK_ROWS", 2)
    case = make_case()
    rows = [(f"PAY-{i}", case.account.account_number, "10.00", "2026-11-05") for i in range(5)]
    report = _post(client, "/api/payments/import", owner_headers, _feed(rows)).get_json()
    assert report["created"] == 5 and len(report["rows"]) == 5
    assert commits[:4] == [(0, "running"), (2, "running"), (4, "running"), (5, "running")]
    assert commits[-1] == (5, "done")
    body = client.get(f"/api/payments/imports/{report['import_id']}", headers=owner_headers).get_json()
    assert body["kind"] == "payments" and body["status"] == "done" and body["counts"]["created"] == 5


def test_promises_of_a_payment_import_cut_off_part_way_are_decided_by_the_second_run(
        app, client, owner_headers, make_case, make_plan, plan_day, monkeypatch, db):
    import backend.payments.services as services

    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    kept_case = make_case()
    make_plan(kept_case, amounts=("100.00",), first_due=plan_day + timedelta(days=3))
    other = make_case()
    paid_on = (plan_day + timedelta(days=1)).isoformat()
    rows = [("PAY-A", kept_case.account.account_number, "100.00", paid_on),
            ("PAY-B", other.account.account_number, "5.00", paid_on),
            ("PAY-C", other.account.account_number, "5.00", paid_on)]
    real = services._import_row

    def dies_at_pay_c(data, actor_id):
        if data["reference"] == "PAY-C":
            raise RuntimeError("worker killed")
        return real(data, actor_id)

    monkeypatch.setattr(services, "_import_row", dies_at_pay_c)
    as_of = (plan_day + timedelta(days=20)).isoformat()
    url = f"/api/payments/import?as_of={as_of}"
    assert _post(client, url, owner_headers, _feed(rows)).status_code == 500
    assert db.session.scalar(select(func.count(Payment.id))) == 2  # the first chunk, allocated

    monkeypatch.setattr(services, "_import_row", real)
    again = _post(client, url, owner_headers, _feed(rows)).get_json()
    assert (again["duplicate"], again["created"]) == (2, 1)
    # the first run's promise evaluation was not lost: the kept promise is decided now
    assert again["promises"].get("kept") == 1
    assert db.session.scalars(select(ImportRun.status).order_by(ImportRun.id)).all() == ["resumed", "done"]
