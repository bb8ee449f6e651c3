"""The ladder is kept (issue 15): phone → letter → field → legal, closed from any rung. A forward
move past a rung with no work on the record is refused (409 `ladder`) unless skipped with a
reason, which is audited; contact attempts are that work, recorded through the API or the case
import, and a jurisdiction may require one before any visit."""
import io
from datetime import date, timedelta

import pytest
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


IMPORT_HEADER = ("account_number,debtor_name,address_line,lat,lon,balance,overdue_amount,days_past_due,stage,branch_code,"
                 "contact_channel,contact_at,contact_result,contact_note\n")


def _import(client, headers, *rows):
    content = (IMPORT_HEADER + "".join(row + "\n" for row in rows)).encode()
    response = client.post("/api/cases/import", data={"file": (io.BytesIO(content), "cases.csv")}, headers=headers,
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _contacts(db, case_id):
    return db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind.like("contact.%"))
                              .order_by(TimelineEvent.seq)).all()


def test_contact_attempts_arrive_through_the_case_import_once(db, client, auth, make_user, make_branch):
    headers = auth(make_user(role="owner"))
    make_branch(code="PD")
    row = "C-1001,张伟,长宁路100号,31.22,121.42,9000,3000,40,phone,PD,phone_call,2026-03-02T10:15:00+08:00,no_answer,rang twice"
    report = _import(client, headers, row)
    case_id = report["rows"][0]["case_id"]
    assert report["rows"][0]["status"] == "created"
    [call] = _contacts(db, case_id)
    assert call.kind == "contact.phone_call"
    assert call.data == {"channel": "phone_call", "at": "2026-03-02T02:15:00", "result": "no_answer", "note": "rang twice"}

    # the same file again records nothing twice; a new letter on the same case is recorded
    assert _import(client, headers, row)["rows"][0]["status"] == "unchanged"
    letter = row.replace("phone_call,2026-03-02T10:15:00+08:00,no_answer,rang twice", "letter,2026-03-09T09:00:00+08:00,sent,")
    assert _import(client, headers, letter)["rows"][0]["status"] == "updated"
    assert [e.kind for e in _contacts(db, case_id)] == ["contact.phone_call", "contact.letter"]
    # and the ladder counts them: phone → field passes the letter rung with its work on the record
    case = db.session.get(Case, case_id)
    assert _patch(client, headers, case, stage="field", reason="letters unanswered").status_code == 200


@pytest.mark.parametrize("contact, field", [
    ("pigeon,2026-03-02T10:15:00+08:00,,", "contact_channel"),
    ("sms,,,", "contact_at"),
    (",2026-03-02T10:15:00+08:00,sent,", "contact_channel"),
    ("letter,2999-01-01T09:00:00+08:00,sent,", "contact_at"),
])
def test_an_incomplete_contact_rejects_its_row_with_the_field(db, client, auth, make_user, make_branch, contact, field):
    headers = auth(make_user(role="owner"))
    make_branch(code="PD")
    report = _import(client, headers, f"C-2001,李娜,世纪大道1号,31.23,121.51,8000,8000,200,phone,PD,{contact}")
    assert report["rows"][0]["status"] == "rejected" and field in report["rows"][0]["errors"], report


def test_a_jurisdiction_can_require_a_phone_or_letter_contact_before_a_visit(db, client, auth, make_user, make_case):
    dispatcher, owner = auth(make_user(role="dispatcher")), auth(make_user(role="owner"))
    admin = auth(make_user(role="admin"))
    case = make_case(stage="field")
    day = (date.today() + timedelta(days=3)).isoformat()
    changed = client.put("/api/policy/settings/CN/visit_requires_contact", json={"value": True, "reason": "CN rollout"}, headers=admin)
    assert changed.status_code == 200, changed.get_json()

    refused = client.post("/api/visits", json={"case_id": case.id, "date": day}, headers=dispatcher)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["rule"] == "ladder" and body["findings"][0]["setting"] == "visit_requires_contact"
    assert "phone call, SMS or letter" in body["message"]
    eligibility = client.get(f"/api/cases/{case.id}/eligibility?date={day}", headers=dispatcher).get_json()
    assert eligibility["allowed"] is False

    assert client.post(f"/api/cases/{case.id}/contacts", json={"channel": "sms", "result": "sent"}, headers=owner).status_code == 201
    assert client.post("/api/visits", json={"case_id": case.id, "date": day}, headers=dispatcher).status_code == 201
    # another profile keeps its own value: the default, no contact needed
    us = {s["key"]: s for s in client.get("/api/policy/settings?jurisdiction=US", headers=admin).get_json()}
    assert us["visit_requires_contact"]["value"] is False
