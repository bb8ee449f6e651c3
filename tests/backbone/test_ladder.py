"""The ladder is kept (issue 15): phone → letter → field → legal, closed from any rung. A forward
move past a rung with no work on the record is refused (409 `ladder`) unless skipped with a
reason, which is audited; contact attempts are that work, recorded through the API."""
from sqlalchemy import select

from backend.cases.models import Case, TimelineEvent


def _patch(client, headers, case, **body):
    version = client.get(f"/api/cases/{case.id}", headers=headers).get_json()["version"]
    return client.patch(f"/api/cases/{case.id}", json={"version": version, **body}, headers=headers)


def _kinds(db, case_id):
    return db.session.scalars(select(TimelineEvent.kind).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)).all()


def test_a_skipped_rung_is_refused_and_recorded_work_lets_the_case_climb(db, client, auth, make_user, make_case):
    headers = auth(make_user(role="owner"))
    case = make_case(stage="phone")
    refused = _patch(client, headers, case, stage="field", reason="no answer")
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "ladder" and body["errors"] == {"stage": ["letter: no work on the record"]}
    assert db.session.get(Case, case.id).stage == "phone"

    # a phone call is not the letter rung's work; a letter is
    for channel in ("phone_call", "letter"):
        response = client.post(f"/api/cases/{case.id}/contacts", json={"channel": channel, "result": "no_answer"}, headers=headers)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["kind"] == f"contact.{channel}"
    assert _patch(client, headers, case, stage="field", reason="letters unanswered").status_code == 200
    # field → closed: closing needs no rung's work
    assert _patch(client, headers, case, stage="closed", reason="paid in full").status_code == 200
    assert "case.ladder_skipped" not in _kinds(db, case.id)
    assert client.get(f"/api/cases/{case.id}/timeline", headers=headers).get_json()["chain"]["verified"] is True


def test_a_skip_with_a_reason_is_accepted_and_audited(db, client, auth, make_user, make_case):
    headers = auth(make_user(role="owner"))
    case = make_case(stage="letter")
    no_reason = _patch(client, headers, case, stage="legal", skip=True)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    assert _patch(client, headers, case, stage="legal").status_code == 409  # field rung: no visit reached the door
    assert _patch(client, headers, case, stage="legal", skip=True, reason="court order received").status_code == 200
    event = db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "case.ladder_skipped"))
    assert event.data == {"from": "letter", "to": "legal", "skipped": ["field"], "reason": "court order received"}


def test_contacts_are_for_the_case_office(client, auth, make_user, make_case, make_agent):
    case = make_case(stage="phone")
    for role in ("dispatcher", "agent"):
        user = make_agent().user if role == "agent" else make_user(role=role)
        assert client.post(f"/api/cases/{case.id}/contacts", json={"channel": "sms"}, headers=auth(user)).status_code == 403
    bad = client.post(f"/api/cases/{case.id}/contacts", json={"channel": "pigeon"}, headers=auth(make_user(role="admin")))
    assert bad.status_code == 422 and "channel" in bad.get_json()["errors"]
