/* Two-person visits (R9): the day packet's `crew` says whether this phone leads the visit or
 * partners it, names the other agent, and whether the partner has checked in. Both phones
 * check in; the lead records the visit, and is warned before an outcome while the partner's
 * check-in has not reached it (the record is kept, but the office sees it flagged). The
 * partner's phone still escalates (R12, R16: a safety or vulnerability concern goes up at once)
 * and adds notes of what it saw (R11); the outcome, plan and money stay the lead's. */
import * as ops from '../../ops.js';
import { button, field, h } from '../dom.js';
import { openEscalate } from './escalate.js';
import { noteWarning } from './notes.js';

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
  const { t, i18n, visit, draft } = s;
  const name = (visit.crew.with && visit.crew.with.name) || '—';
  const text = h('textarea', { rows: 3, value: draft.note_text || '' });
  const warn = h('p', { class: 'warn-text', role: 'status' });
  const check = noteWarning(s, text, warn);
  text.addEventListener('input', () => { s.keep('note', { note_text: text.value }); check(); });
  check();
  const saveNote = async () => {
    const value = text.value.trim();
    if (!value) { warn.textContent = t('notes.empty'); text.focus(); return; }
    await s.commit([ops.note(visit, value)],
      { notes: (draft.notes || []).concat([{ text: value, at: new Date().toISOString() }]), note_text: '' });
  };
  const notes = draft.notes || [];
  el.replaceChildren(h('section', { class: 'card center partner-done' },
    h('h2', { text: t('crew.partner_checked_in') }),
    h('p', { text: t('crew.lead_records', { name }) })),
  h('section', { class: 'card partner-actions' },
    h('h2', { text: t('crew.partner_can') }),
    h('p', { class: 'muted', text: t('crew.partner_escalate_help') }),
    button(t('escalate.open'), () => openEscalate(s), 'btn secondary block partner-escalate'),
    notes.length ? h('ul', { class: 'saved-notes' }, notes.map((n) => h('li', {}, h('span', { class: 'muted', text: i18n.dateTime(n.at) }), h('p', { text: n.text })))) : null,
    field(t('notes.label'), text, t('notes.hint')), warn,
    button(t('notes.save'), (e) => s.guarded(e.currentTarget, saveNote), 'btn secondary block partner-note'),
    h('a', { class: 'btn primary block', href: '#/today', text: t('visit.back') })));
}
