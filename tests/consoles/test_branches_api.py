"""The branches' route-planner settings over the API: every office role reads them, only the
admin changes them (each setting checked on its own, each change audited), and the next
build of a route plan uses what was saved."""
from datetime import date

import pytest
from sqlalchemy import select

SETTINGS = {"circuity", "speed_kmh", "balance_by", "balance_max_loss", "travel_cost", "at_home_model"}


@pytest.fixture
def admin_headers(make_user, auth):
    return auth(make_user(role="admin"))


def test_every_office_role_reads_the_settings(client, make_branch, make_user, auth):
    branch = make_branch(travel_cost=12.5, balance_by="stops")
    for role in ("dispatcher", "owner", "admin"):
        rows = client.get("/api/branches", headers=auth(make_user(role=role))).get_json()
        row = next(r for r in rows if r["id"] == branch.id)
        assert SETTINGS <= set(row)
        assert (row["circuity"], row["speed_kmh"], row["balance_by"], row["balance_max_loss"], row["travel_cost"], row["at_home_model"]) == (
            1.3, 25.0, "stops", 0.01, 12.5, True)


def test_only_the_admin_changes_them(client, make_branch, make_user, auth, admin_headers):
    branch = make_branch()
    for role in ("agent", "dispatcher", "owner"):
        response = client.patch(f"/api/branches/{branch.id}", json={"travel_cost": 5}, headers=auth(make_user(role=role)))
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    response = client.patch("/api/branches/999999", json={"travel_cost": 5}, headers=admin_headers)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert client.patch(f"/api/branches/{branch.id}", json={"travel_cost": 5}).status_code == 401


def test_a_change_is_saved_returned_and_audited_per_setting(client, db, make_branch, make_user, auth):
    from backend.auth.models import AuditEvent
    from backend.org.models import Branch

    admin = make_user(role="admin")
    branch = make_branch()
    body = {"circuity": 1.5, "speed_kmh": 30, "balance_by": "duration", "balance_max_loss": 0.05, "travel_cost": 40,
            "at_home_model": False}
    response = client.patch(f"/api/branches/{branch.id}", json=body, headers=auth(admin))
    assert response.status_code == 200, response.get_json()
    assert {k: response.get_json()[k] for k in SETTINGS} == body
    db.session.expire_all()
    saved = db.session.get(Branch, branch.id)
    assert (saved.circuity, saved.speed_kmh, saved.balance_by, saved.balance_max_loss, saved.travel_cost, saved.at_home_model) == (
        1.5, 30, "duration", 0.05, 40, False)
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "branch.update").order_by(AuditEvent.id)).all()
    assert {r.data["field"]: (r.data["old"], r.data["new"]) for r in rows} == {
        "circuity": (1.3, 1.5), "speed_kmh": (25.0, 30), "balance_by": (None, "duration"), "balance_max_loss": (0.01, 0.05),
        "travel_cost": (None, 40), "at_home_model": (True, False)}
    assert {(r.actor_id, r.target) for r in rows} == {(admin.id, f"branch:{branch.id}")}

    # back to "off" and "ties only": null; a setting sent unchanged is not a change
    response = client.patch(f"/api/branches/{branch.id}", json={"balance_by": None, "travel_cost": None, "circuity": 1.5},
                            headers=auth(admin))
    assert response.status_code == 200 and (response.get_json()["balance_by"], response.get_json()["travel_cost"]) == (None, None)
    later = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "branch.update", AuditEvent.id > rows[-1].id)).all()
    assert sorted(r.data["field"] for r in later) == ["balance_by", "travel_cost"]


@pytest.mark.parametrize("field, value, code", [
    ("circuity", 0.9, "between"), ("circuity", 3.01, "between"), ("circuity", "far", "not_a"), ("circuity", None, "required"),
    ("speed_kmh", 4, "between"), ("speed_kmh", 121, "between"),
    ("balance_by", "value", "one_of"), ("balance_by", 3, "not_a"),
    ("balance_max_loss", -0.01, "between"), ("balance_max_loss", 0.21, "between"),
    ("travel_cost", -1, "between"), ("travel_cost", 10001, "between"),
    ("at_home_model", "yes", "not_a"), ("at_home_model", None, "required"),
    ("colour", "red", "unknown_field"),
])
def test_each_setting_is_checked_on_its_own(client, db, make_branch, admin_headers, field, value, code):
    from backend.org.models import Branch

    branch = make_branch()
    valid = {"circuity": 2.0} if field == "speed_kmh" else {"speed_kmh": 40}  # a good setting beside the bad one
    response = client.patch(f"/api/branches/{branch.id}", json={field: value, **valid}, headers=admin_headers)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "validation_error"
    assert list(body["errors"]) == [field]
    assert [c["code"] for c in body["field_codes"][field]] == [code]
    db.session.expire_all()
    saved = db.session.get(Branch, branch.id)
    assert (saved.circuity, saved.speed_kmh) == (1.3, 25.0)  # nothing of a refused request is saved


def test_the_next_build_uses_what_was_saved(client, make_branch, make_agent, make_case, admin_headers):
    from backend.routing.builder import build_problem
    from backend.routing.problem import parse_problem

    day = date(2030, 1, 15)
    branch = make_branch()
    make_agent(branch=branch)
    make_case(branch=branch)
    before = build_problem(day=day, branch_id=branch.id)
    assert "travel_cost" not in before.problem and "balance" not in before.problem
    response = client.patch(f"/api/branches/{branch.id}", json={"travel_cost": 80, "balance_by": "stops", "circuity": 1.8},
                            headers=admin_headers)
    assert response.status_code == 200
    after = build_problem(day=day, branch_id=branch.id)
    assert parse_problem(after.problem).travel_cost == 80
    assert after.problem["balance"] == {"by": "stops", "max_loss": 0.01}
    assert after.meta["travel"]["circuity"] == 1.8


def test_the_endpoint_is_in_the_api_document(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/branches/{branch_id}"]["patch"]
    assert operation["x-roles"] == ["admin"]
    body = spec["components"]["schemas"]["BranchUpdate"]["properties"]
    assert set(body) == SETTINGS and body["circuity"]["minimum"] == 1.0 and body["balance_by"]["enum"] == ["stops", "duration", None]
