"""Finding cases and follow-ups: the case search by name or account reference with the other
filters and paging, and follow-ups by status, branch, owner, agent and due date, each with
whose case it is and who made the promise."""
from datetime import timedelta

import pytest


@pytest.fixture
def follow_ups(db, world, make_branch, make_case):
    """Two open follow-ups in the world's branch (one overdue from the kept promise's visit, one
    due later) and one done; one open in another branch."""
    from backend.common import utcnow
    from backend.payments.models import FollowUp

    today = world.day + timedelta(days=10)
    other = make_case(branch=make_branch(code="XB"), debtor_name="孙别处")
    rows = [
        FollowUp(case_id=world.cases[2].id, plan_id=world.kept_plan.id, kind="visit", due_on=today - timedelta(days=2), reason="broken promise"),
        FollowUp(case_id=world.cases[0].id, kind="call", due_on=today + timedelta(days=3), reason="partly kept"),
        FollowUp(case_id=world.cases[1].id, kind="review", due_on=today - timedelta(days=5), reason="review", status="done",
                 done_at=utcnow(), done_by_id=world.owner.id),
        FollowUp(case_id=other.id, kind="call", due_on=today, reason="elsewhere"),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return {"today": today, "rows": rows}


def test_cases_are_found_by_name_or_reference_with_filters_and_pages(client, world, auth):
    headers = auth(world.owner, password=world.password)
    found = client.get("/api/cases?q=李建", headers=headers).get_json()
    assert [c["debtor"]["name"] for c in found["items"]] == ["李建国"]
    number = world.cases[2].account.account_number
    assert [c["id"] for c in client.get(f"/api/cases?q={number[-6:]}", headers=headers).get_json()["items"]] == [world.cases[2].id]
    page = client.get(f"/api/cases?branch_id={world.branch.id}&owner_id={world.owner.id}&stage=field&per_page=2&page=2", headers=headers).get_json()
    assert (page["total"], len(page["items"]), page["page"]) == (3, 1, 2)
    assert client.get("/api/cases?q=%25", headers=headers).get_json()["total"] == 0  # a wildcard is a character
    assert client.get("/api/cases?stage=nowhere", headers=headers).status_code == 422


def test_follow_ups_by_due_date_branch_agent_and_status(client, world, auth, follow_ups):
    headers = auth(world.dispatcher, password=world.password)
    today = follow_ups["today"].isoformat()
    overdue = client.get(f"/api/follow-ups?due_before={today}&branch_id={world.branch.id}", headers=headers).get_json()
    assert [f["id"] for f in overdue["items"]] == [follow_ups["rows"][0].id]
    item = overdue["items"][0]
    assert (item["debtor_name"], item["agent"], item["agent_id"], item["branch_id"]) == ("张海燕", "陈外访", world.agent.id, world.branch.id)
    due = client.get(f"/api/follow-ups?due_from={today}", headers=headers).get_json()
    assert {f["debtor_name"] for f in due["items"]} == {"王秀英", "孙别处"}
    mine = client.get(f"/api/follow-ups?owner_id={world.owner.id}", headers=headers).get_json()
    assert mine["total"] == 2
    by_agent = client.get(f"/api/follow-ups?agent_id={world.agent.id}", headers=headers).get_json()
    assert [f["id"] for f in by_agent["items"]] == [follow_ups["rows"][0].id]
    done = client.get("/api/follow-ups?status=done", headers=headers).get_json()
    assert [(f["debtor_name"], f["done_by"]) for f in done["items"]] == [("李建国", "案件主管 Owner")]
    bad = client.get("/api/follow-ups?due_before=tomorrow", headers=headers)
    assert bad.status_code == 422 and "due_before" in bad.get_json()["errors"]


def test_timeline_events_name_their_actor(client, world, auth):
    headers = auth(world.owner, password=world.password)
    events = client.get(f"/api/cases/{world.cases[0].id}/timeline", headers=headers).get_json()["events"]
    signed = next(e for e in events if e["kind"] == "plan.signed")
    assert (signed["actor_id"], signed["actor"]) == (world.agent_user.id, "陈外访")
    assert all(e["actor"] is None for e in events if e["actor_id"] is None)
