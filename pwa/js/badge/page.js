/* The debtor's badge page (R10), opened on the debtor's own phone from the agent's QR code:
 * who is at the door, for whom, whether the badge is valid now, the complaint phone; after the
 * last four digits of their ID, the confirmation of the visit and the disclosure (R6), or
 * their own choice of no further visits or a complaint. The token stays in the fragment (never
 * sent in a URL, so never in a log) and goes to the server in a POST body. Everything the
 * server says reaches the page as text; the agent's photo, served only while the badge is
 * valid, as a blob the page made itself. */
import { loadCatalog } from '../i18n.js';
import { button, clear, field, h } from '../ui/dom.js';

const root = document.getElementById('badge');
const token = decodeURIComponent(location.hash.slice(1));

async function post(path, body) {
  const response = await fetch(`/api/badge/${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: response.status, data: await response.json().catch(() => ({})) };
}

/* The agent's portrait: fetched with the token in the body, shown from a blob URL. */
async function portrait(t, name) {
  const response = await fetch('/api/badge/photo', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }),
  });
  if (!response.ok) return null;
  const img = h('img', { class: 'agent-photo', alt: t('photo_alt', { name }) });
  img.src = URL.createObjectURL(await response.blob());
  return img;
}

function when(iso, locale) {
  return iso ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)) : '';
}

async function main() {
  let t = await loadCatalog('badge', navigator.language);
  if (!token) { clear(root, h('section', { class: 'card bad', role: 'alert' }, h('h1', { text: t('invalid') }))); return; }
  const { status, data } = await post('check', { token });
  if (status !== 200) {
    clear(root, h('section', { class: 'card bad', role: 'alert' }, h('h1', { text: t(status === 429 ? 'busy' : 'invalid') })));
    return;
  }
  t = await loadCatalog('badge', data.language);
  const locale = data.language === 'en' ? 'en' : 'zh-CN';
  document.documentElement.lang = locale;
  const valid = data.status === 'valid';
  const phone = data.organisation.complaint_phone;
  const photo = valid && data.agent.photo ? await portrait(t, data.agent.name || '') : null;
  clear(root,
    h('section', { class: `card ${valid ? 'ok' : 'bad'}`, role: 'status', dataset: { status: data.status } },
      h('h1', { text: t(`status.${data.status}`) }),
      valid ? h('p', { class: 'muted', text: t('valid_until', { time: when(data.valid_until, locale) }) }) : null),
    h('section', { class: 'card' }, photo,
      h('dl', { class: 'facts' },
        h('div', { class: 'fact' }, h('dt', { text: t('agent') }), h('dd', { class: 'agent-name', text: data.agent.name || '' })),
        data.agent.badge_no ? h('div', { class: 'fact' }, h('dt', { text: t('badge_no') }), h('dd', { text: data.agent.badge_no })) : null,
        h('div', { class: 'fact' }, h('dt', { text: t('organisation') }), h('dd', { text: data.organisation.name })),
        h('div', { class: 'fact' }, h('dt', { text: t('complaints') }), h('dd', {}, h('a', { href: `tel:${phone}`, text: phone }))))),
    valid ? identify(t, locale) : h('p', { class: 'card muted', text: t('not_valid_help', { phone }) }));
}

/* The last four digits of the ID (R5), then one of three choices. */
function identify(t, locale) {
  const last4 = h('input', { inputmode: 'numeric', pattern: '[0-9]{4}', maxlength: 4, autocomplete: 'off', name: 'id_last4' });
  const reason = h('textarea', { rows: 2, maxlength: 500, name: 'reason' });
  const message = h('p', { class: 'error', role: 'alert' });
  const box = h('section', { class: 'card' });

  async function send(path, extra, done) {
    if (!/^\d{4}$/.test(last4.value)) { message.textContent = t('four_digits'); return; }
    const { status, data } = await post(path, { token, id_last4: last4.value, ...extra });
    if (status === 200) { done(data); return; }
    message.textContent = t({ 422: 'no_match', 409: 'expired_now', 429: 'busy' }[status] || 'failed');
  }

  clear(box, h('h2', { text: t('identify') }), field(t('id_last4'), last4, t('id_hint')), message,
    button(t('confirm'), (e) => guard(e, () => send('confirm', {}, (data) => clear(box,
      h('h2', { class: 'confirmed', text: t('confirmed', { time: when(data.confirmed_at, locale) }) }),
      h('h3', { text: t('disclosure') }), h('blockquote', { class: 'script', text: data.disclosure })))), 'btn primary block big'),
    h('details', {}, h('summary', { text: t('other_choices') }),
      field(t('reason'), reason),
      button(t('no_visits'), (e) => guard(e, () => send('request', { kind: 'no_visits', reason: reason.value }, () => clear(box, h('h2', { text: t('no_visits_done') })))), 'btn secondary block'),
      button(t('complain'), (e) => guard(e, () => send('request', { kind: 'complaint', reason: reason.value }, () => clear(box, h('h2', { text: t('complaint_done') })))), 'btn secondary block')));
  return box;
}

async function guard(event, fn) {
  const el = event.currentTarget;
  el.disabled = true;
  try { await fn(); } finally { if (el.isConnected) el.disabled = false; }
}

main();
