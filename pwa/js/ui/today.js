/* Today: the day's route from the stored packet (shown first), then refreshed by sync. */
import { navigationUrl, progressOf } from '../flow.js';
import { button, clear, h } from './dom.js';
import { crewLine } from './visit/crew.js';

export async function mount(container, ctx) {
  const { t, i18n, store, sync } = ctx;
  let mode = (await store.kvGet('today_mode')) || 'list';
  let mapView = null;

  async function render() {
    const [packet, visits, drafts, decisions] = await Promise.all([store.kvGet('packet'), store.listVisits(), store.listDrafts(), store.kvGet('plan_decisions')]);
    const draftById = new Map(drafts.map((d) => [d.visit_id, d]));
    if (mapView) { mapView.destroy(); mapView = null; }
    if (!packet) {
      clear(container, h('section', { class: 'card center empty' },
        h('h1', { text: t('today.title') }),
        h('p', { text: t('today.no_packet') }),
        button(t('sync.now'), () => sync.syncNow(), 'btn primary')));
      return;
    }
    const today = await sync.today();
    const done = visits.filter((v) => progressOf(v, draftById.get(v.id)) === 'done').length;
    const header = h('section', { class: 'today-head' },
      h('div', {},
        h('h1', { text: t('today.title') }),
        h('p', { class: 'muted', text: `${i18n.longDate(packet.date)} · ${t('today.count', { done, total: visits.length })}` })),
      h('div', { class: 'segmented', role: 'group', 'aria-label': t('today.view') },
        button(t('today.list'), () => setMode('list'), 'seg', { 'aria-pressed': String(mode === 'list') }),
        button(t('today.map'), () => setMode('map'), 'seg', { 'aria-pressed': String(mode === 'map') })));
    const stale = packet.date !== today
      ? h('p', { class: 'notice warn', role: 'status', text: t('today.stale', { date: i18n.longDate(packet.date) }) })
      : null;
    const news = decided(decisions, visits, packet);
    if (mode === 'map') {
      const mapBox = h('div', { class: 'map', id: 'route-map', role: 'region', 'aria-label': t('today.map') });
      const note = h('p', { class: 'map-note muted' });
      clear(container, header, stale, news, mapBox, note, legend(visits, draftById));
      const { mountMap } = await import('./map.js');
      mapView = await mountMap(mapBox, { visits, tileUrl: tileUrlOf(packet), attribution: (packet.settings || {}).map_tile_attribution, t, note });
      return;
    }
    const list = h('ol', { class: 'stops', 'aria-label': t('today.route') },
      visits.map((visit, index) => stopItem(visit, index, draftById.get(visit.id))));
    clear(container, header, stale, news, visits.length ? list : h('p', { class: 'card center', text: t('today.empty') }));
  }

  /* The office's decisions on plans this agent made, taken today (the branch's day): approved,
   * or rejected with the reason to act on. They come with the delta feed (plan.decided). */
  function decided(decisions, visits, packet) {
    const zone = (packet.agent && packet.agent.branch && packet.agent.branch.timezone) || undefined;
    const names = new Map(visits.map((v) => [v.case_id, v.debtor && v.debtor.name]));
    const items = Object.values(decisions || {})
      .filter((d) => ['active', 'rejected'].includes(d.status) && d.decided_at && sync.isoDay(Date.parse(d.decided_at), zone) === packet.date)
      .sort((a, b) => Date.parse(b.decided_at) - Date.parse(a.decided_at));
    if (!items.length) return null;
    return h('section', { class: 'card decisions', 'aria-labelledby': 'decisions-title' },
      h('h2', { id: 'decisions-title', text: t('today.decisions') }),
      h('ul', {}, items.map((d) => h('li', { class: d.status === 'rejected' ? 'bad' : 'ok', dataset: { planId: d.plan_id } },
        t(`today.decision.${d.status}`, { name: names.get(d.case_id) || `#${d.case_id}`, reason: d.reason || '—' })))));
  }

  function legend(visits, draftById) {
    return h('ol', { class: 'legend' }, visits.map((v, i) => h('li', {},
      h('a', { href: `#/visit/${v.id}` }, h('span', { class: `num ${progressOf(v, draftById.get(v.id))}`, text: String(v.route_position ?? i + 1) }),
        ` ${v.debtor.name} · ${i18n.clock(v.window && v.window.start, v.timezone)}–${i18n.clock(v.window && v.window.end, v.timezone)}`))));
  }

  function stopItem(visit, index, draft) {
    const progress = progressOf(visit, draft);
    const account = visit.account || {};
    const w = visit.window || {};
    const windowText = `${i18n.clock(w.start, visit.timezone)}–${i18n.clock(w.end, visit.timezone)}`;
    const eta = visit.planned_arrival ? t('today.eta', { time: i18n.clock(visit.planned_arrival, visit.timezone) }) : null;
    const nav = navigationUrl(visit);
    const chips = [
      account.bucket ? h('span', { class: 'chip', text: `${account.bucket} · ${t('today.dpd', { n: account.days_past_due })}` }) : null,
      ...(visit.flags || []).map((f) => h('span', { class: 'chip bad', text: `${t('today.stop_work')}: ${t(`flag.${f.flag}`)}` })),
      progress !== 'todo' && progress !== 'blocked' ? h('span', { class: `chip state-${progress}`, text: t(`progress.${progress}`) }) : null,
    ];
    return h('li', { class: `stop ${progress}` },
      h('a', { class: 'stop-main', href: `#/visit/${visit.id}` },
        h('span', { class: 'num', 'aria-hidden': 'true', text: String(visit.route_position ?? index + 1) }),
        h('div', { class: 'stop-body' },
          h('div', { class: 'row' }, h('strong', { class: 'name', text: visit.debtor.name }),
            h('span', { class: 'amount', text: i18n.money(account.overdue_amount, account.currency) })),
          h('div', { class: 'muted' }, h('span', { class: 'window', text: windowText }), eta ? ` · ${eta}` : ''),
          h('div', { class: 'addr', text: [visit.address.line, visit.address.city].filter(Boolean).join(', ') }),
          crewLine(t, visit, 'div'),
          h('div', { class: 'chips' }, chips))),
      nav ? h('a', { class: 'nav-link', href: nav, 'aria-label': t('today.navigate_to', { name: visit.debtor.name }) },
        h('span', { class: 'icon-nav', 'aria-hidden': 'true' }), h('span', { text: t('today.navigate') })) : null);
  }

  async function setMode(next) {
    mode = next;
    await store.kvSet('today_mode', next);
    render();
  }

  const onData = () => { if (mode === 'list') render(); };
  window.addEventListener('doorstep:data', onData);
  await render();
  return () => {
    window.removeEventListener('doorstep:data', onData);
    if (mapView) mapView.destroy();
  };
}

/* The tile URL comes with the day packet when the office configured one. */
export function tileUrlOf(packet) {
  const settings = packet.settings || {};
  return settings.map_tile_url || settings.tile_url || (packet.map && packet.map.tile_url) || packet.map_tile_url || '';
}
