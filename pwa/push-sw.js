/* Web push in the service worker: loaded by sw.js with importScripts('/push-sw.js'),
 * after importScripts('/js/db.js', '/js/outbox.js') (the device's IndexedDB: session, locale, outbox).
 *
 * A push is a nudge, not the record: it carries ids and codes only (no debtor names or
 * amounts on a lock screen, nothing personal through the push service). The device
 * learns the details from its delta feed, so each push shows a notification and then
 * gets the app to sync.
 *
 * Kept a classic script (no import/export): service workers that use importScripts
 * cannot be modules.
 */
(function (sw) {
  'use strict';

  const DEFAULT_LOCALE = 'zh-CN';
  const LOCALES = ['zh-CN', 'en'];
  // The catalogues are js/i18n/push/<locale>.json, beside every other catalogue (js/i18n.js);
  // they are part of the precached shell, so a push shows in the agent's language offline too.
  const catalogUrl = (locale) => `/js/i18n/push/${locale}.json`;
  // Last resort when no catalogue can be read: a push must still show a notification.
  const FALLBACK = { 'generic.title': 'Doorstep', 'generic.body': '' };

  const core = () => sw.doorstepCore || null;

  async function storedLocale() {
    try {
      return core() ? await core().kvGet('locale') : null;
    } catch (_) {
      return null; // storage unavailable: fall back to the payload's locale
    }
  }

  /* The language picked on this device wins, then the user's own (in the payload). */
  function pickLocale(stored, payload) {
    for (const candidate of [stored, payload && payload.locale]) {
      if (candidate && LOCALES.includes(candidate)) return candidate;
    }
    return DEFAULT_LOCALE;
  }

  async function loadMessages(locale) {
    const url = catalogUrl(locale);
    try {
      const response = (await caches.match(url)) || await fetch(url);
      if (response.ok) return await response.json();
    } catch (_) { /* offline and not cached: the fallback below */ }
    return null;
  }

  /* The messages of a locale, with English under them for a key the locale lacks. */
  async function catalog(locale) {
    const [own, en] = await Promise.all([loadMessages(locale), locale === 'en' ? null : loadMessages('en')]);
    return Object.assign({}, FALLBACK, en, own);
  }

  function text(messages, key, params) {
    const template = messages[key] || key;
    return template.replace(/\{(\w+)\}/g, (match, name) => (params[name] ?? match));
  }

  /* {title, options} for showNotification; `messages` from catalog(locale). */
  function render(payload, locale, messages) {
    const kind = (payload && payload.kind) || 'generic';
    const params = Object.assign({}, payload);
    let key = kind;
    if (kind === 'stop_work') params.flag = text(messages, `flag.${payload.flag}`, params);
    if (kind === 'plan_decided') key = `plan_decided.${payload.decision === 'approved' ? 'approved' : 'rejected'}`;
    if (!messages[`${key}.title`]) key = 'generic';
    const urgent = kind === 'stop_work' || kind === 'visit_cancelled';
    return {
      title: text(messages, `${key}.title`, params),
      options: {
        body: text(messages, `${key}.body`, params),
        lang: locale,
        // one notification per subject: a newer one about the same case or day replaces it
        tag: `doorstep:${kind}:${payload.case_id ?? payload.date ?? payload.plan_id ?? ''}`,
        renotify: urgent,
        requireInteraction: kind === 'stop_work',
        icon: '/icons/icon-192.png',
        badge: '/icons/icon-192.png',
        data: payload,
      },
    };
  }

  function parse(event) {
    if (!event.data) return {};
    try {
      return event.data.json();
    } catch (_) {
      return {}; // not ours or not JSON: still tell the agent something changed
    }
  }

  async function windowClients() {
    return sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  }

  /* Get the app to pull now: open pages sync at once; Background Sync where the browser has it. */
  async function requestSync(payload) {
    for (const client of await windowClients()) client.postMessage({ type: 'doorstep:push', payload });
    const tag = core() ? core().SYNC_TAG : 'outbox';
    if (sw.registration.sync) {
      try {
        await sw.registration.sync.register(tag);
      } catch (_) { /* not allowed here (permission, browser): open pages still sync */ }
    }
  }

  async function onPush(event) {
    const payload = parse(event);
    const locale = pickLocale(await storedLocale(), payload);
    const { title, options } = render(payload, locale, await catalog(locale));
    // userVisibleOnly: every push must show a notification, whatever else fails
    await sw.registration.showNotification(title, options);
    await requestSync(payload);
  }

  async function onNotificationClick(event) {
    event.notification.close();
    const payload = event.notification.data || {};
    const scope = sw.registration.scope;
    const clients = await windowClients();
    const existing = clients.find((client) => client.url.startsWith(scope));
    if (existing) {
      await existing.focus();
      existing.postMessage({ type: 'doorstep:push-open', payload });
      return;
    }
    await sw.clients.openWindow(scope);
  }

  async function applicationServerKey(old, session) {
    if (old && old.options && old.options.applicationServerKey) return old.options.applicationServerKey;
    const response = await fetch('/api/push/vapid-public-key', { headers: { Authorization: `Bearer ${session.token}` } });
    if (!response.ok) throw new Error(`vapid key: HTTP ${response.status}`);
    return (await response.json()).publicKey;
  }

  /* The push service replaced the subscription: subscribe again and tell the server.
   * Signed out or token expired: nothing to post with; the page posts the current
   * subscription after the next sign-in (resumePush in js/push.js). */
  async function onSubscriptionChange(event) {
    const session = core() ? await core().kvGet('session') : null;
    if (!session || !session.token || session.expired) return;
    const old = event.oldSubscription || null;
    let subscription = event.newSubscription || null;
    if (!subscription) {
      subscription = await sw.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: await applicationServerKey(old, session),
      });
    }
    const body = Object.assign(subscription.toJSON(), { old_endpoint: old ? old.endpoint : null });
    const response = await fetch('/api/push/subscriptions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.token}` },
      body: JSON.stringify(body),
    });
    if (response.status === 401 && core()) {
      await core().kvSet('session', Object.assign({}, session, { expired: true }));
    }
  }

  sw.addEventListener('push', (event) => event.waitUntil(onPush(event)));
  sw.addEventListener('notificationclick', (event) => event.waitUntil(onNotificationClick(event)));
  sw.addEventListener('pushsubscriptionchange', (event) => event.waitUntil(onSubscriptionChange(event)));

  // For the page and for tests: how a payload reads in a locale.
  sw.doorstepPush = Object.freeze({ render, pickLocale, catalog });
})(self);
