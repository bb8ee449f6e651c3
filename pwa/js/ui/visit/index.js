/* One visit, guided step by step (the playbook's good visit; COMPLIANCE R1, R4, R5, R6,
 * R11, R12, R13, R16). The draft in IndexedDB is the single source of the screen: every
 * step is committed there (with its outbox op, in one transaction) before it shows done,
 * and typed-but-unsaved input is kept there too, so a reload or crash resumes the visit.
 *
 * This module holds the visit's state and wires the steps; each step is its own module,
 * `render(el, s)` with `s` the session below. */
import { stepOf } from '../../flow.js';
import { clear, h } from '../dom.js';
import { header, inVisitBar } from './header.js';
import * as brief from './brief.js';
import * as met from './met.js';
import * as disclosure from './disclosure.js';
import * as outcome from './outcome.js';
import * as plan from './plan.js';
import * as signature from './signature.js';
import * as payment from './payment.js';
import * as notes from './notes.js';
import * as checkout from './checkout.js';
import * as done from './done.js';
import * as crew from './crew.js';

const STEP_VIEWS = { brief, met, disclosure, outcome, plan, signature, payment, notes, checkout, done };

export async function mount(container, ctx) {
  const { t, i18n, store, sync, visitId, user } = ctx;
  const saveTimers = {};
  const pending = {};

  /* What every step reads and the few ways it may write. */
  const s = {
    t, i18n, store, sync, user, visitId, toast: ctx.toast,
    visit: null, draft: null, packet: null, decisions: {}, busy: false, timer: null,
    rules: () => (s.packet && s.packet.rules) || {},
    policy: () => s.visit.plan_policy || {},
    todayIso: () => sync.isoDay(Date.now()),
    load, keep, commit, saveOnly, guarded, render,
  };

  async function load() {
    const [visit, draft, packet, decisions] = await Promise.all([
      store.getVisit(visitId), store.getDraft(visitId), store.kvGet('packet'), store.kvGet('plan_decisions')]);
    Object.assign(s, { visit, packet, decisions: decisions || {}, draft: draft || { visit_id: visitId } });
  }

  /* Typed input goes to the draft shortly after typing stops. */
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

  /* A step done: its ops (built by js/ops.js) and the draft's patch in one transaction. */
  async function commit(ops, patch) {
    await flushTyping();
    await store.recordStep(visitId, ops, patch, { case_id: s.visit.case_id });
    sync.kick();
    await render();
  }

  async function saveOnly(patch) {
    await flushTyping();
    await store.saveDraftFields(visitId, patch);
    await render();
  }

  async function guarded(buttonEl, fn) {
    if (s.busy) return;
    s.busy = true;
    if (buttonEl) buttonEl.disabled = true;
    try {
      await fn();
    } catch (err) {
      ctx.toast((err && err.message) || String(err));
    } finally {
      s.busy = false;
      if (buttonEl && buttonEl.isConnected) buttonEl.disabled = false;
    }
  }

  async function render() {
    await load();
    if (!s.visit) {
      clear(container, h('section', { class: 'card center' }, h('p', { text: t('visit.missing') }), h('a', { class: 'btn', href: '#/today', text: t('visit.back') })));
      return;
    }
    // R9: the partner's phone checks in, then leaves the recording to the lead's
    const partnerDone = crew.isPartner(s.visit) && s.draft.checkin;
    const step = partnerDone ? 'done' : stepOf(s.draft);
    const body = h('div', { class: 'step', dataset: { step } });
    clear(container, header(s, step), s.draft.checkin && !s.draft.checkout && !partnerDone ? inVisitBar(s) : null, body);
    await (partnerDone ? crew : STEP_VIEWS[step]).render(body, s);
  }

  const onData = () => { if (!s.busy && stepOf(s.draft) === 'brief') render(); };
  window.addEventListener('doorstep:data', onData);
  await render();
  return () => {
    window.removeEventListener('doorstep:data', onData);
    clearInterval(s.timer);
    flushTyping();
  };
}
