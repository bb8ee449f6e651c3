"""The case page lists the photos of the door or building taken at its visits, each shown with
its SHA-256 (the bytes come through the authenticated blob endpoint, drawn as an image)."""
import hashlib
import io

from PIL import Image


def test_the_case_page_lists_the_photos_of_the_door(desk, world, db):
    from backend.common import utcnow
    from backend.presence.services import add_photo

    image = Image.new("RGB", (640, 480), (90, 120, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    data = buffer.getvalue()
    visit = world.visits[0]
    add_photo(visit=visit, data=data, kind="door", taken_at=utcnow(), actor_id=world.agent_user.id)
    db.session.commit()

    page = desk.page
    desk.login(world.owner.username)
    page.goto(f"/#/office/case/{visit.case_id}")
    figure = page.locator("section.o-photos figure.o-photo")
    figure.locator("img").wait_for()
    assert figure.count() == 1
    assert figure.locator(".o-hash").text_content() == hashlib.sha256(data).hexdigest()[:16]
    assert page.evaluate("() => document.querySelector('section.o-photos img').naturalWidth") == 640
