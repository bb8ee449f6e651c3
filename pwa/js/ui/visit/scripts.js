/* Approved wording on the device: scripts with {placeholders} filled from the brief and the
 * policy (R7), the jurisdiction's disclosure (R6), and the recommended approach (never shown
 * to a third party, R5). */
import { isBlocked } from '../../flow.js';
import { addDays } from '../../plan.js';
import { clear, field, h } from '../dom.js';

export const agentName = (s) => (s.user && (s.user.display_name || s.user.username)) || '';

export function fill(s, text) {
  const { t, i18n, visit, packet } = s;
  const account = visit.account || {};
  const p = s.policy();
  const org = packet && (packet.organisation || {}).name;
  const values = {
    debtor_name: visit.debtor.name,
    agent_name: agentName(s),
    organisation: org || (packet && packet.agent && packet.agent.branch && packet.agent.branch.name) || t('disclosure.organisation'),
    complaint_phone: (packet && (packet.organisation || {}).complaint_phone) || t('disclosure.complaint_channel'),
    overdue_amount: i18n.money(account.overdue_amount, account.currency),
    days_past_due: String(account.days_past_due ?? ''),
    min_installment: i18n.money(p.min_installment_floor, account.currency),
    max_term_months: String(p.max_term_months ?? ''),
    pay_by: addDays(s.todayIso(), Number(p.incentive_pay_by_days || 14)),
    waiver_amount: i18n.money((Number(account.overdue_amount || 0) * Number(p.incentive_max_waiver_pct || 0)) / 100, account.currency),
  };
  return String(text).replace(/\{(\w+)\}/g, (m, key) => values[key] ?? '…');
}

export function disclosureText(s) {
  const texts = s.rules().disclosure || {};
  const text = texts[s.i18n.currentLocale()] || texts['zh-CN'];
  return text ? fill(s, text) : s.t('disclosure.script', { agent: agentName(s) });
}

/* The approach used at the door, sent with a right-party outcome (what works): the agent's
 * choice in the draft, else the first recommended strategy; '' = the agent chose none. */
export function approachUsed(s) {
  const form = s.draft.outcome || {};
  const strategies = (s.visit.recommended || {}).strategies || [];
  if (s.draft.met !== 'debtor' || !strategies.length) return {};
  const strategy = form.strategy !== undefined ? form.strategy : strategies[0].key;
  const chosen = strategies.find((x) => x.key === strategy);
  if (!chosen) return {};
  const script = (chosen.scripts || []).some((sc) => sc.key === form.script) ? form.script : undefined;
  return script ? { strategy, script } : { strategy };
}

/* The choice goes to the saved draft and to the one in hand (the step's op is built from it). */
function keepApproach(s, strategy, script) {
  s.draft.outcome = Object.assign({}, s.draft.outcome, { strategy, script });
  s.keep('outcome.approach', { outcome: { strategy, script } });
}

/* The recommended approach and its scripts; never shown to a third party (R5). "Use this
 * script" marks the one opened at the door; `onPick(strategy, script)` tells the step. */
export function approachSection(s, open, onPick) {
  const { t, visit, draft } = s;
  const rec = visit.recommended || {};
  const strategies = rec.strategies || [];
  // R5: never to a third party; R4: a blocked case gets no collection wording
  if (draft.met === 'third_party' || !strategies.length || (isBlocked(visit) && !draft.checkin)) return null;
  const picks = [];
  const picked = (draft.outcome || {}).script;
  const pick = (strategy, script) => {
    keepApproach(s, strategy, script);
    for (const b of picks) b.setAttribute('aria-pressed', String(b.dataset.script === script));
    if (onPick) onPick(strategy, script);
  };
  const useButton = (x, sc) => {
    const b = h('button', { type: 'button', class: 'btn ghost small use-script', 'aria-pressed': String(sc.key === picked),
      dataset: { script: sc.key }, text: t('approach.use_script'), onclick: () => pick(x.key, sc.key) });
    picks.push(b);
    return b;
  };
  return h('details', { class: 'card approach', open },
    h('summary', { text: t('brief.approach') }),
    strategies.map((x) => h('div', { class: 'strategy' },
      h('h3', { text: x.label || t(`strategy.${x.key}`) }),
      x.reason ? h('p', { class: 'muted', text: x.reason }) : null,
      (x.scripts || []).length ? h('ul', { class: 'scripts' }, x.scripts.map((sc) => h('li', {},
        fill(s, typeof sc === 'string' ? sc : (sc.text || '')),
        sc.legal_wording ? h('span', { class: 'chip', text: t('brief.legal_wording') }) : null,
        sc.key ? useButton(x, sc) : null))) : null)),
    rec.placeholder ? h('p', { class: 'muted', text: t('brief.approach_placeholder') }) : null);
}

/* "Approach used": the strategy (recommended first, preselected) and the script opened, which the
 * agent may change; only when the debtor was met and the case has a recommendation. */
export function approachFields(s) {
  const { t, visit, draft } = s;
  const strategies = (visit.recommended || {}).strategies || [];
  if (draft.met !== 'debtor' || !strategies.length) return { el: null, set: () => {} };
  const used = approachUsed(s);
  const strategy = h('select', { name: 'strategy' },
    strategies.map((x) => h('option', { value: x.key, text: x.label || t(`strategy.${x.key}`) })),
    h('option', { value: '', text: t('approach.none') }));
  strategy.value = used.strategy || '';
  const script = h('select', { name: 'script' });
  const drawScripts = (chosen) => {
    const x = strategies.find((item) => item.key === strategy.value);
    const keys = ((x && x.scripts) || []).filter((sc) => sc.key);
    clear(script, h('option', { value: '', text: t('approach.no_script') }),
      keys.map((sc, n) => h('option', { value: sc.key, text: t('approach.script_n', { n: n + 1, text: fill(s, sc.text || '').slice(0, 40) }) })));
    script.value = keys.some((sc) => sc.key === chosen) ? chosen : '';
  };
  drawScripts(used.script);
  strategy.addEventListener('change', () => { drawScripts(''); keepApproach(s, strategy.value, ''); });
  script.addEventListener('change', () => keepApproach(s, strategy.value, script.value));
  const set = (key, scriptKey) => { strategy.value = key; drawScripts(scriptKey); };
  return { el: h('fieldset', { class: 'approach-used' }, h('legend', { text: t('approach.used') }),
    field(t('approach.strategy'), strategy), field(t('approach.script'), script, t('approach.hint'))), set };
}
