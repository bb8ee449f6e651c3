/* What was done at the door, from the draft (check-out and the final screen). */
import { fact } from './parts.js';
import { h } from '../dom.js';

export function summary(s) {
  const { t, i18n, draft, decisions } = s;
  const o = draft.outcome || {};
  const p = draft.plan;
  return h('dl', { class: 'facts' },
    fact(t('summary.checkin'), draft.checkin ? `${i18n.dateTime(draft.checkin.at)}${draft.checkin.distance_m != null ? ` · ${t('summary.distance', { d: draft.checkin.distance_m })}` : ''}` : ''),
    fact(t('summary.met'), draft.met ? t(`met.${draft.met}`) : ''),
    o.code ? fact(t('summary.outcome'), t(`outcome.${o.code}`)) : null,
    p && p.proposed ? fact(t('summary.plan'), `${t(`plan.kind.${p.terms.kind}`)} · ${i18n.money(p.terms.payable, p.terms.currency)} · ${t(`plan.status.${p.status}`)}`) : null,
    p && decisions[p.plan_ref] ? fact(t('summary.decision'), [t(`plan.status.${decisions[p.plan_ref].status}`), decisions[p.plan_ref].reason].filter(Boolean).join(' — ')) : null,
    draft.signature && draft.signature.done ? fact(t('summary.signature'), draft.signature.refused ? t('summary.refused') : t('summary.signed')) : null,
    fact(t('summary.notes'), String((draft.notes || []).length)));
}
