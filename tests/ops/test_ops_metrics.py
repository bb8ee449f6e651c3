"""/metrics: Prometheus text behind METRICS_TOKEN; requests by URL rule; the domain counters;
the RQ queue depth read at scrape time."""

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def scrape(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)

    def get() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return get


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_without_a_token(client, db):
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_request_latency_is_labelled_by_url_rule_not_raw_path(client, db, scrape, make_user, auth):
    headers = auth(make_user(role="owner"))
    before = scrape()
    for case_id in (101, 202, 303):
        client.get(f"/api/cases/{case_id}", headers=headers)
    after = scrape()
    key = dict(method="GET", endpoint="/api/cases/<int:case_id>")
    assert (
        _value(after, "doorstep_http_request_duration_seconds_count", **key)
        - _value(before, "doorstep_http_request_duration_seconds_count", **key)
        == 3
    )
    assert (
        _value(after, "doorstep_http_requests_total", status="404", **key)
        - _value(before, "doorstep_http_requests_total", status="404", **key)
        == 3
    )
    assert not any("/api/cases/101" in str(labels) for _, labels in after)


def test_sync_ops_and_packet_cache_are_counted(client, db, scrape, make_agent, make_case, make_visit, auth):
    agent = make_agent()
    visit = make_visit(case=make_case(branch=agent.branch), agent=agent)
    headers = auth(agent.user)
    before = scrape()
    for _ in range(2):  # built, then served kept
        assert client.get(f"/api/sync/packet?date={visit.date.isoformat()}", headers=headers).status_code == 200
    op = {
        "id": str(uuid.uuid4()),
        "type": "note.add",
        "at": "2026-01-05T10:00:00+08:00",
        "payload": {"case_id": visit.case_id, "visit_id": visit.id, "text": "left a card"},
    }
    for _ in range(2):  # applied, then a replay: duplicate
        client.post("/api/sync/ops", json={"device_id": "p1", "ops": [op]}, headers=headers)
    after = scrape()
    for name, labels in [
        ("doorstep_packet_cache_total", {"result": "miss"}),
        ("doorstep_packet_cache_total", {"result": "hit"}),
        ("doorstep_sync_ops_total", {"status": "applied"}),
        ("doorstep_sync_ops_total", {"status": "duplicate"}),
    ]:
        assert _value(after, name, **labels) - _value(before, name, **labels) == 1, (name, labels)


def test_route_solves_and_push_results_are_recorded(scrape, db):
    from backend import metrics

    before = scrape()
    metrics.observe_route_solve(3.2)
    metrics.count_push("gone")
    after = scrape()
    assert _value(after, "doorstep_route_plan_solve_seconds_count") - _value(before, "doorstep_route_plan_solve_seconds_count") == 1
    assert (
        _value(after, "doorstep_push_deliveries_total", result="gone") - _value(before, "doorstep_push_deliveries_total", result="gone")
        == 1
    )


def test_rq_queue_depth_is_read_at_scrape(rq_app, scrape, db, redis_url):
    from redis import Redis
    from rq import Queue

    queue = Queue("doorstep-rq-tests", connection=Redis.from_url(redis_url))
    for _ in range(3):
        queue.enqueue("builtins.print", "queued for the depth gauge")
    assert _value(scrape(), "doorstep_rq_queue_depth", queue="doorstep-rq-tests") == 3
    queue.empty()
    assert _value(scrape(), "doorstep_rq_queue_depth", queue="doorstep-rq-tests") == 0
