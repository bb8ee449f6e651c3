"""KPIs, CSV, review queue, outcome review, day board, agreement PDF and its verification."""
import csv
import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader


@pytest.fixture
def owner_headers(world, auth):
    return auth(world.owner, password=world.password)


@pytest.fixture
def dispatcher_headers(world, auth):
    return auth(world.dispatcher, password=world.password)


def test_kpis_are_counted_from_the_records(client, world, owner_headers):
    report = client.get("/api/kpis", headers=owner_headers).get_json()
    counts, rates = report["totals"]["counts"], report["totals"]["rates"]
    # three visits assigned and done: an RPC with disclosure and a plan, nobody home, an RPC promise without disclosure
    assert (counts["assigned"], counts["done"], counts["attempts"]) == (3, 3, 3)
    assert rates["contact_rate"] == {"value": pytest.approx(2 / 3, abs=1e-4), "num": 2, "den": 3}
    assert rates["rpc_rate"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert rates["promise_rate"] == {"value": 1.0, "num": 2, "den": 2}
    assert rates["disclosure_rate"] == {"value": 0.5, "num": 1, "den": 2}
    # the promise the payment feed marked kept; the pending settlement is not decided yet
    assert rates["kept_rate_count"] == {"value": 1.0, "num": 1, "den": 1}
    assert rates["kept_rate_amount"]["value"] == 1.0
    assert counts["plans_made"] == 2 and rates["broken_90d_rate"]["value"] == 0.0
    assert rates["arrivals_in_window_rate"]["value"] == 1.0
    # start (31.23, 121.47) → 31.24 → 31.25 → 31.26 in check-in order: 3 × 1.112 km × circuity 1.3
    assert counts["km"] == pytest.approx(3 * 1.1119 * 1.3, abs=0.05)
    assert rates["km_per_visit"]["value"] == pytest.approx(1.1119 * 1.3, abs=0.02)
    # one complaint (the ticket) per 100 visits with an outcome; one flagged note; the R6 outcome and the kept conflict
    assert rates["complaints_per_100"]["value"] == pytest.approx(100 / 3, abs=0.01)
    assert counts["flagged_notes"] == 1 and counts["quarantined"] == 2
    assert report["collected"]["amount"] == 1000.0 and report["collected"]["payments"] == 1
    assert [row["agent_id"] for row in report["agents"]] == [world.agent.id]
    assert report["daily"][0]["date"] == world.day.isoformat()


def test_kpis_filter_by_agent_branch_and_dates(client, world, owner_headers, make_branch):
    other = make_branch()
    empty = client.get(f"/api/kpis?branch_id={other.id}", headers=owner_headers).get_json()
    assert empty["totals"]["counts"]["assigned"] == 0 and empty["totals"]["rates"]["contact_rate"]["value"] is None
    before = (world.day - timedelta(days=5)).isoformat()
    assert client.get(f"/api/kpis?to={before}", headers=owner_headers).get_json()["totals"]["counts"]["assigned"] == 0
    mine = client.get(f"/api/kpis?agent_id={world.agent.id}&branch_id={world.branch.id}", headers=owner_headers).get_json()
    assert mine["totals"]["counts"]["done"] == 3
    assert mine["collected"]["amount"] == 1000.0 and "allocated" in mine["collected"]["source"]


def test_kpis_reject_bad_ranges_per_field(client, world, owner_headers):
    response = client.get("/api/kpis?from=2026-03-02&to=2026-03-01", headers=owner_headers)
    assert response.status_code == 422 and "from" in response.get_json()["errors"]
    response = client.get("/api/kpis?from=2024-01-01&to=2026-01-01", headers=owner_headers)
    assert response.status_code == 422 and "from" in response.get_json()["errors"]
    assert client.get("/api/kpis?from=yesterday", headers=owner_headers).status_code == 422


def test_kpis_csv_has_a_row_per_agent_and_a_total(client, world, owner_headers):
    response = client.get("/api/kpis.csv", headers=owner_headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["agent"] for r in rows] == ["陈外访", "TOTAL"]
    assert rows[1]["assigned"] == "3" and rows[1]["contact_rate"] == "0.6667" and rows[1]["kept_rate_count"] == "1"


@pytest.mark.parametrize("path", ["/api/kpis", "/api/kpis.csv", "/api/review-queue", "/api/board"])
def test_agents_may_not_read_the_consoles(client, world, auth, path):
    assert client.get(path, headers=auth(world.agent_user, password=world.password)).status_code == 403


def test_review_queue_has_every_section(client, world, owner_headers):
    queue = client.get("/api/review-queue", headers=owner_headers).get_json()
    assert queue["counts"] == {"outcomes": 3, "plans": 1, "sync": 1, "escalations": 1, "compliance": 2, "money": 0, "presence": 0}
    assert [o["code"] for o in queue["outcomes"]["items"]] == ["plan_agreed", "not_home", "promise_to_pay"]
    plan = queue["plans"]["items"][0]
    assert plan["id"] == world.plan.id and plan["terms_hash"] == world.plan.terms_hash and plan["debtor_name"] == "王秀英"
    assert queue["sync"]["items"][0]["reason"].startswith("The visit was cancelled")
    ticket = queue["escalations"]["items"][0]
    assert ticket["kind"] == "complaint" and 19 * 3600 < ticket["sla_left_s"] <= 20 * 3600 and not ticket["overdue"]
    assert {(c["kind"], c["findings"][0]["rule"]) for c in queue["compliance"]["items"]} == {("outcome", "R6"), ("note", "R7")}


def test_review_queue_scopes_to_an_owner(client, world, owner_headers, make_user):
    other = make_user(role="owner")
    assert client.get(f"/api/review-queue?owner_id={other.id}", headers=owner_headers).get_json()["counts"] == {
        "outcomes": 0, "plans": 0, "sync": 0, "escalations": 0, "compliance": 0, "money": 0, "presence": 0}


def test_reviewing_an_outcome_leaves_the_queue_and_the_timeline_says_so(client, world, owner_headers):
    outcome = world.outcomes[2]
    response = client.post(f"/api/outcomes/{outcome.id}/review", json={"note": "R6 discussed with the agent"}, headers=owner_headers)
    assert response.status_code == 200 and response.get_json()["reviewed_by_id"] == world.owner.id
    queue = client.get("/api/review-queue", headers=owner_headers).get_json()
    assert queue["counts"]["outcomes"] == 2 and queue["counts"]["compliance"] == 1
    timeline = client.get(f"/api/cases/{outcome.case_id}/timeline", headers=owner_headers).get_json()
    assert timeline["events"][-1]["kind"] == "outcome.reviewed" and timeline["chain"]["verified"]
    again = client.post(f"/api/outcomes/{outcome.id}/review", json={}, headers=owner_headers)
    assert again.status_code == 409 and again.get_json()["code"] == "already_reviewed"
    assert client.post("/api/outcomes/999999/review", json={}, headers=owner_headers).status_code == 404
    assert client.post(f"/api/outcomes/{outcome.id}/review", json={"note": "x" * 1001}, headers=owner_headers).status_code == 422


def test_approving_the_plan_takes_it_off_the_queue(client, world, owner_headers):
    response = client.post(f"/api/plans/{world.plan.id}/approve", json={"reason": "hardship documented"}, headers=owner_headers)
    assert response.status_code == 200
    assert client.get("/api/review-queue", headers=owner_headers).get_json()["counts"]["plans"] == 0


def test_board_shows_agents_progress_and_candidates(client, world, dispatcher_headers, make_case, make_visit, db):
    from backend.common import utcnow

    today = date.today()
    late = make_visit(case=make_case(branch=world.branch, debtor_name="赵迟到"), agent=world.agent, day=today)
    late.planned_arrival = utcnow() - timedelta(hours=1)
    blocked = make_case(branch=world.branch, debtor_name="钱异议", lat=31.21, lon=121.46)
    fresh = make_case(branch=world.branch, debtor_name="孙新案", lat=31.22, lon=121.45)
    db.session.commit()
    client.post(f"/api/cases/{blocked.id}/flags", json={"flag": "dispute", "reason": "disputes the statement"}, headers=dispatcher_headers)
    board = client.get(f"/api/board?branch_id={world.branch.id}&date={today.isoformat()}", headers=dispatcher_headers).get_json()
    agent = next(a for a in board["agents"] if a["id"] == world.agent.id)
    assert agent["shift_start"] == "09:00" and agent["daily_cap"] == 12
    stop = agent["visits"][0]
    assert stop["id"] == late.id and stop["progress"] == "late" and stop["late_by_s"] >= 3600
    assert board["counts"]["late"] == 1
    by_case = {c["case_id"]: c for c in board["candidates"]}
    assert by_case[fresh.id]["eligible"] and by_case[fresh.id]["reasons"][0].startswith("priority ") and "days past due 75" in by_case[fresh.id]["reasons"][0]
    assert not by_case[blocked.id]["eligible"] and "R4" in by_case[blocked.id]["rules"]
    assert any("dispute" in r for r in by_case[blocked.id]["reasons"])
    assert late.case_id not in by_case  # already on the board as a stop


def test_board_validates_its_arguments(client, world, dispatcher_headers):
    response = client.get("/api/board?branch_id=987654", headers=dispatcher_headers)
    assert response.status_code == 422 and "branch_id" in response.get_json()["errors"]
    assert client.get("/api/board?date=tomorrow", headers=dispatcher_headers).status_code == 422


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_agreement_pdf_carries_terms_signature_hash_and_code(client, world, owner_headers, app):
    from backend.consoles.agreements import verification_code

    response = client.get(f"/api/plans/{world.plan.id}/agreement.pdf", headers=owner_headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    code = verification_code(world.plan.terms_hash)
    assert world.plan.terms_hash in text and code in text
    # the fingerprint the debtor saw on the phone, next to the full hash
    fingerprint = f"{world.plan.terms_hash[:4]} {world.plan.terms_hash[4:8]}"
    assert f"Terms fingerprint {fingerprint}" in text
    assert "王秀英" in text and "7300.00" in text and "一致 matches" in text
    assert "待审批 awaiting the bank's approval" in text and "pending_approval" not in text  # status in words
    # the verify link is absolute, on the public origin, with this agreement's code and hash
    flat = "".join(text.split())
    assert f"{app.config['PUBLIC_BASE_URL']}/api/agreements/verify?code={code}&hash={world.plan.terms_hash}" in flat
    images = [image for page in PdfReader(io.BytesIO(response.data)).pages for image in page.images]
    assert len(images) == 1  # the signature


def test_agreement_pdf_shows_terms_changed_after_signing(client, world, owner_headers, db):
    world.plan.terms = {**world.plan.terms, "payable": "1.00"}
    db.session.commit()
    text = _pdf_text(client.get(f"/api/plans/{world.plan.id}/agreement.pdf", headers=owner_headers).data)
    assert "MISMATCH" in text


def test_agreement_pdf_without_a_cjk_font_keeps_names_as_code_points(client, world, owner_headers, monkeypatch):
    monkeypatch.setattr("backend.consoles.agreements.find_cjk_font", lambda: None)
    text = _pdf_text(client.get(f"/api/plans/{world.plan.id}/agreement.pdf", headers=owner_headers).data)
    assert "[U+738B U+79C0 U+82F1]" in text and world.plan.terms_hash in text


def test_agreement_pdf_needs_an_office_role_and_a_plan(client, world, owner_headers, auth):
    assert client.get("/api/plans/999999/agreement.pdf", headers=owner_headers).status_code == 404
    assert client.get(f"/api/plans/{world.plan.id}/agreement.pdf", headers=auth(world.agent_user, password=world.password)).status_code == 403


def test_verification_code_checks_out_only_with_its_hash(client, world):
    from backend.consoles.agreements import verification_code

    code = verification_code(world.plan.terms_hash)
    ok = client.get(f"/api/agreements/verify?code={code}&hash={world.plan.terms_hash}").get_json()
    assert ok == {"valid": True, "terms_hash": world.plan.terms_hash, "signed": True}
    wrong = "0000-0000" if code != "0000-0000" else "1111-1111"
    assert client.get(f"/api/agreements/verify?code={wrong}&hash={world.plan.terms_hash}").get_json()["valid"] is False
    other = world.kept_plan.terms_hash
    assert client.get(f"/api/agreements/verify?code={code}&hash={other}").get_json()["valid"] is False
    response = client.get("/api/agreements/verify?code=xyz&hash=abc")
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"code", "hash"}
