"""The digital badge (R10) and the debtor's confirmation: a link made offline from the day
packet verifies and expires; a guessed or altered one reveals nothing; the confirmation lands
on the timeline once; the debtor's own choices reach the flag and the ticket queue."""
import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from backend.cases.models import CaseFlag, TimelineEvent
from backend.escalations.models import EscalationTicket
from backend.presence.models import VisitConfirmation


def _check(client, token):
    response = client.post("/api/badge/check", json={"token": token})
    return response.status_code, response.get_json()


def _confirm(client, token, last4="1234"):
    response = client.post("/api/badge/confirm", json={"token": token, "id_last4": last4})
    return response.status_code, response.get_json()


def _events(db, case_id, kind):
    return db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == kind)).all()


def test_a_link_made_offline_from_the_packet_verifies_and_names_the_agent(client, packet_visit, link, field_agent, app):
    assert len(packet_visit["badge_key"]) == 43  # 32 bytes, base64url
    status, body = _check(client, link(packet_visit))
    assert status == 200, body
    assert body["status"] == "valid"
    assert body["agent"] == {"name": field_agent.user.display_name, "badge_no": "SH-0042", "photo": False}
    assert body["organisation"] == {"name": app.config["ORG_NAME"], "complaint_phone": app.config["ORG_COMPLAINT_PHONE"]}
    # nothing about the debt, nor the debtor, before they identify themselves
    text = str(body)
    assert "5000" not in text and "Debtor" not in text and "4242" not in text


def test_the_link_expires_after_its_minutes(client, packet_visit, link, app):
    old = datetime.now(timezone.utc) - timedelta(seconds=app.config["BADGE_TTL_S"] + 5)
    status, body = _check(client, link(packet_visit, at=old))
    assert status == 200 and body["status"] == "expired"
    status, body = _confirm(client, link(packet_visit, at=old))
    assert status == 409 and body["code"] == "badge_expired"


def test_a_guessed_or_altered_link_gets_the_answer_of_an_unknown_one(client, packet_visit, link, owned_visit, make_visit):
    good = link(packet_visit)
    visit_id, at_s, device, signature = good.split(".")
    other = make_visit()
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    future = int(datetime.now(timezone.utc).timestamp()) + 3600
    tokens = [
        f"{visit_id}.{at_s}.{device}.{flipped}",  # altered signature
        f"{other.id}.{at_s}.{device}.{signature}",  # another visit
        f"{visit_id}.{int(at_s) + 60}.{device}.{signature}",  # a later time
        f"{visit_id}.{at_s}.phone-2.{signature}",  # another device
        f"999999.{at_s}.{device}.{signature}",  # no such visit
        link({**packet_visit, "badge_key": "A" * 43}),  # a guessed key
        link(packet_visit, at=datetime.fromtimestamp(future, timezone.utc)),  # made "in the future"
        "garbage",
    ]
    # byte for byte the same answer, whatever was wrong
    answers = {(r.status_code, r.data) for r in (client.post("/api/badge/check", json={"token": t}) for t in tokens)}
    assert len(answers) == 1, answers
    status, data = answers.pop()
    assert status == 404 and json.loads(data) == {"code": "not_found", "message": "This badge link is not valid.", "errors": {}}
    # nor can an unverified link confirm anything
    assert _confirm(client, tokens[0])[0] == 404


def test_a_signed_out_phone_shows_revoked(client, auth, packet_visit, link, field_agent, db, make_user):
    assert _check(client, link(packet_visit))[1]["status"] == "valid"
    admin = make_user(role="admin")
    response = client.post(f"/api/agents/{field_agent.id}/revoke-tokens", json={"device_id": "phone-1"}, headers=auth(admin))
    assert response.status_code == 200, response.get_json()
    assert _check(client, link(packet_visit))[1]["status"] == "revoked"
    assert _confirm(client, link(packet_visit))[1]["code"] == "badge_revoked"
    # a phone that never signed in is no better
    assert _check(client, link(packet_visit, device_id="phone-9"))[1]["status"] == "revoked"


def test_a_disabled_agent_shows_revoked(client, packet_visit, link, field_agent, db):
    field_agent.active = False
    db.session.commit()
    assert _check(client, link(packet_visit))[1]["status"] == "revoked"


def test_confirmation_needs_the_id_and_lands_on_the_timeline_once(client, packet_visit, link, owned_visit, db):
    status, body = _confirm(client, link(packet_visit), last4="9999")
    assert status == 422 and body["errors"] == {"id_last4": ["does not match"]}
    assert _events(db, owned_visit.case_id, "visit.confirmed") == []

    before = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=1)
    status, first = _confirm(client, link(packet_visit))
    assert status == 200, first
    assert first["already"] is False
    assert "field officer" in first["disclosure"] or "外访" in first["disclosure"]
    # scanned again, a minute later, on another link of the same visit: still once
    status, second = _confirm(client, link(packet_visit, at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    assert status == 200 and second["already"] is True and second["confirmed_at"] == first["confirmed_at"]
    events = _events(db, owned_visit.case_id, "visit.confirmed")
    assert len(events) == 1
    assert events[0].data["visit_id"] == owned_visit.id and events[0].actor_id is None
    assert events[0].at >= before  # the server's time
    assert db.session.scalar(select(func.count()).select_from(VisitConfirmation)) == 1


def test_the_disclosure_is_in_the_debtors_language(client, packet_visit, link, owned_visit, db):
    owned_visit.case.debtor.language = "en"
    db.session.commit()
    status, body = _confirm(client, link(packet_visit))
    assert status == 200 and body["disclosure"].startswith("I am ")


def test_no_further_visits_raises_the_no_return_flag_and_a_complaint_a_ticket(client, packet_visit, link, owned_visit, db):
    token = link(packet_visit)
    response = client.post("/api/badge/request", json={"token": token, "id_last4": "1234", "kind": "no_visits"})
    assert response.status_code == 200, response.get_json()
    flags = db.session.scalars(select(CaseFlag.flag).where(CaseFlag.case_id == owned_visit.case_id)).all()
    assert "asked_not_to_return" in flags
    response = client.post("/api/badge/request", json={"token": token, "id_last4": "1234", "kind": "complaint", "reason": "rude"})
    assert response.status_code == 200
    ticket = db.session.get(EscalationTicket, response.get_json()["ticket_id"])
    assert (ticket.kind, ticket.source, ticket.reason) == ("complaint", "badge", "rude")
    kinds = [e.data["kind"] for e in _events(db, owned_visit.case_id, "visit.debtor_request")]
    assert kinds == ["no_visits", "complaint"]
    # without the ID, nothing
    response = client.post("/api/badge/request", json={"token": token, "id_last4": "0000", "kind": "complaint"})
    assert response.status_code == 422
    response = client.post("/api/badge/request", json={"token": token, "id_last4": "12a4", "kind": "nonsense"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"id_last4", "kind"}


def test_the_public_endpoints_are_rate_limited_per_address(client, packet_visit, link, app):
    app.config["BADGE_RATE_LIMIT"] = 3
    try:
        codes = [_check(client, "guess")[0] for _ in range(3)]
        assert codes == [404, 404, 404]
        status, body = _check(client, link(packet_visit))
        assert status == 429 and body["code"] == "rate_limited"
        other = app.test_client()
        response = other.post("/api/badge/check", json={"token": link(packet_visit)}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert response.status_code == 200
    finally:
        app.config["BADGE_RATE_LIMIT"] = 60


def test_wrong_id_digits_are_limited_per_visit(client, packet_visit, link, app):
    token = link(packet_visit)
    for _ in range(app.config["BADGE_ID_MAX_MISSES"]):
        assert _confirm(client, token, last4="0000")[0] == 422
    status, body = _confirm(client, token)  # even the right digits, now
    assert status == 429 and body["code"] == "rate_limited"


def test_the_request_log_forgets_addresses_past_the_limits_window(client, db, app):
    from backend.common import utcnow
    from backend.presence.models import BadgeHit
    from backend.retention.services import run_retention

    _check(client, "guess")
    old = BadgeHit(ip="10.9.9.9", at=utcnow() - timedelta(seconds=app.config["BADGE_RATE_WINDOW_S"] + 1))
    db.session.add(old)
    db.session.commit()
    assert run_retention()["badge_hits_pruned"] == 1
    assert db.session.scalars(select(BadgeHit.ip)).all() == ["127.0.0.1"]
