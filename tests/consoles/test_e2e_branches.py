"""The admin's branches screen in Debian's Chromium, through the real sign-in page: balance
work by stops and put a price on driving, save, reload and see both kept; a value the server
refuses shows its message under the setting, and nothing is saved; on a phone (390 px) the
screen never scrolls sideways."""
import pytest
from playwright.sync_api import expect

from tests.consoles.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_admin_sets_a_branch_route_planning(desk, db, make_user, make_branch):
    from backend.auth.models import AuditEvent
    from backend.org.models import Branch

    admin = make_user(role="admin", password=PASSWORD)
    branch = make_branch(name="浦东网点")
    db.session.commit()
    page = desk.page
    desk.login(admin.username)
    page.locator(".o-tab", has_text="网点").click()
    expect(page.locator("h1")).to_have_text("网点：路线规划")
    form = page.locator(f"form[data-branch-id='{branch.id}']")
    expect(form.locator("select[name=balance_by]")).to_have_value("")
    expect(form.locator("input[name=travel_cost]")).to_have_value("")
    expect(form.locator("input[name=at_home_model]")).to_be_checked()
    expect(form.get_by_text("一小时驾驶折合的优先级分数", exact=False)).to_be_visible()  # what the setting does

    form.get_by_label("均衡工作量").select_option("stops")
    form.get_by_label("每小时驾驶的代价").fill("30")
    form.locator("button[type=submit]").click()
    form = page.locator(f"form[data-branch-id='{branch.id}']")
    expect(form.locator(".o-inline-msg.ok")).to_have_text("浦东网点 的设置已保存；下一次路线规划将使用。")
    db.session.expire_all()
    saved = db.session.get(Branch, branch.id)
    assert (saved.balance_by, saved.travel_cost, saved.circuity) == ("stops", 30.0, 1.3)
    assert {e.data["field"] for e in db.session.query(AuditEvent).filter_by(action="branch.update")} == {"balance_by", "travel_cost"}

    page.reload()
    form = page.locator(f"form[data-branch-id='{branch.id}']")
    expect(form.locator("select[name=balance_by]")).to_have_value("stops")
    expect(form.locator("input[name=travel_cost]")).to_have_value("30")
    desk.shot("admin-branches")

    # a circuity out of range: the server's message under the setting, nothing saved
    form.get_by_label("绕行系数").fill("5")
    form.locator("button[type=submit]").click()
    error = form.locator(".o-field-error[data-field=circuity]")
    expect(error).to_have_text("绕行系数: 须在 1.0 至 3.0 之间")
    expect(form.locator("input[name=circuity]")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".o-inline-msg.bad")).to_have_text("未保存：请检查下方标出的设置。")
    expect(form.locator(".o-field-error[data-field=travel_cost]")).to_be_empty()
    db.session.expire_all()
    assert db.session.get(Branch, branch.id).circuity == 1.3
    assert [e for e in desk.errors if "422" not in e] == []
    desk.errors.clear()  # the browser logs the refused request itself

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator(f"form[data-branch-id='{branch.id}']").wait_for()
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    desk.shot("phone-admin-branches", full=True)
