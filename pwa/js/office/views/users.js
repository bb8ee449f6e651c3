/* Admin: users and field agents. Create a user (an agent user becomes a field agent of a
 * branch in the same step), disable or enable it, reset its password, sign its devices out,
 * and set an agent's branch, shift, daily cap and skills, and upload the agent's photo shown on
 * the debtor's badge page (R10; backend/presence). Every change is audited by its API. */
import { h, clear, badge, describeError, empty, hhmm, secondsOf, actionButton, labelled, fetchBlob, urlKeeper } from '../util.js';

const ROLES = ['agent', 'dispatcher', 'owner', 'admin'];
const SKILLS = ['dialect', 'legal', 'senior'];

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const status = h('p', { class: 'o-status', role: 'status' });
  const list = h('div', { class: 'o-users' });
  let branches = [];
  let photos = new Set();
  const urls = urlKeeper();

  const form = createForm();
  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('users.title') })),
    form, status, list);

  async function load(message) {
    status.textContent = t('status.loading');
    urls.revokeAll();
    try {
      const [users, agents, branchList, photoList] = await Promise.all([api.get('/api/users'), api.get('/api/agents'), api.get('/api/branches'), api.get('/api/agent-photos')]);
      branches = branchList;
      photos = new Set(photoList.map((p) => p.agent_id));
      fillBranches(form.querySelector('select[name=branch_id]'));
      const byUser = new Map(agents.map((a) => [a.user.id, a]));
      status.textContent = message || '';
      clear(list, users.length ? h('div', { class: 'o-scroll' }, h('table', { class: 'o-table' },
        h('thead', {}, h('tr', {}, ['users.col.user', 'users.col.role', 'users.col.state', 'users.col.agent', 'users.col.actions'].map((k) => h('th', { scope: 'col', text: t(k) })))),
        h('tbody', {}, users.map((u) => userRow(u, byUser.get(u.id)))))) : empty(t('users.none')));
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  function fillBranches(select) {
    const keep = select.value;
    clear(select, branches.map((b) => h('option', { value: String(b.id), text: `${b.name} (${b.code})` })));
    if (keep) select.value = keep;
  }

  function branchName(id) {
    const b = branches.find((x) => x.id === id);
    return b ? b.name : `#${id}`;
  }

  /* New user; an agent user is made a field agent of the chosen branch right after. */
  function createForm() {
    const role = h('select', { class: 'o-input', name: 'role' }, ROLES.map((r) => h('option', { value: r, text: t(`role.${r}`) })));
    const branch = h('select', { class: 'o-input', name: 'branch_id' });
    const agentOnly = h('div', { class: 'o-row' },
      labelled(t('users.branch'), branch),
      labelled(t('users.shift_start'), h('input', { type: 'time', class: 'o-input', name: 'shift_start', value: '09:00' })),
      labelled(t('users.shift_end'), h('input', { type: 'time', class: 'o-input', name: 'shift_end', value: '18:00' })),
      labelled(t('users.cap'), h('input', { type: 'number', class: 'o-input tiny', name: 'daily_cap', min: 0, max: 60, value: '12' })));
    const msg = h('p', { class: 'o-inline-msg', role: 'status' });
    const el = h('form', { class: 'o-card o-form', 'aria-labelledby': 'users-new' },
      h('h2', { id: 'users-new', text: t('users.new') }),
      h('div', { class: 'o-row' },
        labelled(t('users.username'), h('input', { class: 'o-input', name: 'username', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9_.\\-]{2,64}' })),
        labelled(t('users.display_name'), h('input', { class: 'o-input', name: 'display_name' })),
        labelled(t('users.role'), role),
        labelled(t('users.password'), h('input', { class: 'o-input', name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })),
        labelled(t('users.locale'), h('select', { class: 'o-input', name: 'locale' }, h('option', { value: 'zh-CN', text: '中文' }), h('option', { value: 'en', text: 'English' })))),
      agentOnly,
      h('div', { class: 'o-row' }, h('button', { type: 'submit', class: 'o-btn', text: t('users.create') }), msg));
    role.addEventListener('change', () => { agentOnly.hidden = role.value !== 'agent'; });
    el.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = Object.fromEntries(new FormData(el).entries());
      msg.textContent = '';
      msg.classList.remove('bad');
      try {
        const user = await api.post('/api/users', {
          username: data.username.trim(), display_name: data.display_name.trim(), role: data.role, password: data.password, locale: data.locale,
        });
        if (user.role === 'agent') {
          await api.post('/api/agents', {
            user_id: user.id, branch_id: Number(data.branch_id), daily_cap: Number(data.daily_cap),
            shift_start_s: secondsOf(data.shift_start), shift_end_s: secondsOf(data.shift_end),
          });
        }
        for (const name of ['username', 'display_name', 'password']) el.elements[name].value = '';
        msg.textContent = t('users.created', { name: user.display_name || user.username });
        ctx.announce(msg.textContent);
        await load();
      } catch (err) {
        msg.textContent = describeError(err, t);
        msg.classList.add('bad');
        ctx.announce(msg.textContent);
      }
    });
    return el;
  }

  function userRow(user, agent) {
    const name = user.display_name || user.username;
    const password = h('input', { type: 'password', class: 'o-input small', autocomplete: 'new-password', minlength: 8, 'aria-label': t('users.new_password_for', { name }), placeholder: t('users.new_password') });
    const actions = h('div', { class: 'o-row' },
      actionButton(ctx, user.active ? t('users.disable') : t('users.enable'),
        async () => { await api.patch(`/api/users/${user.id}`, { active: !user.active }); return user.active ? t('users.disabled', { name }) : t('users.enabled', { name }); },
        { cls: user.active ? 'o-btn danger small' : 'o-btn ok small', done: load }),
      h('span', { class: 'o-row' }, password, actionButton(ctx, t('users.reset_password'), async () => {
        if (password.value.length < 8) { password.focus(); throw new Error(t('users.password_short')); }
        await api.patch(`/api/users/${user.id}`, { password: password.value });
        password.value = '';
        return t('users.password_reset', { name });
      }, { cls: 'o-btn ghost small' })),
      agent ? actionButton(ctx, t('users.revoke'), async () => {
        const result = await api.post(`/api/agents/${agent.id}/revoke-tokens`, { reason: 'revoked by admin' });
        return t('users.revoked', { n: result.revoked });
      }, { cls: 'o-btn ghost small' }) : null);
    return h('tr', { dataset: { userId: user.id } },
      h('td', {}, h('strong', { text: name }), h('div', { class: 'o-sub o-mono', text: user.username })),
      h('td', {}, badge(t(`role.${user.role}`), 'info')),
      h('td', {}, badge(user.active ? t('users.active') : t('users.inactive'), user.active ? 'ok' : 'bad')),
      h('td', {}, agent ? agentBox(agent, name) : '—'),
      h('td', {}, actions));
  }

  /* An agent's branch, shift, cap and skills, edited in place. */
  function agentBox(agent, name) {
    const branch = h('select', { class: 'o-input small', 'aria-label': t('users.branch') });
    fillBranches(branch);
    branch.value = String(agent.branch_id);
    const start = h('input', { type: 'time', class: 'o-input small', value: hhmm(agent.shift_start_s), 'aria-label': t('users.shift_start') });
    const end = h('input', { type: 'time', class: 'o-input small', value: hhmm(agent.shift_end_s), 'aria-label': t('users.shift_end') });
    const cap = h('input', { type: 'number', min: 0, max: 60, class: 'o-input small tiny', value: String(agent.daily_cap), 'aria-label': t('users.cap') });
    const skills = SKILLS.map((s) => h('input', { type: 'checkbox', value: s, checked: (agent.skills || []).includes(s) }));
    const summary = `${branchName(agent.branch_id)} · ${hhmm(agent.shift_start_s)}–${hhmm(agent.shift_end_s)} · ${t('users.cap_short', { n: agent.daily_cap })}`
      + ((agent.skills || []).length ? ` · ${agent.skills.map((s) => t(`skill.${s}`)).join(', ')}` : '');
    return h('details', { class: 'o-agent-edit', dataset: { agentId: agent.id } },
      h('summary', { text: summary }),
      h('div', { class: 'o-row' },
        labelled(t('users.branch'), branch), labelled(t('users.shift_start'), start), labelled(t('users.shift_end'), end), labelled(t('users.cap'), cap)),
      h('fieldset', { class: 'o-skills' }, h('legend', { text: t('users.skills') }),
        skills.map((box) => h('label', { class: 'o-check' }, box, h('span', { text: t(`skill.${box.value}`) })))),
      actionButton(ctx, t('users.save_agent'), async () => {
        await api.patch(`/api/agents/${agent.id}`, {
          branch_id: Number(branch.value), shift_start_s: secondsOf(start.value), shift_end_s: secondsOf(end.value),
          daily_cap: Number(cap.value), skills: skills.filter((b) => b.checked).map((b) => b.value),
        });
        return t('users.agent_saved', { name });
      }, { done: load }),
      photoBox(agent, name));
  }

  /* The agent's photo (as the badge page shows it) and its upload: PNG or JPEG, multipart. */
  function photoBox(agent, name) {
    const img = h('img', { class: 'agent-photo', alt: t('users.photo_of', { name }), hidden: true });
    if (photos.has(agent.id)) fetchBlob(ctx, `/api/agents/${agent.id}/photo`).then((blob) => { img.src = urls.make(blob); img.hidden = false; }, () => {});
    const file = h('input', { type: 'file', accept: 'image/png,image/jpeg', class: 'o-input small', 'aria-label': t('users.photo') });
    return h('fieldset', { class: 'o-photo' }, h('legend', { text: t('users.photo') }), img, file,
      actionButton(ctx, t('users.photo_upload'), async () => {
        if (!file.files.length) { file.focus(); throw new Error(t('users.photo_pick')); }
        await uploadPhoto(agent.id, file.files[0]);
        return t('users.photo_saved', { name });
      }, { cls: 'o-btn ghost small', done: load }));
  }

  async function uploadPhoto(agentId, blob) {
    const session = ctx.session || (ctx.store && await ctx.store.getSession());
    const body = new FormData();
    body.append('photo', blob);
    const response = await fetch(`/api/agents/${agentId}/photo`, {
      method: 'PUT', body, cache: 'no-store', headers: session && session.token ? { Authorization: `Bearer ${session.token}` } : {},
    });
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      throw new Error(((error.errors || {}).photo || [])[0] || error.message || `HTTP ${response.status}`);
    }
  }

  await load();
  return () => urls.revokeAll();
}
