"""The evidence pack of a case (R17): a zip a court or an auditor can check without our
software — the timeline with its hash chain, the agreements (PDF, signature images, terms
hashes), the visits with their presence scores and the debtor's confirmations, and a manifest
of every file's SHA-256 signed with the server's Ed25519 key (`cryptography`), whose public half
is published at GET /api/evidence/public-key. evidence_kit/ holds the README and the verifier
shipped inside the pack.
"""

import base64
import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.services import audit
from ..cases.models import TimelineEvent
from ..cases.services import get_case_for_user, verify_timeline
from ..common import iso_z, utcnow
from ..extensions import db
from ..plans.models import Blob, RepaymentPlan, Signature
from ..presence.models import VisitConfirmation
from ..presence.score import presence_scores
from ..presence.services import photos_of_case
from ..visits.models import Visit
from .agreements import render_agreement

KIT = Path(__file__).parent / "evidence_kit"
KEY_FILE = "evidence_ed25519.pem"
_EXTENSION = "doorstep_evidence_key"


def signing_key() -> Ed25519PrivateKey:
    """EVIDENCE_PRIVATE_KEY (PEM) when set, else a key made once under instance/ (as VAPID's)."""
    app = current_app._get_current_object()
    key = app.extensions.get(_EXTENSION)
    if key is None:
        configured = (app.config.get("EVIDENCE_PRIVATE_KEY") or "").strip()
        pem = configured.encode() if configured else _instance_key(Path(app.instance_path) / KEY_FILE)
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError("EVIDENCE_PRIVATE_KEY is not an Ed25519 private key")
        app.extensions[_EXTENSION] = key
    return key


def _instance_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # a private temp file linked into place: of workers starting together, one key wins
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".evidence-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def public_key() -> dict:
    public = signing_key().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"algorithm": "Ed25519", "key_id": hashlib.sha256(raw).hexdigest()[:16], "public_key_pem": pem}


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode("utf-8")


def _timeline(case_id: int) -> dict:
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)).all()
    return {
        "case_id": case_id,
        "events": [
            {
                "case_id": e.case_id,
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at.isoformat(timespec="microseconds"),
                "actor_id": e.actor_id,
                "data": e.data,
                "data_sha256": e.data_sha256,
                "redacted_at": iso_z(e.redacted_at),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ],
    }


def _visits(case_id: int) -> list[dict]:
    visits = db.session.scalars(
        select(Visit).where(Visit.case_id == case_id).order_by(Visit.date, Visit.id).options(selectinload(Visit.outcome))
    ).all()
    scores = presence_scores(visits)
    confirmations = {c.visit_id: c for c in db.session.scalars(select(VisitConfirmation).where(VisitConfirmation.case_id == case_id))}
    photos: dict[int, list] = {}
    for photo in photos_of_case(case_id):
        photos.setdefault(photo.visit_id, []).append(
            {
                "id": photo.id,
                "kind": photo.kind,
                "sha256": photo.blob_sha256,
                "width": photo.width,
                "height": photo.height,
                "taken_at_device": iso_z(photo.taken_at),
                "received_at": iso_z(photo.received_at),
            }
        )
    out = []
    for v in visits:
        o, c = v.outcome, confirmations.get(v.id)
        out.append(
            {
                "id": v.id,
                "date": v.date.isoformat(),
                "agent_id": v.agent_id,
                "status": v.status,
                "window": {"start": iso_z(v.window_start), "end": iso_z(v.window_end)},
                "checkin": {
                    "at_device": iso_z(v.checkin_at),
                    "lat": v.checkin_lat,
                    "lon": v.checkin_lon,
                    "accuracy_m": v.checkin_accuracy_m,
                    "distance_m": v.checkin_distance_m,
                    "flag": v.checkin_flag,
                },
                "checkout": {"at_device": iso_z(v.checkout_at), "lat": v.checkout_lat, "lon": v.checkout_lon},
                "outcome": None
                if o is None
                else {
                    "code": o.code,
                    "met": o.met,
                    "disclosure_at": iso_z(o.disclosure_at),
                    "recorded_at_device": iso_z(o.recorded_at),
                    "received_at": iso_z(o.received_at),
                    "compliance_flags": o.compliance_flags,
                    "data": o.data,
                },
                "presence": scores[v.id],
                "photos": photos.get(v.id, []),
                "debtor_confirmation": None
                if c is None
                else {"confirmed_at": iso_z(c.confirmed_at), "badge_made_at": iso_z(c.link_at), "device_id": c.device_id},
            }
        )
    return out


def _agreements(case_id: int) -> dict[str, bytes]:
    files = {}
    plans = db.session.scalars(select(RepaymentPlan).where(RepaymentPlan.case_id == case_id).order_by(RepaymentPlan.id)).all()
    for plan in plans:
        signatures = db.session.scalars(select(Signature).where(Signature.plan_id == plan.id).order_by(Signature.id)).all()
        files[f"agreements/plan-{plan.id}.json"] = _json(
            {
                "id": plan.id,
                "kind": plan.kind,
                "status": plan.status,
                "terms": plan.terms,
                "terms_hash": plan.terms_hash,
                "created_at": iso_z(plan.created_at),
                "signatures": [
                    {
                        "id": s.id,
                        "terms_hash": s.terms_hash,
                        "signed_at_device": iso_z(s.signed_at),
                        "signer_name": s.signer_name,
                        "refused": s.refused,
                        "refused_reason": s.refused_reason,
                        "image_sha256": s.blob_sha256,
                    }
                    for s in signatures
                ],
            }
        )
        if signatures:
            files[f"agreements/agreement-{plan.id}.pdf"] = render_agreement(plan)
        for s in signatures:
            blob = db.session.get(Blob, s.blob_sha256) if s.blob_sha256 else None
            if blob is not None:
                files[f"agreements/signature-{s.id}.png"] = blob.data
    return files


def build_evidence_pack(*, case_id: int, actor) -> bytes:
    case = get_case_for_user(case_id, user=actor)
    account, debtor = case.account, case.account.debtor
    files = {
        "README.txt": (KIT / "README.txt").read_bytes(),
        "verify.py": (KIT / "verify.py").read_bytes(),
        "case.json": _json(
            {
                "id": case.id,
                "stage": case.stage,
                "created_at": iso_z(case.created_at),
                "account": {"number": account.account_number, "card_masked": account.card_masked, "currency": account.currency},
                "debtor": {"name": debtor.name},
            }
        ),
        "timeline.json": _json(_timeline(case.id)),
        "timeline-verification.json": _json(verify_timeline(case_id=case.id)),
        "visits.json": _json(_visits(case.id)),
        **_agreements(case.id),
    }
    key = public_key()
    files["public_key.pem"] = key["public_key_pem"].encode()
    manifest = _json(
        {
            "format": "doorstep-evidence-1",
            "case_id": case.id,
            "generated_at": iso_z(utcnow()),
            "generated_by": actor.id,
            "algorithm": "Ed25519",
            "key_id": key["key_id"],
            "files": [
                {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for path, data in sorted(files.items())
            ],
        }
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(path, data)
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.sig", base64.b64encode(signing_key().sign(manifest)).decode() + "\n")
    audit(actor=actor, action="evidence.export", target=f"case:{case.id}", key_id=key["key_id"])
    return buffer.getvalue()
