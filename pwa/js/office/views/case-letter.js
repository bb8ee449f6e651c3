/* The letter rung from the case page: choose an approved letter template (the newest approved
 * version of each template and language), read the letter as it would go out — filled with the
 * case's fields, with anything the R7 scan finds — and send it. Sending renders and keeps the
 * PDF and records the `contact.letter` event; the page then shows it on the timeline. */
import { fieldErrors } from '../../i18n.js';
import { h, clear, describeError } from '../util.js';

export async function letterSection(ctx, kase, { onSent }) {
  const { t, api } = ctx;
  const section = h('section', { class: 'o-card o-letters', dataset: { part: 'letters' } }, h('h2', { text: t('case.letter.title') }));
  let templates = [];
  try {
    templates = newest(await api.get('/api/policy/scripts?kind=letter&status=approved'));
  } catch (err) {
    section.append(h('p', { class: 'o-inline-msg bad', text: describeError(err, t) }));
    return section;
  }
  if (!templates.length) {
    section.append(h('p', { class: 'o-empty', text: t('case.letter.none') }));
    return section;
  }
  const choice = h('select', { class: 'o-input', name: 'letter-template', 'aria-label': t('case.letter.template') },
    templates.map((x) => h('option', { value: String(x.id), text: t('case.letter.option', { key: x.key, version: x.version, language: t(`case.letter.locale.${x.locale}`) }) })));
  const previewBtn = h('button', { type: 'button', class: 'o-btn ghost', dataset: { action: 'letter-preview' }, text: t('case.letter.preview') });
  const sendBtn = h('button', { type: 'button', class: 'o-btn', dataset: { action: 'letter-send' }, text: t('case.letter.send'), disabled: true });
  const shown = h('div', { class: 'o-letter-preview', 'aria-live': 'polite' });
  const msg = h('p', { class: 'o-inline-msg', role: 'status' });
  let previewed = null;

  const chosen = () => templates.find((x) => String(x.id) === choice.value);
  choice.addEventListener('change', () => { previewed = null; sendBtn.disabled = true; clear(shown); });

  previewBtn.addEventListener('click', async () => {
    const template = chosen();
    previewBtn.disabled = true;
    sendBtn.disabled = true;
    msg.textContent = '';
    msg.classList.remove('bad');
    try {
      const preview = await api.get(`/api/cases/${kase.id}/letters/preview?template_id=${template.id}&locale=${encodeURIComponent(template.locale)}`);
      const problems = fieldErrors(t, preview.problems, preview.field_codes);
      clear(shown,
        h('blockquote', { class: 'o-letter-text', lang: preview.locale, text: preview.text }),
        problems.length ? h('div', { class: 'o-violations', role: 'alert' }, h('strong', { text: t('case.letter.problems') }), h('ul', {}, problems.map((p) => h('li', { text: p })))) : null);
      previewed = problems.length ? null : template;
      sendBtn.disabled = !previewed;
    } catch (err) {
      msg.textContent = describeError(err, t);
      msg.classList.add('bad');
    } finally {
      previewBtn.disabled = false;
    }
  });

  sendBtn.addEventListener('click', async () => {
    if (!previewed) return;
    sendBtn.disabled = true;
    msg.textContent = t('case.letter.sending');
    try {
      await api.post(`/api/cases/${kase.id}/letters`, { template_id: previewed.id, locale: previewed.locale });
      if (ctx.announce) ctx.announce(t('case.letter.sent'));
      onSent();
    } catch (err) {
      msg.textContent = describeError(err, t);
      msg.classList.add('bad');
      sendBtn.disabled = false;
    }
  });

  section.append(h('p', { class: 'o-hint', text: t('case.letter.hint') }), h('div', { class: 'o-row' }, choice, previewBtn, sendBtn), shown, msg);
  return section;
}

/* Only the newest approved version of each template and language is sent. */
function newest(versions) {
  const best = new Map();
  for (const v of versions) {
    if (v.kind !== 'letter' || v.id === null) continue;
    const key = `${v.key}|${v.locale}`;
    if (!best.has(key) || best.get(key).version < v.version) best.set(key, v);
  }
  return [...best.values()].sort((a, b) => a.key.localeCompare(b.key) || a.locale.localeCompare(b.locale));
}
