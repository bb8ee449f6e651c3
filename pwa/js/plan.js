/* Repayment plans on the device: the schedule, the policy check (the same rules the server
 * applies, shipped as data in the day packet) and the canonical terms with their SHA-256.
 * Money is handled in integer cents and written as strings ("1234.50"). */

export const KINDS = ['installments', 'settlement', 'full', 'promise'];

export function toCents(value) {
  const s = String(value ?? '').trim().replace(/,/g, '');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return NaN;
  const [whole, frac = ''] = s.split('.');
  return Number(whole) * 100 + Number((frac + '00').slice(0, 2));
}

export function fromCents(cents) {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function pct(value) {
  const n = Number(String(value ?? '0').trim() || '0');
  return Number.isFinite(n) ? n : NaN;
}

/* Same day n months later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(isoDate, n) {
  const [y, m, d] = isoDate.split('-').map(Number);
  const first = new Date(Date.UTC(y, m - 1 + n, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, last));
  return first.toISOString().slice(0, 10);
}

export function addDays(isoDate, n) {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + n);
  return date.toISOString().slice(0, 10);
}

/* Form values → canonical terms, or {error: field} when the form is incomplete. */
export function buildTerms(form) {
  const kind = form.kind;
  const base = { case_id: form.case_id, kind, currency: form.currency || 'CNY' };
  const total = toCents(form.total);
  if (!KINDS.includes(kind)) return { error: 'kind' };
  if (!(total > 0)) return { error: 'total' };
  if (kind === 'installments') {
    const months = Number(form.months);
    const down = form.down_payment === '' || form.down_payment == null ? 0 : toCents(form.down_payment);
    if (!Number.isInteger(months) || months < 1) return { error: 'months' };
    if (!(down >= 0) || down > total) return { error: 'down_payment' };
    if (!form.first_due) return { error: 'first_due' };
    const rest = total - down;
    const each = Math.floor(rest / months);
    const schedule = [];
    for (let i = 0; i < months; i += 1) {
      const amount = i === months - 1 ? rest - each * (months - 1) : each;
      schedule.push({ seq: i + 1, due_date: addMonths(form.first_due, i), amount: fromCents(amount) });
    }
    return { terms: { ...base, total: fromCents(total), discount_pct: '0', payable: fromCents(total), down_payment: fromCents(down), schedule } };
  }
  if (!form.due_date) return { error: 'due_date' };
  if (kind === 'settlement') {
    const discount = pct(form.discount_pct);
    if (!(discount > 0 && discount < 100)) return { error: 'discount_pct' };
    const payable = Math.round((total * (100 - discount)) / 100);
    return {
      terms: {
        ...base, total: fromCents(total), discount_pct: String(discount), payable: fromCents(payable), down_payment: '0.00',
        schedule: [{ seq: 1, due_date: form.due_date, amount: fromCents(payable) }],
      },
    };
  }
  // full and promise: one payment of the whole amount on a date
  return {
    terms: {
      ...base, total: fromCents(total), discount_pct: '0', payable: fromCents(total), down_payment: '0.00',
      schedule: [{ seq: 1, due_date: form.due_date, amount: fromCents(total) }],
    },
  };
}

/* The plan policy from the packet, applied as the server applies it (policy/plan_policy.py):
 * terms that cannot be a plan are "invalid"; anything beyond the agent's authority is
 * "pending_approval" — never blocked (R13). Findings carry a catalog key and params. */
export function checkPolicy(terms, policy, { role = 'agent', today, bucket } = {}) {
  const p = Object.assign({
    max_term_months: 60, min_installment_floor: '100.00', discount_authority_pct: { agent: '10' }, promise_max_days: 30,
    down_payment_rule: 'first_installment', down_payment_pct_by_bucket: {},
  }, policy || {});
  const invalid = [];
  const review = [];
  const items = terms.schedule.map((s) => ({ due: s.due_date, cents: toCents(s.amount) }));
  const down = toCents(terms.down_payment);
  const total = toCents(terms.total);
  const payable = toCents(terms.payable);
  const discount = Number(terms.discount_pct);
  if (items.some((i) => !(i.cents > 0) || !i.due)) invalid.push({ rule: 'schedule', key: 'policy.schedule_items' });
  const dues = items.map((i) => i.due);
  if (dues.some((d, n) => n && d < dues[n - 1])) invalid.push({ rule: 'schedule', key: 'policy.schedule_order' });
  if (today && dues.length && dues[0] < today) invalid.push({ rule: 'schedule', key: 'policy.past_date' });
  if (Math.abs(Math.round((total * (100 - discount)) / 100) - payable) > 1) invalid.push({ rule: 'discount', key: 'policy.payable' });
  if (items.reduce((a, i) => a + i.cents, 0) + down !== payable) invalid.push({ rule: 'schedule_sum', key: 'policy.schedule_sum' });
  if (terms.kind === 'promise') {
    if (items.length !== 1) invalid.push({ rule: 'promise', key: 'policy.promise_one' });
    else if (today && dues[0] > addDays(today, p.promise_max_days)) review.push({ rule: 'promise', key: 'policy.promise_days', params: { n: p.promise_max_days } });
  }
  if ((terms.kind === 'installments' || terms.kind === 'settlement') && items.length > p.max_term_months) {
    review.push({ rule: 'max_term', key: 'policy.max_term', params: { n: p.max_term_months } });
  }
  if (terms.kind === 'installments' && items.length) {
    const minimum = Math.max(toCents(p.min_installment_floor), Math.ceil(payable / p.max_term_months));
    const regular = items.length > 1 ? items.slice(0, -1) : items;
    if (Math.min(...regular.map((i) => i.cents)) < minimum) review.push({ rule: 'min_installment', key: 'policy.min_installment', params: { amount: fromCents(minimum) } });
    const pct = Number((p.down_payment_pct_by_bucket || {})[bucket] || 0);
    const required = p.down_payment_rule === 'first_installment' ? items[0].cents : Math.round((payable * pct) / 100);
    if (down < required) review.push({ rule: 'down_payment', key: 'policy.down_payment', params: { amount: fromCents(required) } });
  }
  const authority = Number((p.discount_authority_pct || {})[role] ?? 0);
  if (discount > authority) review.push({ rule: 'discount_authority', key: 'policy.discount_authority', params: { pct: authority } });
  const status = invalid.length ? 'invalid' : (review.length ? 'pending_approval' : 'proposed');
  return { status, findings: invalid.concat(review), policy_version: p.version || '' };
}

/* Canonical JSON: keys sorted, no spaces, non-ASCII kept (the server's canonical_json). */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function sha256Hex(data) {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export const termsHash = (terms) => sha256Hex(canonicalJson(terms));

/* What the debtor compares by eye: the hash's first 8 hex digits as "xxxx xxxx", printed
 * the same way next to the full hash on the agreement PDF (backend/consoles/agreements.py). */
export const termsFingerprint = (hash) => `${hash.slice(0, 4)} ${hash.slice(4, 8)}`.toLowerCase();
