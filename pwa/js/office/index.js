/* The office consoles: dispatcher (day board), case owner (review queue, case page, KPIs),
 * admin (all of them). app.js calls mount(container, ctx) after an office user signs in. */
import { loadCatalog } from '../i18n.js';
import { h, clear } from './util.js';

const VIEWS = {
  board: { roles: ['dispatcher', 'admin'], load: () => import('./views/board.js') },
  queue: { roles: ['owner', 'admin'], load: () => import('./views/queue.js') },
  kpis: { roles: ['owner', 'admin', 'dispatcher'], load: () => import('./views/kpis.js') },
  case: { roles: ['owner', 'admin', 'dispatcher'], load: () => import('./views/case.js'), hidden: true },
};
const LANDING = { dispatcher: 'board', owner: 'queue', admin: 'queue' };

function ensureStylesheet() {
  if (document.querySelector('link[data-office-css]')) return;
  document.head.append(h('link', { rel: 'stylesheet', href: '/css/office.css', dataset: { officeCss: '1' } }));
}

function parseHash(role) {
  const m = (location.hash || '').match(/^#\/office\/(\w+)(?:\/(\d+))?/);
  const name = m && VIEWS[m[1]] && VIEWS[m[1]].roles.includes(role) ? m[1] : LANDING[role] || 'kpis';
  return { name, id: m && m[2] ? Number(m[2]) : null };
}

export async function mount(container, ctx) {
  ensureStylesheet();
  const role = ctx.user.role;
  let locale = ctx.i18n.currentLocale();
  let t = await loadCatalog('office', locale);
  let cleanup = null;
  let token = 0;
  document.body.classList.add('office-body');

  const nav = h('nav', { class: 'o-nav', 'aria-label': 'office' });
  const who = h('span', { class: 'o-who' });
  const localeBtn = h('button', { type: 'button', class: 'o-btn ghost small' });
  const logoutBtn = h('button', { type: 'button', class: 'o-btn ghost small' });
  const main = h('div', { class: 'o-main', id: 'office-main', tabindex: '-1' });
  const header = h('header', { class: 'o-top' },
    h('a', { class: 'o-brand', href: `#/office/${LANDING[role] || 'kpis'}` },
      h('img', { src: '/icons/icon-192.png', alt: '', width: 26, height: 26 }), h('span', { text: 'Doorstep' })),
    nav, h('div', { class: 'o-top-right' }, who, localeBtn, logoutBtn));
  clear(container, header, main);
  container.classList.add('o-root');

  function renderChrome(current) {
    clear(nav, Object.entries(VIEWS).filter(([name, v]) => !v.hidden && v.roles.includes(role)).map(([name]) =>
      h('a', { href: `#/office/${name}`, class: 'o-tab', 'aria-current': name === current ? 'page' : undefined, text: t(`nav.${name}`) })));
    who.textContent = `${ctx.user.display_name || ctx.user.username} · ${t(`role.${role}`)}`;
    localeBtn.textContent = locale === 'zh-CN' ? 'English' : '中文';
    logoutBtn.textContent = t('nav.logout');
  }

  localeBtn.addEventListener('click', async () => {
    locale = locale === 'zh-CN' ? 'en' : 'zh-CN';
    if (ctx.store) await ctx.store.kvSet('locale', locale);
    await ctx.i18n.setLocale(locale);
    t = await loadCatalog('office', locale);
    route();
  });
  logoutBtn.addEventListener('click', async () => {
    if (cleanup) { try { cleanup(); } catch (_) { /* view gone */ } cleanup = null; }
    window.removeEventListener('hashchange', route);
    document.body.classList.remove('office-body');
    await ctx.onLogout();
  });

  async function route() {
    const mine = ++token;
    const { name, id } = parseHash(role);
    renderChrome(name);
    if (cleanup) { try { cleanup(); } catch (_) { /* view gone */ } cleanup = null; }
    const module = await VIEWS[name].load();
    if (mine !== token) return;
    clear(main);
    main.className = `o-main o-view-${name}`;
    const viewCtx = Object.assign({}, ctx, { t, locale, id, go: (hash) => { location.hash = hash; } });
    const done = (await module.mount(main, viewCtx)) || null;
    // another route started while this view was loading: this one is already off the page
    if (mine !== token) {
      if (done) done();
      return;
    }
    cleanup = done;
  }

  window.addEventListener('hashchange', route);
  await route();
  return () => window.removeEventListener('hashchange', route);
}


