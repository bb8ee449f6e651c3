/* The dispatcher's day board: agents with shift and capacity, each route on a map in its own
 * colour, the planner with a progress bar, drag a stop to another agent or position (re-timed
 * by the server, violations shown in place), pin and unassign, publish, in-day progress and
 * re-plan, eligible and excluded cases with their reasons, and revoking a lost device. */
import { findingText, ruleName, serverText } from '../../i18n.js';
import { h, clear, badge, describeError, empty, formatters, isoToday } from '../util.js';
import { PALETTE } from '../charts.js';
import { boardMapView } from './board-map.js';
import { openMoveDialog } from './board-move.js';
import { planStatsView } from './board-stats.js';

const RUNNING = ['queued', 'solving'];
const POLL_MS = 600;

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  const saved = JSON.parse(sessionStorage.getItem('office.board') || '{}');
  const state = { date: saved.date || isoToday('Asia/Shanghai'), branch_id: saved.branch_id || '', seconds: saved.seconds || 5 };
  let board = null;      // GET /api/board
  let plan = null;       // GET /api/route-plans/<id> when a plan is in play
  let branches = [];
  let alive = true;
  let pollTimer = null;
  let lastMove = null;   // {ref, violations} of the latest drag, shown on that stop

  const dateIn = h('input', { type: 'date', class: 'o-input', value: state.date, 'aria-label': t('board.date') });
  const branchSel = h('select', { class: 'o-input', 'aria-label': t('board.branch') });
  const secondsIn = h('input', { type: 'number', min: 1, max: 120, step: 1, class: 'o-input tiny', value: state.seconds, 'aria-label': t('board.seconds') });
  const runBtn = h('button', { type: 'button', class: 'o-btn', dataset: { action: 'plan' }, text: t('board.run') });
  const publishBtn = h('button', { type: 'button', class: 'o-btn ok', dataset: { action: 'publish' }, text: t('board.publish'), hidden: true });
  const replanBtn = h('button', { type: 'button', class: 'o-btn ghost', dataset: { action: 'replan' }, text: t('board.replan'), hidden: true });
  const progress = h('div', { class: 'o-progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, hidden: true }, h('div', { class: 'o-progress-bar' }), h('span', { class: 'o-progress-text' }));
  const planChip = h('span', { class: 'o-plan-chip', hidden: true });
  const message = h('p', { class: 'o-status', role: 'status' });
  const violationsBox = h('div', { class: 'o-violations', role: 'alert', hidden: true });
  const agentsCol = h('section', { class: 'o-board-agents', 'aria-label': t('board.agents') });
  const mapBox = h('div', { class: 'o-map', id: 'office-map' });
  const legend = h('div', { class: 'o-map-legend' });
  const sideCol = h('section', { class: 'o-board-side', 'aria-label': t('board.unassigned') });
  const counters = h('div', { class: 'o-counters' });
  const statsBox = h('section', { class: 'o-plan-summary', dataset: { part: 'plan-stats' } });
  const boardMap = boardMapView(mapBox, legend, t);

  clear(container,
    h('div', { class: 'o-toolbar' },
      h('label', { class: 'o-field inline' }, h('span', { text: t('board.date') }), dateIn),
      h('label', { class: 'o-field inline' }, h('span', { text: t('board.branch') }), branchSel),
      h('span', { class: 'o-sep' }),
      h('label', { class: 'o-field inline' }, h('span', { text: t('board.seconds') }), secondsIn),
      runBtn, progress, planChip, h('span', { class: 'o-grow' }), replanBtn, publishBtn),
    counters, statsBox, message, violationsBox,
    h('div', { class: 'o-board' }, agentsCol, h('div', { class: 'o-board-map' }, mapBox, legend), sideCol));

  try {
    branches = await api.get('/api/branches');
  } catch (err) {
    message.textContent = describeError(err, t);
  }
  branchSel.append(h('option', { value: '', text: t('board.all_branches') }), ...branches.map((b) => h('option', { value: String(b.id), text: b.name })));
  if (!state.branch_id && branches.length) state.branch_id = String(branches[0].id);
  branchSel.value = state.branch_id;

  const remember = () => sessionStorage.setItem('office.board', JSON.stringify(state));
  dateIn.addEventListener('change', () => { state.date = dateIn.value; remember(); load(); });
  branchSel.addEventListener('change', () => { state.branch_id = branchSel.value; remember(); load(); });
  secondsIn.addEventListener('change', () => { state.seconds = Math.max(1, Math.min(120, Number(secondsIn.value) || 5)); remember(); });

  runBtn.addEventListener('click', () => guarded(runBtn, async () => {
    const body = { date: state.date, seconds: Number(state.seconds) };
    if (state.branch_id) body.branch_id = Number(state.branch_id);
    plan = await api.post('/api/route-plans', body);
    lastMove = null;
    render();
    poll();
  }));
  publishBtn.addEventListener('click', () => guarded(publishBtn, async () => {
    try {
      plan = await api.post(`/api/route-plans/${plan.id}/publish`);
      say(t('board.published', { n: plan.routes.reduce((n, r) => n + r.stops.length, 0) }), 'ok');
    } catch (err) {
      if (err.body && err.body.violations) plan.violations = err.body.violations;
      throw err;
    }
    await load(false);
  }));
  replanBtn.addEventListener('click', () => guarded(replanBtn, async () => {
    plan = await api.post(`/api/route-plans/${plan.id}/replan`, { seconds: Number(state.seconds) });
    lastMove = null;
    render();
    poll();
  }));

  function say(text, kind = '') {
    message.textContent = text;
    message.className = `o-status ${kind}`;
  }

  async function guarded(btn, run) {
    btn.disabled = true;
    say('');
    try {
      await run();
    } catch (err) {
      say(describeError(err, t), 'bad');
      render();
    } finally {
      btn.disabled = false;
    }
  }

  async function load(withMessage = true) {
    if (withMessage) say(t('status.loading'));
    const query = new URLSearchParams({ date: state.date });
    if (state.branch_id) query.set('branch_id', state.branch_id);
    try {
      board = await api.get(`/api/board?${query}`);
      plan = board.route_plan ? await api.get(`/api/route-plans/${board.route_plan.id}`) : null;
      if (!alive) return;
      if (withMessage) say('');
      render();
      if (plan && RUNNING.includes(plan.status)) poll();
    } catch (err) {
      say(describeError(err, t), 'bad');
    }
  }

  function poll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      if (!alive || !plan) return;
      try {
        plan = await api.get(`/api/route-plans/${plan.id}`);
      } catch (err) {
        say(describeError(err, t), 'bad');
        return;
      }
      if (RUNNING.includes(plan.status)) {
        renderProgress();
        poll();
      } else {
        if (plan.status === 'failed') say(plan.error || t('board.failed'), 'bad');
        else say(t('board.drafted', { served: servedCount(), unassigned: plan.unassigned.length }), 'ok');
        render();
      }
    }, POLL_MS);
  }

  const servedCount = () => (plan && plan.routes ? plan.routes.reduce((n, r) => n + r.stops.filter((s) => !s.fixed).length, 0) : 0);
  const isDraft = () => plan && plan.status === 'draft';
  // stop times read in the branch's clock (R1 windows are local), not the office browser's
  const tz = () => (plan && plan.timezone) || (board && board.timezone) || undefined;

  function renderProgress() {
    const running = plan && RUNNING.includes(plan.status);
    progress.hidden = !running;
    if (running) {
      const pct = Math.max(2, Math.min(100, plan.percent || 0));
      progress.firstChild.style.width = `${pct}%`;
      progress.setAttribute('aria-valuenow', String(pct));
      progress.lastChild.textContent = t('board.solving', { pct });
    }
    planChip.hidden = false;
    planChip.textContent = plan ? t('board.plan_chip', { id: plan.id, status: t(`board.status.${plan.status}`), v: plan.version || 1 }) : t('board.no_plan');
    planChip.className = `o-plan-chip ${plan ? plan.status : ''}`;
    runBtn.disabled = Boolean(running);
    publishBtn.hidden = !isDraft();
    publishBtn.disabled = Boolean(isDraft() && plan.violations && plan.violations.length);
    replanBtn.hidden = !(plan && plan.status === 'published');
  }

  /* Cases the draft already routes or lists as unassigned (no longer "not yet planned"). */
  function planCaseIds() {
    if (!isDraft()) return new Set();
    return new Set([...plan.routes.flatMap((r) => r.stops.map((s) => s.case_id)), ...plan.unassigned.map((u) => u.case_id)]);
  }

  /* Where a case is: from the board's visits and the builder's candidates. */
  function locations() {
    const at = new Map();
    for (const c of board.candidates) if (c.lat !== null) at.set(c.case_id, [c.lat, c.lon]);
    for (const a of board.agents) for (const v of a.visits) if (v.lat !== null) at.set(v.case_id, [v.lat, v.lon]);
    for (const v of board.unassigned) if (v.lat !== null) at.set(v.case_id, [v.lat, v.lon]);
    return at;
  }

  /* Routes to show: the draft's (or the plan being solved's last draft) or the published day. */
  function routes() {
    const live = new Map(board.agents.map((a) => [a.id, a]));
    const colour = new Map(board.agents.map((a, i) => [a.id, PALETTE[i % PALETTE.length]]));
    if (isDraft()) {
      return plan.routes.map((r) => ({
        agent: live.get(r.agent_id) || { id: r.agent_id, name: r.agent_name, counts: {}, visits: [] }, colour: colour.get(r.agent_id) || '#555', partner: r.partner_name,
        km: r.km, travel_s: r.travel_s, back_at: r.back_at, violations: r.violations || [],
        stops: r.stops.map((s) => ({ ...s, key: s.visit_id ? `v${s.visit_id}` : `c${s.case_id}`, name: s.debtor, planned_arrival: s.arrival })),
      }));
    }
    return board.agents.map((a) => ({
      agent: a, colour: colour.get(a.id), violations: [],
      stops: a.visits.map((v) => ({ ...v, key: `v${v.id}`, visit_id: v.id, name: v.debtor_name, position: v.route_position, window: { start: v.window_start, end: v.window_end },
        partner: v.partner_id ? (live.get(v.partner_id) || { name: `#${v.partner_id}` }).name : null })),
    }));
  }

  function render() {
    if (!board) return;
    renderProgress();
    const c = board.counts;
    clear(counters,
      [['visits', c.visits], ['waiting', c.waiting], ['late', c.late], ['checked_in', c.checked_in], ['done', c.done], ['failed', c.failed], ['eligible', c.eligible], ['excluded', c.excluded]]
        .map(([k, n]) => h('span', { class: `o-counter ${k}`, dataset: { counter: k } }, h('b', { text: String(n || 0) }), h('span', { text: t(`board.count.${k}`) }))));
    const planViolations = (plan && plan.violations) || [];
    clear(violationsBox, planViolations.length ? [h('strong', { text: t('board.violations', { n: planViolations.length }) }),
      h('ul', {}, planViolations.slice(0, 8).map((v) => h('li', { text: findingText(t, v) })))] : []);
    violationsBox.hidden = !planViolations.length;
    const figures = plan && plan.routes && plan.routes.length ? planStatsView(t, f, plan.stats) : null;
    clear(statsBox, figures);
    statsBox.hidden = !figures;
    const shown = routes();
    renderAgents(shown);
    renderSide();
    boardMap.draw({ shown, at: locations(), candidates: board.candidates, inPlan: planCaseIds(), unplaced: isDraft() ? plan.unassigned : board.unassigned, tiles: board.map });
  }

  function renderAgents(shown) {
    clear(agentsCol, shown.length ? shown.map((r) => agentCard(r)) : empty(t('board.no_agents')));
  }

  function agentCard(r) {
    const a = r.agent;
    const stops = r.stops;
    const list = h('ol', { class: 'o-stops', dataset: { agentId: a.id, empty: t('board.drop_here') } }, stops.map((s) => stopItem(s, r)));
    if (isDraft()) dropZone(list, a.id);
    const revokeMsg = h('span', { class: 'o-inline-msg', role: 'status' });
    const revoke = h('button', { type: 'button', class: 'o-btn ghost tiny', title: t('board.revoke_hint'), text: t('board.revoke') });
    revoke.addEventListener('click', async () => {
      if (!window.confirm(t('board.revoke_confirm', { name: a.name }))) return;
      revoke.disabled = true;
      try {
        const res = await api.post(`/api/agents/${a.id}/revoke-tokens`, { reason: 'device reported lost (dispatcher board)' });
        revokeMsg.textContent = t('board.revoked', { n: res.revoked });
        a.active_sessions = 0;
      } catch (err) {
        revokeMsg.textContent = describeError(err, t);
        revokeMsg.classList.add('bad');
      } finally {
        revoke.disabled = false;
      }
    });
    const counts = a.counts || {};
    const cap = a.daily_cap;
    const load = stops.length;
    return h('article', { class: 'o-agent', dataset: { agentId: a.id }, style: `--agent:${r.colour}` },
      h('header', { class: 'o-agent-head' },
        h('span', { class: 'o-swatch', 'aria-hidden': 'true' }),
        h('div', { class: 'o-agent-name' }, h('strong', { text: a.name }),
          h('span', { class: 'o-sub', text: `${a.shift_start || ''}–${a.shift_end || ''} · ${(a.skills || []).map((k) => t(`skill.${k}`)).join(', ') || t('board.no_skills')}` })),
        h('span', { class: `o-load ${load > cap ? 'bad' : ''}`, title: t('board.cap_hint'), text: `${load}/${cap}` })),
      h('div', { class: 'o-agent-meta' },
        r.km !== undefined ? h('span', { text: t('board.route_fig', { km: f.num(r.km), travel: f.duration(r.travel_s || 0), back: f.clock(r.back_at, tz()) }) }) : null,
        !isDraft() ? h('span', {}, badge(`${counts.done || 0} ${t('board.count.done')}`, 'ok'), badge(`${counts.checked_in || 0} ${t('board.count.checked_in')}`, 'info'),
          counts.late ? badge(`${counts.late} ${t('board.count.late')}`, 'bad') : null) : null,
        h('span', { class: 'o-grow' }),
        h('span', { class: 'o-sub', text: t('board.sessions', { n: a.active_sessions ?? 0 }) }), revoke, revokeMsg),
      r.violations.length ? h('ul', { class: 'o-route-violations' }, r.violations.map((v) => h('li', { text: findingText(t, v) }))) : null,
      list);
  }

  function stopItem(s, r) {
    const late = s.progress === 'late' || (s.late_by_s && s.late_by_s > 0);
    const movedHere = lastMove && lastMove.key === s.key;
    const progressBadge = s.progress ? badge(s.late_by_s ? `${t(`board.progress.${s.progress}`)} +${f.duration(s.late_by_s)}` : t(`board.progress.${s.progress}`), progressKind(s.progress, late)) : null;
    const actions = isDraft() && !s.fixed ? h('span', { class: 'o-stop-actions' },
      h('button', { type: 'button', class: `o-icon ${s.pinned ? 'on' : ''}`, title: s.pinned ? t('board.unpin') : t('board.pin'), 'aria-label': s.pinned ? t('board.unpin') : t('board.pin'),
        dataset: { action: 'pin' }, onclick: () => move(s, { agent_id: r.agent.id, position: s.position, pin: !s.pinned }), text: t('board.pin_short') }),
      h('button', { type: 'button', class: 'o-icon', title: t('board.unassign'), 'aria-label': t('board.unassign'), dataset: { action: 'unassign' },
        onclick: () => move(s, { agent_id: null }), text: t('board.unassign_short') }),
      moveButton(s)) : null;
    const li = h('li', {
      class: `o-stop ${s.fixed ? 'fixed' : ''} ${s.pinned ? 'pinned' : ''} ${late ? 'late' : ''} ${movedHere ? 'moved' : ''}`,
      draggable: isDraft() && !s.fixed ? 'true' : 'false', dataset: { key: s.key, caseId: s.case_id, visitId: s.visit_id || '' },
    },
    h('span', { class: 'o-pos', text: String(s.position || '') }),
    h('div', { class: 'o-stop-main' },
      h('div', {}, h('a', { href: `#/office/case/${s.case_id}`, class: 'o-link', draggable: 'false', text: s.name || `#${s.case_id}` }),
        s.priority ? h('span', { class: 'o-prio', title: t('board.priority'), text: `P${s.priority}` }) : null,
        s.at_home !== null && s.at_home !== undefined ? h('span', { class: 'o-at-home', text: t('board.at_home', { pct: f.pct(s.at_home) }) }) : null),
      h('div', { class: 'o-sub' },
        h('span', { text: `${t('board.arrive')} ${f.clock(s.planned_arrival, tz())}` }),
        s.window ? h('span', { text: ` · ${t('board.window')} ${f.clock(s.window.start, tz())}–${f.clock(s.window.end, tz())}` }) : null,
        s.checkin_at ? h('span', { text: ` · ${t('board.checked_in_at')} ${f.clock(s.checkin_at, tz())}` }) : null,
        s.partner || r.partner ? h('span', { class: 'o-crew', text: ` · ${t('board.with', { name: s.partner || r.partner })}` }) : null,
        s.partner_checkin_at ? h('span', { class: 'o-crew-in', text: ` · ${t('board.partner_checked_in_at')} ${f.clock(s.partner_checkin_at, tz())}` }) : null)),
    s.required_agents === 2 ? badge(t('board.two_agents'), 'info') : null,
    progressBadge, s.fixed ? badge(t('board.fixed'), 'info') : null, actions);
    if (movedHere && lastMove.violations.length) {
      li.append(h('ul', { class: 'o-stop-violations' }, lastMove.violations.map((v) => h('li', { text: findingText(t, v) }))));
    }
    if (isDraft() && !s.fixed) {
      li.addEventListener('dragstart', (e) => {
        e.dataTransfer.setData('application/x-doorstep-stop', JSON.stringify({ key: s.key, visit_id: s.visit_id || null, case_id: s.case_id }));
        e.dataTransfer.effectAllowed = 'move';
        li.classList.add('dragging');
      });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
    }
    return li;
  }

  /* "Move…": the same move as a drop, chosen in a dialog (touch, keyboard) */
  function moveButton(stop) {
    const btn = h('button', { type: 'button', class: 'o-icon', dataset: { action: 'move' }, 'aria-label': t('board.move_title', { name: stop.name || `#${stop.case_id}` }), text: t('board.move') });
    btn.addEventListener('click', () => openMoveDialog({ t, stop, routes: routes(), opener: btn, onMove: (target) => move(stop, target) }));
    return btn;
  }

  function progressKind(p, late) {
    if (late) return 'bad';
    return { done: 'ok', checked_in: 'info', failed: 'warn', waiting: '' }[p] || '';
  }

  /* A list that takes a dropped stop: the position is where the pointer is among the stops. */
  function dropZone(el, agentId) {
    el.addEventListener('dragover', (e) => {
      if (!e.dataTransfer.types.includes('application/x-doorstep-stop')) return;
      e.preventDefault();
      el.classList.add('over');
      const position = dropPosition(el, e.clientY);
      el.querySelectorAll('.o-stop').forEach((item, i) => item.classList.toggle('insert-before', i + 1 === position));
    });
    el.addEventListener('dragleave', () => { el.classList.remove('over'); el.querySelectorAll('.insert-before').forEach((x) => x.classList.remove('insert-before')); });
    el.addEventListener('drop', (e) => {
      e.preventDefault();
      el.classList.remove('over');
      const data = JSON.parse(e.dataTransfer.getData('application/x-doorstep-stop'));
      const target = agentId === null ? { agent_id: null } : { agent_id: agentId, position: dropPosition(el, e.clientY) };
      move(data, target);
    });
  }

  function dropPosition(el, y) {
    const items = [...el.querySelectorAll('.o-stop:not(.dragging)')];
    const index = items.findIndex((item) => { const box = item.getBoundingClientRect(); return y < box.top + box.height / 2; });
    return (index === -1 ? items.length : index) + 1;
  }

  async function move(stop, target) {
    const body = Object.assign({ version: plan.version }, stop.visit_id ? { visit_id: stop.visit_id } : { case_id: stop.case_id }, target);
    try {
      const moved = await api.post(`/api/route-plans/${plan.id}/moves`, body);
      plan = moved;
      lastMove = { key: stop.visit_id ? `v${stop.visit_id}` : `c${stop.case_id}`, violations: moved.move.violations || [] };
      say(lastMove.violations.length ? t('board.moved_with_violations', { n: lastMove.violations.length }) : t('board.moved'), lastMove.violations.length ? 'bad' : 'ok');
    } catch (err) {
      say(describeError(err, t), 'bad');
      if (err.status === 409) plan = await api.get(`/api/route-plans/${plan.id}`);
    }
    render();
    // the redraw replaced the button that was used: keep the keyboard on the moved stop
    if (!document.activeElement || document.activeElement === document.body) {
      const key = stop.visit_id ? `v${stop.visit_id}` : `c${stop.case_id}`;
      const again = container.querySelector(`[data-key="${key}"] [data-action=move]`);
      if (again) again.focus();
    }
  }

  function renderSide() {
    const unassigned = isDraft() ? plan.unassigned.map((u) => ({ ...u, key: u.visit_id ? `v${u.visit_id}` : `c${u.case_id}`, name: u.debtor })) : board.unassigned.map((v) => ({ ...v, key: `v${v.id}`, visit_id: v.id, name: v.debtor_name }));
    const unList = h('ul', { class: 'o-side-list unassigned', dataset: { zone: 'unassigned' } }, unassigned.map((u) => {
      const li = h('li', { class: 'o-cand', draggable: isDraft() ? 'true' : 'false', dataset: { key: u.key, caseId: u.case_id } },
        h('div', {}, h('a', { href: `#/office/case/${u.case_id}`, class: 'o-link', draggable: 'false', text: u.name }), u.priority ? h('span', { class: 'o-prio', text: `P${u.priority}` }) : null),
        u.reason ? h('div', { class: 'o-sub o-wrap', dataset: { code: u.code || '' }, text: serverText(t, { code: u.code, params: u.params, message: u.reason }) }) : null,
        isDraft() ? moveButton(u) : null);
      if (isDraft()) {
        li.addEventListener('dragstart', (e) => {
          e.dataTransfer.setData('application/x-doorstep-stop', JSON.stringify({ key: u.key, visit_id: u.visit_id || null, case_id: u.case_id }));
        });
      }
      return li;
    }));
    if (isDraft()) dropZone(unList, null);
    const inPlan = planCaseIds();
    const eligible = board.candidates.filter((c) => c.eligible && !inPlan.has(c.case_id));
    const excluded = board.candidates.filter((c) => !c.eligible);
    const byRule = new Map();
    for (const c of excluded) for (const rule of c.rules.length ? c.rules : ['other']) byRule.set(rule, (byRule.get(rule) || 0) + 1);
    const candItem = (c) => h('li', { class: `o-cand ${c.eligible ? 'ok' : 'ex'}`, dataset: { caseId: c.case_id } },
      h('div', {}, h('a', { href: `#/office/case/${c.case_id}`, class: 'o-link', text: c.debtor_name }),
        c.priority ? h('span', { class: 'o-prio', text: `P${c.priority}` }) : null,
        h('span', { class: 'o-sub', text: ` ${c.bucket} · ${f.money(c.overdue_amount)}` }),
        c.rules.map((r) => badge(ruleName(t, r), 'bad'))),
      h('ul', { class: 'o-reasons' }, (c.why || []).map((r) => h('li', { dataset: { code: r.code || '' }, text: findingText(t, r) }))));
    clear(sideCol,
      h('h2', {}, t('board.unassigned'), h('span', { class: 'o-count', text: String(unassigned.length) })),
      isDraft() ? h('p', { class: 'o-hint', text: t('board.drop_unassign') }) : null,
      unassigned.length || isDraft() ? unList : empty(t('board.none_unassigned')),
      h('details', { class: 'o-details', open: !isDraft() && !plan },
        h('summary', {}, t('board.eligible'), h('span', { class: 'o-count', text: String(eligible.length) })),
        h('p', { class: 'o-hint', text: t('board.eligible_hint') }),
        h('ul', { class: 'o-side-list' }, eligible.slice(0, 150).map(candItem))),
      h('details', { class: 'o-details' },
        h('summary', {}, t('board.excluded'), h('span', { class: 'o-count', text: String(excluded.length) })),
        h('p', { class: 'o-rules' }, [...byRule].sort((a, b) => b[1] - a[1]).map(([rule, n]) => badge(`${ruleName(t, rule)} ${n}`, 'bad'))),
        h('ul', { class: 'o-side-list' }, excluded.filter((c) => !c.rules.includes('ladder')).slice(0, 150).map(candItem))));
  }

  await load();
  return () => { alive = false; clearTimeout(pollTimer); boardMap.remove(); };
}
