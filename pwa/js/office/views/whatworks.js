/* "What works" on the KPI screen (owners and admins): per strategy and per script used at the
 * door, the kept-promise rate with its 95 % interval and the visits behind it, and the money
 * confirmed within the recovery days of each visit, per currency. Rows with fewer visits than
 * the server's min_visits read "too few visits" instead of a rate. */
import { h, describeError, empty } from '../util.js';

export const WHAT_WORKS_ROLES = ['owner', 'admin'];

export async function whatWorksSection(ctx, f, { branchId, until }) {
  const { t, api } = ctx;
  const params = new URLSearchParams({ until });
  if (branchId) params.set('branch', branchId);
  const section = h('section', { class: 'o-card o-what-works' }, h('h2', { text: t('kpi.ww.title') }));
  let report;
  try {
    report = await api.get(`/api/kpis/what-works?${params}`);
  } catch (err) {
    section.append(h('p', { class: 'o-status', text: describeError(err, t) }));
    return section;
  }
  const rate = (r) => {
    if (r.too_few) return t('kpi.ww.too_few', { n: r.visits });
    if (r.kept_rate === null) return t('kpi.ww.none_judged', { n: r.visits });
    return t('kpi.ww.rate', { rate: f.pct(r.kept_rate), low: f.pct(r.low), high: f.pct(r.high), n: r.visits });
  };
  const money = (r) => r.recovered.map((m) => t('kpi.ww.recovered', { amount: f.money(m.amount, m.currency), n: m.visits })).join('; ') || '—';
  const table = (rows, kind) => (rows.length ? h('table', { class: `o-table o-ww-table o-ww-${kind}` },
    h('thead', {}, h('tr', {}, h('th', { text: t(`kpi.ww.${kind}`) }), h('th', { class: 'o-num', text: t('kpi.ww.visits') }),
      h('th', { class: 'o-num', text: t('kpi.ww.kept') }), h('th', { class: 'o-num', text: t('kpi.ww.kept_rate') }),
      h('th', { class: 'o-num', text: t('kpi.ww.recovered_head', { days: report.recovery_days }) }))),
    h('tbody', {}, rows.map((r) => h('tr', { dataset: { key: r.key } },
      h('td', { text: r.label || r.key }), h('td', { class: 'o-num', text: f.num(r.visits, 0) }),
      h('td', { class: 'o-num', text: t('kpi.ww.kept_of', { kept: r.kept, judged: r.judged, promises: r.promises }) }),
      h('td', { class: 'o-num', text: rate(r) }), h('td', { class: 'o-num', text: money(r) })))))
    : empty(t('kpi.ww.no_data')));
  section.append(
    h('h3', { text: t('kpi.ww.by_strategy') }), h('div', { class: 'o-scroll' }, table(report.strategies, 'strategy')),
    h('h3', { text: t('kpi.ww.by_script') }), h('div', { class: 'o-scroll' }, table(report.scripts, 'script')),
    h('p', { class: 'o-hint', text: t('kpi.ww.hint', { since: report.filters.since, until: report.filters.until, days: report.recovery_days, min: report.min_visits }) }));
  return section;
}
