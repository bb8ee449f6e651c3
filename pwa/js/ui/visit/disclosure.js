/* For the debtor: identity confirmed, then the jurisdiction's disclosure read and
 * acknowledged with time and GPS (R6); sent with the outcome as `disclosure_at`. */
import { currentPosition } from '../../geo.js';
import { button, h } from '../dom.js';
import { put } from './parts.js';
import { disclosureText } from './scripts.js';

export function render(el, s) {
  const { t, draft } = s;
  const identity = h('input', { type: 'checkbox', checked: Boolean(draft.identity) });
  identity.addEventListener('change', () => s.keep('identity', { identity: identity.checked }));
  const give = button(t('disclosure.given'), (e) => s.guarded(e.currentTarget, async () => {
    if (!identity.checked) { s.toast(t('disclosure.identity_first')); return; }
    let pos = null;
    try { pos = await currentPosition({ timeoutMs: 8000 }); } catch (_) { /* time is what R6 needs; GPS when we have it */ }
    await s.saveOnly({ identity: true, disclosure: { at: new Date().toISOString(), lat: pos && pos.lat, lon: pos && pos.lon, accuracy_m: pos && pos.accuracy_m } });
  }), 'btn primary block big');
  put(el, h('section', { class: 'card' },
    h('h2', { text: t('disclosure.identity_title') }),
    h('label', { class: 'check' }, identity, h('span', { text: t('disclosure.identity') }))),
  h('section', { class: 'card' },
    h('h2', { text: t('disclosure.title') }),
    h('blockquote', { class: 'script', text: disclosureText(s) }),
    h('p', { class: 'muted', text: t('disclosure.help') }), give,
    button(t('disclosure.not_debtor'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ met: 'third_party' })), 'btn ghost block')));
}
