"""The agent's photo on the badge page (R10): the admin uploads a PNG or JPEG, stored without its
EXIF and content-addressed; the debtor's page gets it only behind a live badge valid now, and an
altered, expired or guessed link gets the page's one 404."""
import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.auth.models import AuditEvent
from backend.plans.models import Blob
from backend.presence.services import AGENT_PHOTO_MAX_BYTES


def camera_jpeg(size=(1600, 1200)) -> bytes:
    """A JPEG as a phone camera makes it: maker, model and a GPS block in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    exif[0x8825] = {1: "N", 2: (31.0, 13.0, 49.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def admin_headers(auth, make_user):
    return auth(make_user(role="admin"))


def _upload(client, agent_id, data, headers, name="me.jpg"):
    return client.put(f"/api/agents/{agent_id}/photo", data={"photo": (io.BytesIO(data), name)},
                      headers=headers, content_type="multipart/form-data")


def test_the_admin_uploads_a_photo_stored_without_exif(client, db, field_agent, admin_headers, agent_headers):
    original = camera_jpeg()
    assert Image.open(io.BytesIO(original)).getexif()
    response = _upload(client, field_agent.id, original, admin_headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["content_type"] == "image/jpeg" and max(body["width"], body["height"]) == 800
    stored = db.session.get(Blob, body["blob_sha256"])
    image = Image.open(io.BytesIO(stored.data))
    assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    # the same bytes again: one blob; the office reads it back; an agent may not upload
    assert _upload(client, field_agent.id, original, admin_headers).get_json()["blob_sha256"] == body["blob_sha256"]
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 1
    office = client.get(f"/api/agents/{field_agent.id}/photo", headers=admin_headers)
    assert office.status_code == 200 and office.data == stored.data and office.mimetype == "image/jpeg"
    listed = client.get("/api/agent-photos", headers=admin_headers).get_json()
    assert [(p["agent_id"], p["blob_sha256"]) for p in listed] == [(field_agent.id, body["blob_sha256"])]
    assert _upload(client, field_agent.id, original, agent_headers).status_code == 403
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "agent.photo")) == 2


def test_a_png_stays_a_png(client, db, field_agent, admin_headers):
    out = io.BytesIO()
    Image.new("RGBA", (300, 400), (10, 20, 30, 255)).save(out, "PNG")
    body = _upload(client, field_agent.id, out.getvalue(), admin_headers, name="me.png").get_json()
    assert body["content_type"] == "image/png" and (body["width"], body["height"]) == (300, 400)


@pytest.mark.parametrize("data,problem", [
    (b"GIF89a" + b"\0" * 64, "not an image"),
    (None, "not a PNG or JPEG"),
    (b"\xff" * (AGENT_PHOTO_MAX_BYTES + 1), "over"),
])
def test_a_bad_upload_is_refused_per_field(client, field_agent, admin_headers, data, problem):
    if data is None:
        out = io.BytesIO()
        Image.new("RGB", (20, 20)).save(out, "GIF")
        data = out.getvalue()
    response = _upload(client, field_agent.id, data, admin_headers)
    assert response.status_code == 422
    assert problem in response.get_json()["errors"]["photo"][0]


def test_an_unknown_agent_is_404(client, admin_headers):
    assert _upload(client, 999_999, camera_jpeg((50, 50)), admin_headers).status_code == 404


def test_the_badge_page_shows_the_photo_for_a_valid_link_only(client, db, field_agent, admin_headers, packet_visit, link, app):
    data = camera_jpeg((400, 400))
    stored = _upload(client, field_agent.id, data, admin_headers).get_json()
    token = link(packet_visit)
    view = client.post("/api/badge/check", json={"token": token}).get_json()
    assert view["status"] == "valid" and view["agent"]["photo"] is True
    photo = client.post("/api/badge/photo", json={"token": token})
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.data == db.session.get(Blob, stored["blob_sha256"]).data
    assert photo.headers["Cache-Control"] == "private, no-store"

    unknown = client.post("/api/badge/photo", json={"token": "1.1700000000.phone-1." + "A" * 43})
    altered = client.post("/api/badge/photo", json={"token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")})
    old = datetime.now(timezone.utc) - timedelta(seconds=app.config["BADGE_TTL_S"] + 60)
    expired_token = link(packet_visit, at=old)
    expired = client.post("/api/badge/photo", json={"token": expired_token})
    for response in (altered, expired, unknown):
        assert response.status_code == 404 and response.data == unknown.data
        assert response.get_json() == {"code": "not_found", "message": "This badge link is not valid.", "errors": {}}
    assert client.post("/api/badge/check", json={"token": expired_token}).get_json()["agent"]["photo"] is False


def test_no_photo_uploaded_is_the_same_404(client, packet_visit, link):
    token = link(packet_visit)
    assert client.post("/api/badge/check", json={"token": token}).get_json()["agent"]["photo"] is False
    response = client.post("/api/badge/photo", json={"token": token})
    assert response.status_code == 404 and response.get_json()["message"] == "This badge link is not valid."
