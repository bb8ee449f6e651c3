/* Every catalogue and every translator, for the agent's app and the office consoles, with
 * locale-aware formatting. The catalogues live together under js/i18n/:
 *   <locale>.json         the agent's app (every string the agent reads)
 *   office/<locale>.json  the office consoles
 *   push/<locale>.json    notifications; read by the push worker (/push-sw.js) from the
 *                         precached shell, so they show offline too
 *   badge/<locale>.json   the debtor's badge page (/badge.html), in the debtor's language
 * A message is a template with {name} placeholders. One that counts has its plural forms as
 * `key.one`, `key.other`, … (Intl.PluralRules of the locale picks one by params.n); the
 * catalogues stay flat lists of strings. What the server says (conflicts, refusals, rule
 * findings) is shown by serverText from its `code` and `params`. */
export const LOCALES = ['zh-CN', 'en'];
const DOMAINS = { agent: '', office: 'office/', push: 'push/', badge: 'badge/' };
const loaded = {};
let locale = 'zh-CN';
let agent = translator({}, 'agent', locale);

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
function translator(messages, domain, lang) {
  const plurals = new Intl.PluralRules(lang);
  const lookup = (key, params) => {
    if (key in messages) return messages[key];
    if (!(`${key}.other` in messages)) return undefined;
    const n = Number(params && params.n);
    return messages[`${key}.${Number.isFinite(n) ? plurals.select(n) : 'other'}`] ?? messages[`${key}.other`];
  };
  function t(key, params) {
    let text = lookup(key, params);
    if (text === undefined) {
      console.warn(`missing ${domain} message`, key);
      text = key;
    }
    return format(text, params);
  }
  t.has = (key) => lookup(key) !== undefined;
  t.locale = lang;
  return t;
}

/* What the server said — a conflict, a refusal, a rule finding — in the reader's language:
 * the `finding.*` message its params name (a refusal by a rule names its finding), else the
 * `server.*` one of its code, else the `finding.*` one of its code, filled with its params. A
 * value that is itself a code is named from the catalogue by the param's name (`flag: dispute`
 * → `flag.dispute`; a list, `flags`, each item, joined the locale's way). The server's own text only for a code this catalogue does not know yet. */
export function serverText(t, { code, params, message } = {}) {
  const values = params || {};
  const key = [values.finding && `finding.${values.finding}`, code && `server.${code}`, code && `finding.${code}`]
    .find((k) => k && t.has(k));
  if (!key) return message ?? code ?? '';
  const named = {};
  for (const [name, value] of Object.entries(values)) named[name] = nameValue(t, name, value);
  return t(key, named);
}

/* A rule's name on a badge: the numbered rules of COMPLIANCE.md (R1…R13) by their number,
 * every other (ladder, geocode, cap, a plan-policy rule…) by its catalogue name. */
export function ruleName(t, rule) {
  if (!rule || /^R\d+$/.test(rule)) return rule || '';
  return t.has(`rule.${rule}`) ? t(`rule.${rule}`) : rule;
}

/* A finding, a violation or a reason with its rule: "R1: …", "daily cap: …". */
export function findingText(t, finding) {
  const rule = ruleName(t, finding.rule);
  const text = serverText(t, finding);
  return rule ? `${rule}: ${text}` : text;
}

/* A request's field errors in the reader's language: each message by its code from the
 * server's `field_codes` (error.field.*), the server's own English only for a message of its
 * own ("invalid"); the field by its catalogue name (field.*) where it has one. */
export function fieldErrors(t, errors, fieldCodes) {
  const coded = fieldCodes || {};
  return Object.entries(errors || {}).map(([name, messages]) => {
    const list = coded[name] || [].concat(messages).map((message) => ({ code: 'invalid', message: typeof message === 'string' ? message : JSON.stringify(message) }));
    const texts = list.map((c) => {
      if (!t.has(`error.field.${c.code}`)) return c.message;
      const params = Object.assign({}, c.params);
      if (params.kind && t.has(`error.kind.${params.kind}`)) params.kind = t(`error.kind.${params.kind}`);
      if (Array.isArray(params.choices)) params.choices = params.choices.join(', ');
      return t(`error.field.${c.code}`, params);
    });
    const label = t.has(`field.${name}`) ? t(`field.${name}`) : name;
    return `${label}: ${texts.join(', ')}`;
  });
}

/* What a failed request says, in the reader's language: the catalogue's sentence of its code
 * (`server.*`) when it has one the request's params fill; else, for a reader of English, the
 * server's own sentence (English, and more precise than a generic one), for any other reader
 * the catalogue's sentence of the HTTP status (`error.status.*`). Then the findings it names
 * (a plan beyond the approver's authority, a plan the policy refuses) or, failing those, its
 * field errors. */
const STATUS_CODES = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type', 422: 'validation_error', 429: 'rate_limited', 500: 'server_error', 503: 'unavailable' };

export function errorText(t, err) {
  const body = err.body || {};
  const generic = STATUS_CODES[err.status] || err.code;
  let text = err.message;
  const own = err.code && !t.has(`error.status.${err.code}`) ? serverText(t, { code: err.code, params: body.params, message: '' }) : '';
  if (own && !/\{\w+\}/.test(own)) text = own;
  else if (!String(t.locale || '').startsWith('en') && generic && t.has(`error.status.${generic}`)) text = t(`error.status.${generic}`);
  const findings = (body.findings || []).map((f) => findingText(t, f));
  return [text, ...(findings.length ? findings : fieldErrors(t, err.errors, body.field_codes))];
}

function nameValue(t, name, value) {
  if (Array.isArray(value)) {
    const items = value.map((v) => String(nameValue(t, name.replace(/s$/, ''), v)));
    try {
      return new Intl.ListFormat(t.locale || locale, { type: 'conjunction' }).format(items);
    } catch (_) {
      return items.join(', ');
    }
  }
  return typeof value === 'string' && t.has(`${name}.${value}`) ? t(`${name}.${value}`) : value;
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
  return translator(await loaded[url], domain, wanted);
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
t.has = (key) => agent.has(key);

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
