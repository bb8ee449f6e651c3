/* The outbox in the open: what is waiting (in order, with the last error), and what the
 * server answered — conflicts and rejections said from their code in the agent's language. */
import { serverText } from '../i18n.js';
import { button, clear, h } from './dom.js';

export async function mount(container, ctx) {
  const { t, i18n, store, sync } = ctx;

  async function render(s) {
    const [outbox, journal, visits] = await Promise.all([store.outboxAll(), store.journal(), store.listVisits()]);
    const names = new Map(visits.map((v) => [v.case_id, v.debtor.name]));
    const problems = journal.filter((j) => j.status === 'conflict' || j.status === 'rejected');
    const recent = journal.filter((j) => j.status === 'applied' || j.status === 'duplicate').slice(0, 15);
    const label = (item, meta) => {
      const caseId = (meta && meta.case_id) ?? item.case_id ?? (item.payload && item.payload.case_id);
      return [t(`op.${item.type}`), names.get(caseId) || (caseId ? t('sync.case', { id: caseId }) : '')].filter(Boolean).join(' · ');
    };
    clear(container,
      h('section', { class: 'card' },
        h('h1', { text: t('sync.title') }),
        h('dl', { class: 'facts' },
          fact(t('sync.connection'), s.online ? t('status.online') : t('status.offline')),
          fact(t('sync.unsent'), String(outbox.length)),
          fact(t('sync.last'), s.lastSync ? i18n.dateTime(s.lastSync) : t('status.never_synced')),
          s.lastError ? fact(t('sync.last_error'), errorText(s.lastError)) : null,
          s.nextAt && outbox.length && s.nextAt > Date.now() ? fact(t('sync.next_try'), i18n.dateTime(new Date(s.nextAt).toISOString())) : null,
          s.pullError ? fact(t('sync.pull_error'), s.pullError) : null),
        s.expired ? h('p', { class: 'notice warn', text: t('banner.expired') }) : null,
        button(s.syncing ? t('status.syncing') : t('sync.now'), () => sync.syncNow(), 'btn primary block', { disabled: s.syncing || !s.online })),
      h('section', { class: 'card' },
        h('h2', { text: t('sync.queue', { n: outbox.length }) }),
        outbox.length ? h('ol', { class: 'oplist' }, outbox.map((entry) => h('li', { class: 'op queued' },
          h('div', {}, h('strong', { text: label(entry.op, entry.meta) }), h('small', { class: 'muted', text: ` ${i18n.dateTime(entry.op.at)}` })),
          entry.error ? h('p', { class: 'error', text: t('sync.attempts', { n: entry.attempts, error: errorText(entry.error) }) }) : null)))
          : h('p', { class: 'muted', text: t('sync.queue_empty') })),
      h('section', { class: 'card' },
        h('h2', { text: t('sync.problems', { n: problems.length }) }),
        problems.length ? h('ul', { class: 'oplist' }, problems.map((item) => h('li', { class: `op ${item.status} ${item.acknowledged ? 'acked' : ''}` },
          h('div', {}, h('strong', { text: label(item) }), ' ', h('span', { class: 'pill bad', text: t(`opstate.${item.status}`) })),
          h('p', { class: 'server-words', text: detailText(t, item) }),
          h('small', { class: 'muted', text: t('sync.kept_on_server') }),
          item.acknowledged ? null : button(t('sync.ack'), async () => { await store.acknowledge(item.id); sync.emit(); }, 'btn small secondary'))))
          : h('p', { class: 'muted', text: t('sync.no_problems') })),
      h('section', { class: 'card' },
        h('h2', { text: t('sync.recent') }),
        recent.length ? h('ul', { class: 'oplist' }, recent.map((item) => h('li', { class: 'op applied' },
          h('span', { text: label(item) }), h('span', { class: 'pill ok', text: t(`opstate.${item.status}`) })))) : h('p', { class: 'muted', text: t('sync.recent_empty') })));
  }

  function errorText(error) {
    if (!error) return '';
    if (error.kind === 'network') return t(error.message === 'timeout' ? 'sync.err_timeout' : 'sync.err_network');
    if (error.kind === 'server') return t('sync.err_server', { status: error.status, message: error.message });
    return `${error.status ? `HTTP ${error.status}: ` : ''}${error.message || ''}`;
  }

  return sync.onStatus(render);
}

/* What the server answered, from its code in the agent's language; for a code the catalogue
 * does not know yet, the server's own message and the per-field errors it named. */
export function detailText(t, item) {
  const known = item.code ? serverText(t, { code: item.code, params: item.params, message: '' }) : '';
  if (known) return known;
  const parts = [];
  if (typeof item.detail === 'string') parts.push(item.detail);
  else if (item.detail) parts.push(JSON.stringify(item.detail));
  for (const [k, v] of Object.entries(item.errors || {})) parts.push(`${k}: ${[].concat(v).join(', ')}`);
  return parts.join(' — ');
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', { text: value }));
}
