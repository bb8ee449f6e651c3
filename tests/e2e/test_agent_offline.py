"""The agent's day survives losing the network: first sign-in online, then offline from a cold reload."""


def test_route_is_there_offline_after_first_login(phone, agent_day):
    page = phone.page
    page.goto("/")
    phone.shot("01-login")
    phone.login(agent_day.username)
    names = [s[0] for s in __import__("tests.e2e.conftest", fromlist=["STOPS"]).STOPS]
    for name in names:
        assert page.locator("ol.stops .name", has_text=name).count() == 1
    phone.shot("02-today-online")
    phone.wait_service_worker()

    phone.context.set_offline(True)
    page.reload()
    page.locator("ol.stops").wait_for()
    assert page.locator("ol.stops > li").count() == 3
    assert [page.locator("ol.stops .name").nth(i).inner_text() for i in range(3)] == names
    phone.shot("03-today-offline")
    page.locator(".statusline .dot.off").wait_for()
    phone.shot("03-today-offline")

    page.get_by_role("button", name="地图").click()
    page.locator(".map .map-stop").first.wait_for()
    assert page.locator(".map .map-stop").count() == 3
    assert page.locator(".map.no-tiles").count() == 1
    phone.shot("04-map-offline")
