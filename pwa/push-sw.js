/* Web push in the service worker: loaded by sw.js with importScripts('/push-sw.js'),
 * after importScripts('/js/core.js') (the device's IndexedDB: session, locale, outbox).
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

  /* Messages per locale; {name} is filled from the payload. */
  const CATALOG = {
    'zh-CN': {
      'stop_work.title': '停止上门：案件 {case_id}',
      'stop_work.body': '该案件已标记“{flag}”，请勿上门。打开应用同步最新情况。',
      'visit_cancelled.title': '上门已取消',
      'visit_cancelled.body': '{date} 案件 {case_id} 的上门已取消。',
      'route_published.title': '路线已更新',
      'route_published.body': '{date} 的路线已发布：{stops} 个站点。',
      'plan_decided.approved.title': '还款方案已批准',
      'plan_decided.approved.body': '案件 {case_id} 的还款方案已获批准。',
      'plan_decided.rejected.title': '还款方案未获批准',
      'plan_decided.rejected.body': '案件 {case_id} 的还款方案被驳回，请查看原因。',
      'generic.title': 'Doorstep',
      'generic.body': '有新的更新，打开应用同步。',
      'flag.dispute': '争议',
      'flag.bankruptcy': '破产',
      'flag.deceased': '已故',
      'flag.cease_contact': '停止联系',
      'flag.attorney': '已委托律师',
      'flag.vulnerable': '弱势客户',
      'flag.complaint': '投诉处理中',
      'flag.legal_hold': '法律冻结',
      'flag.fraud_claim': '欺诈申诉',
      'flag.plan_performing': '还款计划履行中',
      'flag.asked_not_to_return': '要求勿再上门',
      'flag.escalated': '已升级处理',
    },
    en: {
      'stop_work.title': 'Stop: case {case_id}',
      'stop_work.body': 'This case is now flagged "{flag}". Do not visit. Open the app to sync.',
      'visit_cancelled.title': 'Visit cancelled',
      'visit_cancelled.body': 'The visit to case {case_id} on {date} was cancelled.',
      'route_published.title': 'Route updated',
      'route_published.body': 'Your route for {date} is published: {stops} stops.',
      'plan_decided.approved.title': 'Plan approved',
      'plan_decided.approved.body': 'The repayment plan for case {case_id} was approved.',
      'plan_decided.rejected.title': 'Plan not approved',
      'plan_decided.rejected.body': 'The repayment plan for case {case_id} was rejected. See why in the app.',
      'generic.title': 'Doorstep',
      'generic.body': 'Something changed. Open the app to sync.',
      'flag.dispute': 'dispute',
      'flag.bankruptcy': 'bankruptcy',
      'flag.deceased': 'deceased',
      'flag.cease_contact': 'cease contact',
      'flag.attorney': 'represented by an attorney',
      'flag.vulnerable': 'vulnerable customer',
      'flag.complaint': 'complaint open',
      'flag.legal_hold': 'legal hold',
      'flag.fraud_claim': 'fraud claim',
      'flag.plan_performing': 'plan performing',
      'flag.asked_not_to_return': 'asked not to return',
      'flag.escalated': 'escalated',
    },
  };

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
      if (candidate && CATALOG[candidate]) return candidate;
    }
    return DEFAULT_LOCALE;
  }

  function text(locale, key, params) {
    const messages = CATALOG[locale];
    const template = messages[key] || CATALOG.en[key] || key;
    return template.replace(/\{(\w+)\}/g, (match, name) => (params[name] ?? match));
  }

  /* {title, options} for showNotification. */
  function render(payload, locale) {
    const kind = (payload && payload.kind) || 'generic';
    const params = Object.assign({}, payload);
    let key = kind;
    if (kind === 'stop_work') params.flag = text(locale, `flag.${payload.flag}`, params);
    if (kind === 'plan_decided') key = `plan_decided.${payload.decision === 'approved' ? 'approved' : 'rejected'}`;
    if (!CATALOG[locale][`${key}.title`]) key = 'generic';
    const urgent = kind === 'stop_work' || kind === 'visit_cancelled';
    return {
      title: text(locale, `${key}.title`, params),
      options: {
        body: text(locale, `${key}.body`, params),
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
    const { title, options } = render(payload, locale);
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
  sw.doorstepPush = Object.freeze({ render, pickLocale });
})(self);
