/* The case owner's review queue: outcomes to review, plans to decide, sync conflicts and
 * rejections, escalations by SLA, compliance exceptions, money at the door (cash held past the
 * custody limit, disputed collections) — oldest first, one action each — and visits hard to
 * believe (presence score, lowest first; docs/presence.md). */
import { findingText, serverText } from '../../i18n.js';
import { h, clear, badge, describeError, empty, fetchBlob, formatters, urlKeeper } from '../util.js';

const SECTIONS = ['outcomes', 'plans', 'sync', 'escalations', 'compliance', 'money', 'presence'];

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  let current = sessionStorage.getItem('office.queue.section') || 'outcomes';
  let data = null;
  let mineOnly = ctx.user.role === 'owner';
  let alive = true;
  const urls = urlKeeper();

  const tabs = h('div', { class: 'o-seg', role: 'tablist' });
  const body = h('section', { class: 'o-queue-body', 'aria-live': 'polite' });
  const status = h('p', { class: 'o-status', role: 'status' });
  const mine = h('input', { type: 'checkbox', checked: mineOnly, onchange: () => { mineOnly = mine.checked; load(); } });
  const refresh = h('button', { type: 'button', class: 'o-btn ghost small', onclick: () => load(), text: t('action.refresh') });
  clear(container,
    h('div', { class: 'o-pagehead' },
      h('h1', { text: t('queue.title') }),
      h('div', { class: 'o-tools' }, h('label', { class: 'o-check' }, mine, h('span', { text: t('queue.mine_only') })), refresh)),
    tabs, status, body);

  async function load() {
    status.textContent = t('status.loading');
    try {
      const query = mineOnly ? `?owner_id=${ctx.user.id}` : '';
      data = await api.get(`/api/review-queue${query}`);
      if (!alive) return;
      status.textContent = '';
      render();
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  function render() {
    clear(tabs, SECTIONS.map((name) => h('button', {
      type: 'button', role: 'tab', class: 'o-seg-btn', 'aria-selected': String(name === current), dataset: { section: name },
      onclick: () => { current = name; sessionStorage.setItem('office.queue.section', name); render(); },
    }, h('span', { text: t(`queue.${name}`) }), h('span', { class: `o-count ${data.counts[name] ? 'hot' : ''}`, text: String(data.counts[name]) }))));
    const section = data[current];
    const renderers = { outcomes: outcomeRows, plans: planCards, sync: syncRows, escalations: ticketRows, compliance: complianceRows, money: moneyRows, presence: presenceRows };
    clear(body,
      h('p', { class: 'o-hint', text: t(`queue.${current}_hint`) }),
      section.items.length ? renderers[current](section.items) : empty(t('queue.empty')),
      section.total > section.items.length ? h('p', { class: 'o-hint', text: t('queue.more', { n: section.total - section.items.length }) }) : null);
  }

  const caseLink = (item) => h('a', { href: `#/office/case/${item.case_id}`, class: 'o-link', text: item.debtor_name || `#${item.case_id}` });

  /* A row action that shows its result in place and reloads the queue on success. */
  function action(label, run, cls = 'o-btn small') {
    const out = h('span', { class: 'o-inline-msg', role: 'status' });
    const btn = h('button', { type: 'button', class: cls, text: label });
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      out.textContent = '';
      try {
        await run();
        await load();
      } catch (err) {
        out.textContent = describeError(err, t);
        out.classList.add('bad');
        btn.disabled = false;
      }
    });
    return h('span', { class: 'o-action' }, btn, out);
  }

  function findings(list) {
    return (list || []).map((x) => badge(findingText(t, x), 'warn'));
  }

  function outcomeRows(items) {
    return h('table', { class: 'o-table' },
      h('thead', {}, h('tr', {}, ['queue.col.received', 'queue.col.case', 'queue.col.agent', 'queue.col.outcome', 'queue.col.met', 'queue.col.disclosure', 'queue.col.findings', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, items.map((o) => h('tr', { dataset: { outcomeId: o.id } },
        h('td', { text: f.dateTime(o.received_at) }),
        h('td', {}, caseLink(o), h('div', { class: 'o-sub', text: o.card_masked })),
        h('td', { text: o.agent || '—' }),
        h('td', {}, badge(t(`outcome.${o.code}`), o.code), o.data && o.data.amount ? h('div', { class: 'o-sub', text: f.money(o.data.amount) }) : null),
        h('td', { text: t(`met.${o.met}`) }),
        h('td', {}, o.met === 'debtor' ? badge(o.disclosure_at ? t('queue.disclosed') : t('queue.not_disclosed'), o.disclosure_at ? 'ok' : 'bad') : '—'),
        h('td', {}, findings(o.compliance_flags)),
        h('td', { class: 'o-right' }, action(t('queue.mark_reviewed'), () => api.post(`/api/outcomes/${o.id}/review`, { note: '' })))))));
  }

  function planCards(items) {
    return h('div', { class: 'o-cards' }, items.map((p) => {
      const reason = h('textarea', { rows: 2, class: 'o-input', placeholder: t('queue.reason_placeholder'), 'aria-label': t('queue.reason') });
      const msg = h('p', { class: 'o-inline-msg', role: 'status' });
      const decide = (verb) => async () => {
        msg.textContent = '';
        msg.classList.remove('bad');
        if (verb === 'reject' && !reason.value.trim()) {
          msg.textContent = t('queue.reason_required');
          msg.classList.add('bad');
          reason.focus();
          return;
        }
        try {
          await api.post(`/api/plans/${p.id}/${verb}`, { reason: reason.value.trim() });
          await load();
        } catch (err) {
          msg.textContent = describeError(err, t);
          msg.classList.add('bad');
        }
      };
      return h('article', { class: 'o-card o-plan', dataset: { planId: p.id } },
        h('header', { class: 'o-card-head' }, caseLink(p), badge(t(`plan.kind.${p.kind}`), 'info'), h('span', { class: 'o-sub', text: f.dateTime(p.created_at) })),
        h('dl', { class: 'o-dl' },
          h('dt', { text: t('plan.payable') }), h('dd', { class: 'o-strong', text: f.money(p.total_amount, p.currency) }),
          h('dt', { text: t('plan.discount') }), h('dd', { text: `${Number(p.discount_pct)}%` }),
          h('dt', { text: t('plan.term') }), h('dd', { text: p.term_months ? t('plan.months', { n: p.term_months }) : '—' }),
          h('dt', { text: t('plan.agent') }), h('dd', { text: p.agent || '—' }),
          h('dt', { text: t('plan.terms_hash') }), h('dd', { class: 'o-mono', text: `${p.terms_hash.slice(0, 16)}…` })),
        h('div', { class: 'o-findings' }, findings(p.policy_findings)),
        reason,
        h('div', { class: 'o-row' },
          h('button', { type: 'button', class: 'o-btn ok', text: t('queue.approve'), onclick: decide('approve') }),
          h('button', { type: 'button', class: 'o-btn danger', text: t('queue.reject'), onclick: decide('reject') }),
          h('span', { class: 'o-grow' }),
          h('button', { type: 'button', class: 'o-btn ghost small', dataset: { pdf: p.id }, text: t('queue.agreement'), onclick: () => openPdf(`/api/plans/${p.id}/agreement.pdf`, msg) })),
        msg);
    }));
  }

  /* A PDF (the signed agreement to read before deciding, a receipt), opened in a new tab from its bytes. */
  async function openPdf(path, msg) {
    const tab = window.open('', '_blank');
    try {
      const blob = await fetchBlob(ctx, path);
      const url = urls.make(new Blob([blob], { type: 'application/pdf' }));
      if (tab) tab.location.href = url; else window.location.assign(url);
    } catch (err) {
      if (tab) tab.close();
      msg.textContent = describeError(err, t);
      msg.classList.add('bad');
    }
  }

  function syncRows(items) {
    return h('table', { class: 'o-table' },
      h('thead', {}, h('tr', {}, ['queue.col.received', 'queue.col.case', 'queue.col.agent', 'queue.col.op', 'queue.col.status', 'queue.col.reason', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, items.map((op) => {
        const note = h('input', { class: 'o-input small', placeholder: t('queue.note_placeholder'), 'aria-label': t('queue.note') });
        return h('tr', { dataset: { opId: op.id } },
          h('td', { text: f.dateTime(op.received_at) }, h('div', { class: 'o-sub', text: op.device_at ? t('queue.device_at', { at: f.dateTime(op.device_at) }) : '' })),
          h('td', {}, op.case_id ? caseLink(op) : '—'),
          h('td', { text: op.user || '—' }),
          h('td', { title: op.type, text: t.has(`op.${op.type}`) ? t(`op.${op.type}`) : op.type }),
          h('td', {}, badge(t(`sync.${op.status}`), op.status === 'conflict' ? 'warn' : 'bad')),
          h('td', { class: 'o-wrap', text: serverText(t, { code: (op.result || {}).code, params: (op.result || {}).params, message: op.reason }) || '—' }),
          h('td', { class: 'o-right' }, note, action(t('queue.mark_reviewed'), () => {
            if (!note.value.trim()) { note.focus(); return Promise.reject(new Error(t('queue.note_required'))); }
            return api.post(`/api/sync/exceptions/${encodeURIComponent(op.id)}/review`, { note: note.value.trim() });
          })));
      })));
  }

  function ticketRows(items) {
    return h('table', { class: 'o-table' },
      h('thead', {}, h('tr', {}, ['queue.col.sla', 'queue.col.case', 'queue.col.queue', 'queue.col.kind', 'queue.col.reason', 'queue.col.status', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, items.map((x) => {
        const resolution = h('input', { class: 'o-input small', placeholder: t('queue.resolution_placeholder'), 'aria-label': t('queue.resolution') });
        return h('tr', { dataset: { ticketId: x.id }, class: x.overdue ? 'o-overdue' : '' },
          h('td', {}, badge(x.overdue ? t('queue.sla_overdue', { d: f.duration(-x.sla_left_s) }) : t('queue.sla_left', { d: f.duration(x.sla_left_s) }), x.overdue ? 'bad' : x.sla_left_s < 4 * 3600 ? 'warn' : 'ok'),
            h('div', { class: 'o-sub', text: f.dateTime(x.sla_due_at) })),
          h('td', {}, caseLink(x)),
          h('td', { text: t(`escalation.queue.${x.queue}`) }),
          h('td', { text: t(`escalation.kind.${x.kind}`) }),
          h('td', { class: 'o-wrap', text: x.reason }),
          h('td', {}, badge(t(`escalation.status.${x.status}`), x.status === 'open' ? 'warn' : 'info')),
          h('td', { class: 'o-right' },
            x.status === 'open' ? action(t('queue.claim'), () => api.post(`/api/escalations/${x.id}/claim`, {}), 'o-btn ghost small') : null,
            resolution,
            action(t('queue.resolve'), () => {
              if (resolution.value.trim().length < 3) { resolution.focus(); return Promise.reject(new Error(t('queue.resolution_required'))); }
              return api.post(`/api/escalations/${x.id}/resolve`, { resolution: resolution.value.trim() });
            })));
      })));
  }

  function complianceRows(items) {
    return h('table', { class: 'o-table' },
      h('thead', {}, h('tr', {}, ['queue.col.received', 'queue.col.case', 'queue.col.kind', 'queue.col.findings', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, items.map((x) => h('tr', { dataset: { kind: x.kind, id: x.id } },
        h('td', { text: f.dateTime(x.at) }),
        h('td', {}, caseLink(x)),
        h('td', {}, badge(x.kind === 'note' ? t('queue.kind_note') : t(`outcome.${x.text}`), 'info'), x.kind === 'note' ? h('div', { class: 'o-sub o-wrap', text: x.text }) : null),
        h('td', {}, findings(x.findings)),
        h('td', { class: 'o-right' }, x.kind === 'outcome'
          ? action(t('queue.mark_reviewed'), () => api.post(`/api/outcomes/${x.id}/review`, { note: 'compliance findings reviewed' }))
          : h('a', { href: `#/office/case/${x.case_id}`, class: 'o-btn ghost small', text: t('queue.open_case') }))))));
  }

  /* Nothing to mark here: cash held leaves the queue when a deposit banks it or the bank's feed
   * confirms it, a dispute when a matching feed row reconciles it (docs/payments-import.md). */
  function moneyRows(items) {
    return h('table', { class: 'o-table' },
      h('thead', {}, h('tr', {}, ['queue.col.collected', 'queue.col.case', 'queue.col.agent', 'queue.col.receipt', 'queue.col.amount', 'queue.col.kind', 'queue.col.reason', ''].map((k) => h('th', { class: k === 'queue.col.amount' ? 'o-num' : '', text: k ? t(k) : '' })))),
      h('tbody', {}, items.map((x) => {
        const msg = h('span', { class: 'o-inline-msg', role: 'status' });
        return h('tr', { dataset: { kind: x.kind, collectionId: x.id }, class: x.kind === 'cash_held' ? 'o-overdue' : '' },
          h('td', { text: f.dateTime(x.collected_at) }),
          h('td', {}, caseLink(x), h('div', { class: 'o-sub', text: x.card_masked })),
          h('td', { text: x.agent || '—' }),
          h('td', { class: 'o-mono', text: x.receipt_number }),
          h('td', { class: 'o-num', text: f.money(x.amount, x.currency) }, h('div', { class: 'o-sub', text: t(`money.method.${x.method}`) })),
          h('td', {}, badge(t(`queue.money.${x.kind}`), x.kind === 'cash_held' ? 'bad' : 'warn')),
          h('td', { class: 'o-wrap', text: x.kind === 'cash_held' ? t('queue.money.held_days', { n: x.held_days }) : (x.reason || '—') }),
          h('td', { class: 'o-right' },
            h('button', { type: 'button', class: 'o-btn ghost small', dataset: { receipt: x.id }, text: t('queue.receipt'),
              onclick: () => openPdf(`/api/collections/${x.id}/receipt.pdf`, msg) }), msg));
      })));
  }

  function presenceRows(items) {
    return h('table', { class: 'o-table' },
      h('thead', {}, h('tr', {}, ['queue.col.score', 'queue.col.case', 'queue.col.agent', 'queue.col.outcome', 'queue.col.reasons', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, items.map((x) => h('tr', { dataset: { visit: x.visit_id } },
        h('td', { class: 'o-num' }, badge(String(x.score), x.score < 30 ? 'bad' : 'warn')),
        h('td', {}, caseLink(x), h('div', { class: 'o-sub', text: x.date })),
        h('td', { text: x.agent || '—' }),
        h('td', {}, badge(t(`outcome.${x.code}`), 'info')),
        h('td', {}, x.reasons.map((r) => h('div', { class: 'o-sub o-wrap', dataset: { code: r.code },
          text: r.params ? serverText(t, { code: `presence_${r.code}`, params: r.params, message: r.detail }) : r.detail }))),
        h('td', { class: 'o-right' }, action(t('queue.mark_reviewed'), () => api.post(`/api/outcomes/${x.outcome_id}/review`, { note: 'presence reviewed' })))))));
  }

  await load();
  return () => { alive = false; urls.revokeAll(); };
}
