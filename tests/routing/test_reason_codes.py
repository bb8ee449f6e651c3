"""Why a case is left out, a visit unassigned, a route breaks a rule: each reason has a stable
code whose sentence the office catalogues hold in both languages (docs/routing.md, codes)."""
import json
import re
from pathlib import Path

import pytest

from backend.consoles import services as consoles_services
from backend.routing import builder, engine, timing

ROOT = Path(__file__).resolve().parents[2]
OFFICE = [ROOT / "pwa/js/i18n/office" / f"{locale}.json" for locale in ("en", "zh-CN")]
# reason("rule", "code", …), a code named outright, and the engine's reasons' codes
CODE = re.compile(r'reason\(\s*"[^"]*",\s*"([a-z_]+)"|"code": "([a-z_]+)"|"(route_(?:unassigned|priority)[a-z_]*)"')


def _codes() -> set[str]:
    sources = (builder, timing, consoles_services)
    found = (match for module in sources for match in CODE.findall(Path(module.__file__).read_text(encoding="utf-8")))
    return {code for groups in found for code in groups if code}


@pytest.mark.parametrize("path", OFFICE, ids=lambda p: p.stem)
def test_every_routing_code_has_its_sentence(path):
    catalogue = json.loads(path.read_text(encoding="utf-8"))
    codes = _codes()
    assert len(codes) >= 25
    missing = [c for c in sorted(codes) if f"finding.{c}" not in catalogue and f"finding.{c}.other" not in catalogue]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (engine.REASON_NO_ROOM, "route_unassigned_no_room"),
        (engine.REASON_CAP, "route_unassigned_cap"),
        ("no agent has dialect", "route_unassigned_no_skill"),
        ("no agent has all of dialect, senior", "route_unassigned_no_skill"),
        ("pinned agent a3 not in problem", "route_unassigned_pinned"),
        ("window outside every shift", "route_unassigned_window_shift"),
        ("too far: cannot be reached in a window and back by the end of any eligible shift", "route_unassigned_too_far"),
        ("every eligible agent has max_visits 0", "route_unassigned_cap_zero"),
        (timing.UNASSIGNED_BY_DISPATCHER, "route_unassigned_by_dispatcher"),
        ("not in the engine's answer", "route_unassigned_not_served"),
    ],
)
def test_the_engines_reasons_map_to_codes(text, code):
    coded = timing.unassigned_reason(text, ["dialect"])
    assert coded["code"] == code
    assert coded["params"] == ({"skills": ["dialect"]} if code in ("route_unassigned_no_skill", "route_unassigned_pinned") else {})
