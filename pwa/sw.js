/* Doorstep service worker: precached app shell, bounded map-tile cache, Background Sync.
 *
 * API requests are not handled here: the page goes to the network first and falls back
 * to what it stored in IndexedDB. Queued work lives in IndexedDB, never in a cache, so
 * a new version of this worker can never hide or drop it. */
// <shell> written by pwa/make_shell.py from the shell files' content: do not edit by hand
const SHELL_VERSION = '13b816e956f8bbd6';
const SHELL = [
  '/',
  '/css/app.css',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/js/api.js',
  '/js/app.js',
  '/js/db.js',
  '/js/flow.js',
  '/js/geo.js',
  '/js/i18n.js',
  '/js/i18n/en.json',
  '/js/i18n/push/en.json',
  '/js/i18n/push/zh-CN.json',
  '/js/i18n/zh-CN.json',
  '/js/leaflet.js',
  '/js/ops.js',
  '/js/outbox.js',
  '/js/plan.js',
  '/js/push.js',
  '/js/qrcode.js',
  '/js/store.js',
  '/js/sync.js',
  '/js/tiles.js',
  '/js/ui/dom.js',
  '/js/ui/login.js',
  '/js/ui/map.js',
  '/js/ui/settings.js',
  '/js/ui/signature.js',
  '/js/ui/syncview.js',
  '/js/ui/today.js',
  '/js/ui/visit/badge.js',
  '/js/ui/visit/brief.js',
  '/js/ui/visit/checkin.js',
  '/js/ui/visit/checkout.js',
  '/js/ui/visit/crew.js',
  '/js/ui/visit/disclosure.js',
  '/js/ui/visit/done.js',
  '/js/ui/visit/escalate.js',
  '/js/ui/visit/header.js',
  '/js/ui/visit/index.js',
  '/js/ui/visit/met.js',
  '/js/ui/visit/notes.js',
  '/js/ui/visit/outcome.js',
  '/js/ui/visit/parts.js',
  '/js/ui/visit/payment.js',
  '/js/ui/visit/photo.js',
  '/js/ui/visit/plan.js',
  '/js/ui/visit/scripts.js',
  '/js/ui/visit/signature.js',
  '/js/ui/visit/summary.js',
  '/js/ui/visit/terms.js',
  '/manifest.webmanifest',
  '/vendor/leaflet/leaflet.js',
  '/vendor/leaflet/leaflet.css',
  '/vendor/qrcode-generator/qrcode.mjs',
];
// </shell>

const PREFIX = 'doorstep-';
const SHELL_CACHE = `${PREFIX}shell-${SHELL_VERSION}`;
const TILE_CACHE = `${PREFIX}tiles`; // the same cache js/tiles.js writes

importScripts('/js/db.js', '/js/outbox.js');
try {
  importScripts('/push-sw.js');
} catch (err) {
  // No push handlers on this server yet: install anyway.
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache());
});

async function precache() {
  const cache = await caches.open(SHELL_CACHE);
  await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' })));
}

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith(`${PREFIX}shell-`) && name !== SHELL_CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skipWaiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin === self.location.origin) {
    if (url.pathname.startsWith('/api/')) return;
    if (request.mode === 'navigate') {
      event.respondWith(handleNavigation(request));
      return;
    }
    event.respondWith(handleShellFile(request));
    return;
  }
  // Map tiles (the only images from another origin): the network first, the tiles kept for
  // the day's area when it fails or is too slow (a dead zone that still reports "online").
  if (request.destination === 'image') event.respondWith(handleTile(request));
});

/* Every page of the app is the shell; cache first so a cold start offline is instant. */
async function handleNavigation(request) {
  const cached = await caches.match('/', { cacheName: SHELL_CACHE });
  return cached || fetch(request);
}

async function handleShellFile(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true });
  return cached || fetch(request);
}

const TILE_TIMEOUT_MS = 2500;

/* A tile from the network within TILE_TIMEOUT_MS, else the one kept for the day's area
 * (js/tiles.js fills and bounds that cache); with neither, the network's late answer. */
async function handleTile(request) {
  const network = fetch(request);
  const late = new Promise((resolve) => { setTimeout(resolve, TILE_TIMEOUT_MS, null); });
  const first = await Promise.race([network.catch(() => null), late]);
  if (first && first.ok) return first;
  const cached = await caches.match(request.url, { cacheName: TILE_CACHE });
  if (cached) return cached;
  return first || network.catch(() => Response.error());
}

self.addEventListener('sync', (event) => {
  if (event.tag !== self.doorstepCore.SYNC_TAG) return;
  event.waitUntil(self.doorstepCore.flush().then((result) => {
    if (result.status === 'retry') throw new Error('outbox not empty yet; the browser retries later');
  }));
});
