/* Admin: the playbook's scripts. Every version with its approval state; a draft is approved
 * (the server re-scans it for prohibited wording, R7) or rejected with a note; an approved
 * version can be retired or edited into a new draft (the approved one keeps shipping until
 * the draft is approved). */
import { h, clear, badge, describeError, empty, formatters, actionButton, labelled } from '../util.js';

const STATUSES = ['draft', 'approved', 'rejected', 'retired'];

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  let filter = sessionStorage.getItem('office.scripts.status') || 'draft';
  const select = h('select', { class: 'o-input' },
    h('option', { value: '', text: t('scripts.all') }), STATUSES.map((s) => h('option', { value: s, text: t(`scripts.status.${s}`) })));
  select.value = filter;
  const status = h('p', { class: 'o-status', role: 'status' });
  const list = h('div', { class: 'o-cards' });
  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('scripts.title') }), labelled(t('scripts.filter'), select)),
    h('p', { class: 'o-hint', text: t('scripts.hint') }), status, list);
  select.addEventListener('change', () => {
    filter = select.value;
    sessionStorage.setItem('office.scripts.status', filter);
    load();
  });

  async function load(message) {
    status.textContent = t('status.loading');
    try {
      const rows = await api.get(`/api/policy/scripts${filter ? `?status=${filter}` : ''}`);
      status.textContent = message || '';
      clear(list, rows.length ? rows.map(card) : empty(t('scripts.none')));
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  function card(v) {
    const note = h('input', { class: 'o-input small', maxlength: 500, 'aria-label': t('scripts.note'), placeholder: t('scripts.note') });
    const decide = (decision, cls) => actionButton(ctx, t(`scripts.${decision}`), async () => {
      if (decision === 'reject' && !note.value.trim()) { note.focus(); throw new Error(t('scripts.note_required')); }
      await api.post(`/api/policy/scripts/${v.id}/decision`, { decision, note: note.value.trim() });
      return t(`scripts.decided.${decision}`, { key: v.key, version: v.version });
    }, { cls, done: load });
    const actions = [];
    if (v.status === 'draft' && v.id) actions.push(note, decide('approve', 'o-btn ok small'), decide('reject', 'o-btn danger small'));
    if (v.status === 'approved' && v.id) actions.push(note, decide('retire', 'o-btn ghost small'));
    return h('article', { class: 'o-card o-script', dataset: { scriptId: v.id || '', key: v.key } },
      h('header', { class: 'o-card-head' },
        h('h2', { text: `${v.key} · v${v.version}` }), badge(v.locale, 'info'), badge(t(`scripts.status.${v.status}`), v.status === 'approved' ? 'ok' : v.status === 'draft' ? 'warn' : 'bad'),
        v.legal_wording ? badge(t('scripts.legal'), 'warn') : null),
      h('p', { class: 'o-script-text', lang: v.locale, text: v.text }),
      (v.problems || []).length ? h('ul', { class: 'o-rules' }, v.problems.map((p) => h('li', { class: 'o-inline-msg bad', text: p }))) : null,
      h('p', { class: 'o-sub', text: [v.source === 'builtin' ? t('scripts.builtin') : null, v.created_at ? f.dateTime(v.created_at) : null, v.note || null].filter(Boolean).join(' · ') }),
      actions.length ? h('div', { class: 'o-row' }, actions) : null,
      v.status === 'approved' ? editor(v) : null);
  }

  /* A new draft from an approved text. */
  function editor(v) {
    const text = h('textarea', { class: 'o-input', rows: 4, lang: v.locale, value: v.text, 'aria-label': t('scripts.text') });
    const note = h('input', { class: 'o-input small', maxlength: 500, 'aria-label': t('scripts.why'), placeholder: t('scripts.why') });
    return h('details', { class: 'o-script-edit' }, h('summary', { text: t('scripts.edit') }), text,
      h('div', { class: 'o-row' }, note, actionButton(ctx, t('scripts.propose'), async () => {
        const row = await api.post('/api/policy/scripts', { key: v.key, locale: v.locale, text: text.value, note: note.value.trim() });
        return t('scripts.proposed', { key: row.key, version: row.version });
      }, { done: load })));
  }

  await load();
  return null;
}
