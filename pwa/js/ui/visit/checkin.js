/* Check-in with GPS and accuracy (R1, R4 refusals come from flow.js): farther than
 * `rules.checkin_max_distance_m` warns and asks a reason, sent as `reason_far`. */
import { checkinRefusal } from '../../flow.js';
import { currentPosition, distanceM } from '../../geo.js';
import * as ops from '../../ops.js';
import { button, clear, field, h } from '../dom.js';

export function checkinSection(s, refusal) {
  const { t } = s;
  const box = h('section', { class: 'card checkin', 'aria-live': 'polite' }, h('h2', { text: t('checkin.title') }));
  if (refusal) {
    box.append(h('p', { class: 'refusal', role: 'alert', text: t(refusal.key, refusal.params) }));
    box.append(h('button', { type: 'button', class: 'btn primary block', disabled: true, text: t('checkin.button') }));
    return box;
  }
  const maxM = s.rules().checkin_max_distance_m ?? 300;
  const statusEl = h('p', { class: 'muted', text: t('checkin.help', { m: maxM }) });
  const go = button(t('checkin.button'), (e) => s.guarded(e.currentTarget, () => locate()), 'btn primary block big');
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
    const distance = distanceM(pos, s.visit.address);
    if (distance != null && distance > maxM) {
      statusEl.textContent = '';
      offerReason(pos, distance, 'checkin.far', { d: distance, m: maxM, acc: pos.accuracy_m });
      return;
    }
    await checkIn(s, pos, distance, null);
  }

  function offerReason(pos, distance, key, params = {}) {
    const reason = h('textarea', { rows: 2, required: true });
    const error = h('p', { class: 'error', role: 'alert' });
    clear(box, h('h2', { text: t('checkin.title') }),
      h('p', { class: 'warn-text', role: 'alert', text: t(key, params) }),
      field(t('checkin.reason'), reason, t('checkin.reason_hint')), error,
      button(t('checkin.anyway'), (e) => s.guarded(e.currentTarget, async () => {
        if (!reason.value.trim()) { error.textContent = t('common.required'); return; }
        await checkIn(s, pos, distance, reason.value.trim());
      }), 'btn primary block'),
      button(t('checkin.retry'), () => s.render(), 'btn secondary block'));
    reason.focus();
  }
  return box;
}

async function checkIn(s, pos, distance, reasonFar) {
  // Checked again at the moment of writing: a stop-work may have arrived meanwhile.
  await s.load();
  const refusal = checkinRefusal(s.visit, await s.sync.serverNow());
  if (refusal) { await s.render(); return; }
  const op = ops.checkin(s.visit, pos, reasonFar);
  const { payload } = op;
  await s.commit([op], {
    checkin: { at: new Date().toISOString(), lat: payload.lat, lon: payload.lon, accuracy_m: payload.accuracy_m, distance_m: distance, reason_far: reasonFar },
  });
}
