/* The brief: the situation, stop-work flags, check-in, navigation, the recommended approach,
 * the case's history and the agent's plan authority. */
import { checkinRefusal, navigationUrl } from '../../flow.js';
import { h } from '../dom.js';
import { checkinSection } from './checkin.js';
import { fact, put, section } from './parts.js';
import { approachSection } from './scripts.js';

export async function render(el, s) {
  const { t, i18n, visit } = s;
  const account = visit.account || {};
  const refusal = checkinRefusal(visit, await s.sync.serverNow());
  const nav = navigationUrl(visit);
  put(el,
    section(t('brief.situation'),
      h('dl', { class: 'facts' },
        fact(t('brief.overdue'), i18n.money(account.overdue_amount, account.currency), 'strong'),
        fact(t('brief.balance'), i18n.money(account.balance, account.currency)),
        fact(t('brief.dpd'), `${t('today.dpd', { n: account.days_past_due })} · ${account.bucket || ''}`),
        fact(t('brief.card'), account.card_masked || ''),
        fact(t('brief.language'), visit.debtor.language ? t(`locale.${visit.debtor.language}`) : ''))),
    (visit.flags || []).length || visit.stopped ? h('section', { class: 'card bad', role: 'alert' },
      h('h2', { text: t('brief.stop_work') }),
      h('ul', {}, visit.stopped ? h('li', { class: 'ladder-stop', text: `${t(`stop.${visit.stopped.code}`, { stage: t(`stage.${visit.stopped.stage}`) })}${visit.stopped.reason ? ` — ${visit.stopped.reason}` : ''}` }) : null,
        (visit.flags || []).map((f) => h('li', { text: `${t(`flag.${f.flag}`)}${f.reason ? ` — ${f.reason}` : ''}` })))) : null,
    checkinSection(s, refusal),
    nav ? h('a', { class: 'btn secondary block', href: nav, text: t('today.navigate') }) : null,
    approachSection(s, true),
    historySection(s),
    policySection(s));
}

/* The case's story so far, from the packet's summary (sync's case_history). */
function historySection(s) {
  const { t, i18n, visit } = s;
  const history = visit.history;
  if (!history || typeof history !== 'object') return null;
  const currency = (visit.account || {}).currency;
  const plan = history.open_plan;
  const last = history.last_visits || [];
  return section(t('brief.history'),
    h('dl', { class: 'facts' },
      fact(t('history.visits'), String(history.visits ?? 0)),
      fact(t('history.last_contact_at'), history.last_contact_at ? i18n.dateTime(history.last_contact_at) : t('history.never')),
      fact(t('history.broken_promises'), String(history.broken_promises ?? 0)),
      plan ? fact(t('history.open_plan'), `${t(`plan.kind.${plan.kind}`)} · ${i18n.money(plan.payable, currency)} · ${t(`plan.status.${plan.status}`)}`) : null,
      plan && plan.next_due ? fact(t('history.next_due'), `${plan.next_due.date} · ${i18n.money(plan.next_due.amount, currency)}`) : null),
    last.length ? h('ul', { class: 'events' }, last.map((v) => h('li', {},
      h('span', { class: 'muted', text: `${v.date} ` }),
      v.outcome ? t(`outcome.${v.outcome}`) : t(`visit_status.${v.status}`),
      v.met ? h('span', { class: 'muted', text: ` · ${t(`met.${v.met}`)}` }) : null))) : null);
}

function policySection(s) {
  const { t, i18n, visit } = s;
  const p = s.policy();
  const authority = (p.discount_authority_pct || {}).agent;
  if (!Object.keys(p).length) return null;
  return section(t('brief.policy'), h('ul', { class: 'plain' },
    authority != null ? h('li', { text: t('brief.policy_discount', { pct: authority }) }) : null,
    p.max_term_months ? h('li', { text: t('brief.policy_term', { n: p.max_term_months }) }) : null,
    p.min_installment_floor ? h('li', { text: t('brief.policy_min', { amount: i18n.money(p.min_installment_floor, (visit.account || {}).currency) }) }) : null));
}
