"""Plan-policy findings speak through codes: each finding names a stable `code` with the
params its sentence needs, and every code the validator can give has that sentence in both
languages of the app and of the office (docs/consoles.md, server codes)."""
import json
import re
from datetime import date, timedelta
from pathlib import Path

from backend.policy import plan_policy
from backend.policy.plan_policy import evaluate_plan

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = [ROOT / "pwa/js/i18n" / f"{name}.json" for name in ("en", "zh-CN", "office/en", "office/zh-CN")]
TODAY = date(2026, 12, 1)


def _has(catalogue: dict, code: str) -> bool:
    return f"finding.{code}" in catalogue or f"finding.{code}.other" in catalogue


def test_every_plan_policy_code_has_its_sentence_in_every_catalogue():
    codes = set(re.findall(r'"(plan_[a-z_]+)"', Path(plan_policy.__file__).read_text(encoding="utf-8")))
    assert len(codes) >= 20
    for path in CATALOGUES:
        catalogue = json.loads(path.read_text(encoding="utf-8"))
        assert [c for c in sorted(codes) if not _has(catalogue, c)] == [], path


def test_findings_carry_code_and_params_and_keep_the_english_message(db, make_case):
    due = (TODAY + timedelta(days=10)).isoformat()
    terms = {"kind": "settlement", "total": "10000.00", "discount_pct": "20", "payable": "8000.00", "down_payment": "0",
             "schedule": [{"due_date": due, "amount": "8000.00"}]}
    result = evaluate_plan(terms=terms, case=make_case(), role="agent", as_of=TODAY, hardship=False)
    (finding,) = result["findings"]
    assert finding["code"] == "plan_discount_authority"
    assert finding["params"] == {"role": "agent", "pct": "10", "approver": "owner"}
    assert "authority" in finding["message"]

    promise = {"kind": "promise", "total": "500.00", "discount_pct": "0", "payable": "500.00", "down_payment": "0",
               "schedule": [{"due_date": (TODAY + timedelta(days=90)).isoformat(), "amount": "500.00"}]}
    result = evaluate_plan(terms=promise, case=make_case(), role="agent", as_of=TODAY, hardship=False)
    codes = {f["code"]: f["params"] for f in result["findings"]}
    assert codes["plan_promise_days"]["n"] > 0

    broken = evaluate_plan(terms={"kind": "loan", "total": "x", "schedule": [{"amount": "-1"}]}, case=make_case(), as_of=TODAY)
    assert broken["status"] == "invalid"
    assert {"plan_kind", "plan_total", "plan_schedule_item"} <= {f["code"] for f in broken["findings"]}
    assert all(isinstance(f["params"], dict) and f["message"] for f in broken["findings"])
