/* Approved wording on the device: scripts with {placeholders} filled from the brief and the
 * policy (R7), the jurisdiction's disclosure (R6), and the recommended approach (never shown
 * to a third party, R5). */
import { isBlocked } from '../../flow.js';
import { addDays } from '../../plan.js';
import { h } from '../dom.js';

export const agentName = (s) => (s.user && (s.user.display_name || s.user.username)) || '';

export function fill(s, text) {
  const { t, i18n, visit, packet } = s;
  const account = visit.account || {};
  const p = s.policy();
  const org = packet && (packet.organisation || {}).name;
  const values = {
    debtor_name: visit.debtor.name,
    agent_name: agentName(s),
    organisation: org || (packet && packet.agent && packet.agent.branch && packet.agent.branch.name) || t('disclosure.organisation'),
    complaint_phone: (packet && (packet.organisation || {}).complaint_phone) || t('disclosure.complaint_channel'),
    overdue_amount: i18n.money(account.overdue_amount, account.currency),
    days_past_due: String(account.days_past_due ?? ''),
    min_installment: i18n.money(p.min_installment_floor, account.currency),
    max_term_months: String(p.max_term_months ?? ''),
    pay_by: addDays(s.todayIso(), Number(p.incentive_pay_by_days || 14)),
    waiver_amount: i18n.money((Number(account.overdue_amount || 0) * Number(p.incentive_max_waiver_pct || 0)) / 100, account.currency),
  };
  return String(text).replace(/\{(\w+)\}/g, (m, key) => values[key] ?? '…');
}

export function disclosureText(s) {
  const texts = s.rules().disclosure || {};
  const text = texts[s.i18n.currentLocale()] || texts['zh-CN'];
  return text ? fill(s, text) : s.t('disclosure.script', { agent: agentName(s) });
}

/* The recommended approach and its scripts; never shown to a third party (R5). */
export function approachSection(s, open) {
  const { t, visit, draft } = s;
  const rec = visit.recommended || {};
  const strategies = rec.strategies || [];
  // R5: never to a third party; R4: a blocked case gets no collection wording
  if (draft.met === 'third_party' || !strategies.length || (isBlocked(visit) && !draft.checkin)) return null;
  return h('details', { class: 'card approach', open },
    h('summary', { text: t('brief.approach') }),
    strategies.map((x) => h('div', { class: 'strategy' },
      h('h3', { text: x.label || t(`strategy.${x.key}`) }),
      x.reason ? h('p', { class: 'muted', text: x.reason }) : null,
      (x.scripts || []).length ? h('ul', { class: 'scripts' }, x.scripts.map((sc) => h('li', {},
        fill(s, typeof sc === 'string' ? sc : (sc.text || '')),
        sc.legal_wording ? h('span', { class: 'chip', text: t('brief.legal_wording') }) : null))) : null)),
    rec.placeholder ? h('p', { class: 'muted', text: t('brief.approach_placeholder') }) : null);
}
