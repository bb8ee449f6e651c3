/* Check-out: the summary, the leave-behind card (R14), then the time (and GPS when the phone
 * has it) of leaving. */
import { currentPosition } from '../../geo.js';
import * as ops from '../../ops.js';
import { button, h } from '../dom.js';
import { openCard } from './badge.js';
import { put } from './parts.js';
import { summary } from './summary.js';

export function render(el, s) {
  const { t, visit } = s;
  const statusEl = h('p', { class: 'muted', text: t('checkout.help') });
  put(el, h('section', { class: 'card' }, h('h2', { text: t('checkout.title') }), summary(s), statusEl,
    button(t('checkout.button'), (e) => s.guarded(e.currentTarget, async () => {
      statusEl.textContent = t('gps.locating');
      let pos = null;
      try { pos = await currentPosition({ timeoutMs: 10000 }); } catch (_) { /* check-out still counts; the time is what matters */ }
      const op = ops.checkout(visit, pos);
      await s.commit([op], { checkout: { at: new Date().toISOString(), lat: op.payload.lat, lon: op.payload.lon } });
    }), 'btn primary block big'),
    button(t('card.show'), (e) => s.guarded(e.currentTarget, () => openCard(s)), 'btn secondary block'),
    button(t('notes.back'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ notes_done: false })), 'btn ghost block')));
}
