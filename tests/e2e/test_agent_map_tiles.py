"""The agent's street map: tiles from the configured server (a local stub here), kept for the
day's area right after the packet pull, and served from that cache when the network hangs
(a dead zone that still reports "online"), with the tile server's credit as text."""
import pytest

pytestmark = pytest.mark.e2e

LOADED = "() => document.querySelectorAll('#route-map img.leaflet-tile-loaded').length"
KEPT = "() => caches.open('doorstep-tiles').then((c) => c.keys()).then((k) => k.length)"


def test_day_tiles_are_kept_and_served_when_the_network_hangs(phone, agent_day, tile_stub):
    page = phone.page
    phone.login(agent_day.username)
    phone.wait_service_worker()
    page.wait_for_function(f"() => ({KEPT})().then((n) => n > 20)", timeout=30000)
    kept = page.evaluate(KEPT)
    assert len(tile_stub.requests) >= kept  # every kept tile came from the stub

    page.locator("button.seg", has_text="地图").click()
    page.wait_for_function(f"() => ({LOADED})() > 0")
    assert page.locator("#route-map .map-credit").text_content() == "© Stub tiles"
    phone.shot("agent-map-tiles")

    tile_stub.hang_s = 8  # online, but nothing comes back
    page.reload()
    page.locator("#route-map").wait_for()
    page.wait_for_function(f"() => ({LOADED})() > 0", timeout=7000)  # from the cache after the short time-out
    assert page.locator("#route-map.no-tiles").count() == 0
    phone.shot("agent-map-tiles-dead-zone")

