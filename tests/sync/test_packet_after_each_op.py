"""The kept day packet after each op type the agent pushes: what the next pull serves is what a
packet built from scratch holds — the apply path writes some rows by plain INSERTs, which the
cache must see as well as the ORM's."""
import pytest

from sync_ops_helpers import checkin_op, make_op, outcome_op, propose_op, signature_op
from test_packet_cache import content, fresh, pull, world  # noqa: F401  (world is a fixture)


def push(client, world, op):
    body = client.post("/api/sync/ops", headers=world["headers"], json={"device_id": "packet-test", "ops": [op]}).get_json()
    assert body["results"][0]["status"] == "applied", body


def assert_fresh(client, db, world):
    assert content(pull(client, world).get_json()) == content(fresh(db, world["agent"].id))


def test_a_whole_visit_pushed_op_by_op(client, db, world):
    visit, case = world["visits"][0], world["cases"][0]
    pull(client, world)
    propose = propose_op(visit)
    steps = [
        checkin_op(visit),
        propose,
        signature_op(visit, propose["payload"]["plan_ref"], propose["payload"]["terms_hash"]),
        outcome_op(visit, code="plan_agreed", met="debtor", plan_ref=propose["payload"]["plan_ref"]),
        make_op("note.add", {"case_id": case.id, "visit_id": visit.id, "text": "Agreed at the door; wife present"}),
        make_op("case.escalate", {"case_id": case.id, "visit_id": visit.id, "kind": "complaint", "reason": "Wants to complain about the bank"}),
        make_op("visit.checkout", {"visit_id": visit.id}),
    ]
    for op in steps:
        push(client, world, op)
        assert_fresh(client, db, world)


@pytest.mark.parametrize("code,met", [("not_home", "nobody"), ("refused", "debtor"), ("hardship", "debtor")])
def test_a_plain_outcome(client, db, world, code, met):
    visit = world["visits"][1]
    push(client, world, checkin_op(visit))
    pull(client, world)
    push(client, world, outcome_op(visit, code=code, met=met))
    assert_fresh(client, db, world)
