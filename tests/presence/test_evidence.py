"""The evidence pack (R17): a zip whose signed manifest, files and timeline chain verify with a
script that uses only the standard library and `cryptography` — and fail when anything changes."""
import ast
import base64
import hashlib
import io
import json
import subprocess
import sys
import uuid
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest

from backend.common import canonical_json, sha256_hex


def _op(type_, payload, minutes):
    at = (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()
    return {"id": str(uuid.uuid4()), "type": type_, "at": at, "payload": payload}


@pytest.fixture
def pack(client, auth, owner, owned_visit, packet_visit, link, agent_headers, tmp_path):
    """A visit with a signed plan and the debtor's confirmation, exported and unzipped."""
    from tests.sync.sync_ops_helpers import in_window, signature_png

    v, case_id = owned_visit, owned_visit.case_id
    due = (date.today() + timedelta(days=40)).isoformat()
    terms = {"case_id": case_id, "kind": "full", "currency": "CNY", "total": "5000.00", "discount_pct": "0", "payable": "5000.00",
             "down_payment": "0", "schedule": [{"seq": 1, "due_date": due, "amount": "5000.00"}]}
    ref, terms_hash = str(uuid.uuid4()), sha256_hex(canonical_json(terms))
    png = signature_png()
    photo = photo_jpeg()
    ops = [
        {**_op("visit.checkin", {"visit_id": v.id, "lat": v.address.lat, "lon": v.address.lon, "accuracy_m": 10.0}, 0), "at": in_window(v, 60)},
        {**_op("plan.propose", {"case_id": case_id, "visit_id": v.id, "plan_ref": ref, "terms": terms, "terms_hash": terms_hash}, 0), "at": in_window(v, 70)},
        {**_op("signature.add", {"case_id": case_id, "visit_id": v.id, "plan_ref": ref, "terms_hash": terms_hash,
                                  "png_base64": base64.b64encode(png).decode(), "png_sha256": sha256_hex(png),
                                  "strokes": [[[1, 2, 0]]], "signer_name": "Debtor"}, 0), "at": in_window(v, 75)},
        {**_op("visit.outcome", {"visit_id": v.id, "code": "plan_agreed", "met": "debtor", "plan_ref": ref,
                                  "disclosure_at": in_window(v, 62)}, 0), "at": in_window(v, 80)},
        {**_op("photo.add", {"visit_id": v.id, "kind": "door", "jpeg_base64": base64.b64encode(photo).decode(),
                              "sha256": sha256_hex(photo)}, 0), "at": in_window(v, 82)},
    ]
    response = client.post("/api/sync/ops", json={"device_id": "phone-1", "ops": ops}, headers=agent_headers)
    assert [r["status"] for r in response.get_json()["results"]] == ["applied"] * 5, response.get_json()
    assert client.post("/api/badge/confirm", json={"token": link(packet_visit), "id_last4": "1234"}).status_code == 200

    response = client.get(f"/api/cases/{case_id}/evidence.zip", headers=auth(owner))
    assert response.status_code == 200 and response.mimetype == "application/zip", response.data[:300]
    folder = tmp_path / "pack"
    zipfile.ZipFile(io.BytesIO(response.data)).extractall(folder)
    key = tmp_path / "published.pem"
    key.write_text(client.get("/api/evidence/public-key").get_json()["public_key_pem"])
    return folder, key, png, photo


def photo_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 20, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _verify(folder, key):
    done = subprocess.run([sys.executable, "-I", str(folder / "verify.py"), str(folder), str(key)], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_the_verifier_needs_only_the_standard_library_and_cryptography():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "backend/consoles/evidence_kit/verify.py").read_text()
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    assert roots - set(sys.stdlib_module_names) == {"cryptography"}


def test_the_pack_verifies_and_holds_the_evidence(pack):
    folder, key, png, photo = pack
    code, out = _verify(folder, key)
    assert code == 0 and out.startswith("OK"), out
    visits = json.loads((folder / "visits.json").read_text())
    assert [p["sha256"] for p in visits[0]["photos"]] == [hashlib.sha256(photo).hexdigest()]
    assert visits[0]["presence"]["reasons"][-1]["code"] == "debtor_confirmed"
    assert visits[0]["debtor_confirmation"]["confirmed_at"]
    plan_file = next(folder.glob("agreements/plan-*.json"))
    plan = json.loads(plan_file.read_text())
    assert plan["terms_hash"] == hashlib.sha256(canonical_json(plan["terms"]).encode()).hexdigest()
    signature = plan["signatures"][0]
    assert (folder / f"agreements/signature-{signature['id']}.png").read_bytes() == png
    assert hashlib.sha256(png).hexdigest() == signature["image_sha256"]
    assert (folder / f"agreements/agreement-{plan['id']}.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((folder / "timeline-verification.json").read_text())["verified"] is True
    kinds = [e["kind"] for e in json.loads((folder / "timeline.json").read_text())["events"]]
    assert "visit.confirmed" in kinds and "plan.signed" in kinds
    assert "how to verify" in (folder / "README.txt").read_text().lower()


def test_a_changed_file_or_manifest_fails(pack):
    folder, key, _, _ = pack
    visits = json.loads((folder / "visits.json").read_text())
    visits[0]["presence"]["score"] += 1
    (folder / "visits.json").write_text(json.dumps(visits, ensure_ascii=False, indent=1, sort_keys=True))
    code, out = _verify(folder, key)
    assert code == 1 and "FAIL visits.json: SHA-256 differs" in out, out
    (folder / "manifest.json").write_bytes((folder / "manifest.json").read_bytes().replace(b'"case_id"', b'"case_id" ', 1))
    code, out = _verify(folder, key)
    assert "FAIL manifest.sig" in out


def test_another_key_is_refused(pack, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder, _, _, _ = pack
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    code, out = _verify(folder, stranger)
    assert code == 1 and "FAIL manifest.sig" in out


def test_a_broken_chain_fails_even_under_a_valid_signature(pack, app):
    """Re-signed with the server's own key after an event was changed: the chain still tells."""
    from backend.consoles.evidence import signing_key

    folder, key, _, _ = pack
    timeline = json.loads((folder / "timeline.json").read_text())
    timeline["events"][1]["data"]["visit_id"] = 999
    (folder / "timeline.json").write_text(json.dumps(timeline))
    manifest = json.loads((folder / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        if entry["path"] == "timeline.json":
            entry["sha256"] = hashlib.sha256((folder / "timeline.json").read_bytes()).hexdigest()
    body = json.dumps(manifest).encode()
    (folder / "manifest.json").write_bytes(body)
    with app.app_context():
        (folder / "manifest.sig").write_text(base64.b64encode(signing_key().sign(body)).decode())
    code, out = _verify(folder, key)
    assert code == 1 and "timeline seq 2: data does not match data_sha256" in out, out


def test_only_owners_and_admins_export(client, auth, owned_visit, agent_headers, make_user):
    assert client.get(f"/api/cases/{owned_visit.case_id}/evidence.zip", headers=agent_headers).status_code == 403
    assert client.get(f"/api/cases/{owned_visit.case_id}/evidence.zip", headers=auth(make_user(role="dispatcher"))).status_code == 403
    assert client.get("/api/cases/999999/evidence.zip", headers=auth(make_user(role="admin"))).status_code == 404
