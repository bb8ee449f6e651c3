/* Admin: the named policy settings of a jurisdiction profile (backend/policy/settings.py) —
 * value, default, who changed it and why — changed one at a time with a reason, each with
 * its history. The server validates every value and answers per field. */
import { h, clear, badge, describeError, formatters, actionButton, labelled } from '../util.js';

const JURISDICTIONS = ['CN', 'US', 'UK', 'IE'];

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  let jurisdiction = sessionStorage.getItem('office.policy.jurisdiction') || 'CN';
  const select = h('select', { class: 'o-input' }, JURISDICTIONS.map((j) => h('option', { value: j, text: t(`policy.jurisdiction.${j}`) })));
  select.value = jurisdiction;
  const status = h('p', { class: 'o-status', role: 'status' });
  const body = h('div', { class: 'o-policy' });
  let names = new Map();
  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('policy.title') }), labelled(t('policy.jurisdiction'), select)),
    h('p', { class: 'o-hint', text: t('policy.hint') }), status, body);
  select.addEventListener('change', () => {
    jurisdiction = select.value;
    sessionStorage.setItem('office.policy.jurisdiction', jurisdiction);
    load();
  });

  async function load(message) {
    status.textContent = t('status.loading');
    try {
      const [settings, users] = await Promise.all([
        api.get(`/api/policy/settings?jurisdiction=${jurisdiction}`),
        names.size ? Promise.resolve(null) : api.get('/api/users'),
      ]);
      if (users) names = new Map(users.map((u) => [u.id, u.display_name || u.username]));
      status.textContent = message || '';
      const groups = {};
      for (const s of settings) (groups[s.scope] = groups[s.scope] || []).push(s);
      clear(body, Object.entries(groups).map(([scope, items]) => h('section', { class: 'o-card' },
        h('h2', { text: t(`policy.scope.${scope}`) }),
        items.map(settingBox))));
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  const show = (value) => (value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));

  function settingBox(s) {
    const value = h('textarea', { class: 'o-input o-mono', rows: typeof s.value === 'object' && s.value !== null ? 4 : 1, value: JSON.stringify(s.value, null, typeof s.value === 'object' ? 1 : 0) });
    const reason = h('input', { class: 'o-input', minlength: 3, maxlength: 500 });
    const history = h('ol', { class: 'o-history' });
    const changed = s.source === 'changed'
      ? t('policy.changed_by', { name: names.get(s.changed_by_id) || `#${s.changed_by_id}`, at: f.dateTime(s.changed_at), reason: s.reason || '—' })
      : t('policy.default');
    return h('details', { class: 'o-setting', dataset: { key: s.key } },
      h('summary', {},
        h('span', { class: 'o-setting-key' }, h('strong', { text: s.key }), s.rule ? badge(s.rule, 'info') : null,
          badge(s.source === 'changed' ? t('policy.source.changed') : t('policy.source.default'), s.source === 'changed' ? 'warn' : '')),
        h('span', { class: 'o-setting-value o-mono', text: show(s.value) })),
      // the catalogue says what a setting means in the reader's language; a new one, the server's words
      h('p', { class: 'o-hint', text: t.has(`policy.about.${s.key}`) ? t(`policy.about.${s.key}`) : s.description }),
      h('p', { class: 'o-sub', text: changed }),
      h('p', { class: 'o-sub', text: t('policy.default_is', { value: show(s.default) }) }),
      labelled(t('policy.value'), value),
      labelled(t('policy.reason'), reason),
      h('div', { class: 'o-row' },
        actionButton(ctx, t('policy.save'), async () => {
          let parsed;
          try {
            parsed = JSON.parse(value.value);
          } catch (_) {
            value.focus();
            throw new Error(t('policy.not_json'));
          }
          if (reason.value.trim().length < 3) { reason.focus(); throw new Error(t('policy.reason_required')); }
          await api.request(`/api/policy/settings/${jurisdiction}/${encodeURIComponent(s.key)}`, { method: 'PUT', body: { value: parsed, reason: reason.value.trim() } });
          return t('policy.saved', { key: s.key });
        }, { done: load }),
        actionButton(ctx, t('policy.history'), async () => {
          const rows = await api.get(`/api/policy/settings/${jurisdiction}/${encodeURIComponent(s.key)}/history`);
          clear(history, rows.length ? rows.map((r) => h('li', {},
            h('span', { class: 'o-mono', text: show(r.value) }), ' — ',
            h('span', { text: t('policy.changed_by', { name: names.get(r.changed_by_id) || `#${r.changed_by_id}`, at: f.dateTime(r.changed_at), reason: r.reason }) })))
            : h('li', { class: 'o-sub', text: t('policy.no_history') }));
          return '';
        }, { cls: 'o-btn ghost small' })),
      history);
  }

  await load();
  return null;
}
