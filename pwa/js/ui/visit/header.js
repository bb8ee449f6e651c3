/* Above every step: who and where, the window in the debtor's time, the stepper, warnings
 * that arrived meanwhile; while checked in, the time at the door (R11) and escalation (R16). */
import { STEPS, isBlocked } from '../../flow.js';
import { button, h } from '../dom.js';
import { openBadge } from './badge.js';
import { crewLine } from './crew.js';
import { openEscalate } from './escalate.js';
import { openPhoto } from './photo.js';

export function header(s, step) {
  const { t, i18n, visit, draft } = s;
  const w = visit.window || {};
  const thirdParty = draft.met === 'third_party' && !draft.checkout;
  const visible = STEPS.filter((x) => x !== 'done' && (draft.outcome && draft.outcome.code === 'plan_agreed' ? true : !['plan', 'signature'].includes(x)))
    .filter((x) => draft.met === 'debtor' || x !== 'disclosure' || !draft.met);
  const index = visible.indexOf(step);
  return h('header', { class: 'visit-head' },
    h('a', { class: 'back', href: '#/today', text: `‹ ${t('visit.back')}` }),
    h('h1', {}, h('span', { class: 'num', text: String(visit.route_position ?? '') }), ` ${visit.debtor.name}`),
    h('p', { class: 'muted' }, `${[visit.address.line, visit.address.city].filter(Boolean).join(', ')} · `,
      h('span', { class: 'window', text: `${i18n.clock(w.start, visit.timezone)}–${i18n.clock(w.end, visit.timezone)}` })),
    crewLine(t, visit),
    thirdParty ? h('p', { class: 'notice', text: t('met.third_party_lock') }) : null,
    visit.status === 'cancelled' && draft.checkin ? h('p', { class: 'notice warn', role: 'alert', text: t('visit.cancelled_meanwhile') }) : null,
    isBlocked(visit) && draft.checkin && !draft.checkout ? h('p', { class: 'notice warn', role: 'alert', text: t('visit.blocked_meanwhile') }) : null,
    step === 'done' ? null : h('ol', { class: 'stepper', 'aria-label': t('visit.progress') }, visible.map((x, i) => h('li', {
      class: i < index ? 'done' : (i === index ? 'current' : ''),
      'aria-current': i === index ? 'step' : null,
    }, h('span', { class: 'sr-only', text: i < index ? t('visit.step_done') : '' }), t(`step.${x}`)))));
}

/* Time at the door (R11), the badge for the debtor to check (R10), a photo of the door and the
 * one-tap escalation (R16). */
export function inVisitBar(s) {
  const { t } = s;
  const elapsed = h('span', { class: 'elapsed' });
  const warnMs = (s.rules().visit_warn_minutes || 30) * 60000;
  const checkinAt = Date.parse(s.draft.checkin.at);
  const update = () => {
    const ms = Date.now() - checkinAt;
    const minutes = Math.max(0, Math.floor(ms / 60000));
    elapsed.textContent = t('visit.elapsed', { n: minutes });
    elapsed.classList.toggle('warn', ms >= warnMs);
    if (ms >= warnMs) elapsed.textContent += ` — ${t('visit.long')}`;
  };
  update();
  clearInterval(s.timer);
  s.timer = setInterval(update, 30000);
  return h('div', { class: 'visit-bar' }, elapsed,
    button(t('badge.show'), (e) => s.guarded(e.currentTarget, () => openBadge(s)), 'btn small ghost'),
    button(t('photo.open'), () => openPhoto(s), 'btn small ghost'),
    button(t('escalate.open'), () => openEscalate(s), 'btn small ghost'));
}
