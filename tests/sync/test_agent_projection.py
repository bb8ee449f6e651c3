"""What an agent may see of a case is what the case API shows them, everywhere (issue 15, R15).

A case the agent legitimately holds is imported with an account number, a phone number and
identity digits, then re-imported with new ones (so the timeline records the changes); the
agent works it through the sync path. Every GET route of the app the agent may call, filled
with the agent's own ids, is then read: none returns any of the planted values. The office
sees them all (so the walk can fail), and the chain still verifies."""
import io
import re

from sqlalchemy import select

from backend.cases.models import Account, Case

from sync_ops_helpers import checkin_op, make_op, propose_op

ACCOUNT = "ZQ-5517-0093"
PHONES = ("15577331199", "15577332288")
ID_DIGITS = ("846X", "847X")
PLANTED = (ACCOUNT, *PHONES, *ID_DIGITS)
HEADER = "account_number,debtor_name,phone,id_last4,address_line,city,country,lat,lon,balance,overdue_amount,days_past_due,stage,branch_code\n"


def _import(client, headers, phone, digits, branch_code):
    row = f"{ACCOUNT},王芳,{phone},{digits},长宁路100号,上海,CN,31.22,121.42,20000.00,5000.00,75,field,{branch_code}\n"
    response = client.post("/api/cases/import", data={"file": (io.BytesIO((HEADER + row).encode()), "cases.csv")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"][0]


def _held_case(db, client, auth, owner, field_agent, make_visit, day):
    office = auth(owner)
    _import(client, office, PHONES[0], ID_DIGITS[0], field_agent.branch.code)
    assert _import(client, office, PHONES[1], ID_DIGITS[1], field_agent.branch.code)["status"] == "updated"
    case = db.session.scalar(select(Case).join(Account).where(Account.account_number == ACCOUNT))
    return make_visit(case=case, agent=field_agent, day=day)


def _leaks(text):
    return [value for value in PLANTED if value in text]


def test_no_agent_readable_endpoint_shows_what_the_case_api_hides(app, db, client, auth, send, owner, field_agent,
                                                                     agent_headers, make_visit, day):
    visit = _held_case(db, client, auth, owner, field_agent, make_visit, day)
    case_id = visit.case_id
    proposed = propose_op(visit)
    status, body = send([checkin_op(visit), proposed,
                         make_op("note.add", {"case_id": case_id, "visit_id": visit.id, "text": "debtor asked for a call back"})])
    assert [r["status"] for r in body["results"]] == ["applied"] * 3, body
    plan_id = body["results"][1]["server"]["plan_id"]

    # the office sees every planted value: the walk below can fail
    office = auth(owner)
    office_text = client.get(f"/api/cases/{case_id}", headers=office).get_data(as_text=True)
    office_text += client.get(f"/api/cases/{case_id}/timeline", headers=office).get_data(as_text=True)
    assert _leaks(office_text) == list(PLANTED)

    ids = {"case_id": case_id, "visit_id": visit.id, "plan_id": plan_id, "user_id": field_agent.user_id,
           "ticket_id": 1, "import_id": 1, "collection_id": 1, "agent_id": field_agent.id, "sha256": "0" * 64, "jurisdiction": "CN", "key": "visit_warn_minutes"}
    query = {"/api/sync/packet": f"date={day.isoformat()}", "/api/sync/changes": "since=0",
             "/api/agreements/verify": f"code=0000-0000&hash={proposed['payload']['terms_hash']}",
             "/api/receipts/verify": "code=00000-00000"}
    readable = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        url = f"{path}?{query[rule.rule]}" if rule.rule in query else path
        response = client.get(url, headers=agent_headers)
        if response.status_code in (403, 404):
            continue
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
        readable.add(rule.rule)
        assert _leaks(_readable_text(response)) == [], url
    # the walk reached the case data it is about
    assert {"/api/cases", "/api/cases/<int:case_id>", "/api/cases/<int:case_id>/timeline", "/api/visits",
            "/api/visits/<int:visit_id>", "/api/plans", "/api/plans/<int:plan_id>", "/api/sync/packet",
            "/api/sync/changes", "/api/cases/<int:case_id>/strategies"} <= readable

    timeline = client.get(f"/api/cases/{case_id}/timeline", headers=agent_headers).get_json()
    assert timeline["chain"]["verified"] is True
    updated = next(e for e in timeline["events"] if e["kind"] == "case.updated")
    assert updated["data"]["changes"]["phone"] == "hidden" and updated["data"]["changes"]["id_last4"] == "hidden"
    assert {e["hash"] for e in timeline["events"]} == {None}  # a digest of four digits is the four digits
    assert client.get(f"/api/cases/{case_id}/timeline", headers=office).get_json()["chain"]["verified"] is True


def _readable_text(response) -> str:
    """What a reader gets out of the answer: a PDF's text (the leave-behind card, a receipt),
    an image's nothing, anything else as text."""
    if response.mimetype == "application/pdf":
        from io import BytesIO

        from pypdf import PdfReader

        return "".join(page.extract_text() or "" for page in PdfReader(BytesIO(response.get_data())).pages)
    if response.mimetype.startswith("image/"):
        return ""
    return response.get_data(as_text=True)


def test_an_agent_cannot_search_by_the_hidden_account_number(db, client, auth, owner, field_agent, agent_headers,
                                                             make_visit, day):
    visit = _held_case(db, client, auth, owner, field_agent, make_visit, day)

    def found(q, headers):
        response = client.get("/api/cases", query_string={"q": q}, headers=headers)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["items"]]

    # digit by digit, the number would come back: no prefix of it finds the case
    for end in range(1, len(ACCOUNT) + 1):
        assert found(ACCOUNT[:end], agent_headers) == [], ACCOUNT[:end]
    assert found("5517", agent_headers) == []
    # what the agent is shown still finds it; the office finds it by number too
    assert found("王芳", agent_headers) == [visit.case_id]
    assert found(ACCOUNT[:7], auth(owner)) == [visit.case_id]
