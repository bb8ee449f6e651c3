"""Photo evidence (the door or the building): through the outbox's op protocol exactly once
(a lost response resent is a duplicate), stored by content, refused with EXIF, listed on the case."""
import base64
import hashlib
import io
import uuid
from datetime import datetime, timezone

from PIL import Image
from sqlalchemy import func, select

from backend.cases.models import TimelineEvent
from backend.plans.models import Blob
from backend.presence.models import VisitPhoto


def jpeg(size=(1280, 960), exif=False, fmt="JPEG") -> bytes:
    image = Image.new("RGB", size, (120, 90, 60))
    buffer = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x0110] = "Model X"  # Model
        image.save(buffer, format=fmt, exif=data)
    else:
        image.save(buffer, format=fmt, quality=80)
    return buffer.getvalue()


def photo_op(visit, data, kind="door", op_id=None, sha=None):
    return {"id": op_id or str(uuid.uuid4()), "type": "photo.add", "at": datetime.now(timezone.utc).isoformat(),
            "payload": {"visit_id": visit.id, "kind": kind, "jpeg_base64": base64.b64encode(data).decode(),
                        "sha256": sha or hashlib.sha256(data).hexdigest()}}


def test_a_photo_lands_once_even_when_the_answer_is_lost(send, owned_visit, db, client, auth, owner):
    data = jpeg()
    op = photo_op(owned_visit, data)
    status, first = send([op])
    assert status == 200 and first["results"][0]["status"] == "applied", first
    # the answer never reached the phone: the outbox sends the same op again
    status, again = send([op])
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["server"] == first["results"][0]["server"]
    assert db.session.scalar(select(func.count()).select_from(VisitPhoto)) == 1
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "photo.added")).all()
    assert len(events) == 1 and events[0].data["sha256"] == hashlib.sha256(data).hexdigest()

    # the same bytes in a new op: a second photo record, one stored blob (content-addressed)
    assert send([photo_op(owned_visit, data, kind="building")])[1]["results"][0]["status"] == "applied"
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 1

    listed = client.get(f"/api/cases/{owned_visit.case_id}/photos", headers=auth(owner)).get_json()
    assert [(p["kind"], p["width"], p["height"]) for p in listed] == [("door", 1280, 960), ("building", 1280, 960)]
    response = client.get(f"/api/blobs/{listed[0]['sha256']}", headers=auth(owner))
    assert response.status_code == 200 and response.mimetype == "image/jpeg" and response.data == data


def test_a_photo_with_exif_or_the_wrong_bytes_is_refused(send, owned_visit, db):
    cases = [
        (photo_op(owned_visit, jpeg(exif=True)), "payload.jpeg_base64", "EXIF present"),
        (photo_op(owned_visit, jpeg(), sha="0" * 64), "payload.sha256", "does not match the bytes"),
        (photo_op(owned_visit, jpeg(fmt="PNG")), "payload.jpeg_base64", "not a JPEG"),
        (photo_op(owned_visit, jpeg(size=(3000, 2000))), "payload.jpeg_base64", "larger than 1600 px"),
        (photo_op(owned_visit, jpeg(), kind="face"), "payload.kind", None),
    ]
    for op, field, message in cases:
        status, body = send([op])
        result = body["results"][0]
        assert result["status"] == "rejected", (field, result)
        errors = result["errors"]
        assert field in errors, (field, result)
        if message:
            assert any(message in m for m in errors[field]), errors
    assert db.session.scalar(select(func.count()).select_from(VisitPhoto)) == 0


def test_someone_elses_visit_takes_no_photo(send, make_visit, db):
    status, body = send([photo_op(make_visit(), jpeg())])
    assert body["results"][0]["status"] == "rejected"
    assert db.session.scalar(select(func.count()).select_from(VisitPhoto)) == 0


def test_retention_takes_the_pictures_and_keeps_the_record(send, owned_visit, db):
    from backend.presence.services import purge_photos

    send([photo_op(owned_visit, jpeg())])
    assert purge_photos(case_id=owned_visit.case_id) == 1
    db.session.commit()
    assert db.session.scalar(select(VisitPhoto.blob_sha256)) is None
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 0
