"""Names that look like markup stay text on the agent's phone: the Today list, the route map
and the visit screen show `<img src=/x id=p>` as characters — no element is made from it and
nothing asks the server for /x. (The dispatcher's board: tests/consoles/test_e2e_office.py.)"""

MARKUP = "<img src=/x id=p>"
# Every Leaflet map the page makes, so a test can open each layer's tooltip as a hover would.
TRACK_MAPS = """(() => {
  let leaflet;
  Object.defineProperty(window, 'L', { configurable: true, get: () => leaflet, set: (value) => {
    leaflet = value;
    if (value && value.Map && !value.__tracked) {
      value.__tracked = true;
      value.Map.addInitHook(function () { (window.__maps = window.__maps || []).push(this); });
    }
  } });
})()"""
INJECTED = "() => document.querySelectorAll('#p, img[src=\"/x\"], #q, b#q').length"


def test_markup_in_names_is_text_on_the_list_the_map_and_the_visit(phone, agent_day, db):
    case = agent_day.cases[0]
    case.debtor.name = f"{MARKUP}王"
    agent_day.user.display_name = f"<b id=q>{MARKUP}</b>"
    db.session.commit()
    page = phone.page
    asked = []
    page.on("request", lambda request: asked.append(request.url) if request.url.split("?")[0].endswith("/x") else None)
    page.add_init_script(TRACK_MAPS)

    phone.login(agent_day.username)
    page.locator("ol.stops").get_by_text(f"{MARKUP}王").wait_for()
    assert page.locator(".topbar .who").text_content() == f"<b id=q>{MARKUP}</b>"

    page.locator(".segmented button").nth(1).click()  # the map
    page.locator(".map-stop").first.wait_for()
    page.wait_for_function("() => (window.__maps || []).length > 0")
    assert page.locator(".map-stop span").all_text_contents()[:3] == ["1", "2", "3"]

    page.goto(f"/#/visit/{agent_day.visits[0].id}")
    page.locator(".visit-head h1").wait_for()
    assert page.locator(".visit-head h1").text_content().endswith(f"{MARKUP}王")
    assert page.evaluate(INJECTED) == 0
    assert asked == []
