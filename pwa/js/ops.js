/* Every op the device puts into the outbox is built here, one builder per op type, so the
 * wire format lives in one place (the server's side: backend/sync/schemas.py PAYLOADS).
 * Builders are pure: they take what the screen collected and return {type, payload};
 * tests/e2e/test_ops_payloads.py runs each one and loads the result with the server's schema.
 * Device-only state (the draft) is never sent: only the fields below go over the wire. */

/* A check-in with the position taken at the door; `reasonFar` when farther than the rules allow. */
export function checkin(visit, pos, reasonFar) {
  const payload = { visit_id: visit.id, version: visit.version, lat: pos.lat, lon: pos.lon, accuracy_m: pos.accuracy_m };
  if (reasonFar) payload.reason_far = reasonFar;
  return { type: 'visit.checkin', payload };
}

/* A check-out; the position is optional (the time is what counts). */
export function checkout(visit, pos) {
  return { type: 'visit.checkout', payload: { visit_id: visit.id, version: visit.version, lat: pos ? pos.lat : null, lon: pos ? pos.lon : null } };
}

/* An outcome: who was met, the disclosure's time and place when the debtor was met (R6),
 * the fields its code requires (`fields`: amount, due_date, reason, plan_ref), the return
 * visit agreed at the door (`fields`: follow_up_date, follow_up_note) and the approach used
 * (`fields`: strategy, script — playbook and approved script keys). */
export function outcome(visit, { code, met, disclosure }, fields = {}) {
  const payload = { visit_id: visit.id, version: visit.version, code, met };
  if (met === 'debtor') {
    const d = disclosure || {};
    payload.disclosure_at = d.at;
    if (d.lat != null) Object.assign(payload, { disclosure_lat: d.lat, disclosure_lon: d.lon });
  }
  for (const name of ['amount', 'due_date', 'reason', 'plan_ref', 'follow_up_date', 'follow_up_note', 'strategy', 'script']) {
    if (fields[name] !== undefined) payload[name] = fields[name];
  }
  return { type: 'visit.outcome', payload };
}

/* A proposed plan: its canonical terms and their hash (what the debtor signs). */
export function planPropose(visit, planRef, terms, termsHash) {
  return { type: 'plan.propose', payload: { case_id: visit.case_id, visit_id: visit.id, plan_ref: planRef, terms, terms_hash: termsHash } };
}

/* The debtor's signature under a proposed plan: the PNG (base64) and its SHA-256, the strokes. */
export function signature(visit, plan, { pngBase64, pngSha256, strokes, signerName }) {
  return {
    type: 'signature.add',
    payload: {
      case_id: visit.case_id, visit_id: visit.id, plan_ref: plan.plan_ref, terms_hash: plan.terms_hash,
      png_base64: pngBase64, png_sha256: pngSha256, strokes, signer_name: signerName,
    },
  };
}

/* The debtor refused to sign: an oral agreement, with the reason. */
export function signatureRefused(visit, plan, reason) {
  return {
    type: 'signature.add',
    payload: { case_id: visit.case_id, visit_id: visit.id, plan_ref: plan.plan_ref, terms_hash: plan.terms_hash, refused: true, reason },
  };
}

export function note(visit, text) {
  return { type: 'note.add', payload: { case_id: visit.case_id, visit_id: visit.id, text } };
}

/* R16: one tap at any time after check-in. */
export function escalate(visit, kind, reason) {
  return { type: 'case.escalate', payload: { case_id: visit.case_id, visit_id: visit.id, kind, reason } };
}

/* Money taken at the door: the amount as a two-decimal string in the case's currency, how it
 * was paid, and the bank's or terminal's reference when there is one. */
export function paymentRecord(visit, { amount, currency, method, reference }) {
  const payload = { case_id: visit.case_id, visit_id: visit.id, amount, currency, method };
  if (reference) payload.reference = reference;
  return { type: 'payment.record', payload };
}

/* A photo of the door or the building (never of people): a JPEG resized and re-encoded on the
 * device (so without EXIF), base64, and its SHA-256. */
export function photo(visit, kind, { jpegBase64, sha256 }) {
  return { type: 'photo.add', payload: { visit_id: visit.id, kind, jpeg_base64: jpegBase64, sha256 } };
}
