/* The visit flow's rules on the device: outcome codes (mirroring backend/visits/models.py
 * OUTCOMES), who may be met for which code (R5), the next step from a draft, and what
 * forbids a check-in (R1 hours, R4 stop-work, cancellation). */

export const OUTCOMES = {
  promise_to_pay: { requires: ['amount', 'due_date'] },
  plan_agreed: { requires: ['plan_ref'] },
  paid: { requires: ['amount'] },
  refused: { requires: [] },
  dispute: { requires: ['reason'] },
  hardship: { requires: [] },
  complaint: { requires: ['reason'] },
  vulnerable: { requires: ['reason'] },
  asked_to_leave: { requires: [] },
  not_home: { requires: [] },
  moved: { requires: [] },
  wrong_address: { requires: [] },
  third_party_only: { requires: [] },
};

/* R5: a third party gets location questions only — no debt outcomes, plans or promises. */
export const CODES_BY_MET = {
  debtor: ['plan_agreed', 'promise_to_pay', 'paid', 'hardship', 'refused', 'dispute', 'complaint', 'vulnerable', 'asked_to_leave'],
  third_party: ['third_party_only', 'moved', 'asked_to_leave', 'vulnerable'],
  nobody: ['not_home', 'moved', 'wrong_address'],
};

export const STEPS = ['brief', 'met', 'disclosure', 'outcome', 'plan', 'signature', 'notes', 'checkout', 'done'];

export function stepOf(draft) {
  if (!draft || !draft.checkin) return 'brief';
  if (draft.checkout) return 'done';
  if (!draft.met) return 'met';
  if (draft.met === 'debtor' && !draft.disclosure) return 'disclosure';
  const outcome = draft.outcome || {};
  if (!outcome.done) {
    if (outcome.code === 'plan_agreed' && (!draft.plan || !draft.plan.proposed)) return 'plan';
    if (outcome.code === 'plan_agreed' && !(draft.signature && draft.signature.done)) return 'signature';
    return 'outcome';
  }
  if (outcome.code === 'paid' && !(draft.payment && draft.payment.done)) return 'payment';
  if (!draft.notes_done) return 'notes';
  return 'checkout';
}

export function isBlocked(visit) {
  return Boolean(visit && ((visit.flags && visit.flags.length) || visit.stopped));
}

/* Why a check-in is refused right now, as a catalog key with params; null when allowed. */
export function checkinRefusal(visit, nowMs) {
  if (!visit) return { key: 'visit.missing' };
  if (visit.status === 'cancelled') return { key: 'checkin.cancelled', params: { reason: visit.cancelled_reason || '' } };
  if (visit.stopped) return { key: `checkin.${visit.stopped.code}` };
  if (isBlocked(visit)) return { key: 'checkin.blocked' };
  const w = visit.window || {};
  if (w.start && nowMs < Date.parse(w.start)) return { key: 'checkin.too_early' };
  if (w.end && nowMs > Date.parse(w.end)) return { key: 'checkin.too_late' };
  return null;
}

export function progressOf(visit, draft) {
  if (visit.status === 'cancelled') return 'cancelled';
  if (draft && draft.checkout) return 'done';
  if (['completed', 'failed'].includes(visit.status)) return 'done';
  if (draft && draft.checkin) return 'in_progress';
  if (isBlocked(visit)) return 'blocked';
  return 'todo';
}

/* Turn-by-turn navigation in the phone's own maps app; nothing about the debt leaves the device. */
export function navigationUrl(visit) {
  const a = visit.address || {};
  if (a.lat == null || a.lon == null) return null;
  return `geo:${a.lat},${a.lon}?q=${a.lat},${a.lon}`;
}
