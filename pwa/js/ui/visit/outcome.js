/* The outcome, with the fields its code requires; only the codes allowed for who was met
 * (R5). "Plan agreed" goes on to the plan builder and is recorded with the signature. */
import { CODES_BY_MET, OUTCOMES } from '../../flow.js';
import * as ops from '../../ops.js';
import { addDays, fromCents, toCents } from '../../plan.js';
import { button, clear, field, h } from '../dom.js';
import { partnerWarning } from './crew.js';
import { put } from './parts.js';
import { approachFields, approachSection, approachUsed } from './scripts.js';

/* The outcome op for this visit's draft, with `fields` its code requires, the return visit
 * agreed at the door, if any (it becomes an open follow-up on the server), and the approach used. */
export const outcomeOp = (s, code, fields) => ops.outcome(s.visit, { code, met: s.draft.met, disclosure: s.draft.disclosure },
  Object.assign(agreedReturn(s.draft), approachUsed(s), fields));

function agreedReturn(draft) {
  const form = draft.outcome || {};
  if (!form.follow_up_date || draft.met === 'nobody') return {};
  const note = (form.follow_up_note || '').trim();
  return note ? { follow_up_date: form.follow_up_date, follow_up_note: note } : { follow_up_date: form.follow_up_date };
}

/* "Agreed to come back on …": asked whenever someone was met at the door. */
function returnFields(s, form) {
  const { t } = s;
  const date = h('input', { type: 'date', name: 'follow_up_date', value: form.follow_up_date || '', min: addDays(s.todayIso(), 1) });
  const note = h('input', { type: 'text', name: 'follow_up_note', maxlength: 500, value: form.follow_up_note || '' });
  date.addEventListener('input', () => s.keep('outcome.follow_up_date', { outcome: { follow_up_date: date.value } }));
  note.addEventListener('input', () => s.keep('outcome.follow_up_note', { outcome: { follow_up_note: note.value } }));
  return h('div', { class: 'outcome-return' }, field(t('outcome.follow_up_date'), date, t('outcome.follow_up_date.hint')),
    field(t('outcome.follow_up_note'), note));
}

export function render(el, s) {
  const { t, visit, draft } = s;
  const form = draft.outcome || {};
  const codes = CODES_BY_MET[draft.met] || [];
  const error = h('p', { class: 'error', role: 'alert' });
  const fields = h('div', { class: 'outcome-fields' });
  let code = codes.includes(form.code) ? form.code : '';
  const radios = h('fieldset', { class: 'codes' }, h('legend', { text: t('outcome.title') }),
    codes.map((c) => {
      const input = h('input', { type: 'radio', name: 'code', value: c, checked: c === code });
      input.addEventListener('change', () => { code = c; s.keep('outcome', { outcome: { code: c } }); drawFields(); });
      return h('label', { class: 'radio' }, input, h('span', {}, h('strong', { text: t(`outcome.${c}`) }), h('small', { text: t(`outcome.${c}.hint`) })));
    }));
  const inputs = {};
  function drawFields() {
    clear(fields);
    if (!code) return;
    for (const name of OUTCOMES[code].requires) {
      if (name === 'plan_ref') continue;
      let control;
      if (name === 'reason') control = h('textarea', { rows: 3, value: form.reason || '' });
      else if (name === 'due_date') control = h('input', { type: 'date', value: form.due_date || '', min: s.todayIso(), max: addDays(s.todayIso(), s.policy().promise_max_days || 30) });
      else control = h('input', { type: 'text', inputmode: 'decimal', value: form[name] || '', placeholder: '0.00' });
      control.addEventListener('input', () => s.keep(`outcome.${name}`, { outcome: { [name]: control.value } }));
      inputs[name] = control;
      fields.append(field(t(`outcome.field.${name}`), control));
    }
    if (['dispute', 'complaint', 'vulnerable', 'asked_to_leave'].includes(code)) fields.append(h('p', { class: 'notice', text: t(`outcome.${code}.effect`) }));
  }
  drawFields();
  const submit = button(t('outcome.record'), (e) => s.guarded(e.currentTarget, async () => {
    error.textContent = '';
    if (!code) { error.textContent = t('outcome.pick'); return; }
    if (code === 'plan_agreed') { await s.saveOnly({ outcome: { code } }); return; }
    const values = {};
    for (const name of OUTCOMES[code].requires) {
      const value = inputs[name] ? inputs[name].value.trim() : '';
      if (!value) { error.textContent = t('outcome.missing', { field: t(`outcome.field.${name}`) }); return; }
      if (name === 'amount' && !(toCents(value) > 0)) { error.textContent = t('outcome.bad_amount'); return; }
      values[name] = name === 'amount' ? fromCents(toCents(value)) : value;
    }
    const op = outcomeOp(s, code, values);
    await s.commit([op], { outcome: Object.assign({ code, done: true }, op.payload) });
  }), 'btn primary block big');
  const approach = approachFields(s);
  put(el, draft.met === 'third_party' ? h('section', { class: 'card' }, h('h2', { text: t('third_party.title') }),
    h('blockquote', { class: 'script', text: t('third_party.script', { name: visit.debtor.name }) })) : approachSection(s, false, approach.set),
  h('section', { class: 'card' }, partnerWarning(t, visit), radios, fields, approach.el, draft.met && draft.met !== 'nobody' ? returnFields(s, form) : null, error, submit,
    draft.met ? button(t('outcome.change_met'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ met: null, disclosure: null, outcome: { code: null } })), 'btn ghost block') : null));
}
