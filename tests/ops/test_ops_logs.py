"""Logs: JSON lines from one place, a request id in and out (and into the jobs a request
enqueues), one access line per request, and no personal data or secrets even at DEBUG."""

import io
import json
import logging
import re
import uuid

import pytest

from backend import logs
from backend.common import sha256_hex

# a realistic import: full card numbers, account numbers, names, phones, addresses
CSV = (
    "account_number,card_number,debtor_name,phone,address_line,city,country,lat,lon,balance,overdue_amount,"
    "days_past_due,stage,branch_code\n"
    "62229876543210,6222 7777 8888 9911,欧阳娜娜,13912345678,长宁路977号,上海,CN,31.22,121.42,20000.00,5000.00,75,field,PD\n"
    "62229876543211,,Marguerite Quillfeather,+86 139 8765 4321,世纪大道88号,上海,CN,31.23,121.51,8000,8000,200,field,PD\n"
)
PERSONAL = [
    "62229876543210",
    "62229876543211",
    "6222 7777 8888 9911",
    "6222777788889911",
    "9911",
    "欧阳娜娜",
    "Marguerite",
    "Quillfeather",
    "13912345678",
    "139 8765 4321",
    "长宁路977号",
    "世纪大道88号",
]
NOTE = "Debtor asked us to call her sister on 13700001111"


@pytest.fixture
def log_file(app, tmp_path):
    """Everything logged at DEBUG during the test, through the app's own configuration."""
    path = tmp_path / "doorstep.log"
    stream = path.open("w", encoding="utf-8")
    logs.configure_logging("DEBUG", stream=stream)
    yield path
    logs.configure_logging(app.config["LOG_LEVEL"])
    stream.close()


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_login_sync_and_import_flow_logs_no_personal_data_or_secrets(
    app, client, db, log_file, make_user, make_branch, make_agent, make_visit
):
    from backend.cases.models import Case

    branch = make_branch(code="PD")
    owner = make_user(role="owner", password="owner-Pa55word!")
    agent = make_agent(branch=branch, user=make_user(role="agent", password="agent-Pa55word!"))

    assert (
        client.post("/api/auth/login", json={"username": owner.username, "password": "wrong-Pa55word!", "device_id": "d1"}).status_code
        == 401
    )
    login = client.post("/api/auth/login", json={"username": owner.username, "password": "owner-Pa55word!", "device_id": "d1"})
    owner_token = login.get_json()["token"]
    owner_headers = {"Authorization": f"Bearer {owner_token}"}
    imported = client.post(
        "/api/cases/import",
        data={"file": (io.BytesIO(CSV.encode()), "cases.csv")},
        headers=owner_headers,
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200, imported.get_json()
    client.post(
        "/api/cases/import",
        data={"file": (io.BytesIO(CSV.encode() + b"bad,row\n"), "cases.csv")},
        headers=owner_headers,
        content_type="multipart/form-data",
    )

    case = db.session.query(Case).order_by(Case.id).first()
    visit = make_visit(case=case, agent=agent)
    agent_login = client.post(
        "/api/auth/login", json={"username": agent.user.username, "password": "agent-Pa55word!", "device_id": "phone-1"}
    )
    agent_token = agent_login.get_json()["token"]
    agent_headers = {"Authorization": f"Bearer {agent_token}"}
    assert client.get(f"/api/sync/packet?date={visit.date.isoformat()}", headers=agent_headers).status_code == 200
    ops = [
        {
            "id": str(uuid.uuid4()),
            "type": "note.add",
            "at": "2026-01-05T10:00:00+08:00",
            "payload": {"case_id": case.id, "visit_id": visit.id, "text": NOTE},
        },
        {
            "id": str(uuid.uuid4()),
            "type": "note.add",
            "at": "2026-01-05T10:00:00+08:00",
            "payload": {"case_id": case.id, "text": "x" * 6000, "phone": "13912345678"},
        },
    ]
    synced = client.post("/api/sync/ops", json={"device_id": "phone-1", "ops": ops}, headers=agent_headers)
    assert synced.status_code == 200, synced.get_json()
    client.get("/api/cases?q=13912345678", headers=owner_headers)
    client.post("/api/auth/logout", headers=agent_headers)
    client.get("/api/auth/me", headers=agent_headers)  # a revoked token, once more

    text = log_file.read_text(encoding="utf-8")
    lines = _lines(log_file)
    assert sum(1 for line in lines if line["logger"] == "doorstep.access") >= 9  # every request above
    secrets = {
        "password": "Pa55word!",
        "owner token": owner_token,
        "agent token": agent_token,
        "token hash": sha256_hex(owner_token),
        "agent token hash": sha256_hex(agent_token),
        "SECRET_KEY": app.config["SECRET_KEY"],
        "note": "13700001111",
    }
    leaked = {name: value for name, value in secrets.items() if value in text}
    leaked.update({value: value for value in PERSONAL if value in text})
    assert not leaked, f"in the log: {sorted(leaked)}"


def test_every_line_is_a_json_object_with_the_request_context(client, db, log_file, make_user, auth):
    user = make_user(role="owner")
    headers = auth(user)
    response = client.get("/api/auth/me", headers={**headers, "X-Request-ID": "edge-42.a:b"})
    assert response.headers["X-Request-ID"] == "edge-42.a:b"
    access = [line for line in _lines(log_file) if line["logger"] == "doorstep.access" and line.get("request_id") == "edge-42.a:b"]
    assert len(access) == 1
    line = access[0]
    assert {"timestamp", "level", "logger", "message", "request_id", "route", "status", "duration_ms", "method"} <= set(line)
    assert line["route"] == "/api/auth/me" and line["status"] == 200 and line["user_id"] == user.id
    assert line["level"] == "INFO" and line["duration_ms"] >= 0


@pytest.mark.parametrize("sent", ["", "a" * 65, "id with spaces", "id;Injected=yes", "<script>", "é"])
def test_an_unsafe_or_overlong_request_id_is_replaced(client, db, sent):
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    echoed = response.headers["X-Request-ID"]
    assert echoed != sent and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_each_request_gets_its_own_id_and_none_leaks_past_it(client, db):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second
    assert logs.current_request_id() is None


def test_a_job_runs_under_the_id_of_the_request_that_enqueued_it(app):
    with app.test_request_context(headers={"X-Request-ID": "req-7"}):
        app.preprocess_request()
        meta = logs.job_meta()
    assert meta == {"request_id": "req-7"}
    seen = []
    with logs.bound_request_id(meta.get("request_id")):
        logging.getLogger("backend.test").info("in the job")
        seen.append(logs.current_request_id())
    assert seen == ["req-7"] and logs.current_request_id() is None
    with logs.bound_request_id(None) as made:  # a job enqueued outside any request
        assert re.fullmatch(r"[0-9a-f]{32}", made)
