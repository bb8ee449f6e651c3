"""The presence score: each reason triggered by a crafted day of ops sent through the sync
protocol, as a phone would send them; the score in GET /api/visits/<id>, the review queue and
the KPIs per agent."""
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from backend.common import canonical_json, sha256_hex

A = (31.2304, 121.4737)
NEAR = (31.2318, 121.4737)  # ~155 m north of A
FAR = (31.3060, 121.4737)  # ~8.4 km north of A


def zone_at(hour: int):
    """A fixed-offset zone where it is about `hour` o'clock now, and that local date."""
    now = datetime.now(timezone.utc)
    offset = hour - now.hour
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    name = "Etc/GMT" if offset == 0 else (f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}")
    return name, (now + timedelta(hours=offset)).date()


def at(minutes: float) -> str:
    """A device time `minutes` from now (negative: in the past)."""
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def op(type_, payload, minutes):
    return {"id": str(uuid.uuid4()), "type": type_, "at": at(minutes), "payload": payload}


def checkin(visit, minutes, pos=None, accuracy=12.0, **kw):
    lat, lon = pos or (visit.address.lat, visit.address.lon)
    return op("visit.checkin", {"visit_id": visit.id, "lat": lat, "lon": lon, "accuracy_m": accuracy, **kw}, minutes)


def outcome(visit, minutes, code="not_home", met="nobody", **kw):
    return op("visit.outcome", {"visit_id": visit.id, "code": code, "met": met, **kw}, minutes)


def checkout(visit, minutes):
    return op("visit.checkout", {"visit_id": visit.id}, minutes)


@pytest.fixture
def make_day(make_branch, make_agent, make_case, make_visit, owner):
    """make_day(hour, stops) -> (agent, [visits]) for an agent today, in a zone where it is `hour` now."""

    def make(hour=13, stops=(A, NEAR)):
        tz, day = zone_at(hour)
        branch = make_branch(timezone=tz)
        agent = make_agent(branch=branch)
        visits = [make_visit(case=make_case(branch=branch, tz=tz, lat=lat, lon=lon, owner_id=owner.id), agent=agent, day=day)
                  for lat, lon in stops]
        return agent, visits

    return make


@pytest.fixture
def sender(client, auth):
    def send(agent, ops):
        headers = auth(agent.user, device_id="phone-1")
        for batch in ops:  # one request per batch: the server receives them in this order
            response = client.post("/api/sync/ops", json={"device_id": "phone-1", "ops": batch}, headers=headers)
            assert response.status_code == 200, response.get_json()
            assert {r["status"] for r in response.get_json()["results"]} <= {"applied"}, response.get_json()

    return send


@pytest.fixture
def presence(client, auth, owner):
    def read(visit):
        response = client.get(f"/api/visits/{visit.id}", headers=auth(owner))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["presence"]

    return read


def codes(p):
    return [r["code"] for r in p["reasons"]]


def test_a_plain_visit_scores_the_base_with_no_reasons(make_day, sender, presence):
    agent, (visit, _) = make_day()
    sender(agent, [[checkin(visit, -10), outcome(visit, -9), checkout(visit, -8)]])
    assert presence(visit) == {"score": 80, "reasons": [], "debtor_confirmed_at": None}


def test_far_from_the_address_with_a_poor_fix(make_day, sender, presence):
    agent, (visit, _) = make_day()
    sender(agent, [[checkin(visit, -10, pos=(31.2394, 121.4737), accuracy=900.0, reason_far="gate"), outcome(visit, -9)]])
    p = presence(visit)
    assert codes(p) == ["far_from_address", "poor_accuracy"]
    assert p["score"] == 80 - 25 - 10
    assert all(r["detail"] for r in p["reasons"])


def test_implausible_speed_between_consecutive_check_ins(make_day, sender, presence):
    agent, (first, second) = make_day(stops=(A, FAR))
    sender(agent, [[checkin(first, -10), outcome(first, -9.8), checkin(second, -9.5)]])  # 8.4 km in 30 s
    assert codes(presence(second)) == ["implausible_speed"]
    assert "km/h" in presence(second)["reasons"][0]["detail"]
    assert codes(presence(first)) == ["implausible_speed"]  # the next event makes the first one doubtful too


def test_a_plan_agreed_in_under_two_minutes_is_too_short(make_day, sender, presence, owner):
    agent, (visit, _) = make_day()
    case_id = visit.case_id
    due = (date.today() + timedelta(days=30)).isoformat()
    terms = {"case_id": case_id, "kind": "installments", "currency": "CNY", "total": "5000.00", "discount_pct": "0",
             "payable": "5000.00", "down_payment": "1000.00",
             "schedule": [{"seq": 1, "due_date": due, "amount": "2000.00"}, {"seq": 2, "due_date": (date.fromisoformat(due) + timedelta(days=30)).isoformat(), "amount": "2000.00"}]}
    ref = str(uuid.uuid4())
    propose = op("plan.propose", {"case_id": case_id, "visit_id": visit.id, "plan_ref": ref, "terms": terms,
                                  "terms_hash": sha256_hex(canonical_json(terms))}, -9.9)
    sender(agent, [[checkin(visit, -10), propose,
                    outcome(visit, -9.5, code="plan_agreed", met="debtor", plan_ref=ref, disclosure_at=at(-9.8))]])
    p = presence(visit)
    assert codes(p) == ["too_short"] and p["score"] == 60


def test_a_device_clock_ahead_of_the_server(make_day, sender, presence):
    agent, (visit, _) = make_day()
    sender(agent, [[checkin(visit, +10), outcome(visit, +11)]])  # stamped ten minutes after the server got them
    assert codes(presence(visit)) == ["clock_ahead"]


def test_a_device_clock_going_backwards(make_day, sender, presence):
    agent, (first, second) = make_day()
    sender(agent, [[checkin(first, -5), outcome(first, -4)], [checkin(second, -30), outcome(second, -29)]])
    assert codes(presence(second)) == ["clock_backwards"]
    assert codes(presence(first)) == []


def test_the_same_coordinates_at_two_addresses(make_day, sender, presence):
    agent, (first, second) = make_day()
    spot = (31.23101234, 121.47372345)
    sender(agent, [[checkin(first, -40, pos=spot), outcome(first, -39), checkin(second, -10, pos=spot), outcome(second, -9)]])
    assert codes(presence(second)) == ["copied_position"]
    assert f"visit {first.id}" in presence(second)["reasons"][0]["detail"]


def test_outside_the_window_on_the_device_clock(make_day, sender, presence):
    agent, (visit, _) = make_day(hour=21)  # R1 in CN ends at 20:00 local
    sender(agent, [[checkin(visit, -2), outcome(visit, -1)]])
    assert codes(presence(visit)) == ["outside_window"]


def test_outside_the_window_on_the_server_clock_though_the_device_claims_inside(make_day, sender, presence):
    agent, (visit, _) = make_day(hour=7)  # 07:xx local: the window opens at 09:00
    sender(agent, [[checkin(visit, +150), outcome(visit, +151)]])  # the device says 09:30 or later
    assert codes(presence(visit)) == ["clock_ahead", "outside_window"]


def test_the_debtors_confirmation_raises_the_score(make_day, sender, presence, client, auth, link):
    agent, (visit, _) = make_day()
    sender(agent, [[checkin(visit, +10), outcome(visit, +11)]])  # a clock ahead: 60
    headers = auth(agent.user, device_id="phone-1")
    brief = next(v for v in client.get(f"/api/sync/packet?date={visit.date.isoformat()}", headers=headers).get_json()["visits"]
                 if v["id"] == visit.id)
    response = client.post("/api/badge/confirm", json={"token": link(brief), "id_last4": "1234"})
    assert response.status_code == 200, response.get_json()
    p = presence(visit)
    assert codes(p) == ["clock_ahead", "debtor_confirmed"] and p["score"] == 100
    assert p["debtor_confirmed_at"] == response.get_json()["confirmed_at"]


def test_low_scores_first_in_the_review_queue_and_in_the_kpis_per_agent(make_day, sender, client, auth, owner):
    agent, (plain, copied) = make_day()
    spot = (31.23101234, 121.47372345)
    other, (far, _) = make_day(stops=(A, FAR))
    sender(agent, [[checkin(plain, -60, pos=spot), outcome(plain, -59)], [checkin(copied, -10, pos=spot), outcome(copied, -9)]])
    sender(other, [[checkin(far, +10, pos=(31.2394, 121.4737), accuracy=900.0, reason_far="gate"), outcome(far, +11)]])
    queue = client.get("/api/review-queue", headers=auth(owner)).get_json()
    items = queue["presence"]["items"]
    assert [i["visit_id"] for i in items] == [far.id, plain.id, copied.id]  # 25, 45, 45 (by id on a tie)
    assert [i["score"] for i in items] == [25, 45, 45]
    assert queue["counts"]["presence"] == 3
    report = client.get(f"/api/kpis?from={plain.date.isoformat()}&to={plain.date.isoformat()}", headers=auth(owner)).get_json()
    rows = {r["agent_id"]: r for r in report["agents"]}
    assert rows[agent.id]["rates"]["presence_avg"]["value"] == 45
    assert rows[other.id]["rates"]["presence_avg"]["value"] == 25
    assert rows[other.id]["rates"]["low_presence_rate"]["value"] == 1
    assert Decimal(str(report["totals"]["rates"]["presence_avg"]["value"])) == Decimal("38.3333")
