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
