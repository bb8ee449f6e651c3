"""Plans proposed offline, checked against policy and hash; signatures verified; owner decisions reach the agent."""
import base64
from datetime import date, timedelta

from sqlalchemy import func, select

from backend.common import canonical_json, sha256_hex
from backend.plans.models import Blob, RepaymentPlan, Signature

from sync_ops_helpers import checkin_op, make_op, outcome_op, plan_terms, propose_op, signature_op, signature_png


def test_plan_within_authority_is_active_signed_and_agreed_offline_by_plan_ref(db, client, agent_headers, send, owned_visit):
    propose = propose_op(owned_visit)
    ref, terms_hash = propose["payload"]["plan_ref"], propose["payload"]["terms_hash"]
    png = signature_png()
    ops = [checkin_op(owned_visit), propose, signature_op(owned_visit, ref, terms_hash, png=png),
           outcome_op(owned_visit, code="plan_agreed", met="debtor", plan_ref=ref)]
    status, body = send(ops)
    assert [r["status"] for r in body["results"]] == ["applied"] * 4, body
    plan_id = body["results"][1]["server"]["plan_id"]
    assert body["results"][1]["server"]["status"] == "active"
    assert body["results"][2]["server"]["plan_id"] == plan_id
    assert body["results"][3]["server"]["plan_id"] == plan_id

    plan = db.session.get(RepaymentPlan, plan_id)
    assert plan.terms_hash == terms_hash == sha256_hex(canonical_json(plan.terms))
    assert len(plan.installments) == 3 and plan.visit_id == owned_visit.id
    detail = client.get(f"/api/plans/{plan_id}", headers=agent_headers).get_json()
    assert detail["signatures"][0]["matches_terms"] is True
    blob = client.get(detail["signatures"][0]["url"], headers=agent_headers)
    assert blob.status_code == 200 and blob.data == png and blob.mimetype == "image/png"


def test_terms_hash_mismatch_and_policy_breaks_are_rejected(db, send, owned_visit):
    bad_hash = propose_op(owned_visit, terms_hash="0" * 64)
    terms = plan_terms(owned_visit.case_id)
    terms["schedule"][0]["amount"] = "1.00"  # below the installment floor and no longer adds up
    breaks = propose_op(owned_visit, terms=terms)
    results = send([bad_hash, breaks])[1]["results"]
    assert results[0]["status"] == "rejected" and "payload.terms_hash" in results[0]["errors"]
    assert results[1]["status"] == "rejected" and "terms.schedule" in results[1]["errors"]
    assert db.session.scalar(select(func.count(RepaymentPlan.id))) == 0


def test_discount_beyond_authority_waits_for_the_owner_whose_decision_reaches_the_agent(db, client, auth, agent_headers, send, owned_visit, owner, listen):
    decided = listen("plan.decided")
    first = propose_op(owned_visit)
    big = propose_op(owned_visit, terms=plan_terms(owned_visit.case_id, discount="20", kind="settlement"))
    results = send([first, big])[1]["results"]
    assert results[0]["server"]["status"] == "active"
    assert results[1]["server"]["status"] == "pending_approval"
    old = db.session.get(RepaymentPlan, results[0]["server"]["plan_id"])
    assert old.status == "superseded" and old.superseded_by_id == results[1]["server"]["plan_id"]

    plan_id = results[1]["server"]["plan_id"]
    pending = client.get("/api/plans?status=pending_approval", headers=auth(owner)).get_json()
    assert [p["id"] for p in pending["items"]] == [plan_id] and pending["items"][0]["terms_hash"]
    cursor = client.get("/api/sync/changes?since=0", headers=agent_headers).get_json()["cursor"]
    assert client.post(f"/api/plans/{plan_id}/approve", json={}, headers=agent_headers).status_code == 403
    response = client.post(f"/api/plans/{plan_id}/approve", json={"reason": "hardship documented"}, headers=auth(owner))
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    assert client.post(f"/api/plans/{plan_id}/reject", json={"reason": "late"}, headers=auth(owner)).status_code == 409

    feed = client.get(f"/api/sync/changes?since={cursor}", headers=agent_headers).get_json()["changes"]
    assert [c["kind"] for c in feed] == ["plan.decided"]
    assert feed[0]["data"]["status"] == "active" and feed[0]["data"]["plan_ref"] == big["payload"]["plan_ref"]
    assert decided and decided[-1]["plan"].id == plan_id and owned_visit.agent.user_id in decided[-1]["user_ids"]


def test_owner_rejects_a_plan_and_filters_work(db, client, auth, send, owned_visit, owner):
    big = propose_op(owned_visit, terms=plan_terms(owned_visit.case_id, discount="15", kind="settlement"))
    plan_id = send([big])[1]["results"][0]["server"]["plan_id"]
    assert client.post(f"/api/plans/{plan_id}/reject", json={}, headers=auth(owner)).status_code == 422
    response = client.post(f"/api/plans/{plan_id}/reject", json={"reason": "discount too deep"}, headers=auth(owner))
    assert response.get_json()["status"] == "rejected"
    by_agent = client.get(f"/api/plans?agent={owned_visit.agent_id}&case={owned_visit.case_id}", headers=auth(owner)).get_json()
    assert [p["id"] for p in by_agent["items"]] == [plan_id]
    assert client.get("/api/plans?agent=999999", headers=auth(owner)).get_json()["total"] == 0


def test_admin_approves_above_owner_authority(db, client, auth, send, owned_visit, owner, make_user):
    huge = propose_op(owned_visit, terms=plan_terms(owned_visit.case_id, discount="30", kind="settlement"))
    plan_id = send([huge])[1]["results"][0]["server"]["plan_id"]
    assert client.post(f"/api/plans/{plan_id}/approve", json={}, headers=auth(owner)).status_code == 403
    assert client.post(f"/api/plans/{plan_id}/approve", json={}, headers=auth(make_user(role="admin"))).status_code == 200


def test_signature_too_large_is_refused_before_anything_is_stored(db, app, send, owned_visit):
    propose = propose_op(owned_visit)
    send([propose])
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (app.config["ATTACHMENT_MAX_BYTES"] + 10)
    op = signature_op(owned_visit, propose["payload"]["plan_ref"], propose["payload"]["terms_hash"], png=big)
    result = send([op])[1]["results"][0]
    assert result["status"] == "rejected" and result["code"] == "too_large"
    assert "payload.png_base64" in result["errors"]
    assert db.session.scalar(select(func.count(Blob.sha256))) == 0
    from backend.sync.models import SyncOp

    kept = db.session.get(SyncOp, op["id"])
    assert "png_base64" not in kept.payload and kept.payload["png_base64_chars"] > 0


def test_signature_bytes_must_match_their_hash_and_the_plan_terms(db, send, owned_visit):
    propose = propose_op(owned_visit)
    send([propose])
    ref, terms_hash = propose["payload"]["plan_ref"], propose["payload"]["terms_hash"]
    wrong_sha = signature_op(owned_visit, ref, terms_hash, png_sha256="a" * 64)
    other_terms = signature_op(owned_visit, ref, "b" * 64)
    not_png = signature_op(owned_visit, ref, terms_hash, png_base64=base64.b64encode(b"GIF89a...").decode(), png_sha256=sha256_hex(b"GIF89a..."))
    unknown_ref = signature_op(owned_visit, "no-such-plan-ref", terms_hash)
    refused = make_op("signature.add", {"case_id": owned_visit.case_id, "visit_id": owned_visit.id, "plan_ref": ref, "terms_hash": terms_hash, "refused": True, "reason": "Wants to read it at home"})
    results = send([wrong_sha, other_terms, not_png, unknown_ref, refused])[1]["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "rejected", "applied"], results
    assert "payload.png_sha256" in results[0]["errors"] and "payload.terms_hash" in results[1]["errors"]
    assert db.session.scalar(select(func.count(Blob.sha256))) == 0
    assert db.session.scalar(select(Signature.refused)) is True


def test_same_bytes_twice_are_one_blob(db, send, owned_visit):
    propose = propose_op(owned_visit)
    send([propose])
    png = signature_png()
    ops = [signature_op(owned_visit, propose["payload"]["plan_ref"], propose["payload"]["terms_hash"], png=png) for _ in range(2)]
    assert [r["status"] for r in send(ops)[1]["results"]] == ["applied", "applied"]
    assert db.session.scalar(select(func.count(Blob.sha256))) == 1
    assert db.session.scalar(select(func.count(Signature.id))) == 2


def test_blob_is_access_checked(db, client, auth, send, owned_visit, make_agent):
    propose = propose_op(owned_visit)
    send([propose])
    png = signature_png(size=(100, 50))
    send([signature_op(owned_visit, propose["payload"]["plan_ref"], propose["payload"]["terms_hash"], png=png)])
    url = f"/api/blobs/{sha256_hex(png)}"
    assert client.get(url, headers=auth(make_agent().user)).status_code == 404
    assert client.get(url, headers=auth(owned_visit.case.owner)).status_code == 200
    assert client.get("/api/blobs/" + "c" * 64, headers=auth(owned_visit.case.owner)).status_code == 404


def test_promise_to_pay_outcome_records_a_promise_plan(db, send, owned_visit):
    send([checkin_op(owned_visit)])
    due = (date.today() + timedelta(days=10)).isoformat()
    result = send([outcome_op(owned_visit, code="promise_to_pay", met="debtor", amount="800.00", due_date=due)])[1]["results"][0]
    assert result["status"] == "applied", result
    plan = db.session.get(RepaymentPlan, result["server"]["plan_id"])
    assert plan.kind == "promise" and plan.status == "active" and str(plan.total_amount) == "800.00"


def test_signature_recorded_after_the_case_was_blocked_is_a_conflict(db, send, owned_visit):
    from backend.cases.services import set_flag

    propose = propose_op(owned_visit)
    send([propose])
    set_flag(case=owned_visit.case, flag="bankruptcy", reason="court notice", actor_id=None)
    db.session.commit()
    op = signature_op(owned_visit, propose["payload"]["plan_ref"], propose["payload"]["terms_hash"])
    result = send([op])[1]["results"][0]
    assert result["status"] == "conflict" and result["code"] == "case_blocked"
    assert db.session.scalar(select(func.count(Signature.id))) == 0
    assert db.session.scalar(select(func.count(Blob.sha256))) == 0
