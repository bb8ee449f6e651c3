/* Case CSV and payment-feed imports: choose a file, watch it go (the bytes as they upload,
 * then the import's own progress — rows applied of rows in the file, from its import record
 * GET /api/{cases|payments}/imports/<id> while it runs), then the per-row report: counts,
 * every rejected row with its errors, and the rows applied. */
import { fieldErrors } from '../../i18n.js';
import { h, clear, badge, describeError, progressBar } from '../util.js';

const KINDS = {
  cases: { post: '/api/cases/import', run: (id) => `/api/cases/imports/${id}`, counts: ['created', 'updated', 'unchanged', 'rejected', 'needs_geocode'] },
  payments: { post: '/api/payments/import', run: (id) => `/api/payments/imports/${id}`, counts: ['created', 'duplicate', 'rejected'] },
};
const POLL_MS = 600;
const SHOWN_ROWS = 200;

export async function mount(container, ctx) {
  const { t } = ctx;
  let alive = true;
  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('imports.title') })),
    h('div', { class: 'o-import-grid' }, Object.keys(KINDS).map(panel)));

  function panel(kind) {
    const spec = KINDS[kind];
    const file = h('input', { type: 'file', accept: '.csv,text/csv', class: 'o-input', id: `import-${kind}-file` });
    const go = h('button', { type: 'submit', class: 'o-btn', text: t('imports.upload') });
    const bar = progressBar(t(`imports.${kind}`));
    bar.el.hidden = true;
    const status = h('p', { class: 'o-status', role: 'status' });
    const report = h('div', { class: 'o-import-report' });
    const form = h('form', { class: 'o-card', dataset: { import: kind }, 'aria-labelledby': `import-${kind}-title` },
      h('h2', { id: `import-${kind}-title`, text: t(`imports.${kind}`) }),
      h('p', { class: 'o-hint', text: t(`imports.${kind}_hint`) }),
      h('div', { class: 'o-row' }, h('label', { for: file.id, class: 'o-sr', text: t('imports.file') }), file, go),
      bar.el, status, report);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!file.files.length) { status.textContent = t('imports.choose'); file.focus(); return; }
      go.disabled = true;
      clear(report);
      bar.el.hidden = false;
      bar.set(0, t('imports.sending', { pct: 0 }));
      status.textContent = '';
      try {
        let result = await upload(spec.post, file.files[0], (fraction) => {
          bar.set(fraction, fraction < 1 ? t('imports.sending', { pct: Math.round(fraction * 100) }) : t('imports.working'));
          if (fraction >= 1) bar.set(null, t('imports.working'));
        });
        const runId = result.import_id || (result.status && result.id);
        if (runId && result.status && result.status === 'running') result = await follow(spec.run(runId), bar);
        if (!alive) return;
        bar.set(1, t('imports.done'));
        status.textContent = t('imports.summary', summaryOf(kind, result));
        ctx.announce(status.textContent);
        showReport(report, kind, result);
      } catch (err) {
        bar.el.hidden = true;
        status.textContent = describeError(err, t);
        ctx.announce(status.textContent);
      } finally {
        go.disabled = false;
      }
    });
    return form;
  }

  /* The import record while it runs: rows applied of rows in the file. */
  async function follow(url, bar) {
    for (;;) {
      const run = await ctx.api.get(url);
      if (run.total_rows) bar.set(run.processed_rows / run.total_rows, t('imports.rows', { done: run.processed_rows, total: run.total_rows }));
      if (run.status !== 'running' || !alive) return Object.assign({}, run.counts, { rows: run.rejected_rows || [], error: run.error });
      await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
    }
  }

  /* multipart upload with the bytes' progress (fetch cannot report an upload's progress) */
  async function upload(path, blob, onProgress) {
    const session = ctx.session || (ctx.store && await ctx.store.getSession());
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('Accept', 'application/json');
      if (session && session.token) xhr.setRequestHeader('Authorization', `Bearer ${session.token}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(body); return; }
        const err = new Error((body && body.message) || `HTTP ${xhr.status}`);
        err.status = xhr.status;
        err.errors = (body && body.errors) || {};
        err.code = body && body.code;
        err.body = body;
        reject(err);
      };
      xhr.onerror = () => reject(new Error('network'));
      const data = new FormData();
      data.append('file', blob, blob.name || 'import.csv');
      xhr.send(data);
    });
  }

  function summaryOf(kind, result) {
    const parts = KINDS[kind].counts.map((k) => `${t(`imports.count.${k}`)} ${result[k] ?? 0}`);
    return { counts: parts.join(' · ') };
  }

  function showReport(el, kind, result) {
    const rows = result.rows || [];
    const rejected = rows.filter((r) => r.status === 'rejected' || (r.errors && Object.keys(r.errors).length));
    const applied = rows.filter((r) => !rejected.includes(r));
    const errorsOf = (r) => fieldErrors(t, r.errors, r.field_codes).join(' · ');
    const table = (items, caption) => h('div', { class: 'o-scroll' }, h('table', { class: 'o-table' },
      h('caption', { text: caption }),
      h('thead', {}, h('tr', {}, ['imports.col.row', 'imports.col.ref', 'imports.col.status', 'imports.col.detail'].map((k) => h('th', { scope: 'col', text: t(k) })))),
      h('tbody', {}, items.slice(0, SHOWN_ROWS).map((r) => h('tr', { dataset: { row: r.row } },
        h('td', { class: 'o-num', text: String(r.row) }),
        h('td', { class: 'o-mono', text: r.account_number || r.reference || '—' }),
        h('td', {}, badge(t(`imports.status.${r.status}`), r.status === 'rejected' ? 'bad' : r.status === 'created' ? 'ok' : '')),
        h('td', { class: 'o-wrap' }, r.case_id ? h('a', { class: 'o-link', href: `#/office/case/${r.case_id}`, text: t('imports.open_case', { id: r.case_id }) }) : null,
          r.geocode_status && r.geocode_status !== 'ok' ? badge(t('imports.geocode', { status: r.geocode_status }), 'warn') : null,
          h('span', { text: errorsOf(r) })))))));
    clear(el,
      result.error ? h('p', { class: 'o-inline-msg bad', text: result.error }) : null,
      rejected.length ? table(rejected, t('imports.rejected_rows', { n: rejected.length })) : h('p', { class: 'o-hint', text: t('imports.no_rejected') }),
      applied.length ? h('details', {}, h('summary', { text: t('imports.applied_rows', { n: applied.length }) }), table(applied, t('imports.applied_rows', { n: applied.length }))) : null,
      rows.length > SHOWN_ROWS ? h('p', { class: 'o-hint', text: t('imports.first_rows', { n: SHOWN_ROWS }) }) : null);
  }

  return () => { alive = false; };
}
