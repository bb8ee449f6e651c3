"""The day packet is built once and served again while nothing in it changed — and never stale.

Each test changes one input of an agent's packet the way the product changes it (office
services, the ops endpoint, admin settings, plain ORM edits, a bulk UPDATE) and checks that the
next pull serves exactly what a packet built from scratch would hold, and that it differs from
the one before. Pulls in between are served from the cache (no rebuild), with a 304 for a
matching If-None-Match.
"""
import csv
import io
import json
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

import backend.sync.packet as sync_services
from backend.cases.models import Account, Note
from backend.cases.services import clear_flag, set_flag
from backend.common import utcnow
from backend.org.models import Agent
from backend.plans.models import Installment, RepaymentPlan
from backend.sync.schemas import PacketSchema
from backend.visits.services import assign_visit, cancel_visit
from sync_ops_helpers import checkin_op

DAY = date.today() + timedelta(days=1)
BUILD = sync_services.build_packet  # the builder itself, not counted


@pytest.fixture
def builds(monkeypatch):
    """How many times the packet was built from the database."""
    calls = []

    def counting(**kw):
        calls.append(kw["agent"].id)
        return BUILD(**kw)

    monkeypatch.setattr(sync_services, "build_packet", counting)
    return calls


@pytest.fixture
def world(db, make_agent, make_case, make_visit, make_user, auth):
    """An agent with two visits tomorrow; one case also has a past visit of another agent and a plan."""
    agent = make_agent()
    other = make_agent(branch=agent.branch)
    cases = [make_case(branch=agent.branch, lat=31.23 + 0.001 * i) for i in range(2)]
    visits = [make_visit(case=case, agent=agent, day=DAY) for case in cases]
    plan = RepaymentPlan(case_id=cases[0].id, kind="installments", status="pending_approval", currency="CNY",
                         total_amount=Decimal("3000.00"), terms={}, terms_hash="0" * 64)
    db.session.add(plan)
    db.session.flush()
    for n in range(3):
        db.session.add(Installment(plan_id=plan.id, seq=n + 1, due_date=date.today() + timedelta(days=10 + 30 * n),
                                   amount=Decimal("1000.00"), status="due"))
    db.session.commit()
    owner = make_user(role="owner")
    admin = make_user(role="admin")
    return {"agent": agent, "other": other, "cases": cases, "visits": visits, "plan": plan, "owner": owner,
            "admin": admin, "headers": auth(agent.user)}


def pull(client, world, etag=None):
    headers = dict(world["headers"])
    if etag:
        headers["If-None-Match"] = etag
    response = client.get(f"/api/sync/packet?date={DAY.isoformat()}", headers=headers)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return response


def content(packet: dict) -> dict:
    """What the agent is told, without this answer's clock and the feed position it was read at."""
    return {k: v for k, v in packet.items() if k not in ("server_time", "cursor")}


def fresh(db, agent_id) -> dict:
    """The packet built from scratch, as the endpoint would serialise it."""
    db.session.expire_all()  # every row read again
    agent = db.session.get(Agent, agent_id)
    packet = BUILD(user=agent.user, agent=agent, day=DAY)
    return json.loads(json.dumps(PacketSchema().dump(packet)))


def assert_current(client, db, world, before: dict) -> dict:
    served = pull(client, world).get_json()
    assert content(served) == content(fresh(db, world["agent"].id))
    assert content(served) != content(before), "the change did not reach the packet at all"
    return served


def test_repeat_pulls_are_served_without_rebuilding_and_answer_304(client, world, builds):
    first = pull(client, world)
    assert first.status_code == 200 and builds == [world["agent"].id]
    etag = first.headers["ETag"]
    second = pull(client, world)
    assert second.get_json()["visits"] == first.get_json()["visits"]
    assert second.get_json()["cursor"] == first.get_json()["cursor"]
    assert second.headers["ETag"] == etag
    assert pull(client, world, etag=etag).status_code == 304
    assert pull(client, world, etag='W/"something-else"').status_code == 200
    assert builds == [world["agent"].id]
    assert first.headers["Cache-Control"] == "no-store"  # debtor data never in an HTTP cache (R15)


def test_the_served_json_matches_the_schema_dump(client, db, world):
    served = pull(client, world).get_json()
    assert set(served) == set(PacketSchema().fields)
    assert served["server_time"].endswith("Z")
    assert content(served) == content(fresh(db, world["agent"].id))


# --- every input, changed the way the product changes it ------------------------------------


def _office_note(db, world):
    db.session.add(Note(case_id=world["cases"][0].id, author_id=world["owner"].id,
                        text="Debtor said he is unemployed since March"))  # a hardship signal for the strategies
    db.session.commit()


def _flag_set(db, world):
    set_flag(case=world["cases"][1], flag="dispute", reason="letter received", actor_id=world["owner"].id)
    db.session.commit()


def _plan_decided(db, world):
    from backend.plans.services import decide_plan

    decide_plan(plan=db.session.get(RepaymentPlan, world["plan"].id), approve=False, reason="no", actor=world["owner"])
    db.session.commit()


def _payment_import(db, world):
    from backend.payments.services import import_payments

    plan = db.session.get(RepaymentPlan, world["plan"].id)
    plan.status = "active"
    db.session.commit()
    account = db.session.get(Account, world["cases"][0].account_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "account_number", "amount", "paid_on"])
    writer.writerow(["PAY-1", account.account_number, "1000.00", date.today().isoformat()])
    import_payments(raw=out.getvalue().encode(), actor_id=world["owner"].id)


def _policy_edit(db, world):
    from backend.policy.settings import change_setting

    change_setting(jurisdiction=world["agent"].branch.jurisdiction, key="cap_7_days", value=2, reason="test",
                   actor_id=world["admin"].id)
    db.session.commit()


def _script_approved(db, world):
    from backend.policy.services import decide_script, propose_script

    row = propose_script(key="empathy.opening", locale=world["agent"].user.locale, text="您好，我们来了解一下您的情况。",
                         actor_id=world["admin"].id)
    db.session.commit()
    decide_script(template_id=row.id, decision="approve", actor_id=world["admin"].id)
    db.session.commit()


def _visit_moved_in(db, world, make_case, make_visit):
    from backend.visits.models import Visit

    visit = make_visit(case=make_case(branch=world["agent"].branch), agent=world["other"], day=DAY)
    assign_visit(visit=db.session.get(Visit, visit.id), agent_id=world["agent"].id, actor_id=world["owner"].id)
    db.session.commit()


def _visit_cancelled(db, world):
    cancel_visit(visit=db.session.get(type(world["visits"][0]), world["visits"][1].id), reason="paid",
                 actor_id=world["owner"].id)
    db.session.commit()


def _other_agents_past_visit(db, world, make_case, make_visit):
    from backend.visits.models import Outcome, Visit

    visit = make_visit(case=world["cases"][0], agent=world["other"], day=date.today() - timedelta(days=20))
    visit = db.session.get(Visit, visit.id)
    visit.status = "completed"
    db.session.add(Outcome(visit_id=visit.id, case_id=visit.case_id, code="not_home", met="nobody", data={}, recorded_at=utcnow()))
    db.session.commit()


def _debtor_renamed(db, world):
    world["cases"][0].account.debtor.name = "Renamed Debtor"
    db.session.commit()


def _address_moved(db, world):
    world["visits"][0].address.line = "99 Other Street"
    db.session.commit()


def _user_locale(db, world):
    world["agent"].user.locale = "en"
    db.session.commit()


def _agent_shift(db, world):
    world["agent"].shift_end_s = 15 * 3600
    db.session.commit()


def _branch_renamed(db, world):
    world["agent"].branch.name = "Renamed branch"
    db.session.commit()


def _bulk_update(db, world):
    db.session.execute(update(Account).where(Account.id == world["cases"][1].account_id).values(balance=Decimal("1.00")))
    db.session.commit()


def _case_stage(db, world):
    world["cases"][1].stage = "legal"
    db.session.commit()


CHANGES = {
    "office note": _office_note,
    "flag set": _flag_set,
    "plan decision": _plan_decided,
    "payment import": _payment_import,
    "policy edit": _policy_edit,
    "script approved": _script_approved,
    "visit cancelled": _visit_cancelled,
    "debtor renamed": _debtor_renamed,
    "address changed": _address_moved,
    "user locale": _user_locale,
    "agent shift": _agent_shift,
    "branch renamed": _branch_renamed,
    "bulk UPDATE": _bulk_update,
    "case stage": _case_stage,
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_each_input_change_reaches_the_next_pull(client, db, world, builds, change):
    before = pull(client, world).get_json()
    pull(client, world)
    assert len(builds) == 1
    CHANGES[change](db, world)
    assert_current(client, db, world, before)
    assert len(builds) == 2


@pytest.mark.parametrize("change", [_visit_moved_in, _other_agents_past_visit], ids=["visit assigned in", "another agent's visit on a case"])
def test_visits_elsewhere_that_touch_the_packet(client, db, world, make_case, make_visit, change):
    before = pull(client, world).get_json()
    change(db, world, make_case, make_visit)
    assert_current(client, db, world, before)


def test_an_op_pushed_by_the_agent(client, db, world):
    before = pull(client, world).get_json()
    visit = world["visits"][0]
    response = client.post("/api/sync/ops", headers=world["headers"],
                           json={"device_id": "test-device", "ops": [checkin_op(visit)]})
    assert response.get_json()["results"][0]["status"] == "applied", response.get_json()
    assert assert_current(client, db, world, before)["visits"][0]["status"] == "checked_in"


def test_a_flag_cleared_and_one_that_expires(client, db, world):
    set_flag(case=world["cases"][0], flag="dispute", reason="letter", actor_id=world["owner"].id,
             expires_at=utcnow() + timedelta(seconds=1.5))
    db.session.commit()
    before = pull(client, world).get_json()
    assert before["visits"][0]["flags"]
    time.sleep(1.6)  # no write at all: the flag runs out on its own
    after = assert_current(client, db, world, before)
    assert after["visits"][0]["flags"] == []
    set_flag(case=world["cases"][1], flag="deceased", reason="reported", actor_id=world["owner"].id)
    db.session.commit()
    before = pull(client, world).get_json()
    clear_flag(case=world["cases"][1], flag="deceased", reason="mistaken report", actor_id=world["owner"].id)
    db.session.commit()
    assert assert_current(client, db, world, before)["visits"][1]["flags"] == []


def test_a_new_deploy_configuration_rebuilds(client, db, world, app, builds):
    before = pull(client, world).get_json()
    app.config["ORG_NAME"], old = "Another Collections Ltd", app.config["ORG_NAME"]
    try:
        assert_current(client, db, world, before)
    finally:
        app.config["ORG_NAME"] = old
    assert len(builds) == 2


def test_other_agents_work_leaves_the_packet_cached(client, db, world, make_case, make_visit, builds):
    pull(client, world)
    make_visit(case=make_case(branch=world["agent"].branch), agent=world["other"], day=DAY)
    world["other"].shift_end_s = 14 * 3600
    db.session.commit()
    pull(client, world)
    assert len(builds) == 1


def test_a_rolled_back_write_invalidates_nothing(client, db, world, builds):
    pull(client, world)
    world["cases"][0].account.debtor.name = "Never saved"
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    pull(client, world)
    assert len(builds) == 1


def test_packets_built_ahead_serve_the_first_pull(client, db, world, builds, monkeypatch):
    """Production (RQ): publishing a route enqueues the build of each agent's packet."""
    import backend.jobs
    from backend.events import _listeners

    assert sync_services.warm_published_day in _listeners["route.published"]

    queued = []
    monkeypatch.setattr(backend.jobs, "uses_rq", lambda app=None: True)
    monkeypatch.setattr(backend.jobs, "enqueue", lambda fn, **kw: queued.append((fn, kw)))
    sync_services.warm_published_day(plan=None, user_ids={world["agent"].user_id}, date=DAY)  # the listener
    assert len(queued) == 1
    fn, kwargs = queued[0]
    assert kwargs.pop("queue") == "packets"
    fn(**kwargs)  # what the worker runs
    assert builds == [world["agent"].id]
    served = pull(client, world).get_json()
    assert builds == [world["agent"].id]  # the first pull found it built
    assert content(served) == content(fresh(db, world["agent"].id))


def test_the_device_purge_period_and_its_report(client, db, world):
    """R15: the rules carry the purge period per jurisdiction; the device reports what it purged."""
    from backend.auth.models import AuditEvent
    from backend.policy.settings import change_setting

    assert pull(client, world).get_json()["rules"]["device_purge_days"] == 1
    change_setting(jurisdiction=world["agent"].branch.jurisdiction, key="device_purge_days", value=3, reason="test",
                   actor_id=world["admin"].id)
    db.session.commit()
    assert pull(client, world).get_json()["rules"]["device_purge_days"] == 3

    url = f"/api/sync/packet?date={DAY.isoformat()}"
    bad = client.get(url + "&purged=-1", headers=world["headers"])
    assert bad.status_code == 422 and "purged" in bad.get_json()["errors"]
    ok = client.get(url + "&purged=4&purged_at=2026-01-02T03:04:05Z", headers=world["headers"])
    assert ok.status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "device.purge")).one()
    assert event.actor_id == world["agent"].user_id and event.target == "device:test-device"
    assert event.data == {"purged": 4, "purged_at": "2026-01-02T03:04:05Z"}


def test_only_recent_days_are_kept(client, db, world):
    from backend.sync.models import PacketCache

    old = PacketCache(agent_id=world["agent"].id, day=date.today() - timedelta(days=3), head=0, fingerprint="x",
                      etag="x", case_ids=[], body="{}")
    db.session.add(old)
    db.session.commit()
    pull(client, world)
    kept = db.session.scalars(select(PacketCache.day).where(PacketCache.agent_id == world["agent"].id)).all()
    assert kept == [DAY]


def test_plain_statements_on_the_sessions_connection(client, db, world):
    """The apply path inserts some rows without the ORM: the packet sees them too."""
    before = pull(client, world).get_json()
    db.session.connection().execute(Note.__table__.insert(), {
        "case_id": world["cases"][1].id, "author_id": world["owner"].id, "text": "He was laid off in May", "created_at": utcnow()})
    db.session.commit()
    before = assert_current(client, db, world, before)
    db.session.connection().execute(Account.__table__.update().where(Account.id == world["cases"][0].account_id)
                                    .values(days_past_due=400))
    db.session.commit()
    assert_current(client, db, world, before)
