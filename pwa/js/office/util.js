/* Shared helpers of the office consoles: an authorised fetch for non-JSON bodies (PDF, CSV,
 * images), formatting in the office's locale, and small widgets. */
import { errorText } from '../i18n.js';
import { h } from '../ui/dom.js';

export { h, clear, button, field } from '../ui/dom.js';

/* Bytes behind the bearer token (an <a href> or <img src> cannot send it). */
export async function fetchBlob(ctx, path) {
  const session = ctx.session || (ctx.store && await ctx.store.getSession());
  const response = await fetch(path, {
    headers: session && session.token ? { Authorization: `Bearer ${session.token}` } : {},
    cache: 'no-store',
  });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    const err = new Error((body && body.message) || `HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return response.blob();
}

/* Object URLs made for a view, revoked when the view goes. */
export function urlKeeper() {
  const urls = [];
  return {
    make(blob) { const url = URL.createObjectURL(blob); urls.push(url); return url; },
    revokeAll() { while (urls.length) URL.revokeObjectURL(urls.pop()); },
  };
}

export function formatters(locale) {
  const nf = (opts) => new Intl.NumberFormat(locale, opts);
  return {
    pct: (v) => (v === null || v === undefined ? '—' : nf({ style: 'percent', maximumFractionDigits: 1 }).format(v)),
    num: (v, digits = 1) => (v === null || v === undefined ? '—' : nf({ maximumFractionDigits: digits }).format(v)),
    money: (v, currency = 'CNY') => {
      const n = Number(v);
      if (!Number.isFinite(n)) return String(v ?? '—');
      return nf({ style: 'currency', currency, maximumFractionDigits: 0 }).format(n);
    },
    dateTime: (iso, timeZone) => (iso ? new Intl.DateTimeFormat(locale, {
      month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone,
    }).format(new Date(iso)) : '—'),
    clock: (iso, timeZone) => (iso ? new Intl.DateTimeFormat(locale, {
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone,
    }).format(new Date(iso)) : '—'),
    duration: (seconds) => {
      const s = Math.abs(seconds);
      const d = Math.floor(s / 86400); const hr = Math.floor((s % 86400) / 3600); const m = Math.floor((s % 3600) / 60);
      return (seconds < 0 ? '−' : '') + (d ? `${d}d ${hr}h` : hr ? `${hr}h ${m}m` : `${m}m`);
    },
  };
}

/* Today in a timezone, as YYYY-MM-DD. */
export function isoToday(timeZone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function badge(text, kind = '') {
  return h('span', { class: `o-badge ${kind}`, text });
}

/* A message line under a form or a section: errors in full, with per-field messages. */
export function describeError(err, t) {
  if (!err) return '';
  if (err.message === 'network' || err.message === 'timeout') return t('error.network');
  return errorText(t, err).filter(Boolean).join(' · ');
}

export function empty(text) {
  return h('p', { class: 'o-empty', text });
}

/* Seconds since midnight as HH:MM and back (shifts are kept in seconds, typed as times). */
export function hhmm(seconds) {
  const s = Number(seconds) || 0;
  return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
}

export function secondsOf(text) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text || '');
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 : null;
}

/* A button that runs an action and says how it went beside itself and to the live region;
 * `done(message)` runs after a success (a view that redraws shows the message itself). */
export function actionButton(ctx, label, run, { cls = 'o-btn small', done } = {}) {
  const out = h('span', { class: 'o-inline-msg' });
  const btn = h('button', { type: 'button', class: cls, text: label });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    out.textContent = '';
    out.classList.remove('bad', 'ok');
    try {
      const message = await run();
      if (message) {
        out.textContent = message;
        out.classList.add('ok');
        if (ctx.announce) ctx.announce(message);
      }
      if (done) await done(message);
    } catch (err) {
      out.textContent = describeError(err, ctx.t);
      out.classList.add('bad');
      if (ctx.announce) ctx.announce(out.textContent);
    } finally {
      btn.disabled = false;
    }
  });
  return h('span', { class: 'o-action' }, btn, out);
}

/* A determinate progress bar (0…1), or an indeterminate one while the fraction is null. */
export function progressBar(label) {
  const bar = h('div', { class: 'o-progress-bar' });
  const text = h('span', { class: 'o-progress-text' });
  const el = h('div', { class: 'o-progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100' }, bar, text);
  return {
    el,
    set(fraction, caption) {
      const known = fraction !== null && fraction !== undefined;
      el.classList.toggle('busy', !known);
      const pct = known ? Math.round(Math.max(0, Math.min(1, fraction)) * 100) : null;
      if (known) el.setAttribute('aria-valuenow', String(pct)); else el.removeAttribute('aria-valuenow');
      bar.style.width = known ? `${pct}%` : '100%';
      text.textContent = caption || (known ? `${pct}%` : '');
    },
  };
}

/* A labelled control in a filter or form row. */
export function labelled(text, control) {
  return h('label', { class: 'o-field' }, h('span', { text }), control);
}
