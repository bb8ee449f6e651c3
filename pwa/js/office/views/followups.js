/* Follow-ups left by broken or partly kept promises (GET /api/follow-ups): overdue, due
 * and done, by branch and by the agent who made the promise (an owner sees their own cases
 * unless they ask for all), soonest first. Open ones are closed from here: done or cancelled
 * (POST /api/follow-ups/<id>/close), after acting on the case. */
import { h, clear, badge, describeError, empty, formatters, isoToday, labelled, actionButton } from '../util.js';

const TABS = ['overdue', 'due', 'done'];
const KEY = 'office.followups';

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  const state = Object.assign({ tab: 'overdue', branch_id: '', agent_id: '', mine: ctx.user.role === 'owner' }, JSON.parse(sessionStorage.getItem(KEY) || '{}'));
  let alive = true;
  let branches = [];

  const tabs = h('div', { class: 'o-seg', role: 'tablist', 'aria-label': t('followups.title') });
  const branch = h('select', { class: 'o-input' }, h('option', { value: '', text: t('cases.any_branch') }));
  const agent = h('select', { class: 'o-input' }, h('option', { value: '', text: t('kpi.all_agents') }));
  const mine = h('input', { type: 'checkbox', checked: state.mine });
  const status = h('p', { class: 'o-status', role: 'status' });
  const body = h('div', { class: 'o-followups', role: 'tabpanel' });
  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('followups.title') })),
    h('div', { class: 'o-filters' }, labelled(t('cases.branch'), branch), labelled(t('kpi.agent'), agent),
      ctx.user.role === 'owner' ? h('label', { class: 'o-check' }, mine, h('span', { text: t('queue.mine_only') })) : null),
    tabs, status, body);

  try {
    const [branchList, agents] = await Promise.all([api.get('/api/branches'), api.get('/api/agents')]);
    branches = branchList;
    branchList.forEach((b) => branch.append(h('option', { value: String(b.id), text: b.name })));
    agents.forEach((a) => agent.append(h('option', { value: String(a.id), dataset: { branch: a.branch_id }, text: a.user.display_name || a.user.username })));
  } catch (err) {
    status.textContent = describeError(err, t);
  }
  branch.value = state.branch_id;
  agent.value = state.agent_id;
  const changed = () => {
    Object.assign(state, { branch_id: branch.value, agent_id: agent.value, mine: mine.checked });
    load();
  };
  branch.addEventListener('change', changed);
  agent.addEventListener('change', changed);
  mine.addEventListener('change', changed);

  /* today where the work is: the chosen branch's day, else the first branch's */
  function today() {
    const b = branches.find((x) => String(x.id) === state.branch_id) || branches[0];
    return isoToday(b ? b.timezone : Intl.DateTimeFormat().resolvedOptions().timeZone);
  }

  function query(tab, perPage) {
    const params = new URLSearchParams({ per_page: String(perPage) });
    if (tab === 'done') params.set('status', 'done');
    if (tab === 'overdue') params.set('due_before', today());
    if (tab === 'due') params.set('due_from', today());
    if (state.branch_id) params.set('branch_id', state.branch_id);
    if (state.agent_id) params.set('agent_id', state.agent_id);
    if (state.mine) params.set('owner_id', String(ctx.user.id));
    return `/api/follow-ups?${params}`;
  }

  async function load(message) {
    sessionStorage.setItem(KEY, JSON.stringify(state));
    status.textContent = t('status.loading');
    try {
      const [counts, data] = await Promise.all([
        Promise.all(TABS.map((tab) => api.get(query(tab, 1)).then((r) => r.total))),
        api.get(query(state.tab, 100)),
      ]);
      if (!alive) return;
      status.textContent = message || '';
      clear(tabs, TABS.map((tab, i) => h('button', {
        type: 'button', role: 'tab', class: 'o-seg-btn', 'aria-selected': String(tab === state.tab), dataset: { tab },
        onclick: () => { state.tab = tab; load(); },
      }, h('span', { text: t(`followups.tab.${tab}`) }), h('span', { class: `o-count ${tab === 'overdue' && counts[i] ? 'hot' : ''}`, text: String(counts[i]) }))));
      const branchName = (id) => (branches.find((b) => b.id === id) || {}).name || '—';
      clear(body, data.items.length ? h('div', { class: 'o-scroll' }, h('table', { class: 'o-table' },
        h('thead', {}, h('tr', {}, ['followups.col.due', 'queue.col.case', 'queue.col.kind', 'queue.col.reason', 'queue.col.agent', 'cases.branch', ''].map((k) => h('th', { scope: 'col', text: k ? t(k) : '' })))),
        h('tbody', {}, data.items.map((x) => h('tr', { dataset: { followUpId: x.id }, class: state.tab === 'overdue' ? 'o-overdue' : '' },
          h('td', {}, h('span', { text: x.due_on }), state.tab === 'done' && x.done_at ? h('div', { class: 'o-sub', text: t('followups.done_by', { at: f.dateTime(x.done_at), name: x.done_by || '—' }) }) : null),
          h('td', {}, h('a', { class: 'o-link', href: `#/office/case/${x.case_id}`, text: x.debtor_name })),
          h('td', {}, badge(t(`followups.kind.${x.kind}`), 'info')),
          h('td', { class: 'o-wrap', text: x.reason }),
          h('td', { text: x.agent || '—' }),
          h('td', { text: branchName(x.branch_id) }),
          h('td', { class: 'o-right' }, x.status === 'open' ? [
            actionButton(ctx, t('followups.done'), async () => {
              await api.post(`/api/follow-ups/${x.id}/close`, { status: 'done' });
              return t('followups.closed', { name: x.debtor_name });
            }, { cls: 'o-btn ok small', done: load }),
            actionButton(ctx, t('followups.cancel'), async () => {
              await api.post(`/api/follow-ups/${x.id}/close`, { status: 'cancelled' });
              return t('followups.cancelled', { name: x.debtor_name });
            }, { cls: 'o-btn ghost small', done: load }),
          ] : null)))))) : empty(t(`followups.none.${state.tab}`)));
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  await load();
  return () => { alive = false; };
}
