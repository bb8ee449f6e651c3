/* The route on a map. Leaflet is loaded on first use (it is precached, so this works
 * offline). With no tile URL, or offline with no saved tiles, the stops and their order
 * are drawn on a plain background. */
import { progressOf } from '../flow.js';
import { loadLeaflet } from '../leaflet.js';
import { h } from './dom.js';

const TILE_CACHE = 'doorstep-tiles';
const MAX_TILES = 250;

export async function mountMap(el, { visits, tileUrl, t, note }) {
  const points = visits.filter((v) => v.address && v.address.lat != null);
  let L;
  try {
    L = await loadLeaflet();
  } catch (_) {
    note.textContent = t('map.unavailable');
    return { destroy() {} };
  }
  const map = L.map(el, { zoomControl: true, attributionControl: Boolean(tileUrl) });
  const latlngs = points.map((v) => [v.address.lat, v.address.lon]);
  if (latlngs.length) map.fitBounds(L.latLngBounds(latlngs).pad(0.15));
  else map.setView([31.23, 121.47], 11);

  const online = navigator.onLine;
  const cachedTiles = tileUrl ? await hasCachedTiles() : false;
  if (tileUrl && (online || cachedTiles)) {
    L.tileLayer(tileUrl, { maxZoom: 18, crossOrigin: true, attribution: '© OpenStreetMap' }).addTo(map);
    note.textContent = online ? '' : t('map.cached_tiles');
    if (online) saveTiles(tileUrl, map, latlngs).catch(() => {});
  } else {
    el.classList.add('no-tiles');
    note.textContent = tileUrl ? t('map.offline_no_tiles') : t('map.no_tiles');
  }

  L.polyline(latlngs, { color: '#0f4c5c', weight: 3, opacity: 0.7, dashArray: '6 6' }).addTo(map);
  points.forEach((visit, i) => {
    const n = visit.route_position ?? i + 1;
    const icon = L.divIcon({
      className: `map-stop ${progressOf(visit, null)}`,
      html: h('span', { text: String(n) }),
      iconSize: [32, 32],
      iconAnchor: [16, 16],
    });
    L.marker([visit.address.lat, visit.address.lon], { icon, title: `${n}`, alt: `${n}`, keyboard: true })
      .addTo(map)
      .on('click', () => { location.hash = `#/visit/${visit.id}`; });
  });
  return { destroy: () => map.remove() };
}

async function hasCachedTiles() {
  if (!('caches' in window)) return false;
  const cache = await caches.open(TILE_CACHE);
  return (await cache.keys()).length > 0;
}

/* Keep the tiles of the day's area for offline use, bounded to MAX_TILES. */
async function saveTiles(template, map, latlngs) {
  if (!('caches' in window) || !latlngs.length) return;
  const bounds = L.latLngBounds(latlngs).pad(0.1);
  const urls = [];
  for (let z = 12; z <= 16 && urls.length < MAX_TILES; z += 1) {
    const nw = map.project(bounds.getNorthWest(), z).divideBy(256).floor();
    const se = map.project(bounds.getSouthEast(), z).divideBy(256).floor();
    for (let x = nw.x; x <= se.x; x += 1) {
      for (let y = nw.y; y <= se.y; y += 1) {
        if (urls.length >= MAX_TILES) break;
        urls.push(L.Util.template(template, { s: 'a', x, y, z, r: '' }));
      }
    }
  }
  const cache = await caches.open(TILE_CACHE);
  const keep = new Set(urls);
  for (const request of await cache.keys()) if (!keep.has(request.url)) await cache.delete(request);
  for (const url of urls) {
    if (await cache.match(url)) continue;
    const response = await fetch(url, { mode: 'cors' });
    if (response.ok) await cache.put(url, response);
  }
}
