/* The debtor signs the terms on screen (their hash shown); or refuses to sign with a reason
 * (an oral agreement). Either way the plan_agreed outcome is recorded with it. */
import * as ops from '../../ops.js';
import { sha256Hex, termsFingerprint } from '../../plan.js';
import { button, clear, field, h } from '../dom.js';
import { createPad, renderPng, toBase64 } from '../signature.js';
import { outcomeOp } from './outcome.js';
import { put } from './parts.js';
import { termsView } from './terms.js';

export function render(el, s) {
  const { t, visit, draft } = s;
  const p = draft.plan;
  const sig = draft.signature || {};
  const agreed = () => outcomeOp(s, 'plan_agreed', { plan_ref: p.plan_ref });
  const signer = h('input', { type: 'text', value: sig.signer_name ?? visit.debtor.name, autocomplete: 'off' });
  signer.addEventListener('input', () => s.keep('signer', { signature: { signer_name: signer.value } }));
  const pad = createPad({ strokes: sig.strokes || [], label: t('sign.pad'), onChange: (strokes) => { save.disabled = !strokes.length; s.store.saveDraftFields(s.visitId, { signature: { strokes } }); } });
  const error = h('p', { class: 'error', role: 'alert' });
  const save = button(t('sign.save'), (e) => s.guarded(e.currentTarget, async () => {
    const strokes = pad.strokes();
    if (!strokes.length) { error.textContent = t('sign.empty'); return; }
    if (!signer.value.trim()) { error.textContent = t('sign.name_missing'); return; }
    const png = await renderPng(strokes);
    const pngSha = await sha256Hex(png);
    const signed = ops.signature(visit, p, { pngBase64: toBase64(png), pngSha256: pngSha, strokes, signerName: signer.value.trim() });
    const outcome = agreed();
    await s.commit([signed, outcome], {
      signature: { done: true, refused: false, png_sha256: pngSha, signer_name: signed.payload.signer_name, strokes },
      outcome: Object.assign({ done: true }, outcome.payload),
    });
  }), 'btn primary block big', { disabled: !(sig.strokes || []).length });

  const refuseBox = h('div', { class: 'refuse' });
  function showRefuse() {
    const reason = h('textarea', { rows: 2, value: sig.refuse_reason || '' });
    reason.addEventListener('input', () => s.keep('refuse', { signature: { refuse_reason: reason.value } }));
    const err = h('p', { class: 'error', role: 'alert' });
    clear(refuseBox, field(t('sign.refuse_reason'), reason, t('sign.refuse_hint')), err,
      button(t('sign.refuse_confirm'), (e) => s.guarded(e.currentTarget, async () => {
        if (!reason.value.trim()) { err.textContent = t('common.required'); return; }
        const outcome = agreed();
        await s.commit([ops.signatureRefused(visit, p, reason.value.trim()), outcome],
          { signature: { done: true, refused: true, refuse_reason: reason.value.trim() }, outcome: Object.assign({ done: true }, outcome.payload) });
      }), 'btn danger block'));
    reason.focus();
  }

  put(el,
    h('section', { class: 'card' },
      h('h2', { text: t('sign.title') }),
      p.status === 'pending_approval' ? h('p', { class: 'notice warn', text: t('sign.pending') }) : null,
      termsView(s, p.terms),
      h('p', { class: 'fingerprint' }, h('span', { text: `${t('sign.fingerprint')} ` }), h('strong', { class: 'fp', text: termsFingerprint(p.terms_hash) })),
      h('p', { class: 'muted', text: t('sign.fingerprint_help') }),
      h('p', { class: 'hash' }, h('span', { class: 'muted', text: `${t('sign.hash')} ` }), h('code', { text: p.terms_hash }))),
    h('section', { class: 'card' },
      field(t('sign.signer'), signer),
      h('p', { class: 'muted', text: t('sign.help') }),
      pad.el,
      h('div', { class: 'actions' }, button(t('sign.clear'), () => { pad.clear(); save.disabled = true; }, 'btn secondary')),
      error, save,
      button(t('sign.refused'), () => showRefuse(), 'btn ghost block'), refuseBox,
      button(t('sign.change_plan'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ plan: { proposed: false } })), 'btn ghost block')));
}
