/* The controller: boots the app, owns the shell (status line, banners, tabs), routes by
 * role and by hash, and hands each view a small context. */
import { api, setUnauthorizedHandler } from './api.js';
import * as i18n from './i18n.js';
import * as store from './store.js';
import * as sync from './sync.js';
import { button, clear, h, logo } from './ui/dom.js';

const { t } = i18n;
const root = document.getElementById('app');
let registration = null;
let updateAccepted = false;
let cleanup = null;
let routeSeq = 0;
let shell = null;

async function boot() {
  const saved = await store.kvGet('locale');
  await i18n.setLocale(saved);
  registerServiceWorker();
  window.addEventListener('hashchange', () => route());
  window.addEventListener('doorstep:stopwork', () => toast(t('sync.stopwork_arrived')));
  setUnauthorizedHandler(() => markExpired());
  const session = await store.getSession();
  if (!session) {
    showLogin();
    return;
  }
  startFor(session);
}

async function markExpired() {
  const session = await store.getSession();
  if (session && !session.expired) await store.saveSession(Object.assign(session, { expired: true }));
  sync.emit();
}

function context(session) {
  return {
    api, i18n, t, sync, store, session, user: session && session.user, registration: () => registration,
    navigate, toast, onLogout: logout,
  };
}

async function startFor(session) {
  const role = session.user && session.user.role;
  if (role !== 'agent') {
    await mountOffice(session);
    return;
  }
  requestPersistence();
  await sync.purge(); // R15: what expired while the app was closed goes before anything is shown
  renderShell(session);
  sync.start();
  route();
  hookPush();
}

/* Push (js/push.js, the push engineer's) is optional: a push means "sync now". */
async function hookPush() {
  try {
    const push = await import('/js/push.js');
    push.onPush((kind) => {
      if (kind === 'open') navigate('#/today');
      sync.syncNow();
    });
    const reg = registration || (navigator.serviceWorker && await navigator.serviceWorker.ready);
    if (reg) await push.resumePush(reg, api);
  } catch (err) {
    console.info('push not available', err && err.message);
  }
}

/* Office roles get the consoles module when it exists; it lays out its own banner, navigation
 * and <main>, so its container is a plain block. */
async function mountOffice(session) {
  const container = clear(root, h('div', { class: 'office', id: 'main' }));
  const main = container.firstChild;
  try {
    const office = await import('/js/office/index.js');
    office.mount(main, context(session));
  } catch (err) {
    clear(main, h('section', { class: 'card center' },
      h('h1', { text: t('office.coming_title') }),
      h('p', { text: t('office.coming_body', { role: t(`role.${session.user.role}`) }) }),
      button(t('settings.logout'), () => logout(), 'btn secondary')));
  }
}

function renderShell(session) {
  const status = h('button', { type: 'button', class: 'statusline', onclick: () => navigate('#/sync') });
  const banners = h('div', { class: 'banners', role: 'status' });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const tabs = h('nav', { class: 'tabbar', 'aria-label': t('nav.label') },
    tabLink('#/today', t('nav.today'), 'today'),
    tabLink('#/sync', t('nav.sync'), 'sync'),
    tabLink('#/settings', t('nav.settings'), 'settings'));
  const header = h('header', { class: 'topbar' },
    h('div', { class: 'brand' }, logo(30), h('span', { text: 'Doorstep' })),
    h('span', { class: 'who', text: session.user.display_name || session.user.username }));
  clear(root, header, status, banners, main, tabs);
  shell = { status, banners, main, tabs };
  sync.onStatus(renderStatus);
  showUpdateBannerIfWaiting();
}

function tabLink(href, label, name) {
  return h('a', { href, class: 'tab', dataset: { tab: name } }, h('span', { class: `tab-icon icon-${name}`, 'aria-hidden': 'true' }), h('span', { text: label }));
}

function renderStatus(s) {
  if (!shell) return;
  const parts = [];
  parts.push(h('span', { class: `dot ${s.online ? 'on' : 'off'}`, 'aria-hidden': 'true' }));
  parts.push(h('span', { text: s.online ? t('status.online') : t('status.offline') }));
  parts.push(h('span', { class: s.unsent ? 'pill warn' : 'pill ok', text: s.unsent ? t('status.unsent', { n: s.unsent }) : t('status.all_sent') }));
  if (s.problems) parts.push(h('span', { class: 'pill bad', text: t('status.problems', { n: s.problems }) }));
  parts.push(h('span', { class: 'last', text: s.syncing ? t('status.syncing') : (s.lastSync ? t('status.last_sync', { time: i18n.dateTime(s.lastSync) }) : t('status.never_synced')) }));
  clear(shell.status, parts);
  shell.status.setAttribute('aria-label', `${t('nav.sync')}: ${shell.status.textContent}`);
  renderExpired(s.expired);
}

function renderExpired(expired) {
  const existing = shell.banners.querySelector('.banner-expired');
  if (!expired) {
    if (existing) existing.remove();
    return;
  }
  if (existing) return;
  shell.banners.append(h('div', { class: 'banner banner-expired' },
    h('span', { text: t('banner.expired') }),
    button(t('banner.sign_in'), () => showLogin({ reauth: true }), 'btn small')));
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

const ROUTES = [
  [/^#\/visit\/(\d+)$/, 'visit', (m) => ({ visitId: Number(m[1]) })],
  [/^#\/sync$/, 'sync', () => ({})],
  [/^#\/settings$/, 'settings', () => ({})],
  [/^(#\/today)?$|^#?$/, 'today', () => ({})],
];

const VIEWS = {
  today: () => import('./ui/today.js'),
  visit: () => import('./ui/visit/index.js'),
  sync: () => import('./ui/syncview.js'),
  settings: () => import('./ui/settings.js'),
};

async function route() {
  if (!shell) return;
  const hash = location.hash || '#/today';
  let name = 'today';
  let params = {};
  for (const [pattern, view, parse] of ROUTES) {
    const m = hash.match(pattern);
    if (m) { name = view; params = parse(m); break; }
  }
  for (const tab of shell.tabs.querySelectorAll('.tab')) {
    const current = tab.dataset.tab === name || (name === 'visit' && tab.dataset.tab === 'today');
    if (current) tab.setAttribute('aria-current', 'page'); else tab.removeAttribute('aria-current');
  }
  if (cleanup) { try { cleanup(); } catch (_) { /* view already gone */ } cleanup = null; }
  const mine = ++routeSeq;
  const session = await store.getSession();
  const module = await VIEWS[name]();
  if (mine !== routeSeq) return; // a newer navigation won
  // Each view owns a fresh element: a late render of a view left behind lands nowhere.
  const container = h('div', { class: `view view-${name}` });
  clear(shell.main, container);
  const done = (await module.mount(container, Object.assign(context(session), params))) || null;
  if (mine !== routeSeq) { if (done) done(); return; }
  cleanup = done;
  shell.main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

async function showLogin(options = {}) {
  if (cleanup) { try { cleanup(); } catch (_) { /* gone */ } cleanup = null; }
  shell = null;
  const { mount } = await import('./ui/login.js');
  const previous = await store.getSession();
  clear(root);
  mount(root, {
    t, i18n, store, reauth: Boolean(options.reauth), previous,
    onLocale: async (locale) => { await store.kvSet('locale', locale); await i18n.setLocale(locale); showLogin(options); },
    onSignedIn: async (session) => {
      if (session.user.role === 'agent') {
        try { await sync.pullPacket(await sync.today()); } catch (_) { /* shown on Today */ }
      }
      if (!options.reauth) location.hash = '#/today';
      startFor(session);
      // only an agent's device holds a day packet and an outbox
      if (session.user.role === 'agent') sync.syncNow();
    },
  });
}

/* Refused while anything is unsent or a visit is under way (it would be lost with the device's data). */
async function logout() {
  const unsent = await store.outboxCount();
  const [drafts, visits] = await Promise.all([store.listDrafts(), store.listVisits()]);
  const onRoute = new Set(visits.map((v) => v.id));
  const open = drafts.filter((d) => d.checkin && !d.checkout && onRoute.has(d.visit_id));
  if (unsent > 0 || open.length) return { refused: true, unsent, open: open.length };
  const session = await store.getSession();
  try {
    // While the token still works: the server forgets this browser's push subscription.
    const push = await import('/js/push.js');
    if (registration) await push.unsubscribePush(registration, api);
  } catch (_) { /* no push module, or offline */ }
  try {
    if (session && session.token) await api.post('/api/auth/logout');
  } catch (_) { /* offline or already revoked: the token expires on its own */ }
  await store.purgeDay();
  location.hash = '';
  showLogin();
  return { refused: false };
}

async function requestPersistence() {
  // Ask once that the browser never evicts the outbox (Lessons: eviction lost work).
  if (!navigator.storage || !navigator.storage.persist) return;
  const already = await navigator.storage.persisted();
  const granted = already || await navigator.storage.persist();
  await store.kvSet('persisted', granted);
}

function toast(message) {
  const el = h('div', { class: 'toast', role: 'alert', text: message });
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

/* Update flow: a new worker waits; we offer it; on accept it takes over and we reload once. */
function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').then((reg) => {
    registration = reg;
    showUpdateBannerIfWaiting();
    reg.addEventListener('updatefound', () => {
      const worker = reg.installing;
      if (!worker) return;
      worker.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) showUpdateBanner(worker);
      });
    });
  }).catch((err) => console.warn('service worker not registered', err));
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!updateAccepted) return; // the first install claiming the page is not an update
    updateAccepted = false;
    location.reload();
  });
}

function showUpdateBannerIfWaiting() {
  if (registration && registration.waiting && navigator.serviceWorker.controller) showUpdateBanner(registration.waiting);
}

function showUpdateBanner(worker) {
  if (!shell || shell.banners.querySelector('.banner-update')) return;
  const banner = h('div', { class: 'banner banner-update' },
    h('span', { text: t('banner.update') }),
    button(t('banner.update_now'), () => {
      updateAccepted = true;
      worker.postMessage({ type: 'skipWaiting' });
    }, 'btn small'),
    button(t('banner.later'), () => banner.remove(), 'btn small ghost'));
  shell.banners.append(banner);
}

boot().catch((err) => {
  console.error(err);
  clear(root, h('p', { class: 'boot error', text: String(err && err.message || err) }));
});
