"""The PWA subscribes in Debian's Chromium and the server keeps the subscription.

Chromium's push service (Google's GCM/FCM) is unreachable here, so the browser is pointed
at a local stand-in for GCM's two HTTP calls (device check-in and registration) with its
own --gcm-* switches. Everything else is real: the PWA signs in, `subscribePush` asks the
browser, Chromium makes its P-256 keys and auth secret and registers with our VAPID key,
the page posts the subscription, the server validates and stores it. Delivery to this
browser would need GCM's message channel, so the service worker's push handler is driven
with the DevTools protocol's ServiceWorker.deliverPushMessage instead.
"""
import base64
import json
import struct
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from backend.push.models import PushSubscription

pytestmark = pytest.mark.e2e

PWA = Path(__file__).resolve().parents[2] / "pwa"
if not (PWA / "index.html").exists() or not (PWA / "sw.js").exists():
    pytest.skip("the PWA (pwa/index.html, pwa/sw.js) is not there", allow_module_level=True)

PHONE = {"width": 390, "height": 844}


class GcmStandIn:
    """Answers Chromium's GCM check-in (protobuf) and registration (form) calls on 127.0.0.1."""

    def __init__(self):
        self.registrations: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/checkin":
                    # AndroidCheckinResponse: stats_ok=true, android_id, security_token (fixed64)
                    out = b"\x08\x01" + b"\x39" + struct.pack("<Q", 4242424242) + b"\x41" + struct.pack("<Q", 987654321)
                else:
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    stand_in.registrations.append(form)
                    out = f"token=doorstep-e2e-{len(stand_in.registrations)}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def web_push_senders(self) -> list[str]:
        """applicationServerKeys the browser registered (web push registrations have a wp: subtype)."""
        return [r["sender"] for r in self.registrations if r.get("X-subtype", "").startswith("wp:")]


@pytest.fixture
def gcm():
    stand_in = GcmStandIn()
    yield stand_in
    stand_in.server.shutdown()


@pytest.fixture
def browser_context(playwright, chromium_options, live_server, gcm):
    # A persistent profile: Chromium refuses push in off-the-record contexts ("permission denied").
    context = playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="doorstep-push-e2e-"),
        executable_path=chromium_options["executable_path"],
        args=chromium_options["args"] + [f"--gcm-checkin-url={gcm.url}/checkin", f"--gcm-registration-url={gcm.url}/register",
                              "--gcm-mcs-endpoint=127.0.0.1:9"],
        viewport=PHONE,
    )
    yield context
    context.close()


def _sign_in(page, live_server, user):
    page.goto(live_server + "/")
    page.locator("input[autocomplete=username]").fill(user.username)
    page.locator("input[autocomplete=current-password]").fill("secret-pass")
    with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as login:
        page.locator("form.login button[type=submit]").click()
    assert login.value.status == 200
    page.locator("nav.tabbar").wait_for()
    page.evaluate("navigator.serviceWorker.ready")
    return json.loads(login.value.request.post_data)["device_id"]


def _b64len(value: str) -> int:
    return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


ZH = json.loads((PWA / "js" / "i18n" / "zh-CN.json").read_text())


def _turn_on(page):
    """Tap "Turn on notifications" in Settings (the agent's language is zh-CN)."""
    page.goto(page.url.split("#")[0] + "#/settings")
    page.get_by_role("button", name=ZH["settings.push_button"]).click()


def test_the_pwa_subscribes_and_the_server_keeps_it(app, db, live_server, browser_context, gcm, make_agent):
    agent = make_agent()
    page = browser_context.new_page()
    device_id = _sign_in(page, live_server, agent.user)
    server_key = app.test_client().get(
        "/api/push/vapid-public-key", headers=_bearer(app, agent.user)).get_json()["publicKey"]

    assert page.evaluate("Notification.permission") == "default"
    assert page.evaluate("async () => (await (await navigator.serviceWorker.ready).pushManager.getSubscription())") is None
    browser_context.grant_permissions(["notifications"], origin=live_server)  # the agent answers the prompt
    with page.expect_request(lambda r: r.url.endswith("/api/push/subscriptions") and r.method == "POST") as posted:
        _turn_on(page)
    page.get_by_text(ZH["settings.push_state.on"]).wait_for()
    body = json.loads(posted.value.post_data)
    assert posted.value.response().status == 201
    # the browser's own keys, in the shapes the server demands
    assert _b64len(body["keys"]["p256dh"]) == 65 and _b64len(body["keys"]["auth"]) == 16
    assert body["endpoint"].startswith("https://") and "doorstep-e2e-" in body["endpoint"]
    # Chromium registered with the server's VAPID key as the application server key
    assert gcm.web_push_senders() == [server_key]

    db.session.expire_all()
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.user_id == agent.user_id))
    assert row.endpoint == body["endpoint"] and row.p256dh == body["keys"]["p256dh"] and row.auth == body["keys"]["auth"]
    assert row.device_id == device_id  # the device that signed in
    assert page.evaluate("async () => (await import('/js/push.js')).pushState(await navigator.serviceWorker.ready)") == "on"

    # a second tap re-posts the same subscription: refreshed, not duplicated
    with page.expect_request(lambda r: r.url.endswith("/api/push/subscriptions") and r.method == "POST") as again:
        page.get_by_role("button", name=ZH["settings.push_button"]).click()
    assert again.value.response().status == 200
    assert len(db.session.scalars(select(PushSubscription)).all()) == 1

    # sign-out path: the server forgets it, then the browser drops it
    with page.expect_request(lambda r: r.url.endswith("/api/push/subscriptions") and r.method == "DELETE") as deleted:
        state = page.evaluate("""async () => {
            const { unsubscribePush } = await import('/js/push.js');
            const { api } = await import('/js/api.js');
            return (await unsubscribePush(await navigator.serviceWorker.ready, api)).state;
        }""")
    assert state == "off" and deleted.value.response().status == 204
    db.session.expire_all()
    assert db.session.scalars(select(PushSubscription)).all() == []


def test_the_service_worker_shows_a_localized_notification_and_wakes_the_page(live_server, browser_context,
                                                                              make_agent):
    agent = make_agent()
    page = browser_context.new_page()
    _sign_in(page, live_server, agent.user)
    browser_context.grant_permissions(["notifications"], origin=live_server)
    page.evaluate("""async () => {
        window.__pushes = [];
        (await import('/js/push.js')).onPush((kind, payload) => window.__pushes.push([kind, payload]));
    }""")
    cdp = browser_context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.extend(r for r in event["registrations"] if not r["isDeleted"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(50):  # the registration event arrives with the next protocol messages
        if registrations:
            break
        page.wait_for_timeout(100)
    assert registrations, "no service worker registration"
    registration_id = registrations[0]["registrationId"]

    def deliver(payload):
        cdp.send("ServiceWorker.deliverPushMessage",
                 {"origin": live_server, "registrationId": registration_id, "data": json.dumps(payload)})

    deliver({"kind": "stop_work", "locale": "zh-CN", "case_id": 41, "flag": "dispute", "visit_ids": [7]})
    page.wait_for_function("() => window.__pushes.length === 1")
    assert page.evaluate("() => window.__pushes[0]") == ["push", {"kind": "stop_work", "locale": "zh-CN", "case_id": 41,
                                                            "flag": "dispute", "visit_ids": [7]}]
    shown = page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map((n) => ({ title: n.title, body: n.body, tag: n.tag, lang: n.lang }))""")
    assert {"title": "停止上门：案件 41", "body": "该案件已标记“争议”，请勿上门。打开应用同步最新情况。",
            "tag": "doorstep:stop_work:41", "lang": "zh-CN"} in shown

    # the language picked on the device wins over the user's
    page.evaluate("async () => globalThis.doorstepCore.kvSet('locale', 'en')")
    deliver({"kind": "route_published", "locale": "zh-CN", "date": "2026-11-29", "plan_id": 3, "stops": 12})
    page.wait_for_function("() => window.__pushes.length === 2")
    titles = page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map((n) => [n.title, n.body])""")
    assert ["Route updated", "Your route for 2026-11-29 is published: 12 stops."] in titles


def _bearer(app, user):
    response = app.test_client().post("/api/auth/login", json={"username": user.username, "password": "secret-pass",
                                                               "device_id": "e2e-check"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_a_replaced_subscription_is_posted_again_by_the_service_worker(app, db, live_server, browser_context, gcm,
                                                                       make_agent):
    """pushsubscriptionchange: the push service dropped the subscription; the worker subscribes
    again and tells the server, which replaces the device's row. Chromium does not fire this
    event on its own here, so the test dispatches it inside the worker."""
    agent = make_agent()
    page = browser_context.new_page()
    _sign_in(page, live_server, agent.user)
    browser_context.grant_permissions(["notifications"], origin=live_server)
    with page.expect_request(lambda r: r.url.endswith("/api/push/subscriptions") and r.method == "POST"):
        _turn_on(page)
    page.get_by_text(ZH["settings.push_state.on"]).wait_for()
    db.session.expire_all()
    first = db.session.scalar(select(PushSubscription)).endpoint

    worker = next(w for w in browser_context.service_workers if w.url.endswith("/sw.js"))
    # the worker's own requests are seen by the context, not the page
    with browser_context.expect_event(
            "request", lambda r: r.url.endswith("/api/push/subscriptions") and r.method == "POST") as posted:
        worker.evaluate("""async () => {
            const old = await self.registration.pushManager.getSubscription();
            await old.unsubscribe();  // what the push service did
            const event = typeof PushSubscriptionChangeEvent === 'function'
                ? new PushSubscriptionChangeEvent('pushsubscriptionchange', { oldSubscription: old })
                : new ExtendableEvent('pushsubscriptionchange');
            try { self.dispatchEvent(event); } catch (_) { /* waitUntil refuses script-made events */ }
        }""")
    body = json.loads(posted.value.post_data)
    assert posted.value.response().status == 201
    assert body["endpoint"] != first and body["endpoint"].startswith("https://")
    db.session.expire_all()
    assert [row.endpoint for row in db.session.scalars(select(PushSubscription))] == [body["endpoint"]]
