"""Every default is a named setting per jurisdiction; an admin changes it with a reason; who and when are kept."""
import pytest


@pytest.fixture
def admin_headers(auth, make_user):
    return auth(make_user(role="admin"))


def test_settings_list_shows_defaults_per_profile(client, auth, make_user):
    response = client.get("/api/policy/settings?jurisdiction=IE", headers=auth(make_user(role="owner")))
    assert response.status_code == 200
    settings = {s["key"]: s for s in response.get_json()}
    assert settings["visiting_hours"]["value"]["6"] is None  # no Sunday visits in Ireland
    assert settings["visiting_hours"]["source"] == "default" and settings["visiting_hours"]["rule"] == "R1"
    assert "2026-12-25" in settings["holidays"]["value"]
    assert settings["grace_days"]["scope"] == "plan"


def test_admin_changes_a_setting_and_the_history_keeps_who_and_when(client, admin_headers):
    response = client.put("/api/policy/settings/CN/grace_days", json={"value": 5, "reason": "credit committee 2026-11"}, headers=admin_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["value"] == 5 and body["source"] == "changed" and body["changed_by_id"] and body["changed_at"].endswith("Z")
    client.put("/api/policy/settings/CN/grace_days", json={"value": 10, "reason": "reverted"}, headers=admin_headers)
    history = client.get("/api/policy/settings/CN/grace_days/history", headers=admin_headers).get_json()
    assert [h["value"] for h in history] == [10, 5]
    assert client.get("/api/policy/plan-policy?jurisdiction=CN", headers=admin_headers).get_json()["grace_days"] == 10
    # other profiles keep their own value
    assert client.get("/api/policy/plan-policy?jurisdiction=US", headers=admin_headers).get_json()["grace_days"] == 7


@pytest.mark.parametrize("key,value", [
    ("grace_days", -1),
    ("grace_days", "7"),
    ("visiting_hours", {"0": ["09:00", "08:00"]}),
    ("blocking_flags", ["dispute", "made_up"]),
    ("discount_authority_pct", {"agent": "120", "owner": "25", "admin": "40"}),
    ("holidays", ["2026-13-01"]),
])
def test_bad_values_get_a_field_message(client, admin_headers, key, value):
    response = client.put(f"/api/policy/settings/CN/{key}", json={"value": value, "reason": "trying"}, headers=admin_headers)
    assert response.status_code == 422 and response.get_json()["errors"]["value"]


def test_unknown_setting_or_profile_is_404(client, admin_headers):
    assert client.put("/api/policy/settings/CN/nope", json={"value": 1, "reason": "x" * 3}, headers=admin_headers).status_code == 404
    assert client.put("/api/policy/settings/FR/grace_days", json={"value": 1, "reason": "xxx"}, headers=admin_headers).status_code == 404


@pytest.mark.parametrize("role", ["owner", "dispatcher", "agent"])
def test_only_admins_change_settings(client, auth, make_user, make_agent, role):
    user = make_agent().user if role == "agent" else make_user(role=role)
    response = client.put("/api/policy/settings/CN/grace_days", json={"value": 3, "reason": "want"}, headers=auth(user))
    assert response.status_code == 403


def test_rules_endpoint_ships_the_snapshot(client, auth, make_agent):
    agent = make_agent()
    body = client.get("/api/policy/rules?jurisdiction=US", headers=auth(agent.user)).get_json()
    assert body["visiting_hours"]["0"] == ["08:00", "21:00"] and body["jurisdiction"] == "US"
