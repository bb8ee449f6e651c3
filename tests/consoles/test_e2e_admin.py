"""The admin's screens in Debian's Chromium, through the real sign-in page: users and agents
(create an agent, set skills, shift and cap, revoke devices, reset a password, disable),
policy settings with their history, script approval, the case and payment imports with the
per-row report; and routes a role may not open show the not-found view."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin_world(world, make_user, auth):
    admin = make_user(role="admin", password=world.password, display_name="系统管理员 Admin")
    auth(world.agent_user, password=world.password)  # a phone session to revoke
    return admin


def test_admin_manages_users_and_agents(desk, world, admin_world, db):
    from backend.auth.models import Token, User
    from backend.org.models import Agent

    page = desk.page
    desk.login(admin_world.username)
    expect(page.locator("h1")).to_have_text("用户与外访员")
    assert page.locator(".o-tab[aria-current=page]").text_content() == "用户"
    page.locator(f"tr[data-user-id='{world.agent_user.id}']").wait_for()

    form = page.locator("form.o-form")
    form.locator("input[name=username]").fill("agent_new")
    form.locator("input[name=display_name]").fill("周新人")
    form.locator("select[name=role]").select_option("agent")
    form.locator("input[name=password]").fill("new-agent-pass-9")
    form.locator("select[name=branch_id]").select_option(str(world.branch.id))
    form.locator("input[name=shift_start]").fill("10:00")
    form.locator("input[name=shift_end]").fill("19:30")
    form.locator("input[name=daily_cap]").fill("8")
    form.locator("button[type=submit]").click()
    expect(form.locator(".o-inline-msg")).to_have_text("已创建 周新人。")
    row = page.locator("tr", has_text="agent_new")
    row.wait_for()
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == "agent_new"))
    agent = db.session.scalar(select(Agent).where(Agent.user_id == user.id))
    assert (user.role, agent.branch_id, agent.shift_start_s, agent.shift_end_s, agent.daily_cap) == ("agent", world.branch.id, 36000, 70200, 8)
    desk.shot("admin-users")

    # the existing agent: skills, cap and shift in place
    existing = page.locator(f"tr[data-user-id='{world.agent_user.id}']")
    existing.locator("details summary").click()
    existing.locator("input[value=dialect]").check()
    existing.locator("input[aria-label='每日上限']").fill("5")
    existing.locator("button", has_text="保存").click()
    expect(page.locator(".o-view-users > .o-status")).to_have_text("外访员 陈外访 已保存。")
    db.session.expire_all()
    assert db.session.get(Agent, world.agent.id).skills == ["dialect"] and db.session.get(Agent, world.agent.id).daily_cap == 5

    existing = page.locator(f"tr[data-user-id='{world.agent_user.id}']")
    existing.locator("button", has_text="注销设备").click()
    expect(existing.locator(".o-inline-msg.ok")).to_have_text("已注销 1 个设备会话。")
    assert db.session.scalars(select(Token).where(Token.user_id == world.agent_user.id, Token.revoked_at.is_(None))).all() == []

    existing.locator("button", has_text="重置密码").click()  # too short: refused in place
    expect(existing.locator(".o-inline-msg.bad")).to_have_text("密码至少 8 位。")
    existing.locator("input[type=password]").fill("fresh-pass-123")
    existing.locator("button", has_text="重置密码").click()
    expect(existing.locator(".o-inline-msg.ok", has_text="密码已重置")).to_be_visible()
    db.session.expire_all()
    from backend.auth.services import check_password

    assert check_password(db.session.get(User, world.agent_user.id), "fresh-pass-123")

    owner_row = page.locator(f"tr[data-user-id='{world.owner.id}']")
    owner_row.locator("button", has_text="停用").click()
    expect(page.locator(f"tr[data-user-id='{world.owner.id}'] .o-badge.bad")).to_have_text("已停用")
    db.session.expire_all()
    assert db.session.get(User, world.owner.id).active is False

    # routes the admin may not open, or that do not exist, are not-found: never another screen
    for hash_ in ("#/office/queue", "#/office/nothing-here", "#/office/board"):
        page.goto(f"/{hash_}")
        expect(page.locator(".o-view-notfound h1")).to_have_text("页面不存在")
        assert page.locator(".o-queue-body, .o-board").count() == 0
    desk.shot("admin-notfound")


def test_admin_changes_a_policy_setting_and_reads_its_history(desk, admin_world, db):
    from backend.policy.models import PolicySetting

    page = desk.page
    desk.login(admin_world.username)
    page.locator(".o-tab", has_text="政策设置").click()
    setting = page.locator("details.o-setting[data-key=cap_7_days]")
    setting.locator("summary").click()
    setting.locator("textarea").fill("9")
    setting.locator("input").fill("区域试点 pilot")
    setting.locator("button", has_text="保存").click()
    bad = setting.locator(".o-inline-msg.bad")
    expect(bad).to_contain_text("0 to 7")  # the server's per-field message, in place
    assert [e for e in desk.errors if "422" not in e] == []
    desk.errors.clear()  # the browser logs the refused request itself
    setting.locator("textarea").fill("2")
    setting.locator("button", has_text="保存").click()
    expect(page.locator(".o-view-policy > .o-status")).to_have_text("cap_7_days 已保存。")
    change = db.session.scalars(select(PolicySetting).where(PolicySetting.key == "cap_7_days")).one()
    assert (change.jurisdiction, change.value, change.reason, change.changed_by_id) == ("CN", 2, "区域试点 pilot", admin_world.id)
    setting = page.locator("details.o-setting[data-key=cap_7_days]")
    setting.locator("summary").click()
    expect(setting.locator(".o-badge.warn")).to_have_text("已修改")
    assert setting.locator(".o-hint").text_content() == "每位债务人 7 天内的外访尝试次数上限"  # the meaning in the reader's language
    setting.locator("button", has_text="历史").click()
    expect(setting.locator(".o-history li")).to_contain_text("区域试点 pilot")
    assert "系统管理员" in setting.locator(".o-history li").first.text_content()
    desk.shot("admin-policy")


def test_admin_approves_and_rejects_scripts(desk, admin_world, db):
    from backend.policy.models import ScriptTemplate
    from backend.policy.services import list_script_versions, propose_script

    key = list_script_versions(locale="zh-CN")[0]["key"]
    good = propose_script(key=key, locale="zh-CN", text="您好，我们来商量一个您负担得起的还款安排。", actor_id=admin_world.id)
    other = propose_script(key=key, locale="en", text="Hello, we would like to agree a plan you can afford.", actor_id=admin_world.id)
    db.session.commit()
    page = desk.page
    desk.login(admin_world.username)
    page.goto("/#/office/scripts")
    card = page.locator(f"article[data-script-id='{good.id}']")
    card.locator("button", has_text="批准").click()
    expect(page.locator(".o-view-scripts > .o-status")).to_contain_text("已批准")
    rejecting = page.locator(f"article[data-script-id='{other.id}']")
    rejecting.locator("button", has_text="驳回").click()  # without a note: refused in place
    expect(rejecting.locator(".o-inline-msg.bad")).to_have_text("驳回须写备注。")
    rejecting.locator("input").fill("tone too informal")
    rejecting.locator("button", has_text="驳回").click()
    expect(page.locator(f"article[data-script-id='{other.id}']")).to_have_count(0)  # drafts only
    db.session.expire_all()
    assert db.session.get(ScriptTemplate, good.id).status == "approved"
    assert db.session.get(ScriptTemplate, other.id).status == "rejected"
    page.locator("select").select_option("approved")
    page.locator(f"article[data-script-id='{good.id}']").wait_for()
    desk.shot("admin-scripts")


CASES_CSV = """account_number,debtor_name,address_line,city,balance,overdue_amount,days_past_due,branch_code
ACC-7001,吴一,人民大道 100 号,上海,10000.00,2000.00,65,PDX
ACC-7002,郑二,南京东路 1 号,上海,8000.00,1500.00,70,PDX
ACC-7003,,福州路 9 号,上海,not-a-number,1.00,30,NOPE
"""


def test_admin_imports_cases_and_payments_with_a_per_row_report(desk, world, admin_world, db, tmp_path):
    from backend.cases.models import Account
    from backend.payments.models import Payment

    page = desk.page
    desk.login(admin_world.username)
    page.locator(".o-tab", has_text="导入").click()
    cases_file = tmp_path / "cases.csv"
    cases_file.write_text(CASES_CSV, encoding="utf-8")
    form = page.locator("form[data-import=cases]")
    form.locator("button[type=submit]").click()
    expect(form.locator(".o-status")).to_have_text("请先选择 CSV 文件。")
    form.locator("input[type=file]").set_input_files(str(cases_file))
    form.locator("button[type=submit]").click()
    expect(form.locator(".o-status")).to_contain_text("新建 2")
    expect(form.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    rejected = form.locator("tr[data-row='4']")
    expect(rejected).to_contain_text("debtor_name")
    assert "branch_code" in rejected.text_content() or "balance" in rejected.text_content()
    desk.shot("admin-import-cases")
    db.session.expire_all()
    account = db.session.scalar(select(Account).where(Account.account_number == "ACC-7001"))
    assert account is not None

    pay_file = tmp_path / "payments.csv"
    pay_file.write_text(f"reference,account_number,amount,paid_on\nBANK-77,ACC-7001,500.00,{world.day.isoformat()}\nBANK-78,ACC-7002,-1,2024-01-01\n", encoding="utf-8")
    form = page.locator("form[data-import=payments]")
    form.locator("input[type=file]").set_input_files(str(pay_file))
    form.locator("button[type=submit]").click()
    expect(form.locator(".o-status")).to_contain_text("新建 1")
    expect(form.locator("tr[data-row='3']")).to_contain_text("amount")
    db.session.expire_all()
    assert db.session.scalar(select(Payment).where(Payment.reference == "BANK-77")).amount == 500
    desk.shot("admin-import-payments")
