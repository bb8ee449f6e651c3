/* KPI dashboard (COMPLIANCE.md "Case-owner KPIs", R18: quality and compliance beside money):
 * filters, headline figures with their numerator and denominator, per-agent bars, a daily
 * trend, the table, and the CSV export. Charts are plain SVG drawn here. */
import { h, clear, describeError, fetchBlob, formatters, isoToday, addDays, empty } from '../util.js';
import { barChart, trendChart } from '../charts.js';
import { WHAT_WORKS_ROLES, whatWorksSection } from './whatworks.js';

const HEADLINE = ['completion_rate', 'contact_rate', 'rpc_rate', 'promise_rate', 'kept_rate_count', 'kept_rate_amount',
  'broken_90d_rate', 'km_per_visit', 'cost_per_visit', 'reconciled_rate_amount', 'arrivals_in_window_rate', 'disclosure_rate',
  'complaints_per_100', 'presence_avg'];
const BAR_METRICS = ['completion_rate', 'contact_rate', 'rpc_rate', 'promise_rate', 'arrivals_in_window_rate', 'disclosure_rate', 'km_per_visit'];

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  const saved = JSON.parse(sessionStorage.getItem('office.kpis') || '{}');
  const today = isoToday('Asia/Shanghai');
  // up to yesterday by default: today's visits are still under way and would read as not done
  const state = Object.assign({ branch_id: '', agent_id: '', from: addDays(today, -30), to: addDays(today, -1), metric: 'completion_rate' }, saved);
  let report = null;
  let alive = true;

  const branchSel = h('select', { class: 'o-input', 'aria-label': t('kpi.branch') }, h('option', { value: '', text: t('kpi.all_branches') }));
  const agentSel = h('select', { class: 'o-input', 'aria-label': t('kpi.agent') }, h('option', { value: '', text: t('kpi.all_agents') }));
  const from = h('input', { type: 'date', class: 'o-input', value: state.from, 'aria-label': t('kpi.from') });
  const to = h('input', { type: 'date', class: 'o-input', value: state.to, 'aria-label': t('kpi.to') });
  const status = h('p', { class: 'o-status', role: 'status' });
  const csvBtn = h('button', { type: 'button', class: 'o-btn ghost', text: t('kpi.export_csv') });
  const body = h('div', { class: 'o-kpi-body' });

  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('kpi.title') }), csvBtn),
    h('form', { class: 'o-filters', onsubmit: (e) => { e.preventDefault(); apply(); } },
      labelled(t('kpi.branch'), branchSel), labelled(t('kpi.agent'), agentSel),
      labelled(t('kpi.from'), from), labelled(t('kpi.to'), to),
      h('button', { type: 'submit', class: 'o-btn', text: t('kpi.apply') })),
    status, body);

  try {
    const [branches, agents] = await Promise.all([api.get('/api/branches'), api.get('/api/agents')]);
    branches.forEach((b) => branchSel.append(h('option', { value: String(b.id), text: b.name })));
    agents.forEach((a) => agentSel.append(h('option', { value: String(a.id), dataset: { branch: a.branch_id }, text: a.user ? (a.user.display_name || a.user.username) : `#${a.id}` })));
  } catch (err) {
    status.textContent = describeError(err, t);
  }
  branchSel.value = state.branch_id;
  agentSel.value = state.agent_id;
  branchSel.addEventListener('change', () => {
    for (const opt of agentSel.options) opt.hidden = Boolean(opt.value && branchSel.value && opt.dataset.branch !== branchSel.value);
    if (agentSel.selectedOptions[0] && agentSel.selectedOptions[0].hidden) agentSel.value = '';
  });

  function query() {
    const params = new URLSearchParams();
    if (state.branch_id) params.set('branch_id', state.branch_id);
    if (state.agent_id) params.set('agent_id', state.agent_id);
    params.set('from', state.from);
    params.set('to', state.to);
    return params.toString();
  }

  async function apply() {
    Object.assign(state, { branch_id: branchSel.value, agent_id: agentSel.value, from: from.value, to: to.value });
    sessionStorage.setItem('office.kpis', JSON.stringify(state));
    status.textContent = t('status.loading');
    try {
      report = await api.get(`/api/kpis?${query()}`);
      // what works looks further back than the range (promises need time to be judged): up to `to`, by branch
      const works = WHAT_WORKS_ROLES.includes(ctx.user.role) ? await whatWorksSection(ctx, f, { branchId: state.branch_id, until: state.to }) : null;
      if (!alive) return;
      status.textContent = '';
      render(works);
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  csvBtn.addEventListener('click', async () => {
    try {
      const blob = await fetchBlob(ctx, `/api/kpis.csv?${query()}`);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `doorstep-kpis-${state.from}-${state.to}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  });

  function value(key, rate) {
    if (rate.value === null) return '—';
    if (key === 'presence_avg') return f.num(rate.value, 0);
    if (key === 'cost_per_visit') return f.money(rate.value);
    return key === 'km_per_visit' ? `${f.num(rate.value)} km` : key === 'complaints_per_100' ? f.num(rate.value, 2) : f.pct(rate.value);
  }

  function render(works) {
    const totals = report.totals;
    const defs = Object.fromEntries(report.definitions.map((d) => [d.key, d]));
    const cards = h('div', { class: 'o-kpi-cards' },
      h('article', { class: 'o-kpi money' },
        h('h3', { text: t('kpi.collected') }), h('p', { class: 'o-kpi-value', text: f.money(report.collected.amount) }),
        h('p', { class: 'o-sub', text: report.collected.payments === null ? t('kpi.collected_agent') : t('kpi.collected_src', { n: report.collected.payments }) })),
      h('article', { class: 'o-kpi money', dataset: { kpi: 'door_collected' } },
        h('h3', { text: t('kpi.door.collected') }), h('p', { class: 'o-kpi-value', text: f.money(totals.counts.door_collected) }),
        h('p', { class: 'o-sub', text: t('kpi.door.collected_sub', { n: f.num(totals.counts.door_receipts, 0), reconciled: f.money(totals.counts.door_reconciled), disputed: f.money(totals.counts.door_disputed) }) })),
      h('article', { class: 'o-kpi' },
        h('h3', { text: t('kpi.visits') }), h('p', { class: 'o-kpi-value', text: f.num(totals.counts.done, 0) }),
        h('p', { class: 'o-sub', text: t('kpi.visits_sub', { assigned: f.num(totals.counts.assigned, 0), quarantined: f.num(totals.counts.quarantined, 0), notes: f.num(totals.counts.flagged_notes, 0) }) })),
      HEADLINE.map((key) => {
        const rate = totals.rates[key];
        return h('article', { class: `o-kpi ${key}`, title: defs[key] ? defs[key].description : '', dataset: { kpi: key } },
          h('h3', { text: t(`kpi.${key}`) }), h('p', { class: 'o-kpi-value', text: value(key, rate) }),
          h('p', { class: 'o-sub', text: `${f.num(rate.num)} / ${f.num(rate.den)}` }));
      }));

    const metricSel = h('select', { class: 'o-input small', 'aria-label': t('kpi.metric') },
      BAR_METRICS.map((k) => h('option', { value: k, text: t(`kpi.${k}`), selected: k === state.metric })));
    const barsBox = h('div', { class: 'o-chart' });
    const drawBars = () => {
      const unit = state.metric === 'km_per_visit' ? 'km' : 'ratio';
      clear(barsBox, report.agents.length ? barChart(report.agents.map((r) => ({
        label: r.agent || `#${r.agent_id}`, value: r.rates[state.metric].value,
        note: `${f.num(r.rates[state.metric].num)} / ${f.num(r.rates[state.metric].den)}`,
      })), { unit, format: (v) => (unit === 'km' ? f.num(v) : f.pct(v)), total: totals.rates[state.metric].value, label: `${t('kpi.by_agent')}: ${t(`kpi.${state.metric}`)}` }) : empty(t('kpi.no_data')));
    };
    metricSel.addEventListener('change', () => { state.metric = metricSel.value; sessionStorage.setItem('office.kpis', JSON.stringify(state)); drawBars(); });
    drawBars();

    const byDate = new Map(report.daily.map((d) => [d.date, d.counts]));
    const days = [];
    for (let d = report.filters.from; d <= report.filters.to; d = addDays(d, 1)) days.push(d);
    const zero = { assigned: 0, done: 0, rpc: 0, promises: 0 };
    const trend = report.daily.length ? trendChart(days.map((d) => {
      const c = byDate.get(d) || zero;
      return { date: d, assigned: c.assigned, done: c.done, rpc: c.rpc, promises: c.promises };
    }), { series: [['assigned', t('kpi.series_assigned')], ['done', t('kpi.series_done')], ['rpc', t('kpi.series_rpc')], ['promises', t('kpi.series_promises')]], label: t('kpi.by_day') }) : empty(t('kpi.no_data'));

    const table = h('table', { class: 'o-table o-kpi-table' },
      h('thead', {}, h('tr', {}, h('th', { text: t('kpi.agent') }), h('th', { class: 'o-num', text: t('kpi.assigned') }), h('th', { class: 'o-num', text: t('kpi.done') }),
        HEADLINE.map((k) => h('th', { class: 'o-num', text: t(`kpi.short.${k}`), title: t(`kpi.${k}`) })),
        h('th', { class: 'o-num', text: t('kpi.short.collected') }), h('th', { class: 'o-num', text: t('kpi.short.door_collected') }),
        h('th', { class: 'o-num', text: t('kpi.short.door_reconciled') }), h('th', { class: 'o-num', text: t('kpi.short.quarantined') }))),
      h('tbody', {}, [...report.agents, Object.assign({}, totals, { agent: t('kpi.total'), total: true })].map((r) => h('tr', { class: r.total ? 'o-total' : '' },
        h('td', { text: r.agent || '—' }), h('td', { class: 'o-num', text: f.num(r.counts.assigned, 0) }), h('td', { class: 'o-num', text: f.num(r.counts.done, 0) }),
        HEADLINE.map((k) => h('td', { class: 'o-num', text: value(k, r.rates[k]) })),
        h('td', { class: 'o-num', text: f.money(r.counts.collected_on_plans) }), h('td', { class: 'o-num', text: f.money(r.counts.door_collected) }),
        h('td', { class: 'o-num', text: f.money(r.counts.door_reconciled) }), h('td', { class: 'o-num', text: f.num(r.counts.quarantined, 0) })))));

    const money = report.daily.length ? trendChart(days.map((d) => {
      const c = byDate.get(d) || {};
      return { date: d, collected: c.door_collected || 0, reconciled: c.door_reconciled || 0 };
    }), { series: [['collected', t('kpi.door.series_collected')], ['reconciled', t('kpi.door.series_reconciled')]], label: t('kpi.door.by_day') }) : empty(t('kpi.no_data'));

    clear(body, cards, cashInHand(report.cash_in_hand),
      h('div', { class: 'o-kpi-charts' },
        h('section', { class: 'o-card' }, h('div', { class: 'o-card-head' }, h('h2', { text: t('kpi.by_agent') }), metricSel), barsBox),
        h('section', { class: 'o-card' }, h('h2', { text: t('kpi.by_day') }), trend),
        h('section', { class: 'o-card o-door-money' }, h('h2', { text: t('kpi.door.by_day') }), money)),
      byBranch(report.branches), works,
      h('section', { class: 'o-card' }, h('h2', { text: t('kpi.table') }), h('div', { class: 'o-scroll' }, table),
        h('p', { class: 'o-hint', text: t('kpi.definitions_hint') })));
  }

  /* Per branch of the agents: money taken at the door, how much the bank confirmed, and what a
   * visit cost (km and hours at the branch jurisdiction's rates, in its currency). */
  function byBranch(rows) {
    const table = rows.length ? h('table', { class: 'o-table o-branch-table' },
      h('thead', {}, h('tr', {}, ['kpi.branch', 'kpi.done', 'kpi.door.collected', 'kpi.door.reconciled', 'kpi.reconciled_rate_amount', 'kpi.cost_per_visit']
        .map((k, i) => h('th', { class: i ? 'o-num' : '', text: t(k) })))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { branchId: r.branch_id } },
        h('td', { text: r.branch }), h('td', { class: 'o-num', text: f.num(r.counts.done, 0) }),
        h('td', { class: 'o-num', text: f.money(r.counts.door_collected, r.currency) }),
        h('td', { class: 'o-num', text: f.money(r.counts.door_reconciled, r.currency) }),
        h('td', { class: 'o-num', text: f.pct(r.rates.reconciled_rate_amount.value) }),
        h('td', { class: 'o-num', text: r.rates.cost_per_visit.value === null ? '—' : f.money(r.rates.cost_per_visit.value, r.currency) }))))) : empty(t('kpi.no_data'));
    return h('section', { class: 'o-card o-branches' }, h('h2', { text: t('kpi.by_branch') }), h('div', { class: 'o-scroll' }, table),
      h('p', { class: 'o-hint', text: t('kpi.door.hint') }));
  }

  /* Now, whatever the date range: cash each agent took at the door and has neither banked nor
   * seen confirmed by the bank, and how much of it is past the custody limit. */
  function cashInHand(rows) {
    const table = rows.length ? h('table', { class: 'o-table o-cash-table' },
      h('thead', {}, h('tr', {}, h('th', { text: t('kpi.agent') }), h('th', { class: 'o-num', text: t('kpi.cash.amount') }),
        h('th', { class: 'o-num', text: t('kpi.cash.collections') }), h('th', { class: 'o-num', text: t('kpi.cash.stale') }),
        h('th', { text: t('kpi.cash.oldest') }))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { agentId: r.agent_id }, class: r.stale ? 'o-overdue' : '' },
        h('td', { text: r.agent || `#${r.agent_id}` }),
        h('td', { class: 'o-num', text: f.money(r.amount, r.currency) }),
        h('td', { class: 'o-num', text: f.num(r.collections, 0) }),
        h('td', { class: 'o-num', text: r.stale ? t('kpi.cash.stale_of', { amount: f.money(r.stale_amount, r.currency), n: r.stale }) : '—' }),
        h('td', { text: f.dateTime(r.oldest_collected_at) }))))) : empty(t('kpi.cash.none'));
    return h('section', { class: 'o-card o-cash' }, h('h2', { text: t('kpi.cash.title') }), table,
      h('p', { class: 'o-hint', text: t('kpi.cash.hint') }));
  }

  await apply();
  return () => { alive = false; };
}

function labelled(text, control) {
  return h('label', { class: 'o-field' }, h('span', { text }), control);
}
