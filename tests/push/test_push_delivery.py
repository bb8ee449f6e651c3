"""Each kind of push, triggered through the real API, arrives encrypted and signed at a local endpoint.

The endpoint decrypts with the browser's keys (http_ece, aes128gcm) and the VAPID JWT is
checked with PyJWT against the server's public key.
"""
import base64
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from backend.push.models import PushSubscription


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def assert_signed_by_server(received, endpoint, server_key_b64, subject):
    """Authorization: vapid t=<ES256 JWT>,k=<server public key> (RFC 8292)."""
    scheme, _, params = received.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.split("=", 1) for part in params.split(","))
    assert parts["k"] == server_key_b64
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64decode(parts["k"]))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
    claims = jwt.decode(parts["t"], key=public_key, algorithms=["ES256"], audience=origin,
                        options={"require": ["aud", "exp", "sub"]})
    assert claims["sub"] == subject
    now = time.time()
    assert now < claims["exp"] <= now + 24 * 3600  # RFC 8292: no more than 24 hours ahead
    # and a JWT signed by any other key is refused by the same check
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, other, algorithm="ES256")
    try:
        jwt.decode(forged, key=public_key, algorithms=["ES256"], audience=origin)
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("a JWT from another key verified")


def _server_key(client, auth, user):
    response = client.get("/api/push/vapid-public-key", headers=auth(user))
    assert response.status_code == 200
    return response.get_json()["publicKey"]


def _one(push_service, endpoint):
    received = push_service.requests_to(endpoint)
    assert len(received) == 1, [r.path for r in push_service.received]
    return received[0]


def test_stop_work_reaches_the_agent_with_the_visit(app, client, auth, make_user, make_agent, make_case, make_visit,
                                                      push_service, browser_keys, subscribe, settle):
    agent = make_agent()
    case = make_case()
    visit = make_visit(case=case, agent=agent, publish=True)
    keys = browser_keys()
    endpoint = push_service.endpoint("agent-phone")
    assert subscribe(agent.user, endpoint, keys).status_code == 201
    bystander = make_agent()  # subscribed, but holds no visit on the case
    other_endpoint = push_service.endpoint("other-phone")
    assert subscribe(bystander.user, other_endpoint, browser_keys()).status_code == 201

    owner = make_user(role="owner")
    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(owner),
                           json={"flag": "dispute", "reason": "Debtor's lawyer letter of 3 May"})
    assert response.status_code == 201
    settle()

    received = _one(push_service, endpoint)
    assert keys.decrypt(received.body) == {
        "kind": "stop_work", "locale": "zh-CN", "case_id": case.id, "flag": "dispute", "visit_ids": [visit.id],
    }
    assert received.headers["content-encoding"] == "aes128gcm"
    assert received.headers["ttl"] == str(24 * 3600)
    assert received.headers["urgency"] == "high"
    assert_signed_by_server(received, endpoint, _server_key(client, auth, agent.user), app.config["VAPID_SUBJECT"])
    assert push_service.requests_to(other_endpoint) == []
    row = client.get("/api/push/subscriptions", headers=auth(agent.user)).get_json()[0]
    assert row["last_success_at"] is not None and row["failure_count"] == 0


def test_cancelled_visit_reaches_its_agent(client, auth, make_user, make_agent, make_visit, push_service,
                                           browser_keys, subscribe, settle):
    agent = make_agent()
    visit = make_visit(agent=agent, publish=True)
    keys = browser_keys()
    endpoint = push_service.endpoint("cancel")
    subscribe(agent.user, endpoint, keys)

    dispatcher = make_user(role="dispatcher")
    response = client.post(f"/api/visits/{visit.id}/cancel", headers=auth(dispatcher), json={"reason": "paid in branch"})
    assert response.status_code == 200
    settle()

    received = _one(push_service, endpoint)
    assert keys.decrypt(received.body) == {
        "kind": "visit_cancelled", "locale": "zh-CN", "visit_id": visit.id, "case_id": visit.case_id,
        "date": visit.date.isoformat(),
    }
    assert received.headers["ttl"] == str(24 * 3600)
    assert received.headers["urgency"] == "high"


def test_a_visit_moved_to_another_agent_tells_both(client, auth, make_user, make_agent, make_visit, push_service,
                                                  browser_keys, subscribe, settle):
    before, after = make_agent(), make_agent()
    visit = make_visit(agent=before, publish=True)
    keys = {"before": browser_keys(), "after": browser_keys()}
    endpoints = {"before": push_service.endpoint("before"), "after": push_service.endpoint("after")}
    subscribe(before.user, endpoints["before"], keys["before"])
    subscribe(after.user, endpoints["after"], keys["after"])

    response = client.post(f"/api/visits/{visit.id}/assign", headers=auth(make_user(role="dispatcher")),
                           json={"agent_id": after.id, "version": visit.version})
    assert response.status_code == 200
    settle()

    for who, stops in (("before", 0), ("after", 1)):
        received = _one(push_service, endpoints[who])
        assert keys[who].decrypt(received.body) == {
            "kind": "route_published", "locale": "zh-CN", "date": visit.date.isoformat(), "plan_id": None, "stops": stops,
        }


def test_cancelling_an_unpublished_visit_sends_nothing(client, auth, make_user, make_agent, make_visit,
                                                       push_service, browser_keys, subscribe, settle):
    agent = make_agent()
    visit = make_visit(agent=agent, publish=False)
    endpoint = push_service.endpoint("never-told")
    subscribe(agent.user, endpoint, browser_keys())
    response = client.post(f"/api/visits/{visit.id}/cancel", headers=auth(make_user(role="dispatcher")),
                           json={"reason": "re-planned"})
    assert response.status_code == 200
    settle()
    assert push_service.requests_to(endpoint) == []


def test_a_published_route_reaches_each_agent(client, auth, db, make_branch, make_user, make_agent, make_case, push_service,
                                             browser_keys, subscribe, settle):
    """The dispatcher drafts a route (solved in the background) and publishes it."""
    from zoneinfo import ZoneInfo

    from backend import jobs

    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    agent = make_agent(branch=branch)
    for i in range(3):
        make_case(branch=branch, lat=31.23 + 0.01 * i, lon=121.47 + 0.005 * i)
    keys = browser_keys()
    endpoint = push_service.endpoint("route")
    subscribe(agent.user, endpoint, keys)
    auth_headers = auth(make_user(role="dispatcher"))

    draft = client.post("/api/route-plans", json={"date": day.isoformat(), "branch_id": branch.id, "seconds": 1},
                        headers=auth_headers)
    assert draft.status_code == 202, draft.get_json()
    assert jobs.wait_idle(timeout=60)
    published = client.post(f"/api/route-plans/{draft.get_json()['id']}/publish", headers=auth_headers)
    assert published.status_code == 200, published.get_json()
    stops = next(r for r in published.get_json()["routes"] if r["agent_id"] == agent.id)["stops"]
    assert stops
    settle()

    received = _one(push_service, endpoint)
    assert keys.decrypt(received.body) == {
        "kind": "route_published", "locale": "zh-CN", "date": day.isoformat(), "plan_id": draft.get_json()["id"],
        "stops": len(stops),
    }
    assert received.headers["ttl"] == str(12 * 3600)
    assert received.headers["urgency"] == "normal"
    # a newer route for the same day replaces one still waiting at the push service
    assert received.headers["topic"] == f"route-{day.isoformat()}"


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_plan_decision_reaches_the_agent(client, auth, db, make_user, make_agent, make_case, make_visit, push_service,
                                          browser_keys, subscribe, settle, decision):
    """The case owner decides a plan waiting for approval (here made directly as pending)."""
    from backend.plans.models import RepaymentPlan
    from backend.plans.services import terms_hash_of

    agent = make_agent()
    agent.user.locale = "en"
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    first_due = date.today() + timedelta(days=30)
    terms = {"case_id": case.id, "kind": "installments", "currency": "CNY", "total": "6000.00", "discount_pct": "0",
             "payable": "6000.00", "down_payment": "1500.00",
             "schedule": [{"seq": n + 1, "due_date": (first_due + timedelta(days=30 * n)).isoformat(),
                           "amount": "1500.00"} for n in range(3)]}
    plan = RepaymentPlan(case_id=case.id, kind="installments", status="pending_approval",
                         total_amount=Decimal("6000.00"), down_payment=Decimal("1500.00"), term_months=3,
                         terms=terms, terms_hash=terms_hash_of(terms), created_by_id=agent.user_id)
    db.session.add(plan)
    db.session.commit()
    keys = browser_keys()
    endpoint = push_service.endpoint("plan")
    subscribe(agent.user, endpoint, keys)

    response = client.post(f"/api/plans/{plan.id}/{decision}", json={"reason": "checked with the debtor's file"},
                           headers=auth(make_user(role="owner")))
    assert response.status_code == 200, response.get_json()
    settle()

    received = _one(push_service, endpoint)
    assert keys.decrypt(received.body) == {
        "kind": "plan_decided", "locale": "en", "plan_id": plan.id, "case_id": case.id,
        "decision": {"approve": "approved", "reject": "rejected"}[decision],
    }
    assert received.headers["ttl"] == str(3 * 24 * 3600)
    assert received.headers["urgency"] == "normal"


def test_a_rolled_back_transaction_sends_nothing(db, make_agent, make_case, make_visit, push_service,
                                                 browser_keys, subscribe, settle):
    from backend.cases.services import set_flag

    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    keys = browser_keys()
    endpoint = push_service.endpoint("rollback")
    subscribe(agent.user, endpoint, keys)

    set_flag(case=case, flag="dispute", reason="entered by mistake", actor_id=None)
    db.session.rollback()
    settle()
    assert push_service.requests_to(endpoint) == []

    # a savepoint rolled back drops only its own messages; the outer commit sends the rest
    case = db.session.get(type(case), case.id)
    try:
        with db.session.begin_nested():
            set_flag(case=case, flag="bankruptcy", reason="wrong case", actor_id=None)
            raise RuntimeError("abandon the savepoint")
    except RuntimeError:
        pass
    set_flag(case=case, flag="deceased", reason="registry notice", actor_id=None)
    db.session.commit()
    settle()
    flags = [keys.decrypt(r.body)["flag"] for r in push_service.requests_to(endpoint)]
    assert flags == ["deceased"]


def test_an_endpoint_answering_410_is_pruned_after_one_delivery(client, auth, make_user, make_agent, make_case,
                                                                 make_visit, push_service, browser_keys,
                                                                 subscribe, settle):
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    gone = push_service.endpoint("gone", 410)
    alive = push_service.endpoint("alive")
    subscribe(agent.user, gone, browser_keys(), device_id="old-phone")
    subscribe(agent.user, alive, browser_keys(), device_id="new-phone")
    owner = auth(make_user(role="owner"))

    assert client.post(f"/api/cases/{case.id}/flags", headers=owner, json={"flag": "dispute", "reason": "r"}).status_code == 201
    settle()
    assert len(push_service.requests_to(gone)) == 1  # one delivery, no retry
    endpoints = [row["endpoint"] for row in client.get("/api/push/subscriptions", headers=auth(agent.user)).get_json()]
    assert endpoints == [alive]

    assert client.post(f"/api/cases/{case.id}/flags", headers=owner, json={"flag": "complaint", "reason": "r"}).status_code == 201
    settle()
    assert len(push_service.requests_to(gone)) == 1
    assert len(push_service.requests_to(alive)) == 2


def test_a_failing_push_service_is_retried_with_backoff(app, db, client, auth, make_user, make_agent, make_case,
                                                        make_visit, push_service, browser_keys, subscribe, settle):
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    keys = browser_keys()
    flaky = push_service.endpoint("flaky", 500, 503, 201)
    subscribe(agent.user, flaky, keys)

    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(make_user(role="owner")),
                           json={"flag": "dispute", "reason": "r"})
    assert response.status_code == 201
    settle()

    attempts = push_service.requests_to(flaky)
    assert len(attempts) == 3
    # every attempt is a complete, decryptable message (re-encrypted each time)
    assert {keys.decrypt(r.body)["case_id"] for r in attempts} == {case.id}
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == flaky))
    db.session.refresh(row)
    assert row.last_success_at is not None and row.failure_count == 0


def test_retries_are_bounded_and_counted(app, db, client, auth, make_user, make_agent, make_case, make_visit,
                                         push_service, browser_keys, subscribe, settle):
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    down = push_service.endpoint("down", 500)
    subscribe(agent.user, down, browser_keys())

    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(make_user(role="owner")),
                           json={"flag": "dispute", "reason": "r"})
    assert response.status_code == 201
    settle()

    assert len(push_service.requests_to(down)) == app.config["PUSH_MAX_ATTEMPTS"]
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == down))
    db.session.refresh(row)
    assert row.failure_count == 1
    assert row.last_failure_at is not None and "gave up after 3 attempts" in row.last_error


def test_an_unreachable_push_service_is_retried_and_never_fails_the_request(app, db, client, auth, make_user,
                                                                            make_agent, make_case, make_visit,
                                                                            browser_keys, subscribe, settle):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    subscribe(agent.user, f"http://127.0.0.1:{port}/push/nobody", browser_keys())

    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(make_user(role="owner")),
                           json={"flag": "dispute", "reason": "r"})
    assert response.status_code == 201
    settle()
    row = db.session.scalar(select(PushSubscription))
    db.session.refresh(row)
    assert row.failure_count == 1 and "ConnectionError" in row.last_error


def test_a_slow_push_service_does_not_hold_the_request(client, auth, make_user, make_agent, make_case, make_visit,
                                                       push_service, browser_keys, subscribe, settle):
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    keys = browser_keys()
    slow = push_service.endpoint("slow", delay_s=1.5)
    subscribe(agent.user, slow, keys)
    owner = auth(make_user(role="owner"))

    started = time.monotonic()
    response = client.post(f"/api/cases/{case.id}/flags", headers=owner, json={"flag": "dispute", "reason": "r"})
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 1.0, f"the request waited {elapsed:.2f}s for the push service"
    settle()
    assert keys.decrypt(_one(push_service, slow).body)["kind"] == "stop_work"


def test_a_phone_handed_to_another_agent_stops_getting_the_first_ones_messages(
        client, auth, make_user, make_agent, make_case, make_visit, push_service, browser_keys, subscribe, settle):
    first, second = make_agent(), make_agent()
    case = make_case()
    make_visit(case=case, agent=first, publish=True)
    shared = push_service.endpoint("shared-phone")
    keys = browser_keys()
    assert subscribe(first.user, shared, keys).status_code == 201
    assert subscribe(second.user, shared, keys).status_code == 200  # same browser, now the second agent's

    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(make_user(role="owner")),
                           json={"flag": "dispute", "reason": "r"})
    assert response.status_code == 201
    settle()
    assert push_service.requests_to(shared) == []


def test_a_send_that_cannot_even_be_signed_is_recorded_not_lost(app, db, client, auth, make_user, make_agent,
                                                                make_case, make_visit, push_service, browser_keys,
                                                                subscribe, settle, monkeypatch):
    agent = make_agent()
    case = make_case()
    make_visit(case=case, agent=agent, publish=True)
    endpoint = push_service.endpoint("unsigned")
    subscribe(agent.user, endpoint, browser_keys())
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "not a mailto or https URL")

    response = client.post(f"/api/cases/{case.id}/flags", headers=auth(make_user(role="owner")),
                           json={"flag": "dispute", "reason": "r"})
    assert response.status_code == 201
    settle()
    assert push_service.requests_to(endpoint) == []
    row = db.session.scalar(select(PushSubscription))
    db.session.refresh(row)
    assert row.failure_count == 1 and "sub" in row.last_error
