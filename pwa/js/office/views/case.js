/* One case for the office: the account, its flags, its plans with the signature and the
 * agreement PDF, the letter rung (send a letter from an approved template) and the full
 * hash-chained timeline with a "chain verified" badge; a letter's event opens its PDF. */
import { h, clear, badge, describeError, empty, fetchBlob, formatters, urlKeeper } from '../util.js';
import { letterSection } from './case-letter.js';

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const f = formatters(ctx.locale);
  const urls = urlKeeper();
  const status = h('p', { class: 'o-status', role: 'status', text: t('status.loading') });
  clear(container, status);
  if (!ctx.id) {
    status.textContent = t('case.none');
    return null;
  }
  let kase; let timeline; let plans; let photos;
  try {
    [kase, timeline, plans, photos] = await Promise.all([
      api.get(`/api/cases/${ctx.id}`),
      api.get(`/api/cases/${ctx.id}/timeline`),
      api.get(`/api/plans?case=${ctx.id}&per_page=50`),
      api.get(`/api/cases/${ctx.id}/photos`),
    ]);
  } catch (err) {
    status.textContent = describeError(err, t);
    return null;
  }
  const tz = (kase.debtor.addresses[0] && kase.debtor.addresses[0].timezone) || undefined;
  const chain = timeline.chain;
  const chainBadge = chain.verified
    ? h('span', { class: 'o-chain ok', title: chain.head ? `head ${chain.head}` : '', text: `✔ ${t('case.chain_verified', { n: chain.events })}` })
    : h('span', { class: 'o-chain bad', text: `✖ ${t('case.chain_broken', { seq: chain.first_broken ? chain.first_broken.seq : '?' })}` });

  const account = kase.account;
  const head = h('div', { class: 'o-pagehead' },
    h('div', {}, h('p', { class: 'o-crumb' }, h('button', { type: 'button', class: 'o-btn ghost tiny', onclick: () => history.back(), text: `← ${t('action.back')}` })),
      h('h1', {}, h('span', { text: kase.debtor.name }), h('span', { class: 'o-sub big', text: ` · ${t('case.case_no', { id: kase.id })}` }))),
    chainBadge);

  const facts = h('section', { class: 'o-card o-facts' },
    h('dl', { class: 'o-dl wide' },
      h('dt', { text: t('case.stage') }), h('dd', {}, badge(t(`stage.${kase.stage}`), 'info')),
      h('dt', { text: t('case.card') }), h('dd', { class: 'o-mono', text: account.card_masked }),
      h('dt', { text: t('case.overdue') }), h('dd', { class: 'o-strong', text: f.money(account.overdue_amount, account.currency) }),
      h('dt', { text: t('case.balance') }), h('dd', { text: f.money(account.balance, account.currency) }),
      h('dt', { text: t('case.dpd') }), h('dd', { text: `${account.days_past_due} (${account.bucket})` }),
      h('dt', { text: t('case.address') }), h('dd', { text: kase.debtor.addresses.map((a) => `${a.city}${a.line}`).join(' / ') || '—' }),
      h('dt', { text: t('case.flags') }), h('dd', {}, kase.flags.length ? kase.flags.map((fl) => badge(`${t(`flag.${fl.flag}`)} — ${fl.reason}`, 'bad')) : '—')));

  const planList = h('section', { class: 'o-plans' }, h('h2', { text: t('case.plans') }));
  if (!plans.items.length) planList.append(empty(t('case.no_plans')));
  for (const summary of plans.items) planList.append(await planCard(summary.id));

  /* Photos of the door or building taken at the visits, each with its SHA-256. */
  const photoList = h('section', { class: 'o-card o-photos' }, h('h2', { text: t('case.photos', { n: photos.length }) }));
  if (!photos.length) photoList.append(empty(t('case.no_photos')));
  for (const p of photos) {
    const item = h('figure', { class: 'o-photo', dataset: { photoId: p.id } },
      h('figcaption', {}, badge(t(`case.photo_kind.${p.kind}`), 'info'), h('span', { class: 'o-sub', text: ` ${f.dateTime(p.taken_at, tz)} · #${p.visit_id}` }),
        h('div', { class: 'o-hash o-mono', title: p.sha256 || '', text: p.sha256 ? p.sha256.slice(0, 16) : t('case.photo_purged') })));
    if (p.sha256) {
      fetchBlob(ctx, `/api/blobs/${p.sha256}`).then((blob) => {
        item.prepend(h('img', { src: urls.make(blob), alt: t(`case.photo_kind.${p.kind}`), width: 240 }));
      }).catch((err) => item.append(h('p', { class: 'o-inline-msg bad', text: describeError(err, t) })));
    }
    photoList.append(item);
  }

  const events = h('ol', { class: 'o-timeline' }, timeline.events.slice().reverse().map((e) => h('li', { class: `o-event k-${e.kind.replace(/\W/g, '-')}`, dataset: { seq: e.seq } },
    h('p', { class: 'o-event-line' },
      h('time', { class: 'o-sub', datetime: e.at, text: f.dateTime(e.at) }), ' ',
      h('span', { class: 'o-event-text', text: sentence(e, t, f, account.currency) }), letterPdf(e)),
    h('details', { class: 'o-event-details' },
      h('summary', { text: t('timeline.details') }),
      h('dl', { class: 'o-dl' },
        h('dt', { text: t('timeline.kind') }), h('dd', { class: 'o-mono', text: `#${e.seq} ${e.kind}` }),
        e.data && e.data.op_id ? [h('dt', { text: t('timeline.op_id') }), h('dd', { class: 'o-mono small', text: e.data.op_id })] : null,
        h('dt', { text: t('timeline.hash') }), h('dd', { class: 'o-mono small', text: `${e.prev_hash} → ${e.hash}` }),
        h('dt', { text: t('timeline.data') }), h('dd', {}, h('pre', { class: 'o-mono small o-raw', text: e.redacted_at ? t('timeline.redacted') : JSON.stringify(e.data, null, 1) })))))));

  const letters = ['owner', 'admin'].includes(ctx.user.role)
    ? await letterSection(ctx, kase, { onSent: () => { urls.revokeAll(); mount(container, ctx); } })
    : null;
  clear(container, head, h('div', { class: 'o-case-grid' },
    h('div', {}, facts, letters, planList, photoList),
    h('section', { class: 'o-card' }, h('h2', { text: t('case.timeline', { n: timeline.events.length }) }), events)));

  /* A letter's event opens the PDF that was sent (kept by its SHA-256). */
  function letterPdf(e) {
    const sha = e.kind === 'contact.letter' && e.data && e.data.document && e.data.document.pdf_sha256;
    if (!sha) return null;
    const out = h('span', { class: 'o-inline-msg', role: 'status' });
    const btn = h('button', { type: 'button', class: 'o-btn ghost tiny', dataset: { letterPdf: sha }, text: t('case.letter.pdf') });
    btn.addEventListener('click', () => openPdf(`/api/cases/${kase.id}/letters/${sha}`, out));
    return h('span', {}, ' ', btn, out);
  }

  async function openPdf(path, out) {
    // open the tab inside the click so no popup blocker stops it, then load the bytes into it
    const tab = window.open('', '_blank');
    out.textContent = t('status.loading');
    out.classList.remove('bad');
    try {
      const blob = await fetchBlob(ctx, path);
      const url = urls.make(new Blob([blob], { type: 'application/pdf' }));
      if (tab) tab.location.href = url; else window.location.assign(url);
      out.textContent = '';
    } catch (err) {
      if (tab) tab.close();
      out.textContent = describeError(err, t);
      out.classList.add('bad');
    }
  }

  async function planCard(planId) {
    const plan = await api.get(`/api/plans/${planId}`);
    const sig = (plan.signatures || []).find((s) => !s.refused && s.matches_terms) || (plan.signatures || [])[0];
    const sigBox = h('div', { class: 'o-signature' });
    if (sig && sig.url) {
      fetchBlob(ctx, sig.url).then((blob) => {
        sigBox.append(h('img', { src: urls.make(blob), alt: t('case.signature_alt', { name: sig.signer_name || kase.debtor.name }) }));
      }).catch((err) => sigBox.append(h('p', { class: 'o-inline-msg bad', text: describeError(err, t) })));
    } else if (sig && sig.refused) {
      sigBox.append(badge(t('case.signature_refused', { reason: sig.refused_reason || '' }), 'bad'));
    } else {
      sigBox.append(h('p', { class: 'o-sub', text: t('case.unsigned') }));
    }
    const msg = h('span', { class: 'o-inline-msg', role: 'status' });
    const pdfBtn = h('button', { type: 'button', class: 'o-btn', dataset: { pdf: plan.id }, text: t('case.open_pdf') });
    pdfBtn.addEventListener('click', () => openPdf(`/api/plans/${plan.id}/agreement.pdf`, msg));
    const decision = plan.status === 'pending_approval' && ['owner', 'admin'].includes(ctx.user.role) ? decisionBox(plan) : null;
    return h('article', { class: 'o-card o-plan', dataset: { planId: plan.id } },
      h('header', { class: 'o-card-head' }, h('strong', { text: `${t(`plan.kind.${plan.kind}`)} #${plan.id}` }), badge(t(`plan.status.${plan.status}`), plan.status),
        h('span', { class: 'o-sub', text: f.dateTime(plan.created_at, tz) })),
      h('dl', { class: 'o-dl' },
        h('dt', { text: t('plan.payable') }), h('dd', { class: 'o-strong', text: f.money(plan.total_amount, plan.currency) }),
        h('dt', { text: t('plan.discount') }), h('dd', { text: `${Number(plan.discount_pct)}%` }),
        h('dt', { text: t('plan.schedule') }), h('dd', { text: (plan.installments || []).map((i) => `${i.due_date} ${f.money(i.amount, plan.currency)}`).slice(0, 3).join(' · ') + ((plan.installments || []).length > 3 ? ` … (${plan.installments.length})` : '') || '—' }),
        h('dt', { text: t('plan.terms_hash') }), h('dd', { class: 'o-mono small', text: plan.terms_hash }),
        plan.decision_reason ? [h('dt', { text: t('plan.decision') }), h('dd', { text: plan.decision_reason })] : null),
      sigBox, h('div', { class: 'o-row' }, pdfBtn, msg), decision);
  }

  /* Decide a plan pending approval right here, beside its signature; the page reloads after. */
  function decisionBox(plan) {
    const reason = h('textarea', { rows: 2, class: 'o-input', placeholder: t('queue.reason_placeholder'), 'aria-label': t('queue.reason') });
    const out = h('p', { class: 'o-inline-msg', role: 'status' });
    const decide = (verb) => async () => {
      out.textContent = '';
      out.classList.remove('bad');
      if (verb === 'reject' && !reason.value.trim()) {
        out.textContent = t('queue.reason_required');
        out.classList.add('bad');
        return;
      }
      try {
        await api.post(`/api/plans/${plan.id}/${verb}`, { reason: reason.value.trim() });
        urls.revokeAll();
        mount(container, ctx);
      } catch (err) {
        out.textContent = describeError(err, t);
        out.classList.add('bad');
      }
    };
    return h('div', { class: 'o-decision' }, reason,
      h('div', { class: 'o-row' },
        h('button', { type: 'button', class: 'o-btn ok', text: t('queue.approve'), onclick: decide('approve') }),
        h('button', { type: 'button', class: 'o-btn danger', text: t('queue.reject'), onclick: decide('reject') })), out);
  }

  return () => urls.revokeAll();
}

/* One sentence per event in the reader's language: the catalogue's timeline.KIND entry with the
 * actor's name and the event's data, codes turned into words; an unknown kind says who and what. */
function sentence(e, t, f, currency) {
  const data = e.data || {};
  const word = (prefix, code) => (code && t.has(`${prefix}.${code}`) ? t(`${prefix}.${code}`) : code);
  const params = Object.assign({}, data, {
    actor: e.actor || t('timeline.system'),
    outcome: word('outcome', data.code),
    met: word('met', data.met),
    flag: word('flag', data.flag),
    stage: word('stage', data.to),
    queue: word('escalation.queue', data.queue),
    kind: word('escalation.kind', data.kind),
    amount: data.amount !== undefined ? f.money(data.amount, currency) : undefined,
    fields: data.changes && typeof data.changes === 'object' ? Object.keys(data.changes).join(', ') : undefined,
    version: data.document ? data.document.template_version : undefined,
    language: data.document && t.has(`case.letter.locale.${data.document.locale}`) ? t(`case.letter.locale.${data.document.locale}`) : undefined,
  });
  const key = `timeline.${e.kind}`;
  const text = t.has(key) ? t(key, params) : t('timeline.other', { actor: params.actor, what: t.has(`event.${e.kind}`) ? t(`event.${e.kind}`) : e.kind });
  // a value the event did not carry reads as a dash, never as a placeholder
  return text.replace(/\{\w+\}/g, '—').replace(/[:：]\s*(—\s*)?$/, '').trim();
}
