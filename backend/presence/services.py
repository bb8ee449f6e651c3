"""The digital badge (R10), the debtor's confirmation of a visit, the leave-behind card (R14)
and photo evidence of the door.

The agent's phone makes the badge link offline: the day packet carries a key per visit
(`badge_key_text`, derived from the server's secret and the visit id, so nothing is stored),
and the phone signs "visit.time.device" with it (HMAC-SHA256, WebCrypto). The debtor opens the
link on their own phone; the server recomputes the key, checks the signature and the time, and
answers who is at the door. A link that does not verify — guessed, altered, unknown visit — gets
the same answer as no link at all. The debtor confirms the visit (or asks for no further visits,
or complains) only after giving the last four digits of their ID (R5).
"""

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, exists, func, select, update

from ..auth.models import Token
from ..cases.services import append_event, set_flag
from ..common import iso_z, utcnow
from ..db import insert_ignoring_conflict
from ..errors import abort
from ..escalations.services import raise_ticket
from ..extensions import db
from ..org.models import Agent
from ..plans.models import Blob, Signature
from ..plans.services import store_blob
from ..policy.rules import jurisdiction_for, rules_snapshot
from ..visits.models import Visit
from .models import AgentPhoto, BadgeHit, VisitConfirmation, VisitPhoto

_CONTEXT = b"doorstep-badge-v1:"
# visit id . unix seconds . device id . base64url(HMAC-SHA256) without padding
_TOKEN = re.compile(r"^(\d{1,12})\.(\d{9,11})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$")
# the leave-behind card's link (R14): "c." visit id . base64url(HMAC-SHA256(badge key, "card.<visit id>"))
_CARD = re.compile(r"^c\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")
NOT_FOUND = "This badge link is not valid."
REQUEST_KINDS = ("no_visits", "complaint")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def badge_key(visit_id: int) -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, _CONTEXT + str(visit_id).encode(), hashlib.sha256).digest()


def badge_key_text(visit_id: int) -> str:
    """The visit's badge key as the day packet carries it (base64url)."""
    return _b64(badge_key(visit_id))


def badge_signature(visit_id: int, at_s: int, device_id: str) -> str:
    message = f"{visit_id}.{at_s}.{device_id}".encode()
    return _b64(hmac.new(badge_key(visit_id), message, hashlib.sha256).digest())


def card_token(visit_id: int) -> str:
    """The leave-behind card's link token: public by design, it names one visit and cannot be
    made for another without the server's secret."""
    message = f"card.{visit_id}".encode()
    return f"c.{visit_id}." + _b64(hmac.new(badge_key(visit_id), message, hashlib.sha256).digest())


def card_url(visit_id: int) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/badge.html#{card_token(visit_id)}"


@dataclass
class Badge:
    visit: Visit
    kind: str  # live (the phone's badge at the door) | card (the leave-behind card)
    at: datetime  # when the link was made (a card: the visit's day)
    valid_until: datetime
    device_id: str
    status: str  # valid | expired | revoked


def read_badge(token: str, *, now: datetime | None = None) -> Badge | None:
    """The badge a link shows, or None when the link does not verify (the caller answers 404)."""
    token = token or ""
    now = now or utcnow()
    config = current_app.config
    card = _CARD.match(token)
    if card is not None:
        if not hmac.compare_digest(token, card_token(int(card[1]))):
            return None
        visit = db.session.get(Visit, int(card[1]))
        if visit is None:
            return None
        at = datetime.combine(visit.date, datetime.min.time())
        until = at + timedelta(days=config["BADGE_CARD_DAYS"])
        return Badge(visit=visit, kind="card", at=at, valid_until=until, device_id="", status=_status(visit, None, until, now))
    match = _TOKEN.match(token)
    if match is None:
        return None
    visit_id, at_s, device_id, signature = int(match[1]), int(match[2]), match[3], match[4]
    if not hmac.compare_digest(signature, badge_signature(visit_id, at_s, device_id)):
        return None
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return None
    at = datetime.fromtimestamp(at_s, UTC).replace(tzinfo=None)
    if at > now + timedelta(seconds=config["BADGE_CLOCK_SKEW_S"]):
        return None  # made "in the future": not a link the phone's corrected clock would make
    until = at + timedelta(seconds=config["BADGE_TTL_S"])
    return Badge(visit=visit, kind="live", at=at, valid_until=until, device_id=device_id, status=_status(visit, device_id, until, now))


def _status(visit: Visit, device_id: str | None, until: datetime, now: datetime) -> str:
    """Revoked: the visit was cancelled or given to someone else's phone, the agent or the user
    was disabled, or the phone that made the link was signed out (a card names no phone).
    Expired: past its time."""
    agent = visit.agent
    user = agent.user if agent is not None else None
    device_signed_in = device_id is None or (
        user is not None
        and db.session.scalar(select(exists().where(Token.user_id == user.id, Token.device_id == device_id, Token.revoked_at.is_(None))))
    )
    if visit.status == "cancelled" or agent is None or not agent.active or not user.active or not device_signed_in:
        return "revoked"
    if now > until:
        return "expired"
    return "valid"


def throttle_badge(*, ip: str) -> None:
    """Per client address, kept in the database so the limit holds across workers (as sign-in's)."""
    config = current_app.config
    since = utcnow() - timedelta(seconds=config["BADGE_RATE_WINDOW_S"])
    hits = db.session.scalar(select(func.count()).where(BadgeHit.ip == ip, BadgeHit.at > since))
    if hits >= config["BADGE_RATE_LIMIT"]:
        abort(
            429,
            "Too many badge checks from this address; wait a few minutes.",
            code="rate_limited",
            retry_after_s=config["BADGE_RATE_WINDOW_S"],
        )
    db.session.add(BadgeHit(ip=ip, kind="read"))
    db.session.commit()


def prune_badge_hits() -> int:
    """The request log serves only the rate limits: its client addresses (personal data, R15)
    are deleted once older than the limits' window. Commits."""
    since = utcnow() - timedelta(seconds=current_app.config["BADGE_RATE_WINDOW_S"])
    count = db.session.execute(delete(BadgeHit).where(BadgeHit.at <= since)).rowcount
    db.session.commit()
    return count


def badge_view(badge: Badge) -> dict:
    """What anyone holding a verified link may see: who is at the door, for whom, whether the
    badge is valid now. Nothing about the debt."""
    visit = badge.visit
    agent = visit.agent
    config = current_app.config
    return {
        "kind": badge.kind,
        "status": badge.status,
        "made_at": iso_z(badge.at),
        "valid_until": iso_z(badge.valid_until),
        "agent": {
            "name": agent.user.display_name if agent else None,
            "badge_no": agent.badge_no if agent else None,
            # the portrait is served (POST /api/badge/photo) only while a live badge is valid
            "photo": badge.kind == "live" and badge.status == "valid" and agent is not None and agent_photo(agent.id) is not None,
        },
        "organisation": {"name": config["ORG_NAME"], "complaint_phone": config["ORG_COMPLAINT_PHONE"]},
        "language": visit.case.debtor.language,
    }


def _identify(badge: Badge, id_last4: str, *, ip: str) -> None:
    """R5 before anything about the visit: the badge valid now, and the last four of the ID.
    A wrong answer is recorded (and committed, as the response is an error) and counted per visit."""
    config = current_app.config
    if badge.status != "valid":
        abort(409, f"This badge is {badge.status}; ask the agent to show a new one.", code=f"badge_{badge.status}")
    since = utcnow() - timedelta(seconds=config["BADGE_RATE_WINDOW_S"])
    misses = db.session.scalar(
        select(func.count()).where(BadgeHit.visit_id == badge.visit.id, BadgeHit.kind == "id_miss", BadgeHit.at > since)
    )
    if misses >= config["BADGE_ID_MAX_MISSES"]:
        abort(
            429,
            "Too many wrong answers for this visit; wait a few minutes.",
            code="rate_limited",
            retry_after_s=config["BADGE_RATE_WINDOW_S"],
        )
    expected = badge.visit.case.debtor.id_last4 or ""
    if len(expected) != 4 or not hmac.compare_digest(expected, id_last4):
        db.session.add(BadgeHit(ip=ip, visit_id=badge.visit.id, kind="id_miss"))
        db.session.commit()
        abort(422, "Those digits do not match our records.", errors={"id_last4": ["does not match"]}, code="id_mismatch")


def disclosure_for(visit: Visit) -> str:
    """R6 in the debtor's language, as the agent's phone shows it."""
    case = visit.case
    texts = rules_snapshot(jurisdiction_for(case, visit.address))["disclosure"]
    text = texts.get(case.debtor.language) or texts.get("zh-CN") or next(iter(texts.values()), "")
    config = current_app.config
    values = {
        "organisation": config["ORG_NAME"],
        "complaint_phone": config["ORG_COMPLAINT_PHONE"],
        "agent_name": visit.agent.user.display_name if visit.agent else "",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], m[0]), text)


def confirm_visit(*, badge: Badge, id_last4: str, ip: str) -> dict:
    """The debtor confirms the visit: once (a second scan answers with the first confirmation),
    on the case timeline at the server's time. Only the live badge, shown at the door, confirms
    a visit; the card left behind does not."""
    if badge.kind != "live":
        abort(409, "A leave-behind card cannot confirm a visit; only the agent's badge at the door can.", code="badge_card")
    _identify(badge, id_last4, ip=ip)
    visit = badge.visit
    now = utcnow()
    # ON CONFLICT DO NOTHING: two scans racing each other still confirm once
    # (RETURNING, not rowcount: the driver's count for a skipped row is not portable)
    inserted = (
        db.session.execute(
            insert_ignoring_conflict(VisitConfirmation, key=("visit_id",))
            .values(visit_id=visit.id, case_id=visit.case_id, device_id=badge.device_id, link_at=badge.at, confirmed_at=now)
            .returning(VisitConfirmation.id)
        ).first()
        is not None
    )
    if inserted:
        append_event(
            case=visit.case,
            kind="visit.confirmed",
            actor_id=None,
            data={
                "visit_id": visit.id,
                "confirmed_at": iso_z(now),
                "via": "badge",
                "device_id": badge.device_id,
                "link_at": iso_z(badge.at),
            },
        )
    found = confirmation_of(visit.id)
    already = not inserted
    return {"confirmed_at": iso_z(found.confirmed_at), "already": already, "disclosure": disclosure_for(visit)}


def request_from_debtor(*, badge: Badge, id_last4: str, kind: str, reason: str, ip: str) -> dict:
    """The debtor's own choices on the badge page: no further visits (the no-return flag, R11,
    for the office to review) or a complaint (R16: a ticket, which blocks visits)."""
    _identify(badge, id_last4, ip=ip)
    visit = badge.visit
    case = visit.case
    said = reason.strip() or ("The debtor asked for no further visits." if kind == "no_visits" else "The debtor complained.")
    append_event(
        case=case, kind="visit.debtor_request", actor_id=None, data={"visit_id": visit.id, "kind": kind, "reason": said, "via": "badge"}
    )
    if kind == "no_visits":
        if not any(f.flag == "asked_not_to_return" for f in case.active_flags()):
            set_flag(case=case, flag="asked_not_to_return", reason=f"badge page: {said}"[:500], actor_id=None)
        return {"kind": kind, "flag": "asked_not_to_return"}
    ticket = raise_ticket(case=case, kind="complaint", reason=said[:500], actor_id=None, source="badge")
    return {"kind": kind, "ticket_id": ticket.id}


def confirmation_of(visit_id: int) -> VisitConfirmation | None:
    return db.session.scalar(select(VisitConfirmation).where(VisitConfirmation.visit_id == visit_id))


# The leave-behind card (R14): neutral — a third party reading it learns nothing about a debt,
# nor whom it is for; it names the organisation, the agent and how to check and to complain.
CARD_TEXT = {
    "zh-CN": {
        "title": "来访通知",
        "lines": [
            "{organisation}的工作人员于 {date} 来访，未能与您见面。",
            "请致电 {phone} 与我们联系。",
            "来访人员：{agent}{badge}",
            "扫描二维码或打开以下链接，可核实来访人员身份，也可提出投诉：",
            "{link}",
            "参考编号：{ref}",
        ],
        "badge": "（工号 {no}）",
    },
    "en": {
        "title": "Sorry we missed you",
        "lines": [
            "A representative of {organisation} called on {date}.",
            "Please call us on {phone}.",
            "Who called: {agent}{badge}",
            "To check who called, or to complain, scan the code or open:",
            "{link}",
            "Reference: {ref}",
        ],
        "badge": " (badge {no})",
    },
}


def leave_behind_card(visit: Visit) -> dict:
    """The card's title and lines in the debtor's language, and its check link: the same on
    the phone (the day packet carries it) and on paper (the PDF)."""
    text = CARD_TEXT.get(visit.case.debtor.language, CARD_TEXT["zh-CN"])
    agent = visit.agent
    config = current_app.config
    values = {
        "organisation": config["ORG_NAME"],
        "phone": config["ORG_COMPLAINT_PHONE"],
        "date": visit.date.isoformat(),
        "agent": agent.user.display_name if agent else "",
        "ref": f"V{visit.id}",
        "link": card_url(visit.id),
        "badge": text["badge"].format(no=agent.badge_no) if agent and agent.badge_no else "",
    }
    return {"title": text["title"], "lines": [line.format(**values) for line in text["lines"]], "link": values["link"]}


# --- photo evidence ------------------------------------------------------------------------

PHOTO_KINDS = ("door", "building")
PHOTO_MAX_SIDE = 1600  # the device resizes to 1280; anything larger was not resized


def add_photo(*, visit: Visit, data: bytes, kind: str, taken_at: datetime, actor_id: int | None, op_id: str | None = None) -> VisitPhoto:
    """A photo of the door or building: a JPEG the device resized and re-encoded (so without
    EXIF: no camera, no GPS, no time beyond what the op says), stored once by its SHA-256,
    listed on the case and on its timeline."""
    try:
        image = Image.open(io.BytesIO(data))
        image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        abort(422, "The photo is not a readable image.", errors={"payload.jpeg_base64": ["not an image"]})
    if image.format != "JPEG":
        abort(422, "The photo must be a JPEG.", errors={"payload.jpeg_base64": ["not a JPEG"]})
    if "exif" in image.info or image.getexif():
        abort(422, "The photo still carries EXIF metadata; re-encode it on the device.", errors={"payload.jpeg_base64": ["EXIF present"]})
    width, height = image.size
    if max(width, height) > PHOTO_MAX_SIDE:
        abort(
            422,
            f"The photo is {width}×{height}; resize it on the device.",
            errors={"payload.jpeg_base64": [f"larger than {PHOTO_MAX_SIDE} px"]},
        )
    sha = store_blob(data=data, content_type="image/jpeg")
    photo = VisitPhoto(
        case_id=visit.case_id,
        visit_id=visit.id,
        blob_sha256=sha,
        kind=kind,
        width=width,
        height=height,
        taken_at=taken_at,
        added_by_id=actor_id,
        op_id=op_id,
    )
    db.session.add(photo)
    db.session.flush()
    append_event(
        case=visit.case,
        kind="photo.added",
        actor_id=actor_id,
        data={"visit_id": visit.id, "photo_id": photo.id, "sha256": sha, "kind": kind, "op_id": op_id},
    )
    return photo


def photos_of_case(case_id: int) -> list[VisitPhoto]:
    return db.session.scalars(select(VisitPhoto).where(VisitPhoto.case_id == case_id).order_by(VisitPhoto.id)).all()


def purge_photos(*, case_id: int) -> int:
    """R8/R15 retention: the case's photo bytes go (a blob another record still names stays);
    the rows keep kind and time, no picture."""
    shas = set(
        db.session.scalars(select(VisitPhoto.blob_sha256).where(VisitPhoto.case_id == case_id, VisitPhoto.blob_sha256.is_not(None))).all()
    )
    count = db.session.execute(update(VisitPhoto).where(VisitPhoto.case_id == case_id).values(blob_sha256=None)).rowcount
    for sha in shas:
        named = db.session.scalar(select(exists().where(VisitPhoto.blob_sha256 == sha))) or db.session.scalar(
            select(exists().where(Signature.blob_sha256 == sha))
        )
        if not named:
            db.session.execute(delete(Blob).where(Blob.sha256 == sha))
    return count


# --- the agent's portrait on the badge page (R10) -------------------------------------------------

AGENT_PHOTO_MAX_BYTES = 2 * 1024 * 1024  # as uploaded, before it is re-encoded
AGENT_PHOTO_MAX_INPUT_SIDE = 8000  # larger is refused before decoding (a decompression bomb)
AGENT_PHOTO_SIDE = 800  # stored at most this many px on its longer side
AGENT_PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


def set_agent_photo(*, agent_id: int, upload, actor_id: int | None) -> AgentPhoto:
    """The admin's upload (a PNG or JPEG, size-checked): turned upright, scaled down and
    re-encoded by Pillow in its own format — so nothing of the file's EXIF (camera, GPS, time)
    survives — stored once by its SHA-256, and the agent's photo from now on."""
    if db.session.get(Agent, agent_id) is None:
        abort(404, f"No agent {agent_id}.")
    data = upload.read(AGENT_PHOTO_MAX_BYTES + 1) if upload is not None else b""
    if not data:
        abort(422, "Send the photo as the multipart field photo.", errors={"photo": ["required"]})
    if len(data) > AGENT_PHOTO_MAX_BYTES:
        abort(422, f"The photo is larger than {AGENT_PHOTO_MAX_BYTES} bytes.", errors={"photo": [f"over {AGENT_PHOTO_MAX_BYTES} bytes"]})
    try:
        image = Image.open(io.BytesIO(data))
        kind = image.format
        if kind not in AGENT_PHOTO_TYPES:
            abort(422, "The photo must be a PNG or a JPEG.", errors={"photo": ["not a PNG or JPEG"]})
        if max(image.size) > AGENT_PHOTO_MAX_INPUT_SIDE:
            abort(
                422, f"The photo is {image.size[0]}×{image.size[1]} px.", errors={"photo": [f"larger than {AGENT_PHOTO_MAX_INPUT_SIDE} px"]}
            )
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError):
        abort(422, "The photo is not a readable image.", errors={"photo": ["not an image"]})
    image = ImageOps.exif_transpose(image)
    image.thumbnail((AGENT_PHOTO_SIDE, AGENT_PHOTO_SIDE))
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85)
    else:
        image.save(out, "PNG", optimize=True)
    content_type = AGENT_PHOTO_TYPES[kind]
    sha = store_blob(data=out.getvalue(), content_type=content_type)
    photo = db.session.get(AgentPhoto, agent_id) or AgentPhoto(agent_id=agent_id)
    photo.blob_sha256, photo.content_type = sha, content_type
    photo.width, photo.height = image.size
    photo.uploaded_at, photo.uploaded_by_id = utcnow(), actor_id
    db.session.add(photo)
    db.session.flush()
    return photo


def agent_photo(agent_id: int) -> AgentPhoto | None:
    return db.session.get(AgentPhoto, agent_id)


def agent_photos() -> list[AgentPhoto]:
    return db.session.scalars(select(AgentPhoto).order_by(AgentPhoto.agent_id)).all()


def agent_photo_bytes(agent_id: int) -> tuple[bytes, str]:
    """The agent's portrait for the office (404 when none was uploaded)."""
    photo = agent_photo(agent_id)
    blob = db.session.get(Blob, photo.blob_sha256) if photo is not None else None
    if blob is None:
        abort(404, f"Agent {agent_id} has no photo.")
    return blob.data, blob.content_type


def badge_photo(badge: Badge) -> tuple[bytes, str]:
    """The portrait for the debtor's page: only behind a live badge that is valid now; an
    expired, revoked or card link — or an agent without a photo — gets the page's one 404."""
    agent = badge.visit.agent
    photo = agent_photo(agent.id) if agent is not None and badge.kind == "live" and badge.status == "valid" else None
    blob = db.session.get(Blob, photo.blob_sha256) if photo is not None else None
    if blob is None:
        abort(404, NOT_FOUND)
    return blob.data, blob.content_type
