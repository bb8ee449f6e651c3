"""Imported addresses are geocoded by a background job at the geocoder's pace, not in the
import request; until then the case is treated like any case without coordinates."""
import io
import threading
import time
from datetime import date, timedelta

from sqlalchemy import select

from backend import jobs
from backend.cases.models import Case, TimelineEvent
from backend.geo import services

HEADER = "account_number,debtor_name,address_line,city,country,balance,overdue_amount,days_past_due,branch_code\n"


def _upload(client, headers, rows: list[str]):
    body = (HEADER + "".join(row + "\n" for row in rows)).encode()
    response = client.post("/api/cases/import", data={"file": (io.BytesIO(body), "cases.csv")}, headers=headers,
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class FakeGeocoder:
    """Answers every address with a point in Shanghai, noting when it was asked; `hold` keeps
    it from answering until released."""

    def __init__(self):
        self.asked_at: list[float] = []
        self.hold = threading.Event()
        self.hold.set()

    def geocode(self, query):
        assert self.hold.wait(30)
        self.asked_at.append(time.monotonic())
        return type("Location", (), {"latitude": 31.2 + 0.001 * len(self.asked_at), "longitude": 121.5})()


def test_the_job_keeps_the_geocoders_pace_across_its_batches(client, db, auth, make_user, make_branch, monkeypatch):
    make_branch(code="PD")
    geocoder = FakeGeocoder()
    monkeypatch.setattr(services, "_make_geocoder", lambda: geocoder)
    monkeypatch.setattr(services, "GEOCODE_BATCH", 2)  # 3 addresses: two jobs, one after the other
    monkeypatch.setitem(client.application.config, "GEOCODER_MIN_DELAY_S", 0.3)

    report = _upload(client, auth(make_user(role="owner")),
                     [f"6222100{i},债务人{i},浦东大道{i}号,上海,CN,3000,1000,50,PD" for i in range(3)])
    assert report["needs_geocode"] == 3
    assert jobs.wait_idle(timeout=30)

    assert len(geocoder.asked_at) == 3
    gaps = [b - a for a, b in zip(geocoder.asked_at, geocoder.asked_at[1:])]
    assert min(gaps) >= 0.3 - 0.01, gaps  # within a job and across the hand-over to the next one
    db.session.expire_all()
    for row in report["rows"]:
        case = db.session.get(Case, row["case_id"])
        address = case.account.debtor.addresses[0]
        assert address.geocode_status == "geocoded" and address.lat is not None
        assert address.timezone == "Asia/Shanghai"
        event = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id)
                                   .order_by(TimelineEvent.id.desc())).first()
        assert event.kind == "case.updated" and event.data["source"] == "geocoding"


def test_a_case_waiting_for_its_coordinates_is_not_visited_until_it_has_them(client, db, auth, make_user, make_branch,
                                                                             make_agent, monkeypatch):
    branch = make_branch(code="PD")
    agent = make_agent(branch=branch)
    geocoder = FakeGeocoder()
    geocoder.hold.clear()
    monkeypatch.setattr(services, "_make_geocoder", lambda: geocoder)
    monkeypatch.setitem(client.application.config, "GEOCODER_MIN_DELAY_S", 0)

    report = _upload(client, auth(make_user(role="owner")), ["62221010,周杰,世纪大道9号,上海,CN,3000,1000,50,PD"])
    case_id = report["rows"][0]["case_id"]
    dispatcher = auth(make_user(role="dispatcher"))
    day = (date.today() + timedelta(days=2)).isoformat()
    waiting = client.post("/api/visits", json={"case_id": case_id, "date": day, "agent_id": agent.id}, headers=dispatcher)
    assert waiting.status_code == 422 and waiting.get_json()["errors"] == {"address_id": ["needs_geocode"]}

    geocoder.hold.set()
    assert jobs.wait_idle(timeout=30)
    located = client.post("/api/visits", json={"case_id": case_id, "date": day, "agent_id": agent.id}, headers=dispatcher)
    assert located.status_code == 201, located.get_json()


def test_without_a_geocoder_the_addresses_keep_waiting(client, db, auth, make_user, make_branch):
    make_branch(code="PD")
    report = _upload(client, auth(make_user(role="owner")), ["62221020,吴敏,未知路9号,上海,CN,3000,1000,50,PD"])
    assert jobs.wait_idle(timeout=30)
    db.session.expire_all()
    address = db.session.get(Case, report["rows"][0]["case_id"]).account.debtor.addresses[0]
    assert (address.geocode_status, address.lat) == ("needs_geocode", None)
