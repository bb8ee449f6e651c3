"""Builders of sync ops for the tests (a module of its own: `conftest` names clash across test folders)."""
import base64
import io
import uuid
from datetime import date, datetime, timedelta, timezone

from backend.common import canonical_json, sha256_hex


def in_window(visit, minutes=60) -> str:
    """A device time inside the visit's legal window, ISO with offset as devices send it."""
    at = visit.window_start + timedelta(minutes=minutes)
    return at.replace(tzinfo=timezone.utc).isoformat()


def make_op(type_, payload, at=None, op_id=None) -> dict:
    return {"id": op_id or str(uuid.uuid4()), "type": type_, "at": at or datetime.now(timezone.utc).isoformat(), "payload": payload}


def checkin_op(visit, **kw) -> dict:
    payload = {"visit_id": visit.id, "lat": visit.address.lat, "lon": visit.address.lon, "accuracy_m": 12.0}
    payload.update(kw)
    return make_op("visit.checkin", payload, at=in_window(visit, 60))


def outcome_op(visit, code="not_home", met="nobody", **kw) -> dict:
    payload = {"visit_id": visit.id, "code": code, "met": met}
    if met == "debtor":
        payload["disclosure_at"] = in_window(visit, 62)
    payload.update(kw)
    return make_op("visit.outcome", payload, at=in_window(visit, 70))


def plan_terms(case_id, *, total="6000.00", discount="0", months=3, kind="installments", first_due=None):
    from decimal import Decimal

    first_due = first_due or (date.today() + timedelta(days=30))
    payable = (Decimal(total) * (100 - Decimal(discount)) / 100).quantize(Decimal("0.01"))
    down = (payable / (months + 1)).quantize(Decimal("0.01"))
    rest = payable - down
    each = (rest / months).quantize(Decimal("0.01"))
    schedule = []
    for m in range(months):
        amount = each if m < months - 1 else rest - each * (months - 1)
        schedule.append({"seq": m + 1, "due_date": (first_due + timedelta(days=30 * m)).isoformat(), "amount": str(amount)})
    return {"case_id": case_id, "kind": kind, "currency": "CNY", "total": total, "discount_pct": discount,
            "payable": str(payable), "down_payment": str(down), "schedule": schedule}


def propose_op(visit, terms=None, plan_ref=None, **kw) -> dict:
    """A plan proposed at the door of `visit` (the visit a case op is recorded under)."""
    terms = terms or plan_terms(visit.case_id)
    payload = {"case_id": visit.case_id, "visit_id": visit.id, "plan_ref": plan_ref or str(uuid.uuid4()), "terms": terms,
               "terms_hash": sha256_hex(canonical_json(terms))}
    payload.update(kw)
    return make_op("plan.propose", payload)


def signature_png(size=(240, 80)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", size, (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 40), (60, 20), (120, 60), (200, 30)], fill=(20, 30, 90, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def signature_op(visit, plan_ref, terms_hash, png=None, **kw) -> dict:
    png = png if png is not None else signature_png()
    payload = {"case_id": visit.case_id, "visit_id": visit.id, "plan_ref": plan_ref, "terms_hash": terms_hash,
               "png_base64": base64.b64encode(png).decode(), "png_sha256": sha256_hex(png),
               "strokes": [[[10, 40, 0], [60, 20, 16]]], "signer_name": "Debtor"}
    payload.update(kw)
    return make_op("signature.add", payload)
