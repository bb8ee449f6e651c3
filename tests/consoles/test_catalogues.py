"""The office speaks one language at a time: every policy setting the server names has its
meaning in both office catalogues, so a Chinese screen never shows the server's English."""
import json
from pathlib import Path

from backend.policy.settings import SETTINGS

OFFICE = Path(__file__).resolve().parents[2] / "pwa" / "js" / "i18n" / "office"


def test_every_policy_setting_is_described_in_both_languages():
    for locale in ("zh-CN", "en"):
        catalogue = json.loads((OFFICE / f"{locale}.json").read_text(encoding="utf-8"))
        missing = [key for key in SETTINGS if not catalogue.get(f"policy.about.{key}")]
        assert missing == [], (locale, missing)


def test_settlement_has_one_name_in_each_language():
    """One name for one thing: a settlement is 和解结清 in Chinese and "settlement" in English,
    in every catalogue (agent, office, push, badge) — never 和解 or 结清 alone, never "payoff"."""
    import re

    root = OFFICE.parent
    for path in sorted(root.glob("**/*.json")):
        catalogue = json.loads(path.read_text(encoding="utf-8"))
        for key, text in catalogue.items():
            if path.stem == "zh-CN":
                assert not re.search(r"和解(?!结清)|(?<!和解)结清", text), (path, key, text)
            else:
                assert not re.search(r"pay-?off|settle(?!ment)", text, re.IGNORECASE), (path, key, text)


def test_every_presence_reason_is_said_in_both_languages():
    """The review queue says why a visit is hard to believe from the reason's code and params."""
    import re

    from backend.presence import score

    source = Path(score.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'_reason\(\s*"(\w+)"', source))
    assert len(codes) >= 9
    for locale in ("zh-CN", "en"):
        catalogue = json.loads((OFFICE / f"{locale}.json").read_text(encoding="utf-8"))
        missing = [c for c in sorted(codes) if f"finding.presence_{c}" not in catalogue and f"finding.presence_{c}.other" not in catalogue]
        assert missing == [], (locale, missing)
