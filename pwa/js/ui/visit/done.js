/* After check-out: the summary, each record of the visit with its state, the next stop. */
import { h } from '../dom.js';
import { put } from './parts.js';
import { summary } from './summary.js';

export async function render(el, s) {
  const { t, store, visit, draft } = s;
  const [outbox, journal] = await Promise.all([store.outboxAll(), store.journal()]);
  const queued = new Set(outbox.map((e) => e.op.id));
  const answered = new Map(journal.map((j) => [j.id, j]));
  const visits = await store.listVisits();
  const next = visits.find((v) => v.id !== visit.id && v.status !== 'cancelled' && !['completed', 'failed'].includes(v.status) && (v.route_position ?? 0) > (visit.route_position ?? 0));
  put(el, h('section', { class: 'card' },
    h('h2', { text: t('done.title') }), summary(s),
    h('h3', { text: t('done.records') }),
    h('ul', { class: 'oplist' }, (draft.ops || []).map((op) => {
      const j = answered.get(op.id);
      const state = queued.has(op.id) ? 'queued' : (j ? j.status : 'queued');
      return h('li', { class: `op ${state}` }, h('span', { text: t(`op.${op.type}`) }), h('span', { class: `pill ${state === 'applied' || state === 'duplicate' ? 'ok' : (state === 'queued' ? 'warn' : 'bad')}`, text: t(`opstate.${state}`) }));
    })),
    next ? h('a', { class: 'btn primary block big', href: `#/visit/${next.id}`, text: t('done.next', { name: next.debtor.name }) }) : null,
    h('a', { class: 'btn secondary block', href: '#/today', text: t('visit.back') })));
}
