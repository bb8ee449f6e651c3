"""R7: scripts are versioned, approved wording in zh-CN and en; the prohibited-phrase scan."""
import pytest

from backend.policy.rules import legal_terms_in, phrase_lists, prohibited_phrases_in
from backend.policy.services import script_problems
from backend.policy.strategies import LOCALES, approved_scripts, builtin_scripts, playbook


def _all_builtin():
    return [(item["key"], locale, item["text"][locale], item["legal_wording"]) for item in builtin_scripts() for locale in LOCALES]


@pytest.mark.parametrize("key,locale,text,legal", _all_builtin())
def test_every_builtin_script_passes_the_prohibited_phrase_scan(key, locale, text, legal):
    assert prohibited_phrases_in(text) == [], key
    if not legal:
        assert legal_terms_in(text) == [], f"{key} uses legal wording outside a legal-stage script"


def test_every_strategy_has_scripts_in_both_languages():
    for strategy in playbook()["order"]:
        for locale in LOCALES:
            assert any(i["strategy"] == strategy and i["text"].get(locale) for i in builtin_scripts()), (strategy, locale)


def test_the_scan_catches_every_category_in_both_languages():
    lists = phrase_lists()["categories"]
    assert set(lists) == {"threat", "arrest", "police", "crime", "false_deadline"}
    for category, by_locale in lists.items():
        for locale in LOCALES:
            phrase = by_locale[locale][0]
            hits = prohibited_phrases_in(f"... {phrase} ...")
            assert {"category": category, "phrase": phrase} in hits


def test_only_legal_scripts_carry_legal_wording_and_only_for_legal_deterrence():
    for item in builtin_scripts():
        assert item["legal_wording"] == (item["strategy"] == "legal_deterrence")


@pytest.fixture
def admin_headers(auth, make_user):
    return auth(make_user(role="admin"))


def test_an_edit_is_a_draft_until_approved_then_ships(client, admin_headers, db):
    text = "{debtor_name}您好，我是{organisation}的{agent_name}，今天来了解您的近况，一起想办法。"
    created = client.post("/api/policy/scripts", json={"key": "empathy.opening", "locale": "zh-CN", "text": text, "note": "warmer"}, headers=admin_headers)
    assert created.status_code == 201
    draft = created.get_json()
    assert draft["version"] == 2 and draft["status"] == "draft" and draft["problems"] == []
    shipped = _shipped(client, admin_headers, "zh-CN", "empathy.opening")
    assert shipped["version"] == 1  # the draft does not ship
    decided = client.post(f"/api/policy/scripts/{draft['id']}/decision", json={"decision": "approve"}, headers=admin_headers)
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    shipped = _shipped(client, admin_headers, "zh-CN", "empathy.opening")
    assert shipped == {"key": "empathy.opening", "version": 2, "text": text, "legal_wording": False}
    # the English one is untouched
    assert _shipped(client, admin_headers, "en", "empathy.opening")["version"] == 1
    versions = client.get("/api/policy/scripts?key=empathy.opening&locale=zh-CN", headers=admin_headers).get_json()
    assert [(v["version"], v["status"], v["source"]) for v in versions] == [(1, "approved", "builtin"), (2, "approved", "database")]


def _shipped(client, headers, locale, key):
    body = client.get(f"/api/policy/scripts/approved?locale={locale}", headers=headers).get_json()
    return next(s for group in body["strategies"] for s in group["scripts"] if s["key"] == key)


@pytest.mark.parametrize("locale,text", [
    ("en", "Pay today or else we tell your employer."),
    ("zh-CN", "再不还钱就报警，让公安来处理。"),
    ("en", "This is your last chance before the police come."),
    ("zh-CN", "恶意透支是刑事犯罪，你会坐牢。"),
])
def test_prohibited_wording_can_never_be_approved(client, admin_headers, locale, text):
    draft = client.post("/api/policy/scripts", json={"key": "firm.consequences", "locale": locale, "text": text}, headers=admin_headers).get_json()
    assert draft["problems"]
    response = client.post(f"/api/policy/scripts/{draft['id']}/decision", json={"decision": "approve"}, headers=admin_headers)
    assert response.status_code == 422 and response.get_json()["errors"]["text"]


def test_legal_wording_outside_a_legal_script_is_refused(client, admin_headers):
    draft = client.post("/api/policy/scripts", json={"key": "empathy.listen", "locale": "en",
                                                     "text": "We understand; otherwise the bank may file a lawsuit in court."},
                        headers=admin_headers).get_json()
    response = client.post(f"/api/policy/scripts/{draft['id']}/decision", json={"decision": "approve"}, headers=admin_headers)
    assert response.status_code == 422
    legal = client.post("/api/policy/scripts", json={"key": "empathy.legal", "locale": "en", "text": "The bank may sue.",
                                                     "legal_wording": True}, headers=admin_headers)
    assert legal.status_code == 422 and "legal_wording" in legal.get_json()["errors"]


def test_retired_scripts_stop_shipping(client, admin_headers):
    draft = client.post("/api/policy/scripts", json={"key": "sms_reminder.visit", "locale": "en",
                                                     "text": "[{organisation}] Hello {debtor_name}, may we visit? Reply with a time."},
                        headers=admin_headers).get_json()
    client.post(f"/api/policy/scripts/{draft['id']}/decision", json={"decision": "approve"}, headers=admin_headers)
    client.post(f"/api/policy/scripts/{draft['id']}/decision", json={"decision": "retire"}, headers=admin_headers)
    keys = {s["key"] for g in approved_scripts("en")["strategies"] for s in g["scripts"]}
    assert "sms_reminder.visit" not in keys and "sms_reminder.due" in keys


@pytest.mark.parametrize("role", ["owner", "dispatcher"])
def test_only_admins_edit_scripts(client, auth, make_user, role):
    response = client.post("/api/policy/scripts", json={"key": "empathy.opening", "locale": "en", "text": "Hello there friend"},
                           headers=auth(make_user(role=role)))
    assert response.status_code == 403


def test_script_problems_helper():
    assert script_problems(text="法院会判决", legal_wording=True) == []
    assert script_problems(text="法院会判决", legal_wording=False)
