"""The device's copies of server rules stay in step with the server: outcome codes and who may be
met, the plan policy and the terms hash, message catalogs, and the service worker's precache."""
import importlib.util
import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

PWA = Path(__file__).resolve().parents[2] / "pwa"
CATALOGS = {name: json.loads((PWA / f"js/i18n/{name}.json").read_text(encoding="utf-8")) for name in ("en", "zh-CN")}
# files of other engineers that live under pwa/ but are not the agent app's shell
NOT_OURS = ("js/office/", "js/push.js", "js/badge/")


def agent_js_files():
    return [p for p in (PWA / "js").rglob("*.js") if not str(p.relative_to(PWA)).startswith(NOT_OURS)]


@pytest.mark.no_db
def test_catalogs_have_the_same_keys_and_every_message_used():
    assert set(CATALOGS["en"]) == set(CATALOGS["zh-CN"])
    used = set()
    for path in agent_js_files():
        used |= set(re.findall(r"\bt\('([^']+)'", path.read_text(encoding="utf-8")))
    # a message that counts keeps its plural forms as key.one, key.other (i18n.js)
    missing = sorted(k for k in used if k not in CATALOGS["en"] and f"{k}.other" not in CATALOGS["en"])
    assert not missing, missing
    for catalog in CATALOGS.values():
        assert all(isinstance(v, str) and v.strip() for v in catalog.values())


@pytest.mark.no_db
@pytest.mark.parametrize("domain", ["office", "push", "badge"])
def test_the_other_catalogs_have_the_same_keys_in_every_locale(domain):
    from backend.cases.models import FLAGS

    en, zh = (json.loads((PWA / f"js/i18n/{domain}/{name}.json").read_text(encoding="utf-8")) for name in ("en", "zh-CN"))
    assert set(en) == set(zh)
    assert all(isinstance(v, str) and v.strip() for v in [*en.values(), *zh.values()])
    if domain == "push":  # a stop-work notification names the flag
        assert not [f for f in FLAGS if f"flag.{f}" not in en]
    if domain == "badge":  # the debtor's page: every message it asks for, including status.<status>
        used = set(re.findall(r"\bt\('([^']+)'", (PWA / "js/badge/page.js").read_text(encoding="utf-8")))
        used |= {f"status.{s}" for s in ("valid", "expired", "revoked")}
        assert not sorted(k for k in used if k not in en)


@pytest.mark.no_db
def test_catalogs_cover_the_servers_enumerations():
    from backend.cases.models import FLAGS
    from backend.plans.models import KINDS, STATUSES
    from backend.policy.strategies import playbook
    from backend.sync.handlers import OPS
    from backend.sync.schemas import ESCALATION_KINDS, MET
    from backend.visits.models import OUTCOMES

    needed = (
        [f"outcome.{c}" for c in OUTCOMES] + [f"outcome.{c}.hint" for c in OUTCOMES]
        + [f"flag.{f}" for f in FLAGS] + [f"plan.kind.{k}" for k in KINDS] + [f"plan.status.{s}" for s in STATUSES]
        + [f"op.{t}" for t in OPS] + [f"escalate.kind.{k}" for k in ESCALATION_KINDS] + [f"met.{m}" for m in MET]
        + [f"strategy.{k}" for k in playbook()["order"]]
    )
    for name, catalog in CATALOGS.items():
        assert not [k for k in needed if k not in catalog], name


@pytest.mark.no_db
def test_every_code_the_server_answers_with_is_in_every_catalogue():
    """What a conflict, a refusal or a rule finding says is read from its code (i18n.serverText):
    each code the sync path and the rules raise has its message in the agent's and the office's
    catalogues, both languages; and one thing has one name in both."""
    root = PWA.parent / "backend"
    sync_codes = set()
    for path in [root / "sync/ops.py", root / "sync/preconditions.py", root / "sync/handlers.py", root / "visits/services.py"]:
        sync_codes |= set(re.findall(r'\bcode="(\w+)"', path.read_text(encoding="utf-8")))
    sync_codes |= {"case_closed", "stage_changed"}  # work_stopped's codes, passed through
    finding_codes = set(re.findall(r'\bcode="(\w+)"', (root / "policy/rules.py").read_text(encoding="utf-8")))
    assert {"case_blocked", "visit_cancelled", "stale_version", "no_disclosure"} <= sync_codes
    assert {"case_blocked_flag", "rpc_required", "overlong_visit"} <= finding_codes
    office = {name: json.loads((PWA / f"js/i18n/office/{name}.json").read_text(encoding="utf-8")) for name in CATALOGS}
    wanted = [f"server.{c}" for c in sync_codes] + [f"finding.{c}" for c in finding_codes]
    for catalogs in (CATALOGS, office):
        for name, catalog in catalogs.items():
            assert not [k for k in wanted if k not in catalog and f"{k}.other" not in catalog], name
    for name in CATALOGS:
        agent_kinds = {k: v for k, v in CATALOGS[name].items() if k.startswith("plan.kind.")}
        assert agent_kinds == {k: v for k, v in office[name].items() if k.startswith("plan.kind.")}, name


def load_make_shell(pwa: Path = PWA):
    spec = importlib.util.spec_from_file_location("make_shell", PWA / "make_shell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PWA, module.SW = pwa, pwa / "sw.js"
    return module


@pytest.mark.no_db
def test_service_worker_precaches_every_file_of_the_app():
    assert load_make_shell().main(["--check"]) == 0, "pwa/sw.js: run .venv/bin/python pwa/make_shell.py"
    sw = (PWA / "sw.js").read_text(encoding="utf-8")
    shell = set(re.findall(r"'(/[^']*)'", re.search(r"const SHELL = \[(.*?)\];", sw, re.S).group(1)))
    files = {f"/{p.relative_to(PWA)}" for p in (PWA / "js").rglob("*.js") if not str(p.relative_to(PWA)).startswith(("js/office/", "js/badge/"))}
    files |= {f"/{p.relative_to(PWA)}" for p in [*(PWA / "js/i18n").glob("*.json"), *(PWA / "js/i18n/push").glob("*.json")]}
    files |= {f"/{p.relative_to(PWA)}" for p in (PWA / "icons").glob("*.png")}
    files |= {"/", "/css/app.css", "/manifest.webmanifest", "/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css",
              "/vendor/qrcode-generator/qrcode.mjs"}
    assert files == shell
    assert "VERSION = '" not in sw.replace("SHELL_VERSION = '", "")  # no hand-kept version
    manifest = json.loads((PWA / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    assert any(i.get("purpose") == "maskable" for i in manifest["icons"])


@pytest.mark.no_db
def test_a_changed_shell_file_makes_the_worker_stale_until_regenerated(tmp_path):
    """A copy of the app: one byte of a visit step changes; the check fails until the block is
    written again, and then the worker names a new shell cache."""
    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy, ignore=shutil.ignore_patterns("vendor"))
    shutil.copy(PWA.parent / "package.json", tmp_path / "package.json")
    make_shell = load_make_shell(copy)

    def version():
        return re.search(r"const SHELL_VERSION = '(\w+)'", (copy / "sw.js").read_text(encoding="utf-8")).group(1)

    before = version()
    assert make_shell.main(["--check"]) == 0
    notes = copy / "js/ui/visit/notes.js"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert make_shell.main(["--check"]) == 1
    assert make_shell.main([]) == 0 and make_shell.main(["--check"]) == 0
    assert version() != before
    (copy / "js/ui/visit/extra.js").write_text("export const x = 1;\n", encoding="utf-8")
    assert make_shell.main(["--check"]) == 1  # a new file is part of the shell too


def test_outcome_codes_and_who_may_be_met_match_the_server(phone):
    from backend.visits.models import OUTCOMES

    phone.page.goto("/")
    flow = phone.page.evaluate("import('/js/flow.js').then((f) => ({ outcomes: f.OUTCOMES, byMet: f.CODES_BY_MET }))")
    assert set(flow["outcomes"]) == set(OUTCOMES)
    allowed = {"debtor": {"rpc", "any"}, "third_party": {"third_party", "any"}, "nobody": {"none", "any"}}
    for met, codes in flow["byMet"].items():
        assert codes and all(OUTCOMES[c]["contact"] in allowed[met] for c in codes), met
    assert set().union(*map(set, flow["byMet"].values())) == set(OUTCOMES)


def test_check_in_refusals_on_the_device(phone):
    phone.page.goto("/")
    refusals = phone.page.evaluate("""() => import('/js/flow.js').then((f) => {
      const visit = { status: 'published', flags: [], window: { start: '2026-11-28T01:00:00Z', end: '2026-11-28T12:00:00Z' } };
      const at = (iso) => Date.parse(iso);
      const r = (v, iso) => { const x = f.checkinRefusal(v, at(iso)); return x && x.key; };
      return {
        open: r(visit, '2026-11-28T05:00:00Z'),
        early: r(visit, '2026-11-28T00:59:00Z'),
        late: r(visit, '2026-11-28T12:01:00Z'),
        blocked: r(Object.assign({}, visit, { flags: [{ flag: 'dispute', reason: '' }] }), '2026-11-28T05:00:00Z'),
        cancelled: r(Object.assign({}, visit, { status: 'cancelled' }), '2026-11-28T05:00:00Z'),
      };
    })""")
    assert refusals == {"open": None, "early": "checkin.too_early", "late": "checkin.too_late",
                        "blocked": "checkin.blocked", "cancelled": "checkin.cancelled"}


SCENARIOS = """async (caseId) => {
  const plan = await import('/js/plan.js');
  const today = new Date().toISOString().slice(0, 10);
  const policy = JSON.parse(%s);
  const forms = {
    within_authority: { kind: 'installments', total: '6200.00', down_payment: '1200', months: 5, first_due: plan.addDays(today, 30) },
    uneven_split: { kind: 'installments', total: '1000.00', down_payment: '333', months: 3, first_due: plan.addDays(today, 10) },
    settlement_over_authority: { kind: 'settlement', total: '20000.00', discount_pct: '15', due_date: plan.addDays(today, 7) },
    settlement_within: { kind: 'settlement', total: '20000.00', discount_pct: '8', due_date: plan.addDays(today, 7) },
    tiny_installments: { kind: 'installments', total: '3000.00', down_payment: '100', months: 59, first_due: plan.addDays(today, 30) },
    promise_far: { kind: 'promise', total: '800.00', due_date: plan.addDays(today, 45) },
    full: { kind: 'full', total: '3150.50', due_date: plan.addDays(today, 3) },
  };
  const out = {};
  for (const [name, form] of Object.entries(forms)) {
    const { terms } = plan.buildTerms(Object.assign({ case_id: caseId, currency: 'CNY' }, form));
    out[name] = { terms, check: plan.checkPolicy(terms, policy, { role: 'agent', today, bucket: 'M3' }),
                  canonical: plan.canonicalJson(terms), hash: await plan.termsHash(terms) };
  }
  out.months = [plan.addMonths('2026-01-31', 1), plan.addMonths('2024-01-31', 1), plan.addMonths('2026-11-30', 3)];
  out.odd = plan.canonicalJson({ 'b': [1, { 'z': '王秀英 "q"', 'a': null }], 'a': true, 'é': 'x\\ny' });
  return out;
}"""


def test_plan_terms_policy_and_hash_match_the_server(phone, agent_day, db):
    from backend.common import canonical_json, sha256_hex
    from backend.policy.plan_policy import evaluate_plan, policy_data

    case = agent_day.cases[1]  # M3
    phone.page.goto("/")
    policy = policy_data("CN")
    out = phone.page.evaluate(SCENARIOS % json.dumps(json.dumps(policy)), case.id)

    assert out["months"] == ["2026-02-28", "2024-02-29", "2027-02-28"]
    assert out["odd"] == canonical_json({"b": [1, {"z": '王秀英 "q"', "a": None}], "a": True, "é": "x\ny"})
    assert [s["amount"] for s in out["uneven_split"]["terms"]["schedule"]] == ["222.33", "222.33", "222.34"]
    assert [s["amount"] for s in out["within_authority"]["terms"]["schedule"]] == ["1000.00"] * 5
    expected = {"within_authority": "proposed", "uneven_split": "proposed", "settlement_over_authority": "pending_approval",
                "settlement_within": "proposed", "tiny_installments": "pending_approval", "promise_far": "pending_approval",
                "full": "proposed"}
    for name, result in ((k, v) for k, v in out.items() if k in expected):
        terms = result["terms"]
        assert result["canonical"] == canonical_json(terms)
        assert result["hash"] == sha256_hex(canonical_json(terms))
        server = evaluate_plan(terms=terms, case=case, role="agent", as_of=date.today(), hardship=False)
        assert result["check"]["status"] == server["status"] == expected[name], (name, result["check"], server)
    assert date.fromisoformat(out["promise_far"]["terms"]["schedule"][0]["due_date"]) - date.today() >= timedelta(days=45)
