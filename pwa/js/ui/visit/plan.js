/* The plan builder (installments, settlement, pay in full, promise): the schedule in cents
 * and the packet's policy decide "within authority" / "needs approval" / "not valid" exactly
 * as the server does; proposing queues plan.propose with the terms and their hash. */
import * as ops from '../../ops.js';
import { KINDS, addDays, buildTerms, checkPolicy, termsHash } from '../../plan.js';
import { button, clear, field, h } from '../dom.js';
import { put } from './parts.js';
import { termsView } from './terms.js';

export function render(el, s) {
  const { t, i18n, visit, draft } = s;
  const account = visit.account || {};
  const currency = account.currency || 'CNY';
  const today = s.todayIso();
  const saved = (draft.plan && draft.plan.form) || {};
  const form = Object.assign({
    kind: 'installments', total: account.overdue_amount || '', down_payment: '', months: '6',
    first_due: addDays(today, 30), discount_pct: '', due_date: addDays(today, 7),
  }, saved);
  const result = h('div', { class: 'plan-result', 'aria-live': 'polite' });
  const controls = h('div', { class: 'plan-controls' });
  const kinds = h('div', { class: 'segmented wrap', role: 'group', 'aria-label': t('plan.kind') },
    KINDS.map((k) => button(t(`plan.kind.${k}`), () => { form.kind = k; persist(); draw(); }, 'seg', { 'aria-pressed': String(form.kind === k) })));

  function persist() { s.keep('plan', { plan: { form: Object.assign({}, form) } }); }

  function input(name, attrs) {
    const control = h('input', Object.assign({ value: form[name] ?? '' }, attrs));
    control.addEventListener('input', () => { form[name] = control.value; persist(); compute(); });
    return control;
  }

  function draw() {
    for (const b of kinds.children) b.setAttribute('aria-pressed', String(b.textContent === t(`plan.kind.${form.kind}`)));
    const total = input('total', { type: 'text', inputmode: 'decimal', name: 'total' });
    const quick = h('div', { class: 'chips' },
      button(`${t('plan.use_overdue')} ${i18n.money(account.overdue_amount, currency)}`, () => { form.total = account.overdue_amount; persist(); draw(); }, 'chip-btn'),
      button(`${t('plan.use_balance')} ${i18n.money(account.balance, currency)}`, () => { form.total = account.balance; persist(); draw(); }, 'chip-btn'));
    const parts = [field(t(form.kind === 'promise' ? 'plan.promise_amount' : 'plan.total'), total), quick];
    if (form.kind === 'installments') {
      parts.push(field(t('plan.down_payment'), input('down_payment', { type: 'text', inputmode: 'decimal', name: 'down_payment', placeholder: '0.00' }), t('plan.down_payment_hint')));
      parts.push(field(t('plan.months'), input('months', { type: 'number', min: 1, max: 60, step: 1, inputmode: 'numeric', name: 'months' })));
      parts.push(field(t('plan.first_due'), input('first_due', { type: 'date', name: 'first_due', min: s.todayIso() })));
    } else {
      if (form.kind === 'settlement') parts.push(field(t('plan.discount'), input('discount_pct', { type: 'number', min: 1, max: 99, step: '0.5', inputmode: 'decimal', name: 'discount_pct' }), t('plan.discount_hint', { pct: ((s.policy().discount_authority_pct || {}).agent) ?? '0' })));
      parts.push(field(t('plan.due_date'), input('due_date', { type: 'date', name: 'due_date', min: s.todayIso() })));
    }
    clear(controls, parts);
    compute();
  }

  let current = null;
  function compute() {
    const built = buildTerms(Object.assign({}, form, { case_id: visit.case_id, currency }));
    current = null;
    if (built.error) {
      clear(result, h('p', { class: 'muted', text: t('plan.incomplete', { field: t(`plan.field.${built.error}`) }) }));
      propose.disabled = true;
      return;
    }
    const check = checkPolicy(built.terms, s.policy(), { role: 'agent', today: s.todayIso(), bucket: account.bucket });
    current = { terms: built.terms, check };
    propose.disabled = check.status === 'invalid';
    clear(result,
      h('p', { class: `plan-status ${check.status}`, text: t(`plan.status.${check.status}`) }),
      check.findings.length ? h('ul', { class: 'findings' }, check.findings.map((f) => h('li', { text: t(f.key, f.params) }))) : null,
      termsView(s, built.terms));
  }

  const propose = button(t('plan.propose'), (e) => s.guarded(e.currentTarget, async () => {
    if (!current || current.check.status === 'invalid') return;
    const planRef = s.store.uuid();
    const hash = await termsHash(current.terms);
    await s.commit([ops.planPropose(visit, planRef, current.terms, hash)], {
      plan: {
        form: Object.assign({}, form), proposed: true, plan_ref: planRef, terms: current.terms, terms_hash: hash,
        status: current.check.status, findings: current.check.findings,
        refs: ((draft.plan && draft.plan.refs) || []).concat([planRef]),
      },
      signature: { done: false, strokes: [] },
    });
  }), 'btn primary block big');

  put(el, h('section', { class: 'card' }, h('h2', { text: t('plan.title') }), h('p', { class: 'muted', text: t('plan.help') }), kinds, controls),
    h('section', { class: 'card' }, result, propose,
      button(t('plan.change_outcome'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ outcome: { code: null } })), 'btn ghost block')));
  draw();
}
