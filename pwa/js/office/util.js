/* Shared helpers of the office consoles: an authorised fetch for non-JSON bodies (PDF, CSV,
 * images), formatting in the office's locale, and small widgets. */
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
  const fields = err.errors ? Object.entries(err.errors).map(([k, v]) => `${k}: ${[].concat(v).join(', ')}`) : [];
  const base = err.message === 'network' || err.message === 'timeout' ? t('error.network') : err.message;
  return [base, ...fields].filter(Boolean).join(' · ');
}

export function empty(text) {
  return h('p', { class: 'o-empty', text });
}
