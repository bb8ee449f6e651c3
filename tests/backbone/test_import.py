import io

import pytest
from sqlalchemy import func, select

from backend.cases.models import Account, Address, Case

HEADER = "account_number,card_number,debtor_name,phone,address_line,city,country,lat,lon,balance,overdue_amount,days_past_due,stage,branch_code\n"


def _upload(client, headers, content: bytes, name="cases.csv"):
    return client.post(
        "/api/cases/import",
        data={"file": (io.BytesIO(content), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def owner_headers(make_user, auth):
    return auth(make_user(role="owner"))


@pytest.fixture
def branch(make_branch):
    return make_branch(code="PD")


GOOD = (
    HEADER
    + "62220001,6222 0000 1111 4321,张伟,13800000001,长宁路100号,上海,CN,31.22,121.42,20000.00,5000.00,75,field,PD\n"
    + "62220002,,李娜,13800000002,世纪大道1号,上海,CN,31.23,121.51,8000,8000,200,legal,PD\n"
)


def test_good_rows_are_created_with_masked_cards_and_timezones(client, owner_headers, branch, db):
    response = _upload(client, owner_headers, GOOD.encode())
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["created"], report["rejected"]) == (2, 0)
    account = db.session.scalar(select(Account).where(Account.account_number == "62220001"))
    assert account.card_masked == "**** **** **** 4321"  # the full number is never stored
    address = db.session.scalar(select(Address).where(Address.debtor_id == account.debtor_id))
    assert (address.geocode_status, address.timezone) == ("provided", "Asia/Shanghai")
    case = db.session.scalar(select(Case).where(Case.account_id == account.id))
    assert case.branch_id == branch.id and case.stage == "field"


def test_reimporting_the_same_file_changes_nothing(client, owner_headers, branch, db):
    _upload(client, owner_headers, GOOD.encode())
    again = _upload(client, owner_headers, GOOD.encode()).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert db.session.scalar(select(func.count(Case.id))) == 2


def test_changed_rows_are_updated_and_the_change_is_on_the_timeline(client, owner_headers, branch, db):
    _upload(client, owner_headers, GOOD.encode())
    changed = GOOD.replace("20000.00,5000.00,75", "20000.00,5500.00,80")
    report = _upload(client, owner_headers, changed.encode()).get_json()
    assert (report["updated"], report["unchanged"]) == (1, 1)
    case_id = report["rows"][0]["case_id"]
    timeline = client.get(f"/api/cases/{case_id}/timeline", headers=owner_headers).get_json()
    assert timeline["events"][-1]["kind"] == "case.updated"
    assert timeline["events"][-1]["data"]["changes"]["days_past_due"] == {"from": 75, "to": 80}


def test_bad_rows_are_rejected_with_reasons_and_good_rows_still_land(client, owner_headers, branch):
    content = (
        HEADER
        + "62220003,,王芳,,南京路1号,上海,CN,31.23,121.47,1000,500,40,field,PD\n"  # good
        + "62220004,,,,南京路2号,上海,CN,31.23,121.47,1000,500,40,field,PD\n"  # no name
        + "62220005,,赵强,,南京路3号,上海,CN,31.23,,1000,500,40,field,PD\n"  # lat without lon
        + "62220006,,钱军,,南京路4号,上海,CN,31.23,121.47,1000,5000,40,field,PD\n"  # overdue > balance
        + "62220007,,孙丽,,南京路5号,上海,CN,31.23,121.47,abc,500,-3,field,XX\n"  # several problems
    )
    report = _upload(client, owner_headers, content.encode()).get_json()
    assert (report["created"], report["rejected"]) == (1, 4)
    rows = {r["account_number"]: r for r in report["rows"]}
    assert rows["62220004"]["errors"] == {"debtor_name": ["Missing data for required field."]}
    assert "lat" in rows["62220005"]["errors"]
    assert "overdue_amount" in rows["62220006"]["errors"]
    assert set(rows["62220007"]["errors"]) >= {"balance", "days_past_due"}
    assert [r["row"] for r in report["rows"]] == [2, 3, 4, 5, 6]  # every row reported, none dropped


def test_ungeocodable_rows_are_kept_as_needs_geocode(client, owner_headers, branch, db):
    content = HEADER + "62220008,,周杰,,未知路9号,上海,CN,,,3000,1000,50,field,PD\n"
    report = _upload(client, owner_headers, content.encode()).get_json()
    assert (report["created"], report["needs_geocode"]) == (1, 1)
    assert report["rows"][0]["geocode_status"] == "needs_geocode"
    account = db.session.scalar(select(Account).where(Account.account_number == "62220008"))
    address = db.session.scalar(select(Address).where(Address.debtor_id == account.debtor_id))
    assert address.lat is None and address.timezone == "Asia/Shanghai"  # branch timezone until geocoded
    # re-import with the geocoder still down: unchanged, not duplicated
    again = _upload(client, owner_headers, content.encode()).get_json()
    assert again["unchanged"] == 1


def test_geocoder_results_are_used_and_cached(client, owner_headers, branch, db, monkeypatch):
    from backend import jobs
    from backend.geo import services
    from backend.geo.models import GeocodeCache

    calls = []

    class FakeNominatim:
        def geocode(self, query):
            calls.append(query)
            return type("Loc", (), {"latitude": 31.2, "longitude": 121.5})()

    monkeypatch.setattr(services, "_make_geocoder", lambda: FakeNominatim())
    monkeypatch.setitem(client.application.config, "GEOCODER_MIN_DELAY_S", 0)
    content = HEADER + "62220009,,吴敏,,浦东大道9号,上海,CN,,,3000,1000,50,field,PD\n"
    report = _upload(client, owner_headers, content.encode()).get_json()
    assert report["rows"][0]["geocode_status"] == "needs_geocode"  # the geocoding job has it
    assert jobs.wait_idle(timeout=30)
    address = db.session.get(Case, report["rows"][0]["case_id"]).account.debtor.addresses[0]
    assert (address.geocode_status, address.lat, address.lon) == ("geocoded", 31.2, 121.5)
    assert db.session.scalar(select(func.count(GeocodeCache.id))) == 1
    services.geocode_address("浦东大道9号, 上海, CN")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a CSV"),
        ("account_number,debtor_name\n1,张\n".encode("gb18030"), "UTF-8"),
        (b"account_number,debtor_name\n123,x\n", "lacks required columns"),
    ],
)
def test_garbage_files_are_422_with_a_clear_message(client, owner_headers, content, message):
    response = _upload(client, owner_headers, content)
    assert response.status_code == 422
    assert message in response.get_json()["message"]


def test_import_needs_a_file_field(client, owner_headers):
    response = client.post("/api/cases/import", data={}, headers=owner_headers, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]


def test_cli_import(app, branch, tmp_path, db):
    path = tmp_path / "cases.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    result = app.test_cli_runner().invoke(args=["cases", "import", str(path)])
    assert "unchanged 2" in result.output
