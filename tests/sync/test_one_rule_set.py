"""One rule set, two places (issue 15): what the device applies from its packet, the server
applies to the same record when it arrives through sync.

R7: a note with a phrase of the packet's list is flagged for review by the server as well.
R11: a visit longer than `visit_warn_minutes` is checked out all the same; the warning is the
op's answer, on the visit's flag and on the timeline, kept for the owner's review."""
from datetime import timedelta, timezone

import pytest
from sqlalchemy import select

from backend.cases.models import Note, TimelineEvent
from backend.visits.models import Visit

from sync_ops_helpers import checkin_op, make_op


@pytest.mark.parametrize("text, locale", [("客户不配合，我说了后果自负", "zh-CN"), ("I said we would tell your employer", "en")])
def test_a_note_the_device_flags_is_flagged_by_the_server(db, client, agent_headers, send, owned_visit, day, text, locale):
    packet = client.get(f"/api/sync/packet?date={day.isoformat()}", headers=agent_headers).get_json()
    device_list = [p for by_locale in packet["rules"]["prohibited_phrases"].values() for p in by_locale[locale]]
    assert any(phrase in text for phrase in device_list)  # the device would flag it

    op = make_op("note.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "text": text})
    result = send([op])[1]["results"][0]
    assert result["status"] == "applied", result
    assert result["server"]["review_flag"].startswith("R7")
    note = db.session.get(Note, result["server"]["note_id"])
    assert note.text == text and note.review_flag.startswith("R7")  # kept, waiting for review


def _checkout_after(visit, minutes):
    at = visit.window_start + timedelta(minutes=60 + minutes)
    return make_op("visit.checkout", {"visit_id": visit.id}, at=at.replace(tzinfo=timezone.utc).isoformat())


def test_an_overlong_visit_is_checked_out_with_an_r11_warning_kept_for_review(db, send, owned_visit):
    status, body = send([checkin_op(owned_visit), _checkout_after(owned_visit, 45)])  # the setting: 30 minutes
    result = body["results"][1]
    assert result["status"] == "applied", result
    assert [(w["rule"], w["minutes"]) for w in result["server"]["warnings"]] == [("R11", 45)]
    visit = db.session.get(Visit, owned_visit.id)
    assert visit.checkout_at is not None and "45 minutes (over 30)" in visit.checkin_flag
    assert result["server"]["visit"]["checkin_flag"] == visit.checkin_flag
    event = db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == visit.case_id, TimelineEvent.kind == "visit.checkout"))
    assert [w["rule"] for w in event.data["warnings"]] == ["R11"]


def test_a_visit_within_the_time_checks_out_without_a_warning(db, send, owned_visit):
    status, body = send([checkin_op(owned_visit), _checkout_after(owned_visit, 20)])
    result = body["results"][1]
    assert result["status"] == "applied" and result["server"]["warnings"] == []
    assert db.session.get(Visit, owned_visit.id).checkin_flag is None
    event = db.session.scalar(select(TimelineEvent).where(TimelineEvent.case_id == owned_visit.case_id, TimelineEvent.kind == "visit.checkout"))
    assert "warnings" not in event.data
