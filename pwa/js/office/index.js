/* The office consoles: dispatcher (day board), case owner (review queue, cases, follow-ups,
 * KPIs), admin (users and agents, branches' route planning, policy, scripts, imports). app.js calls
 * mount(container, ctx) after an office user signs in. A route a role may not open, or one
 * that does not exist, shows the not-found view, never another screen. */
import { loadCatalog } from '../i18n.js';
import { h, clear } from './util.js';

const VIEWS = {
  board: { roles: ['dispatcher'], load: () => import('./views/board.js') },
  queue: { roles: ['owner'], load: () => import('./views/queue.js') },
  cases: { roles: ['owner', 'dispatcher', 'admin'], load: () => import('./views/cases.js') },
  followups: { roles: ['owner', 'dispatcher'], load: () => import('./views/followups.js') },
  users: { roles: ['admin'], load: () => import('./views/users.js') },
  branches: { roles: ['admin'], load: () => import('./views/branches.js') },
  policy: { roles: ['admin'], load: () => import('./views/policy.js') },
  scripts: { roles: ['admin'], load: () => import('./views/scripts.js') },
  imports: { roles: ['admin', 'owner'], load: () => import('./views/imports.js') },
  kpis: { roles: ['owner', 'admin', 'dispatcher'], load: () => import('./views/kpis.js') },
  case: { roles: ['owner', 'admin', 'dispatcher'], load: () => import('./views/case.js'), hidden: true },
};
const LANDING = { dispatcher: 'board', owner: 'queue', admin: 'users' };

function ensureStylesheet() {
  if (document.querySelector('link[data-office-css]')) return;
  document.head.append(h('link', { rel: 'stylesheet', href: '/css/office.css', dataset: { officeCss: '1' } }));
}

/* The view a hash names: the role's landing page for a hash outside the office (the shell's
 * own, as after sign-in), null when an office hash names nothing this role may open. */
function parseHash(role) {
  const hash = location.hash || '';
  if (!hash.startsWith('#/office/') || hash === '#/office/') return { name: LANDING[role] || 'kpis', id: null };
  const m = hash.match(/^#\/office\/(\w+)(?:\/(\d+))?\/?$/);
  if (!m || !VIEWS[m[1]] || !VIEWS[m[1]].roles.includes(role)) return { name: null, id: null };
  return { name: m[1], id: m[2] ? Number(m[2]) : null };
}

const notFound = {
  mount(container, ctx) {
    const { t } = ctx;
    clear(container,
      h('div', { class: 'o-pagehead' }, h('h1', { text: t('notfound.title') })),
      h('p', { text: t('notfound.body') }),
      h('p', {}, h('a', { class: 'o-btn', href: `#/office/${LANDING[ctx.user.role] || 'kpis'}`, text: t('notfound.home') })));
    return null;
  },
};

export async function mount(container, ctx) {
  ensureStylesheet();
  const role = ctx.user.role;
  let locale = ctx.i18n.currentLocale();
  let t = await loadCatalog('office', locale);
  let cleanup = null;
  let token = 0;
  document.body.classList.add('office-body');

  const nav = h('nav', { class: 'o-nav', id: 'office-nav' });
  const menuBtn = h('button', { type: 'button', class: 'o-btn ghost small o-menu', 'aria-expanded': 'false', 'aria-controls': 'office-nav' });
  const who = h('span', { class: 'o-who' });
  const localeBtn = h('button', { type: 'button', class: 'o-btn ghost small' });
  const logoutBtn = h('button', { type: 'button', class: 'o-btn ghost small' });
  const main = h('main', { class: 'o-main', id: 'office-main', tabindex: '-1' });
  // one polite region for status changes: views call ctx.announce(text), the screen is not re-read
  const live = h('p', { class: 'o-sr', 'aria-live': 'polite', role: 'status', id: 'office-live' });
  const header = h('header', { class: 'o-top' },
    h('a', { class: 'o-brand', href: `#/office/${LANDING[role] || 'kpis'}` },
      h('img', { src: '/icons/icon-192.png', alt: '', width: 26, height: 26 }), h('span', { text: 'Doorstep' })),
    menuBtn, nav, h('div', { class: 'o-top-right' }, who, localeBtn, logoutBtn));
  clear(container, header, main, live);
  container.classList.add('o-root');
  // the agent shell's #app is a live region; the office announces through its own, once
  container.removeAttribute('aria-live');
  const appRoot = document.getElementById('app');
  if (appRoot) appRoot.removeAttribute('aria-live');

  function announce(text) {
    live.textContent = '';
    // a fresh text node after a tick, so the same message twice is announced twice
    setTimeout(() => { live.textContent = text; }, 30);
  }

  function setMenu(open) {
    menuBtn.setAttribute('aria-expanded', String(open));
    header.classList.toggle('menu-open', open);
  }
  menuBtn.addEventListener('click', () => setMenu(menuBtn.getAttribute('aria-expanded') !== 'true'));

  function renderChrome(current) {
    nav.setAttribute('aria-label', t('nav.label'));
    clear(nav, Object.entries(VIEWS).filter(([, v]) => !v.hidden && v.roles.includes(role)).map(([name]) =>
      h('a', { href: `#/office/${name}`, class: 'o-tab', 'aria-current': name === current ? 'page' : undefined, text: t(`nav.${name}`) })));
    who.textContent = `${ctx.user.display_name || ctx.user.username} · ${t(`role.${role}`)}`;
    menuBtn.textContent = t('nav.menu');
    localeBtn.textContent = locale === 'zh-CN' ? 'English' : '中文';
    localeBtn.setAttribute('lang', locale === 'zh-CN' ? 'en' : 'zh-CN');
    logoutBtn.textContent = t('nav.logout');
  }

  localeBtn.addEventListener('click', async () => {
    locale = locale === 'zh-CN' ? 'en' : 'zh-CN';
    if (ctx.store) await ctx.store.kvSet('locale', locale);
    await ctx.i18n.setLocale(locale);
    t = await loadCatalog('office', locale);
    route(false);
  });
  logoutBtn.addEventListener('click', async () => {
    if (cleanup) { try { cleanup(); } catch (_) { /* view gone */ } cleanup = null; }
    window.removeEventListener('hashchange', onHash);
    document.body.classList.remove('office-body');
    await ctx.onLogout();
  });

  /* moveFocus: a route the user asked for (a hash change) takes the focus to the new screen */
  async function route(moveFocus) {
    const mine = ++token;
    const { name, id } = parseHash(role);
    renderChrome(name);
    setMenu(false);
    if (cleanup) { try { cleanup(); } catch (_) { /* view gone */ } cleanup = null; }
    const module = name ? await VIEWS[name].load() : notFound;
    if (mine !== token) return;
    clear(main);
    main.className = `o-main o-view-${name || 'notfound'}`;
    const viewCtx = Object.assign({}, ctx, { t, locale, id, announce, go: (hash) => { location.hash = hash; } });
    const done = (await module.mount(main, viewCtx)) || null;
    // another route started while this view was loading: this one is already off the page
    if (mine !== token) {
      if (done) done();
      return;
    }
    cleanup = done;
    // focus follows the route the user asked for (the first screen keeps the page's own focus)
    const heading = main.querySelector('h1');
    document.title = `${heading ? heading.textContent : t(`nav.${name}`)} · Doorstep`;
    if (moveFocus) {
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      } else {
        main.focus();
      }
    }
  }

  const onHash = () => route(true);
  window.addEventListener('hashchange', onHash);
  await route(false);
  return () => window.removeEventListener('hashchange', onHash);
}
