/* One visit, guided step by step (the playbook's good visit; COMPLIANCE R1, R4, R5, R6,
 * R11, R12, R13, R16). The draft in IndexedDB is the single source of the screen: every
 * step is committed there (with its outbox op, in one transaction) before it shows done,
 * and typed-but-unsaved input is kept there too, so a reload or crash resumes the visit. */
import { CODES_BY_MET, OUTCOMES, STEPS, checkinRefusal, isBlocked, navigationUrl, stepOf } from '../flow.js';
import { currentPosition, distanceM } from '../geo.js';
import { KINDS, addDays, buildTerms, checkPolicy, fromCents, sha256Hex, termsHash, toCents } from '../plan.js';
import { button, clear, field, h } from './dom.js';
import { createPad, renderPng, toBase64 } from './signature.js';

export async function mount(container, ctx) {
  const { t, i18n, store, sync, visitId, user } = ctx;
  let visit;
  let draft;
  let packet;
  let decisions;
  let busy = false;
  let timer = null;
  const saveTimers = {};

  async function load() {
    [visit, draft, packet, decisions] = await Promise.all([
      store.getVisit(visitId), store.getDraft(visitId), store.kvGet('packet'), store.kvGet('plan_decisions')]);
    decisions = decisions || {};
    draft = draft || { visit_id: visitId };
  }

  /* Typed input goes to the draft shortly after typing stops. */
  const pending = {};
  function keep(key, patch) {
    clearTimeout(saveTimers[key]);
    pending[key] = patch;
    saveTimers[key] = setTimeout(() => { delete pending[key]; store.saveDraftFields(visitId, patch); }, 250);
  }

  /* Before a step commits, what was typed is saved first so the commit's patch wins. */
  async function flushTyping() {
    for (const key of Object.keys(pending)) {
      clearTimeout(saveTimers[key]);
      const patch = pending[key];
      delete pending[key];
      await store.saveDraftFields(visitId, patch);
    }
  }

  async function commit(ops, patch) {
    await flushTyping();
    await store.recordStep(visitId, ops, patch, { case_id: visit.case_id });
    sync.kick();
    await render();
  }

  async function saveOnly(patch) {
    await flushTyping();
    await store.saveDraftFields(visitId, patch);
    await render();
  }

  async function guarded(buttonEl, fn) {
    if (busy) return;
    busy = true;
    if (buttonEl) buttonEl.disabled = true;
    try {
      await fn();
    } catch (err) {
      ctx.toast((err && err.message) || String(err));
    } finally {
      busy = false;
      if (buttonEl && buttonEl.isConnected) buttonEl.disabled = false;
    }
  }

  async function render() {
    await load();
    if (!visit) {
      clear(container, h('section', { class: 'card center' }, h('p', { text: t('visit.missing') }), h('a', { class: 'btn', href: '#/today', text: t('visit.back') })));
      return;
    }
    const step = stepOf(draft);
    const body = h('div', { class: 'step', dataset: { step } });
    const renderers = { brief, met, disclosure, outcome, plan, signature, notes, checkout, done };
    clear(container, header(step), draft.checkin && !draft.checkout ? inVisitBar() : null, body);
    await renderers[step](body);
  }

  function header(step) {
    const w = visit.window || {};
    const thirdParty = draft.met === 'third_party' && !draft.checkout;
    const visible = STEPS.filter((s) => s !== 'done' && (draft.outcome && draft.outcome.code === 'plan_agreed' ? true : !['plan', 'signature'].includes(s)))
      .filter((s) => draft.met === 'debtor' || s !== 'disclosure' || !draft.met);
    const index = visible.indexOf(step);
    return h('header', { class: 'visit-head' },
      h('a', { class: 'back', href: '#/today', text: `‹ ${t('visit.back')}` }),
      h('h1', {}, h('span', { class: 'num', text: String(visit.route_position ?? '') }), ` ${visit.debtor.name}`),
      h('p', { class: 'muted' }, `${[visit.address.line, visit.address.city].filter(Boolean).join(', ')} · `,
        h('span', { class: 'window', text: `${i18n.clock(w.start, visit.timezone)}–${i18n.clock(w.end, visit.timezone)}` })),
      thirdParty ? h('p', { class: 'notice', text: t('met.third_party_lock') }) : null,
      visit.status === 'cancelled' && draft.checkin ? h('p', { class: 'notice warn', role: 'alert', text: t('visit.cancelled_meanwhile') }) : null,
      isBlocked(visit) && draft.checkin && !draft.checkout ? h('p', { class: 'notice warn', role: 'alert', text: t('visit.blocked_meanwhile') }) : null,
      step === 'done' ? null : h('ol', { class: 'stepper', 'aria-label': t('visit.progress') }, visible.map((s, i) => h('li', {
        class: i < index ? 'done' : (i === index ? 'current' : ''),
        'aria-current': i === index ? 'step' : null,
      }, h('span', { class: 'sr-only', text: i < index ? t('visit.step_done') : '' }), t(`step.${s}`)))));
  }

  /* Time at the door (R11) and the one-tap escalation (R16). */
  function inVisitBar() {
    const elapsed = h('span', { class: 'elapsed' });
    const warnMs = (rules().visit_warn_minutes || 30) * 60000;
    const update = () => {
      const ms = Date.now() - Date.parse(draft.checkin.at);
      const minutes = Math.max(0, Math.floor(ms / 60000));
      elapsed.textContent = t('visit.elapsed', { n: minutes });
      elapsed.classList.toggle('warn', ms >= warnMs);
      if (ms >= warnMs) elapsed.textContent += ` — ${t('visit.long')}`;
    };
    update();
    clearInterval(timer);
    timer = setInterval(update, 30000);
    return h('div', { class: 'visit-bar' }, elapsed, button(t('escalate.open'), () => openEscalate(), 'btn small ghost'));
  }

  function openEscalate() {
    const kind = h('select', {}, ['complaint', 'dispute', 'legal', 'other'].map((k) => h('option', { value: k, text: t(`escalate.kind.${k}`) })));
    const reason = h('textarea', { rows: 3, required: true });
    const error = h('p', { class: 'error', role: 'alert' });
    const dialog = h('dialog', { class: 'sheet', 'aria-label': t('escalate.title') },
      h('h2', { text: t('escalate.title') }), h('p', { class: 'muted', text: t('escalate.help') }),
      field(t('escalate.kind'), kind), field(t('escalate.reason'), reason), error,
      h('div', { class: 'actions' },
        button(t('common.cancel'), () => dialog.close(), 'btn secondary'),
        button(t('escalate.send'), (e) => guarded(e.currentTarget, async () => {
          if (!reason.value.trim()) { error.textContent = t('common.required'); return; }
          await store.recordStep(visitId, [{ type: 'case.escalate', payload: { case_id: visit.case_id, visit_id: visit.id, kind: kind.value, reason: reason.value.trim() } }],
            { escalations: (draft.escalations || []).concat([{ kind: kind.value, at: new Date().toISOString() }]) }, { case_id: visit.case_id });
          sync.kick();
          dialog.close();
          ctx.toast(t('escalate.saved'));
        }), 'btn primary')));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  // --- brief and check-in -------------------------------------------------------

  async function brief(el) {
    const account = visit.account || {};
    const refusal = checkinRefusal(visit, await sync.serverNow());
    const nav = navigationUrl(visit);
    put(el, 
      section(t('brief.situation'),
        h('dl', { class: 'facts' },
          fact(t('brief.overdue'), i18n.money(account.overdue_amount, account.currency), 'strong'),
          fact(t('brief.balance'), i18n.money(account.balance, account.currency)),
          fact(t('brief.dpd'), `${t('today.dpd', { n: account.days_past_due })} · ${account.bucket || ''}`),
          fact(t('brief.card'), account.card_masked || ''),
          fact(t('brief.language'), visit.debtor.language ? t(`locale.${visit.debtor.language}`) : ''))),
      (visit.flags || []).length ? h('section', { class: 'card bad', role: 'alert' },
        h('h2', { text: t('brief.stop_work') }),
        h('ul', {}, visit.flags.map((f) => h('li', { text: `${t(`flag.${f.flag}`)}${f.reason ? ` — ${f.reason}` : ''}` })))) : null,
      checkinSection(refusal, rules()),
      nav ? h('a', { class: 'btn secondary block', href: nav, text: t('today.navigate') }) : null,
      approachSection(true),
      historySection(visit.history),
      policySection());
  }

  function checkinSection(refusal, rules) {
    const box = h('section', { class: 'card checkin', 'aria-live': 'polite' }, h('h2', { text: t('checkin.title') }));
    if (refusal) {
      box.append(h('p', { class: 'refusal', role: 'alert', text: t(refusal.key, refusal.params) }));
      box.append(h('button', { type: 'button', class: 'btn primary block', disabled: true, text: t('checkin.button') }));
      return box;
    }
    const maxM = rules.checkin_max_distance_m ?? 300;
    const statusEl = h('p', { class: 'muted', text: t('checkin.help', { m: maxM }) });
    const go = button(t('checkin.button'), (e) => guarded(e.currentTarget, () => locate()), 'btn primary block big');
    box.append(statusEl, go);

    async function locate() {
      statusEl.textContent = t('gps.locating');
      let pos;
      try {
        pos = await currentPosition();
      } catch (err) {
        // The server needs a position for a check-in: ask again rather than queue a sure rejection.
        statusEl.textContent = t(`gps.${err.code || 'unavailable'}`);
        return;
      }
      const distance = distanceM(pos, visit.address);
      if (distance != null && distance > maxM) {
        statusEl.textContent = '';
        offerReason(pos, distance, 'checkin.far', { d: distance, m: maxM, acc: pos.accuracy_m });
        return;
      }
      await checkIn(pos, distance, null);
    }

    function offerReason(pos, distance, key, params = {}) {
      const reason = h('textarea', { rows: 2, required: true });
      const error = h('p', { class: 'error', role: 'alert' });
      clear(box, h('h2', { text: t('checkin.title') }),
        h('p', { class: 'warn-text', role: 'alert', text: t(key, params) }),
        field(t('checkin.reason'), reason, t('checkin.reason_hint')), error,
        button(t('checkin.anyway'), (e) => guarded(e.currentTarget, async () => {
          if (!reason.value.trim()) { error.textContent = t('common.required'); return; }
          await checkIn(pos, distance, reason.value.trim());
        }), 'btn primary block'),
        button(t('checkin.retry'), () => render(), 'btn secondary block'));
      reason.focus();
    }
    return box;
  }

  async function checkIn(pos, distance, reasonFar) {
    // Checked again at the moment of writing: a stop-work may have arrived meanwhile.
    await load();
    const refusal = checkinRefusal(visit, await sync.serverNow());
    if (refusal) { await render(); return; }
    const payload = { visit_id: visit.id, version: visit.version, lat: pos.lat, lon: pos.lon, accuracy_m: pos.accuracy_m };
    if (reasonFar) payload.reason_far = reasonFar;
    await commit([{ type: 'visit.checkin', payload }], {
      checkin: { at: new Date().toISOString(), lat: payload.lat, lon: payload.lon, accuracy_m: payload.accuracy_m, distance_m: distance, reason_far: reasonFar },
    });
  }

  /* The case's story so far, from the packet's summary (sync's case_history). */
  function historySection(history) {
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

  /* The recommended approach and its scripts; never shown to a third party (R5). */
  function approachSection(open) {
    const rec = visit.recommended || {};
    const strategies = rec.strategies || [];
    // R5: never to a third party; R4: a blocked case gets no collection wording
    if (draft.met === 'third_party' || !strategies.length || (isBlocked(visit) && !draft.checkin)) return null;
    return h('details', { class: 'card approach', open },
      h('summary', { text: t('brief.approach') }),
      strategies.map((s) => h('div', { class: 'strategy' },
        h('h3', { text: s.label || t(`strategy.${s.key}`) }),
        s.reason ? h('p', { class: 'muted', text: s.reason }) : null,
        (s.scripts || []).length ? h('ul', { class: 'scripts' }, s.scripts.map((sc) => h('li', {},
          fill(typeof sc === 'string' ? sc : (sc.text || '')),
          sc.legal_wording ? h('span', { class: 'chip', text: t('brief.legal_wording') }) : null))) : null)),
      rec.placeholder ? h('p', { class: 'muted', text: t('brief.approach_placeholder') }) : null);
  }

  function policySection() {
    const p = visit.plan_policy || {};
    const authority = (p.discount_authority_pct || {}).agent;
    if (!Object.keys(p).length) return null;
    return section(t('brief.policy'), h('ul', { class: 'plain' },
      authority != null ? h('li', { text: t('brief.policy_discount', { pct: authority }) }) : null,
      p.max_term_months ? h('li', { text: t('brief.policy_term', { n: p.max_term_months }) }) : null,
      p.min_installment_floor ? h('li', { text: t('brief.policy_min', { amount: i18n.money(p.min_installment_floor, (visit.account || {}).currency) }) }) : null));
  }

  // --- who did you meet, disclosure -----------------------------------------------

  function met(el) {
    const choose = (value) => (e) => guarded(e.currentTarget, () => saveOnly({ met: value }));
    put(el, h('section', { class: 'card' },
      h('h2', { text: t('met.title') }), h('p', { class: 'muted', text: t('met.help') }),
      h('div', { class: 'choices' },
        button([h('strong', { text: t('met.debtor') }), h('span', { text: t('met.debtor_hint') })], choose('debtor'), 'choice'),
        button([h('strong', { text: t('met.third_party') }), h('span', { text: t('met.third_party_hint') })], choose('third_party'), 'choice'),
        button([h('strong', { text: t('met.nobody') }), h('span', { text: t('met.nobody_hint') })], choose('nobody'), 'choice'))));
  }

  function disclosure(el) {
    const identity = h('input', { type: 'checkbox', checked: Boolean(draft.identity) });
    identity.addEventListener('change', () => keep('identity', { identity: identity.checked }));
    const agentName = (user && (user.display_name || user.username)) || '';
    const give = button(t('disclosure.given'), (e) => guarded(e.currentTarget, async () => {
      if (!identity.checked) { ctx.toast(t('disclosure.identity_first')); return; }
      let pos = null;
      try { pos = await currentPosition({ timeoutMs: 8000 }); } catch (_) { /* time is what R6 needs; GPS when we have it */ }
      await saveOnly({ identity: true, disclosure: { at: new Date().toISOString(), lat: pos && pos.lat, lon: pos && pos.lon, accuracy_m: pos && pos.accuracy_m } });
    }), 'btn primary block big');
    put(el, h('section', { class: 'card' },
      h('h2', { text: t('disclosure.identity_title') }),
      h('label', { class: 'check' }, identity, h('span', { text: t('disclosure.identity') }))),
    h('section', { class: 'card' },
      h('h2', { text: t('disclosure.title') }),
      h('blockquote', { class: 'script', text: disclosureText(agentName) }),
      h('p', { class: 'muted', text: t('disclosure.help') }), give,
      button(t('disclosure.not_debtor'), (e) => guarded(e.currentTarget, () => saveOnly({ met: 'third_party' })), 'btn ghost block')));
  }

  // --- outcome ------------------------------------------------------------------

  function outcome(el) {
    const form = draft.outcome || {};
    const codes = CODES_BY_MET[draft.met] || [];
    const error = h('p', { class: 'error', role: 'alert' });
    const fields = h('div', { class: 'outcome-fields' });
    let code = codes.includes(form.code) ? form.code : '';
    const radios = h('fieldset', { class: 'codes' }, h('legend', { text: t('outcome.title') }),
      codes.map((c) => {
        const input = h('input', { type: 'radio', name: 'code', value: c, checked: c === code });
        input.addEventListener('change', () => { code = c; keep('outcome', { outcome: { code: c } }); drawFields(); });
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
        else if (name === 'due_date') control = h('input', { type: 'date', value: form.due_date || '', min: todayIso(), max: addDays(todayIso(), policy().promise_max_days || 30) });
        else control = h('input', { type: 'text', inputmode: 'decimal', value: form[name] || '', placeholder: '0.00' });
        control.addEventListener('input', () => keep(`outcome.${name}`, { outcome: { [name]: control.value } }));
        inputs[name] = control;
        fields.append(field(t(`outcome.field.${name}`), control));
      }
      if (['dispute', 'complaint', 'vulnerable', 'asked_to_leave'].includes(code)) fields.append(h('p', { class: 'notice', text: t(`outcome.${code}.effect`) }));
    }
    drawFields();
    const submit = button(t('outcome.record'), (e) => guarded(e.currentTarget, async () => {
      error.textContent = '';
      if (!code) { error.textContent = t('outcome.pick'); return; }
      if (code === 'plan_agreed') { await saveOnly({ outcome: { code } }); return; }
      const payload = outcomePayload(code);
      for (const name of OUTCOMES[code].requires) {
        const value = inputs[name] ? inputs[name].value.trim() : '';
        if (!value) { error.textContent = t('outcome.missing', { field: t(`outcome.field.${name}`) }); return; }
        if (name === 'amount' && !(toCents(value) > 0)) { error.textContent = t('outcome.bad_amount'); return; }
        payload[name] = name === 'amount' ? fromCents(toCents(value)) : value;
      }
      await commit([{ type: 'visit.outcome', payload }], { outcome: Object.assign({ code, done: true }, payload) });
    }), 'btn primary block big');
    put(el, draft.met === 'third_party' ? h('section', { class: 'card' }, h('h2', { text: t('third_party.title') }),
      h('blockquote', { class: 'script', text: t('third_party.script', { name: visit.debtor.name }) })) : approachSection(false),
    h('section', { class: 'card' }, radios, fields, error, submit,
      draft.met ? button(t('outcome.change_met'), (e) => guarded(e.currentTarget, () => saveOnly({ met: null, disclosure: null, outcome: { code: null } })), 'btn ghost block') : null));
  }

  function outcomePayload(code) {
    const d = draft.disclosure || {};
    const payload = { visit_id: visit.id, version: visit.version, code, met: draft.met };
    if (draft.met === 'debtor') {
      payload.disclosure_at = d.at;
      if (d.lat != null) Object.assign(payload, { disclosure_lat: d.lat, disclosure_lon: d.lon });
    }
    return payload;
  }

  const policy = () => visit.plan_policy || {};
  const rules = () => (packet && packet.rules) || {};

  /* Approved scripts carry {placeholders}; they are filled here from the brief and the policy. */
  function fill(text) {
    const account = visit.account || {};
    const p = policy();
    const org = packet && (packet.organisation || {}).name;
    const values = {
      debtor_name: visit.debtor.name,
      agent_name: (user && (user.display_name || user.username)) || '',
      organisation: org || (packet && packet.agent && packet.agent.branch && packet.agent.branch.name) || t('disclosure.organisation'),
      complaint_phone: (packet && (packet.organisation || {}).complaint_phone) || t('disclosure.complaint_channel'),
      overdue_amount: i18n.money(account.overdue_amount, account.currency),
      days_past_due: String(account.days_past_due ?? ''),
      min_installment: i18n.money(p.min_installment_floor, account.currency),
      max_term_months: String(p.max_term_months ?? ''),
      pay_by: addDays(todayIso(), Number(p.incentive_pay_by_days || 14)),
      waiver_amount: i18n.money((Number(account.overdue_amount || 0) * Number(p.incentive_max_waiver_pct || 0)) / 100, account.currency),
    };
    return String(text).replace(/\{(\w+)\}/g, (m, key) => values[key] ?? '…');
  }

  function disclosureText(agentName) {
    const texts = rules().disclosure || {};
    const text = texts[i18n.currentLocale()] || texts['zh-CN'];
    return text ? fill(text) : t('disclosure.script', { agent: agentName });
  }
  const todayIso = () => sync.isoDay(Date.now());

  // --- plan builder -------------------------------------------------------------

  function plan(el) {
    const account = visit.account || {};
    const currency = account.currency || 'CNY';
    const saved = (draft.plan && draft.plan.form) || {};
    const form = Object.assign({
      kind: 'installments', total: account.overdue_amount || '', down_payment: '', months: '6',
      first_due: addDays(todayIso(), 30), discount_pct: '', due_date: addDays(todayIso(), 7),
    }, saved);
    const result = h('div', { class: 'plan-result', 'aria-live': 'polite' });
    const controls = h('div', { class: 'plan-controls' });
    const kinds = h('div', { class: 'segmented wrap', role: 'group', 'aria-label': t('plan.kind') },
      KINDS.map((k) => button(t(`plan.kind.${k}`), () => { form.kind = k; persist(); draw(); }, 'seg', { 'aria-pressed': String(form.kind === k) })));

    function persist() { keep('plan', { plan: { form: Object.assign({}, form) } }); }

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
        parts.push(field(t('plan.first_due'), input('first_due', { type: 'date', name: 'first_due', min: todayIso() })));
      } else {
        if (form.kind === 'settlement') parts.push(field(t('plan.discount'), input('discount_pct', { type: 'number', min: 1, max: 99, step: '0.5', inputmode: 'decimal', name: 'discount_pct' }), t('plan.discount_hint', { pct: ((policy().discount_authority_pct || {}).agent) ?? '0' })));
        parts.push(field(t('plan.due_date'), input('due_date', { type: 'date', name: 'due_date', min: todayIso() })));
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
      const check = checkPolicy(built.terms, policy(), { role: 'agent', today: todayIso(), bucket: account.bucket });
      current = { terms: built.terms, check };
      propose.disabled = check.status === 'invalid';
      clear(result,
        h('p', { class: `plan-status ${check.status}`, text: t(`plan.status.${check.status}`) }),
        check.findings.length ? h('ul', { class: 'findings' }, check.findings.map((f) => h('li', { text: t(f.key, f.params) }))) : null,
        termsView(built.terms));
    }

    const propose = button(t('plan.propose'), (e) => guarded(e.currentTarget, async () => {
      if (!current || current.check.status === 'invalid') return;
      const planRef = store.uuid();
      const hash = await termsHash(current.terms);
      await commit([{ type: 'plan.propose', payload: { case_id: visit.case_id, visit_id: visit.id, plan_ref: planRef, terms: current.terms, terms_hash: hash } }], {
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
        button(t('plan.change_outcome'), (e) => guarded(e.currentTarget, () => saveOnly({ outcome: { code: null } })), 'btn ghost block')));
    draw();
  }

  function termsView(terms) {
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
        h('tbody', {}, terms.schedule.map((s) => h('tr', {}, h('td', { text: String(s.seq) }), h('td', { text: s.due_date }), h('td', { class: 'num-col', text: i18n.money(s.amount, cur) }))))));
  }

  // --- signature ----------------------------------------------------------------

  function signature(el) {
    const p = draft.plan;
    const sig = draft.signature || {};
    const signer = h('input', { type: 'text', value: sig.signer_name ?? visit.debtor.name, autocomplete: 'off' });
    signer.addEventListener('input', () => keep('signer', { signature: { signer_name: signer.value } }));
    const pad = createPad({ strokes: sig.strokes || [], label: t('sign.pad'), onChange: (strokes) => { save.disabled = !strokes.length; store.saveDraftFields(visitId, { signature: { strokes } }); } });
    const error = h('p', { class: 'error', role: 'alert' });
    const save = button(t('sign.save'), (e) => guarded(e.currentTarget, async () => {
      const strokes = pad.strokes();
      if (!strokes.length) { error.textContent = t('sign.empty'); return; }
      if (!signer.value.trim()) { error.textContent = t('sign.name_missing'); return; }
      const png = await renderPng(strokes);
      const pngSha = await sha256Hex(png);
      const sigPayload = {
        case_id: visit.case_id, visit_id: visit.id, plan_ref: p.plan_ref, terms_hash: p.terms_hash,
        png_base64: toBase64(png), png_sha256: pngSha, strokes, signer_name: signer.value.trim(),
      };
      const outcomePayload_ = Object.assign(outcomePayload('plan_agreed'), { plan_ref: p.plan_ref });
      await commit([{ type: 'signature.add', payload: sigPayload }, { type: 'visit.outcome', payload: outcomePayload_ }], {
        signature: { done: true, refused: false, png_sha256: pngSha, signer_name: sigPayload.signer_name, strokes },
        outcome: Object.assign({ done: true }, outcomePayload_),
      });
    }), 'btn primary block big', { disabled: !(sig.strokes || []).length });

    const refuseBox = h('div', { class: 'refuse' });
    function showRefuse() {
      const reason = h('textarea', { rows: 2, value: sig.refuse_reason || '' });
      reason.addEventListener('input', () => keep('refuse', { signature: { refuse_reason: reason.value } }));
      const err = h('p', { class: 'error', role: 'alert' });
      clear(refuseBox, field(t('sign.refuse_reason'), reason, t('sign.refuse_hint')), err,
        button(t('sign.refuse_confirm'), (e) => guarded(e.currentTarget, async () => {
          if (!reason.value.trim()) { err.textContent = t('common.required'); return; }
          const outcomePayload_ = Object.assign(outcomePayload('plan_agreed'), { plan_ref: p.plan_ref });
          await commit([
            { type: 'signature.add', payload: { case_id: visit.case_id, visit_id: visit.id, plan_ref: p.plan_ref, terms_hash: p.terms_hash, refused: true, reason: reason.value.trim() } },
            { type: 'visit.outcome', payload: outcomePayload_ },
          ], { signature: { done: true, refused: true, refuse_reason: reason.value.trim() }, outcome: Object.assign({ done: true }, outcomePayload_) });
        }), 'btn danger block'));
      reason.focus();
    }

    put(el, 
      h('section', { class: 'card' },
        h('h2', { text: t('sign.title') }),
        p.status === 'pending_approval' ? h('p', { class: 'notice warn', text: t('sign.pending') }) : null,
        termsView(p.terms),
        h('p', { class: 'hash' }, h('span', { class: 'muted', text: `${t('sign.hash')} ` }), h('code', { text: p.terms_hash }))),
      h('section', { class: 'card' },
        field(t('sign.signer'), signer),
        h('p', { class: 'muted', text: t('sign.help') }),
        pad.el,
        h('div', { class: 'actions' }, button(t('sign.clear'), () => { pad.clear(); save.disabled = true; }, 'btn secondary')),
        error, save,
        button(t('sign.refused'), () => showRefuse(), 'btn ghost block'), refuseBox,
        button(t('sign.change_plan'), (e) => guarded(e.currentTarget, () => saveOnly({ plan: { proposed: false } })), 'btn ghost block')));
  }

  // --- notes, check-out, summary ------------------------------------------------

  function notes(el) {
    const text = h('textarea', { rows: 4, value: draft.note_text || '', 'aria-describedby': 'note-warn' });
    const warn = h('p', { class: 'warn-text', id: 'note-warn', role: 'status' });
    // R7: the rule set's phrase lists (every category, both languages), else the catalog's short list
    const lists = Object.values(rules().prohibited_phrases || {}).flatMap((byLocale) => Object.values(byLocale || {}).flat());
    const words = (lists.length ? lists : t('notes.flag_words').split('|')).map((w) => String(w).trim().toLowerCase()).filter(Boolean);
    const check = () => {
      const hit = words.find((w) => text.value.toLowerCase().includes(w));
      warn.textContent = hit ? t('notes.flagged', { word: hit }) : '';
    };
    text.addEventListener('input', () => { keep('note', { note_text: text.value }); check(); });
    check();
    const saveNote = async () => {
      const value = text.value.trim();
      if (!value) return;
      await commit([{ type: 'note.add', payload: { case_id: visit.case_id, visit_id: visit.id, text: value } }],
        { notes: (draft.notes || []).concat([{ text: value, at: new Date().toISOString() }]), note_text: '' });
    };
    put(el, h('section', { class: 'card' },
      h('h2', { text: t('notes.title') }),
      (draft.notes || []).length ? h('ul', { class: 'saved-notes' }, draft.notes.map((n) => h('li', {}, h('span', { class: 'muted', text: i18n.dateTime(n.at) }), h('p', { text: n.text })))) : null,
      field(t('notes.label'), text, t('notes.hint')), warn,
      button(t('notes.save'), (e) => guarded(e.currentTarget, saveNote), 'btn secondary block'),
      button(t('notes.continue'), (e) => guarded(e.currentTarget, async () => {
        if (text.value.trim()) await saveNote();
        await saveOnly({ notes_done: true });
      }), 'btn primary block big')));
  }

  function checkout(el) {
    const statusEl = h('p', { class: 'muted', text: t('checkout.help') });
    put(el, h('section', { class: 'card' }, h('h2', { text: t('checkout.title') }), summary(), statusEl,
      button(t('checkout.button'), (e) => guarded(e.currentTarget, async () => {
        statusEl.textContent = t('gps.locating');
        let pos = null;
        try { pos = await currentPosition({ timeoutMs: 10000 }); } catch (_) { /* check-out still counts; the time is what matters */ }
        await commit([{ type: 'visit.checkout', payload: { visit_id: visit.id, version: visit.version, lat: pos && pos.lat, lon: pos && pos.lon } }],
          { checkout: { at: new Date().toISOString(), lat: pos && pos.lat, lon: pos && pos.lon } });
      }), 'btn primary block big'),
      button(t('notes.back'), (e) => guarded(e.currentTarget, () => saveOnly({ notes_done: false })), 'btn ghost block')));
  }

  async function done(el) {
    const [outbox, journal] = await Promise.all([store.outboxAll(), store.journal()]);
    const queued = new Set(outbox.map((e) => e.op.id));
    const answered = new Map(journal.map((j) => [j.id, j]));
    const visits = await store.listVisits();
    const next = visits.find((v) => v.id !== visit.id && v.status !== 'cancelled' && !['completed', 'failed'].includes(v.status) && (v.route_position ?? 0) > (visit.route_position ?? 0));
    put(el, h('section', { class: 'card' },
      h('h2', { text: t('done.title') }), summary(),
      h('h3', { text: t('done.records') }),
      h('ul', { class: 'oplist' }, (draft.ops || []).map((op) => {
        const j = answered.get(op.id);
        const state = queued.has(op.id) ? 'queued' : (j ? j.status : 'queued');
        return h('li', { class: `op ${state}` }, h('span', { text: t(`op.${op.type}`) }), h('span', { class: `pill ${state === 'applied' || state === 'duplicate' ? 'ok' : (state === 'queued' ? 'warn' : 'bad')}`, text: t(`opstate.${state}`) }));
      })),
      next ? h('a', { class: 'btn primary block big', href: `#/visit/${next.id}`, text: t('done.next', { name: next.debtor.name }) }) : null,
      h('a', { class: 'btn secondary block', href: '#/today', text: t('visit.back') })));
  }

  function summary() {
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

  const onData = () => { if (!busy && stepOf(draft) === 'brief') render(); };
  window.addEventListener('doorstep:data', onData);
  await render();
  return () => {
    window.removeEventListener('doorstep:data', onData);
    clearInterval(timer);
    flushTyping();
  };
}

/* Node.append would print "null" for the optional parts. */
function put(el, ...children) {
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', { text: title }), ...children);
}

function fact(label, value, cls) {
  if (value === null || value === undefined || value === '') return null;
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', { class: cls, text: value }));
}
