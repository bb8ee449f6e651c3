"""Two-person visits (R9) on the phones: the partner holds the visit and its case in their own
day packet (a stranger agent nothing), both phones check in and the timeline shows whose check-in
each is, and an outcome recorded before the partner's check-in is kept but flagged
`partner_absent` (a presence reason and an R9 finding in the owner's review queue)."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest


def at(minutes: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def op(type_, payload, minutes):
    return {"id": str(uuid.uuid4()), "type": type_, "at": at(minutes), "payload": payload}


def checkin(visit, minutes):
    return op("visit.checkin", {"visit_id": visit.id, "lat": visit.address.lat, "lon": visit.address.lon, "accuracy_m": 10.0}, minutes)


def outcome(visit, minutes):
    return op("visit.outcome", {"visit_id": visit.id, "code": "not_home", "met": "nobody"}, minutes)


@pytest.fixture
def crew(db, client, make_branch, make_agent, make_case, make_visit, make_user, auth, owner):
    """A two-person visit today (the jurisdiction asks for pairs) led by one agent with a partner,
    and a stranger agent of the same branch with a visit of their own."""
    admin = make_user(role="admin")
    response = client.put("/api/policy/settings/CN/min_agents_per_visit", json={"value": 2, "reason": "safety pilot"},
                          headers=auth(admin))
    assert response.status_code == 200
    branch = make_branch(timezone="Etc/GMT-14")  # any hour of the day falls in the visiting hours somewhere
    lead, partner, stranger = (make_agent(branch=branch) for _ in range(3))
    day = datetime.now(timezone(timedelta(hours=14))).date()
    visit = make_visit(case=make_case(branch=branch, tz="Asia/Shanghai", owner_id=owner.id), agent=lead, day=day)
    visit.partner_id = partner.id
    db.session.commit()
    make_visit(case=make_case(branch=branch, owner_id=owner.id), agent=stranger, day=day)
    return {"visit": visit, "day": day, "lead": lead, "partner": partner, "stranger": stranger,
            "h": {name: auth(a.user, device_id=f"phone-{name}") for name, a in
                  (("lead", lead), ("partner", partner), ("stranger", stranger))},
            "owner": auth(owner)}


def _send(client, headers, ops, device):
    response = client.post("/api/sync/ops", json={"device_id": device, "ops": ops}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def _packet(client, headers, day):
    response = client.get(f"/api/sync/packet?date={day.isoformat()}", headers=headers)
    assert response.status_code == 200
    return response.get_json()["visits"]


def test_the_partner_holds_the_visit_and_case_a_stranger_does_not(client, crew):
    visit, day = crew["visit"], crew["day"]
    mine = next(v for v in _packet(client, crew["h"]["partner"], day) if v["id"] == visit.id)
    assert mine["crew"]["role"] == "partner" and mine["crew"]["with"]["id"] == crew["lead"].id
    assert mine["required_agents"] == 2 and mine["debtor"]["name"] and mine["badge_key"]
    lead_brief = next(v for v in _packet(client, crew["h"]["lead"], day) if v["id"] == visit.id)
    assert lead_brief["crew"]["role"] == "lead" and lead_brief["crew"]["with"]["id"] == crew["partner"].id
    assert lead_brief["crew"]["partner_checkin_at"] is None
    # the partner reads the case and the visit as the lead does, within the same projection (R15)
    case = client.get(f"/api/cases/{visit.case_id}", headers=crew["h"]["partner"])
    assert case.status_code == 200 and case.get_json()["account"]["account_number"] is None
    assert client.get(f"/api/visits/{visit.id}", headers=crew["h"]["partner"]).status_code == 200
    listed = client.get(f"/api/visits?date={day.isoformat()}", headers=crew["h"]["partner"]).get_json()
    assert [v["id"] for v in listed["items"]] == [visit.id]
    # an agent who neither leads nor partners it sees nothing of it
    assert visit.id not in [v["id"] for v in _packet(client, crew["h"]["stranger"], day)]
    assert client.get(f"/api/cases/{visit.case_id}", headers=crew["h"]["stranger"]).status_code == 404
    assert client.get(f"/api/visits/{visit.id}", headers=crew["h"]["stranger"]).status_code == 404
    results = _send(client, crew["h"]["stranger"], [checkin(visit, -1)], "phone-stranger")
    assert results[0]["status"] == "rejected" and results[0]["code"] == "not_your_visit"


def test_both_check_in_and_the_timeline_shows_each(client, crew):
    visit = crew["visit"]
    assert _send(client, crew["h"]["partner"], [checkin(visit, -6)], "phone-partner")[0]["status"] == "applied"
    assert _send(client, crew["h"]["lead"], [checkin(visit, -5), outcome(visit, -3)], "phone-lead")[1]["status"] == "applied"
    events = client.get(f"/api/cases/{visit.case_id}/timeline", headers=crew["owner"]).get_json()
    events = events["events"] if isinstance(events, dict) else events
    kinds = [(e["kind"], e["actor_id"]) for e in events if e["kind"] in ("visit.checkin", "visit.partner_checkin")]
    assert kinds == [("visit.partner_checkin", crew["partner"].user_id), ("visit.checkin", crew["lead"].user_id)]
    body = client.get(f"/api/visits/{visit.id}", headers=crew["owner"]).get_json()
    assert body["partner_checkin_at"] and body["checkin_at"] and body["outcome"]["compliance_flags"] == []
    assert "partner_absent" not in [r["code"] for r in body["presence"]["reasons"]]
    # the partner's phone records nothing else: the lead does (kept as a rejection that says so)
    refused = _send(client, crew["h"]["partner"], [outcome(visit, -2)], "phone-partner")[0]
    assert (refused["status"], refused["code"]) == ("rejected", "partner_checks_in_only")
    # a second check-in of the partner's is refused, kept as a rejection
    again = _send(client, crew["h"]["partner"], [checkin(visit, -1)], "phone-partner")[0]
    assert again["status"] in ("conflict", "rejected")


def test_an_outcome_before_the_partner_checked_in_is_kept_and_flagged(client, crew):
    visit = crew["visit"]
    results = _send(client, crew["h"]["lead"], [checkin(visit, -10), outcome(visit, -8)], "phone-lead")
    assert [r["status"] for r in results] == ["applied", "applied"]
    (finding,) = results[1]["server"]["compliance_flags"]
    assert (finding["rule"], finding["code"]) == ("R9", "partner_absent")
    body = client.get(f"/api/visits/{visit.id}", headers=crew["owner"]).get_json()
    reasons = {r["code"]: r["detail"] for r in body["presence"]["reasons"]}
    assert "never checked in" in reasons["partner_absent"] and body["presence"]["score"] == 80 - 20
    queue = client.get("/api/review-queue", headers=crew["owner"]).get_json()
    assert visit.id in [o["visit_id"] for o in queue["outcomes"]["items"]]
    # the partner's phone, offline until now, checks in afterwards: accepted, and the score says by how much
    assert _send(client, crew["h"]["partner"], [checkin(visit, -5)], "phone-partner")[0]["status"] == "applied"
    reasons = {r["code"]: r["detail"] for r in client.get(f"/api/visits/{visit.id}", headers=crew["owner"]).get_json()["presence"]["reasons"]}
    assert "before the partner checked in" in reasons["partner_absent"]
    # the lead's phone learns of the partner's check-in from its feed
    changes = client.get("/api/sync/changes?since=0", headers=crew["h"]["lead"]).get_json()["changes"]
    briefs = [c["visit"] for c in changes if c.get("visit") and c["visit"]["id"] == visit.id]
    assert briefs[-1]["crew"]["partner_checkin_at"]


def test_a_cancelled_two_person_visit_leaves_both_phones(client, crew, auth, make_user):
    visit = crew["visit"]
    response = client.post(f"/api/visits/{visit.id}/cancel", json={"reason": "debtor moved"}, headers=auth(make_user(role="dispatcher")))
    assert response.status_code == 200, response.get_json()
    for who in ("lead", "partner"):
        changes = client.get("/api/sync/changes?since=0", headers=crew["h"][who]).get_json()["changes"]
        assert [c["kind"] for c in changes if c["ref_id"] == visit.id][-1] == "visit.cancel"


def test_the_partner_escalates_and_notes_from_the_door_but_records_nothing_else(client, db, crew):
    """COMPLIANCE R12/R16: a concern the partner sees goes up at once; the money stays the lead's."""
    from backend.cases.models import Note
    from backend.escalations.models import EscalationTicket
    from backend.sync.models import SyncOp

    visit = crew["visit"]
    of_visit = {"case_id": visit.case_id, "visit_id": visit.id}
    assert _send(client, crew["h"]["partner"], [checkin(visit, -6)], "phone-partner")[0]["status"] == "applied"
    escalation = op("case.escalate", {**of_visit, "kind": "other", "reason": "safety: a dog loose in the yard"}, -5)
    note = op("note.add", {**of_visit, "text": "A second adult present; the debtor looked unwell."}, -4)
    payment = op("payment.record", {**of_visit, "amount": "50.00", "currency": "CNY", "method": "cash"}, -3)
    results = _send(client, crew["h"]["partner"], [escalation, note, payment], "phone-partner")
    assert [r["status"] for r in results[:2]] == ["applied", "applied"], results
    assert (results[2]["status"], results[2]["code"]) == ("rejected", "partner_checks_in_only")
    # sent again (the answer lost on the way): each lands once
    again = _send(client, crew["h"]["partner"], [escalation, note, payment], "phone-partner")
    assert [r["status"] for r in again] == ["duplicate"] * 3
    tickets = db.session.query(EscalationTicket).filter_by(case_id=visit.case_id).all()
    assert [t.reason for t in tickets] == ["safety: a dog loose in the yard"]
    notes = db.session.query(Note).filter_by(case_id=visit.case_id).all()
    assert [(n.text, n.author_id) for n in notes] == [("A second adult present; the debtor looked unwell.", crew["partner"].user_id)]
    # the refused payment is kept, for the owner to see
    kept = db.session.get(SyncOp, payment["id"])
    assert kept is not None and kept.status == "rejected" and kept.user_id == crew["partner"].user_id
