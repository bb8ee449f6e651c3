"""Every admin action leaves an audit row naming who, what and on what; the day packet on an
agent's phone carries the masked card only (R15: personal data minimised on devices)."""
from datetime import date, timedelta

from sqlalchemy import select

from backend.auth.models import AuditEvent


def test_admin_actions_are_audited(client, db, make_user, make_branch, auth):
    admin = make_user(role="admin")
    headers = auth(admin)
    branch = make_branch()

    user = client.post("/api/users", json={"username": "newagent", "password": "long-enough-1", "role": "agent"},
                       headers=headers).get_json()
    assert client.patch(f"/api/users/{user['id']}", json={"display_name": "New Agent"}, headers=headers).status_code == 200
    agent = client.post("/api/agents", json={"user_id": user["id"], "branch_id": branch.id}, headers=headers).get_json()
    assert client.patch(f"/api/agents/{agent['id']}", json={"daily_cap": 7}, headers=headers).status_code == 200
    assert client.post(f"/api/agents/{agent['id']}/revoke-tokens", json={"reason": "phone lost"},
                       headers=headers).status_code == 200
    assert client.put("/api/policy/settings/CN/grace_days", json={"value": 5, "reason": "committee"},
                      headers=headers).status_code == 200
    text = "{debtor_name}您好，我是{organisation}的{agent_name}，今天来了解您的近况，一起想办法。"
    draft = client.post("/api/policy/scripts", json={"key": "empathy.opening", "locale": "zh-CN", "text": text},
                        headers=headers).get_json()
    assert client.post(f"/api/policy/scripts/{draft['id']}/decision", json={"decision": "approve"},
                       headers=headers).status_code == 200

    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(r.action, r.target) for r in rows] == [
        ("user.create", f"user:{user['id']}"),
        ("user.update", f"user:{user['id']}"),
        ("agent.create", f"user:{user['id']}"),
        ("agent.update", f"agent:{agent['id']}"),
        ("agent.revoke_tokens", f"agent:{agent['id']}"),
        ("policy.setting", "CN/grace_days"),
        ("script.propose", f"script:{draft['id']}"),
        ("script.approve", f"script:{draft['id']}"),
    ]
    assert all(r.actor_id == admin.id and r.at is not None for r in rows)
    assert rows[5].data == {"value": 5, "reason": "committee"}


def test_the_day_packet_carries_the_masked_card_never_the_account_number(client, make_visit, make_case, auth):
    case = make_case()
    day = date.today() + timedelta(days=1)
    visit = make_visit(case=case, day=day)
    response = client.get(f"/api/sync/packet?date={day.isoformat()}", headers=auth(visit.agent.user))
    assert response.status_code == 200, response.get_json()
    assert case.account.account_number not in response.get_data(as_text=True)
    brief = response.get_json()["visits"][0]
    assert brief["account"]["card_masked"] == "**** **** **** 4242"
    assert "account_number" not in brief["account"] and "phone" not in brief["debtor"]
    # and the case API answers an agent with the masked card only
    agent_case = client.get(f"/api/cases/{case.id}", headers=auth(visit.agent.user)).get_json()
    assert agent_case["account"]["account_number"] is None
