/* The office consoles' own message catalogs (i18n/<locale>.json), apart from the agent's. */
const cache = {};

export async function loadCatalog(locale) {
  const wanted = locale === 'en' ? 'en' : 'zh-CN';
  if (!cache[wanted]) {
    const response = await fetch(`/js/office/i18n/${wanted}.json`, { cache: 'no-cache' });
    cache[wanted] = await response.json();
  }
  const catalog = cache[wanted];
  function t(key, params) {
    let text = catalog[key];
    if (text === undefined) {
      console.warn('missing office message', key);
      text = key;
    }
    if (params) text = text.replace(/\{(\w+)\}/g, (m, name) => (params[name] ?? m));
    return text;
  }
  // for open-ended keys (timeline event kinds): ask first, fall back to the raw key
  t.has = (key) => key in catalog;
  return t;
}
