"""Field errors speak through codes: the one error shape carries, beside each field's English
message, its stable code and params (`field_codes`), and so does every rejected row of an
import report — the consoles say them in the reader's language (docs/consoles.md)."""
import io
import json
from pathlib import Path

import pytest

from backend.errors import FIELD_MESSAGES, field_codes, message_code

OFFICE = Path(__file__).resolve().parents[2] / "pwa/js/i18n/office"


@pytest.mark.parametrize(
    ("message", "code", "params"),
    [
        ("Missing data for required field.", "required", {}),
        ("Field may not be null.", "required", {}),
        ("Longer than maximum length 120.", "too_long", {"max": "120"}),
        ("Must be one of: zh-CN, en.", "one_of", {"choices": ["zh-CN", "en"]}),
        ("Must be greater than or equal to 0 and less than or equal to 90.", "between", {"min": "0", "max": "90"}),
        ("Not a valid number.", "not_a", {"kind": "number"}),
        ("Not a valid mapping type.", "not_a", {"kind": "object"}),
        ("unknown branch SH9", "unknown_branch", {"value": "SH9"}),
        ("a sentence of the handler's own", "invalid", {}),
    ],
)
def test_field_messages_map_to_codes(message, code, params):
    assert message_code(message) == {"code": code, "params": params}


def test_nested_fields_are_named_by_their_path():
    coded = field_codes({"terms": {"schedule": {"0": {"amount": ["Not a valid number."]}}}, "name": ["Unknown field."]})
    assert coded["terms.schedule.0.amount"][0]["code"] == "not_a"
    assert coded["name"] == [{"code": "unknown_field", "params": {}, "message": "Unknown field."}]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_every_field_code_has_its_sentence(locale):
    catalogue = json.loads((OFFICE / f"{locale}.json").read_text(encoding="utf-8"))
    codes = {code for _, code in FIELD_MESSAGES}
    assert [c for c in sorted(codes) if f"error.field.{c}" not in catalogue] == []


def test_a_422_carries_field_codes(client, auth, make_user):
    response = client.post("/api/users", json={"role": "agent", "username": "x" * 200}, headers=auth(make_user(role="admin")))
    body = response.get_json()
    assert response.status_code == 422 and set(body["field_codes"]) == set(body["errors"])
    assert {c["code"] for codes in body["field_codes"].values() for c in codes} & {"required", "too_long"}


def test_an_import_reports_its_rejected_rows_with_codes(client, auth, make_user):
    raw = "account_number,debtor_name,address_line,balance,overdue_amount,days_past_due\nACCT0001,,Road 1,100.00,50.00,40\n"
    response = client.post("/api/cases/import", data={"file": (io.BytesIO(raw.encode()), "f.csv")},
                           headers=auth(make_user(role="owner")), content_type="multipart/form-data")
    (row,) = response.get_json()["rows"]
    assert row["status"] == "rejected"
    assert row["field_codes"]["debtor_name"][0]["code"] == "required"
