"""Owners and dispatchers find their work in Chromium: the case list searched by name, account
and filters, paged, opening a case; the follow-ups view (overdue, due, done) by branch and
agent, closed from the screen."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def many_cases(db, world, make_case):
    for n in range(30):
        make_case(branch=world.branch, debtor_name=f"批量{n:02d}", owner_id=world.owner.id)
    db.session.commit()


def test_owner_searches_cases_pages_and_opens_one(desk, world, many_cases):
    page = desk.page
    desk.login(world.owner.username)
    page.locator(".o-tab", has_text="案件").click()
    expect(page.locator(".o-view-cases .o-status")).to_have_text("找到 33 个案件。")  # only my cases, by default
    assert page.locator("tbody tr").count() == 25
    page.locator(".o-pager button", has_text="下一页").click()
    expect(page.locator(".o-pager .o-sub")).to_have_text("第 2 / 2 页")
    assert page.locator("tbody tr").count() == 8
    page.locator("input[name=q]").fill("李建")
    page.locator("form.o-filters button[type=submit]").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    number = world.cases[2].account.account_number
    page.locator("input[name=q]").fill(number)
    page.locator("select[name=stage]").select_option("field")
    page.locator("select[name=branch_id]").select_option(str(world.branch.id))
    page.locator("form.o-filters button[type=submit]").click()
    expect(page.locator(f"tr[data-case-id='{world.cases[2].id}']")).to_be_visible()
    assert page.locator("tbody tr").count() == 1
    desk.shot("owner-cases")
    page.locator("select[name=flag]").select_option("dispute")
    page.locator("form.o-filters button[type=submit]").click()
    expect(page.locator(".o-view-cases .o-empty")).to_have_text("没有匹配的案件。")
    page.locator("select[name=flag]").select_option("")
    page.locator("form.o-filters button[type=submit]").click()
    page.locator(f"tr[data-case-id='{world.cases[2].id}'] a").click()
    expect(page.locator(".o-view-case h1")).to_contain_text("张海燕")
    expect(page.locator(".o-view-case h1")).to_be_focused()  # focus follows the route


@pytest.fixture
def follow_ups(db, world):
    from datetime import date

    from backend.payments.models import FollowUp

    today = date.today()
    rows = [
        FollowUp(case_id=world.cases[2].id, plan_id=world.kept_plan.id, kind="visit", due_on=today - timedelta(days=2), reason="承诺未兑现 broken promise"),
        FollowUp(case_id=world.cases[0].id, kind="call", due_on=today + timedelta(days=3), reason="部分兑现 partly kept"),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_dispatcher_works_follow_ups(desk, world, follow_ups, db):
    from backend.payments.models import FollowUp

    page = desk.page
    desk.login(world.dispatcher.username)
    page.locator(".o-tab", has_text="跟进").click()
    overdue = page.locator(f"tr[data-follow-up-id='{follow_ups[0].id}']")
    expect(overdue).to_contain_text("张海燕")
    assert "陈外访" in overdue.text_content()
    assert page.locator("[data-tab=overdue] .o-count").text_content() == "1"
    assert page.locator("[data-tab=due] .o-count").text_content() == "1"
    desk.shot("dispatcher-followups")
    page.locator("select").nth(1).select_option(str(world.agent.id))
    expect(page.locator("[data-tab=due] .o-count")).to_have_text("0")  # the call has no promising agent
    overdue.locator("button", has_text="完成").click()
    expect(page.locator(".o-view-followups > .o-status")).to_have_text("张海燕 的跟进已完成。")
    expect(page.locator("[data-tab=overdue] .o-count")).to_have_text("0")
    page.locator("[data-tab=done]").click()
    expect(page.locator(f"tr[data-follow-up-id='{follow_ups[0].id}']")).to_contain_text("调度 Dispatcher")
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_ups[0].id).status == "done"


def test_owner_reads_the_timeline_in_sentences(desk, world, db):
    from backend.cases.services import append_event

    case = world.cases[0]
    append_event(case=case, kind="flag.set", actor_id=world.owner.id, data={"flag": "dispute", "reason": "账单有误"})
    append_event(case=case, kind="case.unheard_of", actor_id=None, data={"x": 1})  # a kind no catalogue knows yet
    db.session.commit()
    page = desk.page
    desk.login(world.owner.username)
    page.goto(f"/#/office/case/{case.id}")
    expect(page.locator(".o-chain.ok")).to_contain_text("哈希链已验证")
    lines = page.locator(".o-event-text")
    expect(lines.first).to_have_text("系统：case.unheard_of")  # newest first
    texts = lines.all_text_contents()
    assert f"陈外访 收取了债务人对方案 #{world.plan.id} 的签名。" in texts
    assert "案件主管 Owner 设置了阻断标记“异议”：账单有误" in texts
    assert not any("{" in text or "_" in text for text in texts[1:])  # no codes or placeholders in the sentences
    event = page.locator(".o-event").nth(1)
    assert not event.locator(".o-raw").is_visible()  # hashes and raw data wait behind "details"
    event.locator("summary").click()
    expect(event.locator(".o-raw")).to_contain_text('"flag": "dispute"')
    assert "→" in event.locator(".o-event-details").text_content()
    desk.shot("owner-timeline")
    page.locator(".o-top button", has_text="English").click()
    expect(page.locator(".o-event-text", has_text="collected the debtor's signature")).to_have_text(
        f"陈外访 collected the debtor's signature on plan #{world.plan.id}.")
