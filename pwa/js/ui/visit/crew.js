/* Two-person visits (R9): the day packet's `crew` says whether this phone leads the visit or
 * partners it, names the other agent, and whether the partner has checked in. Both phones
 * check in; the lead records the visit, and is warned before an outcome while the partner's
 * check-in has not reached it (the record is kept, but the office sees it flagged). The
 * partner's phone still escalates (R12, R16: a safety or vulnerability concern goes up at once)
 * and adds notes of what it saw (R11); the outcome, plan and money stay the lead's. */
import { button, h } from '../dom.js';
import { openEscalate } from './escalate.js';
import { noteForm } from './notes.js';

export const isPartner = (visit) => Boolean(visit && visit.crew && visit.crew.role === 'partner');

/* "with" the other agent's name and the role, for Today and the visit's header (text nodes only). */
export function crewLine(t, visit, tag = 'p') {
  const crew = visit && visit.crew;
  if (!crew) return null;
  const name = (crew.with && crew.with.name) || '—';
  return h(tag, { class: 'crew', dataset: { role: crew.role } },
    h('span', { class: 'chip', text: t(`crew.role.${crew.role}`) }), ' ', h('span', { class: 'crew-with', text: t('crew.with', { name }) }));
}

/* The lead's warning in the outcome step: the partner has not checked in (as far as this phone knows). */
export function partnerWarning(t, visit) {
  const crew = visit && visit.crew;
  if (!crew || crew.role !== 'lead' || crew.partner_checkin_at) return null;
  return h('p', { class: 'notice warn partner-absent', role: 'alert', text: t('crew.partner_absent', { name: (crew.with && crew.with.name) || '—' }) });
}

/* The partner's phone after its check-in: the lead records the visit; the partner may escalate
 * and add notes (each its own op, under this visit). */
export function render(el, s) {
  const { t, visit } = s;
  const name = (visit.crew.with && visit.crew.with.name) || '—';
  el.replaceChildren(h('section', { class: 'card center partner-done' },
    h('h2', { text: t('crew.partner_checked_in') }),
    h('p', { text: t('crew.lead_records', { name }) })),
  h('section', { class: 'card partner-actions' },
    h('h2', { text: t('crew.partner_can') }),
    h('p', { class: 'muted', text: t('crew.partner_escalate_help') }),
    button(t('escalate.open'), () => openEscalate(s), 'btn secondary block partner-escalate'),
    noteForm(s, 3, 'btn secondary block partner-note').nodes,
    h('a', { class: 'btn primary block', href: '#/today', text: t('visit.back') })));
}
