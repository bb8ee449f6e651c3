"""Money at the door in the office, in Chromium at 1440 px: the owner's queue shows cash held past
the custody limit and disputed collections, each with its receipt; the KPI screen shows the cash
each agent holds now and how much of it is stale. Screenshots go to test-artifacts/."""
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def money(db, world):
    """Cash taken four days ago and never banked, a transfer the bank's feed disputed, and cash
    taken an hour ago (in hand, not yet stale)."""
    from backend.common import utcnow
    from backend.payments.collections import record_collection

    def take(visit, amount, method, ago, reference=None):
        return record_collection(
            case=visit.case, visit_id=visit.id, agent_id=world.agent.id, actor_id=world.agent_user.id,
            amount=Decimal(amount), currency="CNY", method=method, reference=reference,
            collected_at=utcnow() - ago, op_id=f"op-{visit.id}-{method}",
        )

    stale = take(world.visits[1], "300.00", "cash", timedelta(days=4))
    disputed = take(world.visits[0], "500.00", "bank_transfer", timedelta(days=2), reference="TX-881")
    disputed.status, disputed.dispute_reason = "disputed", "the bank's row says 450.00, not 500.00"
    fresh = take(world.visits[2], "120.00", "cash", timedelta(hours=1))
    db.session.commit()
    return stale, disputed, fresh


def test_owner_sees_money_alerts_in_the_queue_and_cash_in_hand_per_agent(desk, world, money):
    stale, disputed, _fresh = money
    page = desk.page
    desk.login(world.owner.username)
    page.locator(".o-queue-body tr[data-outcome-id]").first.wait_for()
    expect(page.locator("[data-section=money] .o-count")).to_have_text("2")
    page.locator("[data-section=money]").click()
    held = page.locator(f"tr[data-kind=cash_held][data-collection-id='{stale.id}']")
    expect(held).to_contain_text("已持有 4 天，未存入银行")
    expect(held).to_contain_text(stale.receipt_number)
    expect(held).to_contain_text("现金未存入")
    assert "陈外访" in held.text_content() and "300" in held.text_content()
    argued = page.locator(f"tr[data-kind=disputed][data-collection-id='{disputed.id}']")
    expect(argued).to_contain_text("450.00, not 500.00")
    expect(argued).to_contain_text("银行转账")
    desk.shot("owner-queue-money")

    served = []
    page.route(f"**/api/collections/{stale.id}/receipt.pdf", lambda route: (served.append(route.request.url), route.continue_()))
    with page.expect_popup() as popup:
        held.locator(f"[data-receipt='{stale.id}']").click()
    popup.value.wait_for_url(lambda url: url.startswith("blob:"), wait_until="commit")
    assert served
    popup.value.close()

    page.goto("/#/office/kpis")
    row = page.locator(f".o-cash tr[data-agent-id='{world.agent.id}']")
    row.wait_for()
    cells = row.locator("td")
    # 300 held four days (stale) and 120 taken an hour ago: 420 in hand, two receipts
    expect(cells.nth(0)).to_have_text("陈外访")
    assert "420" in cells.nth(1).text_content() and cells.nth(2).text_content() == "2"
    assert "300" in cells.nth(3).text_content() and "1 笔" in cells.nth(3).text_content()
    # the range's money at the door: three receipts of the world's visits, 500 of them disputed, none confirmed
    door = page.locator("[data-kpi=door_collected]")
    assert "920" in door.locator(".o-kpi-value").text_content()
    expect(door.locator(".o-sub")).to_contain_text("3 张收据")
    assert "500" in door.locator(".o-sub").text_content()
    branch = page.locator(f".o-branches tr[data-branch-id='{world.branch.id}'] td")
    assert "920" in branch.nth(2).text_content() and branch.nth(4).text_content() == "0%"
    # cost per visit: km and hours at the CN rates, in yuan
    assert "¥" in branch.nth(5).text_content() or "￥" in branch.nth(5).text_content()
    assert page.locator("[data-kpi=cost_per_visit] .o-kpi-value").text_content() != "—"
    expect(page.locator(".o-door-money svg")).to_be_visible()
    desk.shot("owner-kpis-cash", full=True)
