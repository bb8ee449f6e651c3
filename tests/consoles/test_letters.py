"""The ladder's letter rung (issue 15): a letter rendered from an approved letter template (zh-CN,
en) with the case's fields to a PDF, refused when unapproved or when what it would say fails the
R7 scan, kept content-addressed and recorded as the `contact.letter` event the ladder counts."""
import hashlib
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from backend.cases.models import Case, TimelineEvent
from backend.plans.models import Blob
from backend.policy.demo import seed_letter_templates
from backend.policy.models import ScriptTemplate
from backend.policy.strategies import approved_script_rows


@pytest.fixture
def letters(db):
    """locale -> the demo's approved letter template id (seeded through the approval flow)."""
    assert seed_letter_templates() == 2
    assert seed_letter_templates() == 0  # once
    db.session.commit()
    rows = db.session.scalars(select(ScriptTemplate).where(ScriptTemplate.kind == "letter")).all()
    assert {(r.key, r.status) for r in rows} == {("letter.first_notice", "approved")}
    return {r.locale: r.id for r in rows}


@pytest.fixture
def owner_headers(auth, make_user):
    return auth(make_user(role="owner"))


def _text(pdf: bytes) -> str:
    """The PDF's text without whitespace (extraction spaces and wraps lines its own way)."""
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _letter_events(db, case_id):
    return db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == "contact.letter")).all()


def _patch(client, headers, case, **body):
    version = client.get(f"/api/cases/{case.id}", headers=headers).get_json()["version"]
    return client.patch(f"/api/cases/{case.id}", json={"version": version, **body}, headers=headers)


@pytest.mark.parametrize("locale, name, words", [
    ("zh-CN", "王秀英", ["尊敬的王秀英", "逾期欠款 6,543.21 CNY", "示范银行", "400-000-0000", "致"]),
    ("en", "Mary Smith", ["Dear Mary Smith", "overdue balance of 6,543.21 CNY", "Doorstep Demo Bank", "400-000-0000", "To"]),
])
def test_a_letter_renders_the_cases_fields_and_is_kept_and_recorded(db, client, owner_headers, make_case, letters,
                                                                     locale, name, words):
    case = make_case(stage="phone", debtor_name=name, overdue="6543.21")
    response = client.post(f"/api/cases/{case.id}/letters", json={"template_id": letters[locale], "locale": locale}, headers=owner_headers)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    pdf = response.get_data()
    text = _text(pdf)
    for word in words + ["**** **** **** 4242", f"#{case.id}"]:
        assert "".join(word.split()) in text, (word, text)
    assert "{" not in text  # every placeholder filled

    digest = hashlib.sha256(pdf).hexdigest()
    [event] = _letter_events(db, case.id)
    assert event.data["document"] == {"pdf_sha256": digest, "template_id": letters[locale], "template_key": "letter.first_notice",
                                      "template_version": 1, "locale": locale}
    assert event.data["result"] == "issued"
    assert response.headers["Location"] == f"/api/cases/{case.id}/letters/{digest}"
    kept = client.get(response.headers["Location"], headers=owner_headers)
    assert kept.status_code == 200 and kept.get_data() == pdf
    assert db.session.get(Blob, digest).content_type == "application/pdf"
    timeline = client.get(f"/api/cases/{case.id}/timeline", headers=owner_headers).get_json()
    assert timeline["chain"]["verified"] is True
    # a letter of another case is not reached through this one
    other = make_case()
    assert client.get(f"/api/cases/{other.id}/letters/{digest}", headers=owner_headers).status_code == 404


def test_a_preview_shows_the_filled_letter_and_records_nothing(db, client, owner_headers, make_case, letters):
    case = make_case(stage="letter", debtor_name="王秀英", overdue="6543.21")
    response = client.get(f"/api/cases/{case.id}/letters/preview?template_id={letters['zh-CN']}&locale=zh-CN", headers=owner_headers)
    assert response.status_code == 200
    preview = response.get_json()
    assert "尊敬的王秀英" in preview["text"] and "6,543.21" in preview["text"] and "{" not in preview["text"]
    assert (preview["template_key"], preview["template_version"], preview["problems"]) == ("letter.first_notice", 1, {})
    assert _letter_events(db, case.id) == []
    wrong = client.get(f"/api/cases/{case.id}/letters/preview?template_id={letters['en']}&locale=zh-CN", headers=owner_headers)
    assert wrong.status_code == 422 and "locale" in wrong.get_json()["errors"]


def test_the_ladder_counts_the_letter(db, client, owner_headers, make_case, letters):
    case = make_case(stage="phone", debtor_name="李娜")
    refused = _patch(client, owner_headers, case, stage="field", reason="no answer")
    assert refused.status_code == 409 and refused.get_json()["errors"] == {"stage": ["letter: no work on the record"]}
    sent = client.post(f"/api/cases/{case.id}/letters", json={"template_id": letters["zh-CN"], "locale": "zh-CN"}, headers=owner_headers)
    assert sent.status_code == 201
    assert _patch(client, owner_headers, case, stage="field", reason="letter unanswered").status_code == 200
    assert db.session.get(Case, case.id).stage == "field"


def _version(db, *, status, text=None, locale="en", version=2, kind="letter", key="letter.first_notice"):
    row = ScriptTemplate(key=key, kind=kind, strategy="letter" if kind == "letter" else "empathy", locale=locale, version=version,
                         text=text or "Dear {debtor_name}, please call {complaint_phone}.", status=status)
    db.session.add(row)
    db.session.commit()
    return row.id


def test_only_the_newest_approved_letter_in_its_language_is_sent(db, client, owner_headers, make_case, letters):
    case = make_case(stage="letter")

    def post(template_id, locale="en"):
        return client.post(f"/api/cases/{case.id}/letters", json={"template_id": template_id, "locale": locale}, headers=owner_headers)

    draft = _version(db, status="draft")
    response = post(draft)
    assert response.status_code == 422 and response.get_json()["errors"] == {"template_id": ["draft, not approved"]}
    script = _version(db, status="approved", kind="script", key="empathy.opening", version=5)
    assert post(script).get_json()["errors"] == {"template_id": ["not a letter template"]}
    assert post(999999).get_json()["errors"] == {"template_id": ["not a letter template"]}
    assert post(letters["en"], locale="zh-CN").get_json()["errors"] == {"locale": [f"template {letters['en']} is en"]}
    newer = _version(db, status="approved", version=3)
    assert post(letters["en"]).get_json()["errors"] == {"template_id": ["superseded by version 3"]}
    retired = _version(db, status="retired", version=4)
    assert post(retired).get_json()["errors"] == {"template_id": ["retired, not approved"]}
    assert post(newer).get_json()["errors"] == {"template_id": ["superseded by version 4"]}
    bad = client.post(f"/api/cases/{case.id}/letters", json={"template_id": letters["en"], "locale": "fr"}, headers=owner_headers)
    assert bad.status_code == 422 and "locale" in bad.get_json()["errors"]
    assert _letter_events(db, case.id) == []


@pytest.mark.parametrize("locale, name, field", [
    ("zh-CN", "王伟（不还就报警）", "debtor_name"),
    ("en", "John Smith or else", "debtor_name"),
    ("en", "Court Smith", "debtor_name"),  # legal wording outside a legal letter
])
def test_a_letter_whose_wording_fails_the_r7_scan_is_refused(db, client, owner_headers, make_case, letters, locale, name, field):
    case = make_case(stage="phone", debtor_name=name)
    blobs = db.session.scalar(select(func.count()).select_from(Blob))
    response = client.post(f"/api/cases/{case.id}/letters", json={"template_id": letters[locale], "locale": locale}, headers=owner_headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors[field] and errors["text"] == errors[field], errors
    assert _letter_events(db, case.id) == []
    assert db.session.scalar(select(func.count()).select_from(Blob)) == blobs


def test_letters_are_for_the_case_office(db, client, auth, make_user, make_agent, make_case, letters):
    case = make_case(stage="letter")
    body = {"template_id": letters["en"], "locale": "en"}
    for user in (make_agent().user, make_user(role="dispatcher")):
        assert client.post(f"/api/cases/{case.id}/letters", json=body, headers=auth(user)).status_code == 403
        assert client.get(f"/api/cases/{case.id}/letters/{'0' * 64}", headers=auth(user)).status_code == 403
    assert client.get(f"/api/cases/{case.id}/letters/{'0' * 64}", headers=auth(make_user(role="admin"))).status_code == 404


def test_letter_templates_are_proposed_with_known_placeholders_and_never_ship_as_scripts(client, auth, make_user, letters):
    admin = auth(make_user(role="admin"))

    def propose(**body):
        return client.post("/api/policy/scripts", json={"locale": "en", **body}, headers=admin)

    unknown = propose(key="letter.reminder", kind="letter", text="Dear {debtor_name}, your {balance} is due.")
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"]["text"][0].startswith("unknown placeholder {balance}")
    assert propose(key="letter.reminder", text="Dear {debtor_name}, please call us.").get_json()["errors"] == {
        "key": ["letter.<name> is for kind letter"]}
    assert propose(key="empathy.opening", kind="letter", text="Dear {debtor_name}.").status_code == 422
    made = propose(key="letter.reminder", kind="letter", text="Dear {debtor_name}, please call {complaint_phone}.")
    assert made.status_code == 201 and made.get_json()["kind"] == "letter" and made.get_json()["strategy"] == "letter"
    listed = client.get("/api/policy/scripts?kind=letter&status=approved", headers=admin).get_json()
    assert {(v["key"], v["locale"]) for v in listed} == {("letter.first_notice", "en"), ("letter.first_notice", "zh-CN")}
    assert not [key for key in approved_script_rows("en") if key.startswith("letter.")]


def test_a_template_id_past_32_bits_is_a_field_error(client, owner_headers, make_case):
    case = make_case(stage="letter")
    response = client.post(f"/api/cases/{case.id}/letters", json={"template_id": 2**40, "locale": "en"}, headers=owner_headers)
    assert response.status_code == 422 and "template_id" in response.get_json()["errors"]
