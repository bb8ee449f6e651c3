/* Money taken at the door (after a "paid" outcome): amount, method and reference go out as one
 * payment.record op; the receipt shows at once, marked provisional until the server's answer
 * (in the journal) gives it its receipt number. With the method "payment link" the case's link
 * from the packet shows as a QR the debtor scans to pay on the bank's own page. */
import { serverText } from '../../i18n.js';
import * as ops from '../../ops.js';
import { fromCents, toCents } from '../../plan.js';
import { qrCanvas } from '../../qrcode.js';
import { button, clear, field, h } from '../dom.js';
import { fact, put } from './parts.js';

const METHODS = ['cash', 'card_terminal', 'bank_transfer', 'payment_link', 'other'];
// the op type as ops.js writes it (no screen spells an op type itself)
const PAYMENT_OP = ops.paymentRecord({}, {}).type;

/* The server's answer to the payment op of this visit, once synced. */
async function answerOf(s) {
  const op = (s.draft.ops || []).find((o) => o.type === PAYMENT_OP);
  if (!op) return null;
  const item = (await s.store.journal()).find((j) => j.id === op.id);
  if (!item) return null;
  if (['applied', 'duplicate'].includes(item.status)) return item.server.collection;
  return { problem: serverText(s.t, { code: item.code, params: item.params, message: item.detail || s.t(`opstate.${item.status}`) }) };
}

async function drawReceipt(box, s) {
  const { t, i18n, draft, visit, user } = s;
  const paid = draft.payment;
  const answer = await answerOf(s);
  const final = answer && answer.receipt_number;
  clear(box,
    h('h2', { text: t('payment.receipt') }),
    h('p', { class: final ? 'receipt-status final' : 'receipt-status provisional', role: 'status',
      text: final ? t('payment.final') : (answer && answer.problem ? t('payment.problem', { detail: answer.problem }) : t('payment.provisional')) }),
    h('dl', { class: 'facts' },
      fact(t('payment.number'), final ? answer.receipt_number : t('payment.number_pending'), 'receipt-number'),
      fact(t('payment.amount'), `${paid.amount} ${paid.currency}`),
      fact(t('payment.method'), t(`payment.method.${paid.method}`)),
      fact(t('payment.reference'), paid.reference || ''),
      fact(t('payment.agent'), (user && (user.display_name || user.username)) || ''),
      fact(t('payment.at'), i18n.dateTime(paid.at)),
      fact(t('payment.case'), `#${visit.case_id} · ${visit.account.card_masked}`),
      fact(t('payment.verify_code'), final ? answer.verify_code : '')));
}

/* The case's payment link as a QR (the packet's visit.payment_link), or why there is none. */
function drawLink(box, s) {
  const { t, visit } = s;
  const link = visit.payment_link;
  if (!link) {
    clear(box, h('p', { class: 'hint', text: t('payment.link.none') }));
    return;
  }
  const status = h('p', { class: 'hint', role: 'status', text: t('payment.link.loading') });
  const address = h('p', { class: 'link-url', text: link.url });
  clear(box, h('h3', { text: t('payment.link.title') }), status,
    h('p', { text: t('payment.link.hint', { amount: link.amount, currency: link.currency }) }), address,
    h('p', { class: 'hint', text: t('payment.link.reference') }));
  qrCanvas(link.url, { label: t('payment.link.qr') }).then((canvas) => {
    status.replaceWith(canvas);
  }, () => { status.textContent = t('payment.link.failed'); });
}

export function render(el, s) {
  const { t, visit, draft } = s;
  if (draft.payment && draft.payment.recorded) {
    const box = h('section', { class: 'card receipt' });
    put(el, box, button(t('payment.continue'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ payment: { done: true } })), 'btn primary block big'));
    drawReceipt(box, s);
    const stop = s.sync.onStatus(() => { if (box.isConnected) drawReceipt(box, s); else stop(); });
    return;
  }
  const currency = visit.account.currency;
  const amount = h('input', { type: 'text', inputmode: 'decimal', value: (draft.outcome && draft.outcome.amount) || '', placeholder: '0.00' });
  const method = h('select', {}, METHODS.map((m) => h('option', { value: m, text: t(`payment.method.${m}`) })));
  const reference = h('input', { type: 'text', maxlength: 64 });
  const linkBox = h('div', { class: 'pay-link' });
  method.addEventListener('change', () => {
    if (method.value === 'payment_link') drawLink(linkBox, s); else clear(linkBox);
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const record = button(t('payment.record'), (e) => s.guarded(e.currentTarget, async () => {
    error.textContent = '';
    const cents = toCents(amount.value.trim());
    if (!(cents > 0)) { error.textContent = t('outcome.bad_amount'); return; }
    if (cents > toCents(visit.account.balance)) { error.textContent = t('payment.above_balance', { balance: visit.account.balance }); return; }
    const paid = { amount: fromCents(cents), currency, method: method.value, reference: reference.value.trim() };
    await s.commit([ops.paymentRecord(visit, paid)], { payment: Object.assign({ recorded: true, at: new Date().toISOString() }, paid) });
  }), 'btn primary block big');
  put(el, h('section', { class: 'card' }, h('h2', { text: t('payment.title') }),
    field(t('payment.amount_in', { currency }), amount), field(t('payment.method'), method), linkBox,
    field(t('payment.reference'), reference, t('payment.reference.hint')), error, record,
    button(t('payment.skip'), (e) => s.guarded(e.currentTarget, () => s.saveOnly({ payment: { done: true } })), 'btn ghost block')));
}
