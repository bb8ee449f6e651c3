/* A plan's terms as the debtor reads them: kind, amounts and the schedule. */
import { toCents } from '../../plan.js';
import { h } from '../dom.js';
import { fact } from './parts.js';

export function termsView(s, terms) {
  const { t, i18n } = s;
  const cur = terms.currency;
  return h('div', { class: 'terms' },
    h('dl', { class: 'facts' },
      fact(t('plan.kind'), t(`plan.kind.${terms.kind}`)),
      fact(t('plan.total'), i18n.money(terms.total, cur)),
      terms.kind === 'settlement' ? fact(t('plan.discount'), `${terms.discount_pct}%`) : null,
      fact(t('plan.payable'), i18n.money(terms.payable, cur), 'strong'),
      toCents(terms.down_payment) > 0 ? fact(t('plan.down_payment'), i18n.money(terms.down_payment, cur)) : null),
    h('table', { class: 'schedule' },
      h('caption', { text: t('plan.schedule') }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: '#' }), h('th', { scope: 'col', text: t('plan.due') }), h('th', { scope: 'col', class: 'num-col', text: t('plan.amount') }))),
      h('tbody', {}, terms.schedule.map((x) => h('tr', {}, h('td', { text: String(x.seq) }), h('td', { text: x.due_date }), h('td', { class: 'num-col', text: i18n.money(x.amount, cur) }))))));
}
