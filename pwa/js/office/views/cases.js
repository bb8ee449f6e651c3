/* Find a case: by the debtor's name or the account reference, stage, blocking flag, branch
 * and owner, a page at a time (GET /api/cases). Each row opens the case page. */
import { h, clear, badge, describeError, empty, formatters, labelled } from '../util.js';

const STAGES = ['phone', 'letter', 'field', 'legal', 'closed'];
const FLAGS = ['dispute', 'bankruptcy', 'deceased', 'cease_contact', 'attorney', 'vulnerable', 'complaint', 'legal_hold',
  'fraud_claim', 'plan_performing', 'asked_not_to_return', 'escalated'];
const PER_PAGE = 25;
const KEY = 'office.cases';

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  const role = ctx.user.role;
  const state = Object.assign({ q: '', stage: '', flag: '', branch_id: '', owner_id: role === 'owner' ? String(ctx.user.id) : '', page: 1 },
    JSON.parse(sessionStorage.getItem(KEY) || '{}'));
  let alive = true;
  let branches = new Map();

  const q = h('input', { type: 'search', class: 'o-input', name: 'q', value: state.q, maxlength: 32, placeholder: t('cases.q_placeholder') });
  const stage = h('select', { class: 'o-input', name: 'stage' }, h('option', { value: '', text: t('cases.any') }),
    STAGES.map((s) => h('option', { value: s, text: t(`stage.${s}`) })));
  const flag = h('select', { class: 'o-input', name: 'flag' }, h('option', { value: '', text: t('cases.any') }),
    FLAGS.map((s) => h('option', { value: s, text: t(`flag.${s}`) })));
  const branch = h('select', { class: 'o-input', name: 'branch_id' }, h('option', { value: '', text: t('cases.any_branch') }));
  const owner = h('select', { class: 'o-input', name: 'owner_id' }, h('option', { value: '', text: t('cases.any_owner') }));
  const status = h('p', { class: 'o-status', role: 'status' });
  const results = h('div', { class: 'o-results' });
  const pager = h('nav', { class: 'o-pager', 'aria-label': t('cases.pages') });
  const form = h('form', { class: 'o-filters', role: 'search', 'aria-label': t('cases.search') },
    labelled(t('cases.q'), q), labelled(t('case.stage'), stage), labelled(t('cases.flag'), flag),
    labelled(t('cases.branch'), branch), labelled(t('cases.owner'), owner),
    h('button', { type: 'submit', class: 'o-btn', text: t('cases.find') }));
  clear(container, h('div', { class: 'o-pagehead' }, h('h1', { text: t('cases.title') })), form, status, results, pager);

  try {
    const [branchList, users] = await Promise.all([
      api.get('/api/branches'),
      role === 'admin' ? api.get('/api/users') : Promise.resolve(null),
    ]);
    branches = new Map(branchList.map((b) => [b.id, b]));
    branchList.forEach((b) => branch.append(h('option', { value: String(b.id), text: b.name })));
    const owners = users ? users.filter((u) => u.role === 'owner' || u.role === 'admin') : [ctx.user];
    owners.forEach((u) => owner.append(h('option', { value: String(u.id), text: u.id === ctx.user.id ? t('cases.me', { name: u.display_name || u.username }) : (u.display_name || u.username) })));
  } catch (err) {
    status.textContent = describeError(err, t);
  }
  stage.value = state.stage;
  flag.value = state.flag;
  branch.value = state.branch_id;
  owner.value = state.owner_id;

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(state, { q: q.value.trim(), stage: stage.value, flag: flag.value, branch_id: branch.value, owner_id: owner.value, page: 1 });
    load();
  });

  async function load() {
    sessionStorage.setItem(KEY, JSON.stringify(state));
    const params = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE) });
    for (const k of ['q', 'stage', 'flag', 'branch_id', 'owner_id']) if (state[k]) params.set(k, state[k]);
    status.textContent = t('status.loading');
    try {
      const data = await api.get(`/api/cases?${params}`);
      if (!alive) return;
      const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
      status.textContent = t('cases.found', { n: data.total });
      ctx.announce(status.textContent);
      clear(results, data.items.length ? h('div', { class: 'o-scroll' }, h('table', { class: 'o-table' },
        h('thead', {}, h('tr', {}, ['cases.col.debtor', 'cases.col.account', 'case.stage', 'cases.col.flags', 'case.overdue', 'case.dpd', 'cases.branch'].map((k) => h('th', { scope: 'col', text: t(k) })))),
        h('tbody', {}, data.items.map((c) => h('tr', { dataset: { caseId: c.id } },
          h('td', {}, h('a', { class: 'o-link', href: `#/office/case/${c.id}`, text: c.debtor.name })),
          h('td', { class: 'o-mono', text: c.account.account_number || c.account.card_masked }),
          h('td', {}, badge(t(`stage.${c.stage}`), 'info')),
          h('td', {}, c.flags.length ? c.flags.map((fl) => badge(t(`flag.${fl.flag}`), 'bad')) : '—'),
          h('td', { class: 'o-num', text: f.money(c.account.overdue_amount, c.account.currency) }),
          h('td', { class: 'o-num', text: String(c.account.days_past_due) }),
          h('td', { text: branches.has(c.branch_id) ? branches.get(c.branch_id).name : '—' })))))) : empty(t('cases.none')));
      const go = (page) => () => { state.page = page; load(); };
      clear(pager,
        h('button', { type: 'button', class: 'o-btn ghost small', disabled: state.page <= 1, onclick: go(state.page - 1), text: `← ${t('cases.prev')}` }),
        h('span', { class: 'o-sub', text: t('cases.page_of', { page: state.page, pages }) }),
        h('button', { type: 'button', class: 'o-btn ghost small', disabled: state.page >= pages, onclick: go(state.page + 1), text: `${t('cases.next')} →` }));
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  await load();
  return () => { alive = false; };
}
