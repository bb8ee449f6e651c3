/* The plan's figures beside the board, as the routing service computes them (docs/routing.md,
 * statistics): how evenly the day is spread between agents (stops and working hours: most,
 * least and the coefficient of variation), the value of the day when travel has a price
 * (priority served less the price of the hours driven) and how many debtors keep the agent
 * who last met them, and with the at-home model the contacts expected (the sum of each stop's chance
 * of finding someone home) and the priority they carry. A figure the plan does not have is left out, never shown as zero. */
import { h } from '../util.js';

export function planStatsView(t, f, stats) {
  const s = stats || {};
  const rows = [];
  const add = (key, value, hint) => rows.push(h('div', { class: 'o-stat', dataset: { stat: key } },
    h('dt', { text: t(`board.stats.${key}`) }), h('dd', { text: value }, hint ? h('span', { class: 'o-sub', text: ` ${hint}` }) : null)));
  const workload = s.workload;
  if (workload && workload.agents > 1) {
    const { stops, work_s: work } = workload;
    add('stops', t('board.stats.range', { max: f.num(stops.max, 0), min: f.num(stops.min, 0) }), t('board.stats.cv', { cv: f.num(stops.cv, 2) }));
    add('hours', t('board.stats.range', { max: f.num(work.max / 3600, 1), min: f.num(work.min / 3600, 1) }), t('board.stats.cv', { cv: f.num(work.cv, 2) }));
  }
  if (s.value) {
    add('value', f.num(s.value.value, 1), t('board.stats.value_hint', { priority: f.num(s.value.priority, 0), hours: f.num(s.value.hours, 1), price: f.num(s.value.travel_cost, 1) }));
  }
  if (s.continuity) {
    add('continuity', f.pct(s.continuity.share), t('board.stats.continuity_hint', { kept: s.continuity.kept, n: s.continuity.preferred }));
  }
  if (s.contact) {
    add('contact', f.num(s.contact.expected_contacts, 1), t('board.stats.contact_hint', { priority: f.num(s.contact.expected_priority, 0) }));
  }
  if (!rows.length) return null;
  return h('dl', { class: 'o-plan-stats', 'aria-label': t('board.stats.title') }, rows);
}
