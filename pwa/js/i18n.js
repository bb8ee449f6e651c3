/* Every catalogue and every translator, for the agent's app and the office consoles, with
 * locale-aware formatting. The catalogues live together under js/i18n/:
 *   <locale>.json         the agent's app (every string the agent reads)
 *   office/<locale>.json  the office consoles
 *   push/<locale>.json    notifications; read by the push worker (/push-sw.js) from the
 *                         precached shell, so they show offline too
 *   badge/<locale>.json   the debtor's badge page (/badge.html), in the debtor's language
 * A message is a template with {name} placeholders. */
export const LOCALES = ['zh-CN', 'en'];
const DOMAINS = { agent: '', office: 'office/', push: 'push/', badge: 'badge/' };
const loaded = {};
let locale = 'zh-CN';
let agent = translator({}, 'agent');

export function pickLocale(preferred) {
  if (LOCALES.includes(preferred)) return preferred;
  const nav = (navigator.language || '').toLowerCase();
  return nav.startsWith('zh') ? 'zh-CN' : 'en';
}

export const catalogUrl = (domain, wanted) => `/js/i18n/${DOMAINS[domain]}${wanted}.json`;

export function format(template, params) {
  return params ? template.replace(/\{(\w+)\}/g, (m, name) => (params[name] ?? m)) : template;
}

/* t(key, params) over one catalogue; t.has(key) for open-ended keys (timeline event kinds). */
function translator(messages, domain) {
  function t(key, params) {
    let text = messages[key];
    if (text === undefined) {
      console.warn(`missing ${domain} message`, key);
      text = key;
    }
    return format(text, params);
  }
  t.has = (key) => key in messages;
  return t;
}

/* The translator of a domain's catalogue in a locale (fetched once per page). */
export async function loadCatalog(domain, preferred) {
  const wanted = pickLocale(preferred);
  const url = catalogUrl(domain, wanted);
  if (!loaded[url]) {
    loaded[url] = fetch(url).then((response) => {
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return response.json();
    });
    loaded[url].catch(() => { delete loaded[url]; });
  }
  return translator(await loaded[url], domain);
}

/* The agent's language for the whole page (the consoles follow it). */
export async function setLocale(next) {
  const wanted = pickLocale(next);
  agent = await loadCatalog('agent', wanted);
  locale = wanted;
  document.documentElement.lang = wanted;
  return wanted;
}

export const currentLocale = () => locale;

export function t(key, params) {
  return agent(key, params);
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
