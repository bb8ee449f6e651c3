"""Every op the PWA can put into its outbox, checked against the server's payload schemas.

The real builders (pwa/js/ops.js, with terms from pwa/js/plan.js) run in Node with the inputs the
visit screens give them; each payload is then loaded by the marshmallow schema the server uses
for its op type (backend.sync.handlers.OPS), with unknown fields refused: a field the server
does not declare, a missing required field or a wrong type fails here, not in the field."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import marshmallow as ma
import pytest

PWA = Path(__file__).resolve().parents[2] / "pwa"
OPS_JS = PWA / "js" / "ops.js"
NODE = shutil.which("node")

# The screens' inputs, fed to the real builders. Keep in step with pwa/js/ui/visit/*.
BUILD = r"""
const ops = await import(process.argv[1]);
const { buildTerms, termsHash, KINDS } = await import(process.argv[2]);
const { CODES_BY_MET, OUTCOMES } = await import(process.argv[3]);
const visit = { id: 41, case_id: 7, version: 3 };
const pos = { lat: 31.2304, lon: 121.4737, accuracy_m: 12 };
const ref = '0b7e5c1e-8d7a-4c1b-9a4e-2f1d3c5b6a70';
const disclosures = [
  { at: '2026-11-28T05:01:02.003Z', lat: 31.2304, lon: 121.4737, accuracy_m: 9 },
  { at: '2026-11-28T05:01:02.003Z', lat: null, lon: null, accuracy_m: null },  // no GPS: time only
];
const values = { amount: '1200.50', due_date: '2026-12-05', reason: '客户称已还款 disputes the balance', plan_ref: ref };
const out = [];
const add = (builder, op) => out.push({ builder, op });
add('checkin', ops.checkin(visit, pos, null));
add('checkin', ops.checkin(visit, pos, 'gate locked, called from the corner'));
add('checkout', ops.checkout(visit, pos));
add('checkout', ops.checkout(visit, null));
for (const [met, codes] of Object.entries(CODES_BY_MET)) {
  for (const code of codes) {
    const fields = Object.fromEntries(OUTCOMES[code].requires.map((name) => [name, values[name]]));
    for (const disclosure of met === 'debtor' ? disclosures : [null]) add('outcome', ops.outcome(visit, { code, met, disclosure }, fields));
  }
}
// the return visit agreed at the door, with and without its note
add('outcome', ops.outcome(visit, { code: 'refused', met: 'debtor', disclosure: disclosures[0] }, { follow_up_date: '2026-12-01', follow_up_note: 'after payday' }));
add('outcome', ops.outcome(visit, { code: 'third_party_only', met: 'third_party' }, { follow_up_date: '2026-12-01' }));
// the approach used at the door (what works): a strategy alone, and with the script opened
add('outcome', ops.outcome(visit, { code: 'refused', met: 'debtor', disclosure: disclosures[0] }, { strategy: 'firm' }));
add('outcome', ops.outcome(visit, { code: 'promise_to_pay', met: 'debtor', disclosure: disclosures[0] },
  { amount: '1200.50', due_date: '2026-12-05', strategy: 'empathy', script: 'empathy.listen' }));
const forms = {
  installments: { total: '6200.00', down_payment: '500.00', months: '6', first_due: '2026-12-28' },
  settlement: { total: '6200.00', discount_pct: '12.5', due_date: '2026-12-05' },
  full: { total: '6200.00', due_date: '2026-12-05' },
  promise: { total: '1000', due_date: '2026-12-05' },
};
const plan = { plan_ref: ref };
for (const kind of KINDS) {
  const { terms, error } = buildTerms(Object.assign({ kind, case_id: visit.case_id, currency: 'CNY' }, forms[kind]));
  if (error) throw new Error(`${kind}: ${error}`);
  plan.terms_hash = await termsHash(terms);
  add('planPropose', ops.planPropose(visit, ref, terms, plan.terms_hash));
}
add('signature', ops.signature(visit, plan, {
  pngBase64: 'iVBORw0KGgo=', pngSha256: 'a'.repeat(64), strokes: [[[1, 2, 0], [3, 4, 16]]], signerName: '王秀英' }));
add('signatureRefused', ops.signatureRefused(visit, plan, 'wants to read it at home'));
add('note', ops.note(visit, '客户答应月底前还款'));
for (const kind of ['complaint', 'dispute', 'legal', 'other']) add('escalate', ops.escalate(visit, kind, 'threatened to call the police'));
for (const method of ['cash', 'card_terminal', 'bank_transfer', 'payment_link', 'other']) {
  add('paymentRecord', ops.paymentRecord(visit, { amount: '1200.50', currency: 'CNY', method, reference: method === 'cash' ? '' : 'TX-20261128-0042' }));
}
for (const kind of ['door', 'building']) add('photo', ops.photo(visit, kind, { jpegBase64: '/9j/4AAQSkZJRg==', sha256: 'b'.repeat(64) }));
console.log(JSON.stringify({ built: out, exported: Object.keys(ops) }));
"""


def run_builders() -> dict:
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", BUILD, OPS_JS.as_uri(), (PWA / "js/plan.js").as_uri(),
         (PWA / "js/flow.js").as_uri()],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def problems(op: dict) -> dict:
    """What the server's schema for this op type says about its payload; {} when it loads."""
    from backend.sync.handlers import OPS

    if op["type"] not in OPS:
        return {"type": [f"the server takes no op type {op['type']!r}"]}
    try:
        OPS[op["type"]][0]().load(op["payload"], unknown=ma.RAISE)
    except ma.ValidationError as exc:
        return exc.messages
    return {}


@pytest.fixture(scope="module")
def built():
    if NODE is None:
        pytest.fail("node is needed to run the PWA's op builders")
    return run_builders()


@pytest.mark.no_db
def test_every_op_the_pwa_builds_loads_with_the_servers_schema(built):
    failures = [(item["builder"], item["op"], problems(item["op"])) for item in built["built"]]
    failures = [f for f in failures if f[2]]
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)


@pytest.mark.no_db
def test_every_builder_and_every_op_type_is_covered(built):
    from backend.sync.handlers import OPS

    assert {item["builder"] for item in built["built"]} == set(built["exported"])
    assert {item["op"]["type"] for item in built["built"]} == set(OPS)


@pytest.mark.no_db
def test_the_check_refuses_a_stray_field_and_a_missing_one(built):
    note = next(item["op"] for item in built["built"] if item["op"]["type"] == "note.add")
    assert problems(note) == {}
    assert "txt" in problems({"type": note["type"], "payload": dict(note["payload"], txt="typo")})
    assert "text" in problems({"type": note["type"], "payload": {k: v for k, v in note["payload"].items() if k != "text"}})
    checkin = next(item["op"] for item in built["built"] if item["op"]["type"] == "visit.checkin")
    assert "lat" in problems({"type": checkin["type"], "payload": dict(checkin["payload"], lat="north")})


@pytest.mark.no_db
def test_ops_are_built_only_in_ops_js():
    """No screen writes an op of its own: every {type, payload} for the outbox comes from ops.js."""
    from backend.sync.handlers import OPS

    literal = re.compile(r"""['"`](%s)['"`]""" % "|".join(re.escape(t) for t in OPS))
    found = []
    for path in sorted((PWA / "js").rglob("*.js")):
        if path == OPS_JS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if literal.search(line) and "type" in line:
                found.append(f"{path.relative_to(PWA)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.mark.no_db
def test_the_outcome_carries_the_approach_used(built):
    outcomes = [item["op"]["payload"] for item in built["built"] if item["op"]["type"] == "visit.outcome"]
    assert {"strategy": "empathy", "script": "empathy.listen"}.items() <= next(p for p in outcomes if "script" in p).items()
    assert any(p.get("strategy") == "firm" and "script" not in p for p in outcomes)
