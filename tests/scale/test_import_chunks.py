"""Large imports run in short transactions (chunks) so other writers get the database between them,
record their progress in an import record readable by GET, and an import cut off part-way is
finished by importing the same file again."""
import io

import pytest
from sqlalchemy import func, select

from backend.cases.models import Case, ImportRun

HEADER = "account_number,debtor_name,address_line,lat,lon,balance,overdue_amount,days_past_due\n"


def _cases_csv(n: int, bad_rows=()) -> bytes:
    lines = [HEADER]
    for i in range(n):
        name = "" if i in bad_rows else f"Debtor {i}"
        lines.append(f"ACCT{i:06d},{name},Road {i},31.2,121.4,100.00,50.00,40\n")
    return "".join(lines).encode()


def _post(client, url, headers, raw):
    return client.post(url, data={"file": (io.BytesIO(raw), "f.csv")}, headers=headers, content_type="multipart/form-data")


@pytest.fixture
def owner_headers(auth, make_user):
    return auth(make_user(role="owner"))


def test_a_case_import_commits_chunk_by_chunk_and_reports_progress(app, client, owner_headers, commits, monkeypatch, db):
    monkeypatch.setattr("backend.cases.importing.CHUNK_ROWS", 4)
    response = _post(client, "/api/cases/import", owner_headers, _cases_csv(10, bad_rows={5}))
    assert response.status_code == 200
    report = response.get_json()
    assert (report["created"], report["rejected"], len(report["rows"])) == (9, 1, 10)  # the per-row report as before
    assert commits == [(0, "running"), (4, "running"), (8, "running"), (10, "running"), (10, "done")]

    progress = client.get(f"/api/cases/imports/{report['import_id']}", headers=owner_headers)
    assert progress.status_code == 200
    body = progress.get_json()
    assert body["kind"] == "cases" and body["status"] == "done"
    assert (body["total_rows"], body["processed_rows"]) == (10, 10)
    assert body["counts"] == {"created": 9, "updated": 0, "unchanged": 0, "rejected": 1, "needs_geocode": 0}
    assert [r["row"] for r in body["rejected_rows"]] == [7] and "debtor_name" in body["rejected_rows"][0]["errors"]
    assert body["finished_at"] is not None


def test_an_import_cut_off_part_way_keeps_its_chunks_and_finishes_on_a_second_run(app, client, owner_headers, monkeypatch, db):
    import backend.cases.importing as importing

    monkeypatch.setattr(importing, "CHUNK_ROWS", 4)
    real = importing._upsert

    def dies_at_row_7(data, *args):
        if data["account_number"] == "ACCT000006":
            raise RuntimeError("worker killed")
        return real(data, *args)

    monkeypatch.setattr(importing, "_upsert", dies_at_row_7)
    raw = _cases_csv(10)
    assert _post(client, "/api/cases/import", owner_headers, raw).status_code == 500
    run = db.session.scalars(select(ImportRun)).one()
    assert (run.status, run.processed_rows, run.total_rows) == ("failed", 4, 10)
    assert db.session.scalar(select(func.count(Case.id))) == 4  # the first chunk stayed

    monkeypatch.setattr(importing, "_upsert", real)
    again = _post(client, "/api/cases/import", owner_headers, raw).get_json()
    assert (again["unchanged"], again["created"]) == (4, 6)
    assert db.session.scalar(select(func.count(Case.id))) == 10


def test_reading_an_import_needs_an_office_owner_or_admin(client, auth, make_user, make_agent):
    agent = auth(make_agent().user)
    assert client.get("/api/cases/imports/1", headers=agent).status_code == 403
    assert client.get("/api/cases/imports/999", headers=auth(make_user(role="admin"))).status_code == 404
