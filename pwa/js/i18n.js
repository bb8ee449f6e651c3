/* Message catalogs (js/i18n/<locale>.json) and locale-aware formatting. Every string the
 * agent reads comes from a catalog. */
export const LOCALES = ['zh-CN', 'en'];
let locale = 'zh-CN';
let catalog = {};

export function pickLocale(preferred) {
  if (LOCALES.includes(preferred)) return preferred;
  const nav = (navigator.language || '').toLowerCase();
  return nav.startsWith('zh') ? 'zh-CN' : 'en';
}

export async function setLocale(next) {
  const wanted = pickLocale(next);
  const response = await fetch(`/js/i18n/${wanted}.json`);
  catalog = await response.json();
  locale = wanted;
  document.documentElement.lang = wanted;
  return wanted;
}

export const currentLocale = () => locale;

export function t(key, params) {
  let text = catalog[key];
  if (text === undefined) {
    console.warn('missing message', key);
    text = key;
  }
  if (params) text = text.replace(/\{(\w+)\}/g, (m, name) => (params[name] ?? m));
  return text;
}

export function money(amount, currency = 'CNY') {
  const value = Number(amount);
  if (!Number.isFinite(value)) return String(amount ?? '');
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(value);
  } catch (_) {
    return `${value.toFixed(2)} ${currency}`;
  }
}

/* Times in the debtor's timezone (R1), never the device's. */
export function clock(iso, timeZone) {
  if (!iso) return '';
  try {
    return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(iso));
  } catch (_) {
    return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
  }
}

export function dateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

export function longDate(isoDate) {
  if (!isoDate) return '';
  return new Intl.DateTimeFormat(locale, { weekday: 'short', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(new Date(`${isoDate}T00:00:00Z`));
}
