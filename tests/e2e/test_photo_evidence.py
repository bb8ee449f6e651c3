"""Photo evidence from the phone: the camera's file (large, with EXIF) is resized and re-encoded
on the device before it is queued, and reaches the server exactly once though the first answer
to the sync is lost."""
import base64
import hashlib
import io
import json
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from backend.presence.models import VisitPhoto

T = json.loads((Path(__file__).resolve().parents[2] / "pwa/js/i18n/zh-CN.json").read_text(encoding="utf-8"))


def camera_jpeg() -> bytes:
    """What a phone camera hands over: 3000×2000, with the maker, the model and a GPS position."""
    image = Image.new("RGB", (3000, 2000), (150, 110, 80))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    exif[0x8825] = {1: "N", 2: (31.0, 13.0, 49.0), 3: "E", 4: (121.0, 28.0, 25.0)}  # GPS IFD
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def test_a_photo_is_stripped_on_the_phone_and_lands_once(phone, agent_day, db):
    page = phone.page
    phone.login(agent_day.username)
    phone.wait_service_worker()
    phone.context.set_offline(True)
    page.locator("ol.stops .stop-main").first.click()
    page.get_by_role("button", name=T["checkin.button"]).click()
    page.locator(".step[data-step=met]").wait_for()

    original = camera_jpeg()
    assert Image.open(io.BytesIO(original)).getexif()
    page.get_by_role("button", name=T["photo.open"]).click()
    page.get_by_text(T["photo.not_people"]).wait_for()
    page.locator("input.photo-input").set_input_files(files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": original}])
    page.locator("dialog.photo").wait_for(state="detached")

    entries = page.evaluate("import('/js/store.js').then((s) => s.outboxAll())")
    queued = [e["op"] for e in entries if e["op"]["type"] == "photo.add"]
    assert len(queued) == 1
    data = base64.b64decode(queued[0]["payload"]["jpeg_base64"])
    assert hashlib.sha256(data).hexdigest() == queued[0]["payload"]["sha256"]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and max(image.size) == 1280 and not image.getexif() and "exif" not in image.info

    lost = {"n": 0}

    def lose_the_first_answer(route):
        if lost["n"] == 0:
            lost["n"] += 1
            route.fetch()  # the server applies the batch …
            route.abort("connectionreset")  # … and its answer never arrives
        else:
            route.fulfill(response=route.fetch())

    page.route("**/api/sync/ops", lose_the_first_answer)
    phone.context.set_offline(False)
    for _ in range(10):
        phone.sync()
        if phone.unsent() == 0:
            break
    assert phone.unsent() == 0 and lost["n"] == 1
    db.session.expire_all()
    photos = db.session.scalars(select(VisitPhoto)).all()
    assert len(photos) == 1 and photos[0].blob_sha256 == hashlib.sha256(data).hexdigest()
    assert photos[0].visit_id == agent_day.visits[0].id and photos[0].kind == "door"
