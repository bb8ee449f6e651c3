"""JOBS_BACKEND=rq: background work leaves the web process through a real Redis and runs in real
worker processes on the same database (the production layout: an urgent worker for push and
packets, one for every queue) — a route plan's solve, a push with a retry that waits on the
queue's scheduler (a timer would die with RQ's work-horse), and a push that does not wait
behind a long solve."""
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend import jobs
from backend.push.models import PushSubscription
from backend.push.sender import queue_push
from tests.push.push_service import BrowserKeys, push_service  # noqa: F401 (push_service is a fixture)


def test_a_route_plan_is_solved_by_the_rq_worker(client, db, rq_workers, make_branch, make_agent, make_case,
                                                  make_user, auth):
    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    agent = make_agent(branch=branch, daily_cap=6)
    for i in range(4):
        make_case(branch=branch, lat=31.23 + 0.01 * i, lon=121.47 + 0.005 * i, days_past_due=60 + 10 * i)
    headers = auth(make_user(role="dispatcher"))
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)

    response = client.post("/api/route-plans", json={"date": day.isoformat(), "branch_id": branch.id, "seconds": 1},
                           headers=headers)
    assert response.status_code == 202, response.get_json()
    plan_id = response.get_json()["id"]
    assert jobs.wait_idle(timeout=90), "the RQ job did not finish"

    plan = client.get(f"/api/route-plans/{plan_id}", headers=headers).get_json()
    assert plan["status"] == "draft", plan.get("error")
    stops = [s for route in plan["routes"] if route["agent_id"] == agent.id for s in route["stops"]]
    assert len(stops) == 4
    assert all(worker.poll() is None for worker in rq_workers.values()), "a worker died"


def test_a_push_goes_through_the_queue_and_its_retry_through_the_scheduler(client, db, rq_workers, make_agent,
                                                                           auth, push_service):
    agent = make_agent()
    endpoint = push_service.endpoint("phone", 503, 201)  # a 503 first: the retry must wait on the scheduler
    keys = BrowserKeys()
    body = {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    assert client.post("/api/push/subscriptions", json=body, headers=auth(agent.user)).status_code == 201

    queue_push(kind="stop_work", user_id=agent.user_id, data={"case_id": 1})
    db.session.commit()  # the hand-off happens after the commit, onto Redis

    deadline = time.monotonic() + 30
    while len(push_service.requests_to(endpoint)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(push_service.requests_to(endpoint)) == 2, "the 503 was not retried through the queue"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db.session.expire_all()
        subscription = db.session.scalar(select(PushSubscription))
        if subscription.last_success_at is not None:
            break
        time.sleep(0.1)
    assert subscription.last_success_at is not None and subscription.failure_count == 0
    assert subscription.last_failure_at is not None  # the 503 was recorded by the first attempt


def test_a_push_is_delivered_while_a_long_solve_occupies_the_solves_worker(client, db, rq_workers, make_branch,
                                                                          make_agent, make_case, make_user, auth,
                                                                          push_service):
    from backend.routing.models import RoutePlan

    branch = make_branch(timezone="Asia/Shanghai", lat=31.23, lon=121.47)
    agent = make_agent(branch=branch, daily_cap=6)
    for i in range(4):
        make_case(branch=branch, lat=31.23 + 0.01 * i, lon=121.47 + 0.005 * i, days_past_due=60 + 10 * i)
    endpoint = push_service.endpoint("phone")
    keys = BrowserKeys()
    body = {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    assert client.post("/api/push/subscriptions", json=body, headers=auth(agent.user)).status_code == 201
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    budget = 20
    response = client.post("/api/route-plans", json={"date": day.isoformat(), "branch_id": branch.id, "seconds": budget},
                           headers=auth(make_user(role="dispatcher")))
    assert response.status_code == 202, response.get_json()
    plan_id = response.get_json()["id"]

    def plan_status():
        db.session.expire_all()
        status = db.session.get(RoutePlan, plan_id).status
        db.session.commit()
        return status

    deadline = time.monotonic() + 120  # a worker forked on a loaded machine takes a while to start a job
    while plan_status() != "solving":  # a worker has taken the solve
        assert time.monotonic() < deadline, "no worker took the solve"
        time.sleep(0.1)

    queue_push(kind="stop_work", user_id=agent.user_id, data={"case_id": 1})
    db.session.commit()
    deadline = time.monotonic() + 10
    while not push_service.requests_to(endpoint):
        assert time.monotonic() < deadline, "the push waited behind the solve"
        time.sleep(0.05)
    assert plan_status() == "solving", "the solve ended before the push went out: the test proved nothing"
    assert keys.decrypt(push_service.requests_to(endpoint)[0].body)["kind"] == "stop_work"

    assert jobs.wait_idle(timeout=budget + 60), "the solve did not finish"
    assert plan_status() == "draft"


def test_imported_addresses_are_geocoded_by_the_worker_one_job_at_a_time(client, db, rq_workers, make_branch,
                                                                        make_user, auth):
    """Two imports queue two geocoding jobs; RQ's rate limit lets one run at a time. The worker
    has no geocoder here: the database cache answers, as it does for a repeated address."""
    import io

    from rq.rate_limit import RateLimitRegistry

    from backend.cases.models import Case
    from backend.geo.models import GeocodeCache

    make_branch(code="PD")
    for n in range(2):
        db.session.add(GeocodeCache(query=f"浦东大道{n}号, 上海, CN", provider="nominatim", lat=31.2 + n / 100,
                                    lon=121.5, found=True))
    db.session.commit()
    headers = auth(make_user(role="owner"))
    case_ids = []
    for n in range(2):
        csv = ("account_number,debtor_name,address_line,city,country,balance,overdue_amount,days_past_due,branch_code\n"
               f"6222300{n},债务人{n},浦东大道{n}号,上海,CN,3000,1000,50,PD\n")
        response = client.post("/api/cases/import", data={"file": (io.BytesIO(csv.encode()), "cases.csv")},
                               headers=headers, content_type="multipart/form-data")
        assert response.get_json()["needs_geocode"] == 1
        case_ids.append(response.get_json()["rows"][0]["case_id"])
    (queue,) = jobs.rq_queues(names=("geocode",))
    assert RateLimitRegistry(queue.name, queue.connection).concurrency == 1

    assert jobs.wait_idle(timeout=60), "the geocoding jobs did not finish"
    db.session.expire_all()
    located = [db.session.get(Case, case_id).account.debtor.addresses[0] for case_id in case_ids]
    assert [(a.geocode_status, a.lat) for a in located] == [("geocoded", 31.2), ("geocoded", 31.21)]
