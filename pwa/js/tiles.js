/* Street-map tiles for the agent's map and the dispatcher's board. The tile server is the
 * office's choice (MAP_TILE_URL: OpenStreetMap's standard tiles unless the bank runs its
 * own); its attribution is shown as text. After each day-packet pull the tiles around the
 * day's stops are fetched into the tile cache, which the service worker answers from when
 * the network is gone or too slow (pwa/sw.js: network first with a short time-out). */
import { loadLeaflet } from './leaflet.js';
import { h } from './ui/dom.js';

export const TILE_CACHE = 'doorstep-tiles';
const MAX_TILES = 250;
const ZOOMS = [12, 13, 14, 15, 16];

/* The tile layer and its credit (a text node: Leaflet writes an attribution string as HTML). */
export function addTiles(L, map, { url, attribution }) {
  if (!url) return null;
  const layer = L.tileLayer(url, { maxZoom: 18, crossOrigin: true, subdomains: 'abc' }).addTo(map);
  if (attribution) {
    const Credit = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd: () => h('div', { class: 'leaflet-control-attribution map-credit', text: attribution }),
    });
    new Credit().addTo(map);
  }
  return layer;
}

/* Every tile URL covering the points at the zooms an agent uses, nearest zooms first. */
export function tileUrls(L, template, latlngs) {
  if (!template || !latlngs.length) return [];
  const bounds = L.latLngBounds(latlngs).pad(0.1);
  const urls = [];
  for (const z of ZOOMS) {
    const nw = L.CRS.EPSG3857.latLngToPoint(bounds.getNorthWest(), z).divideBy(256).floor();
    const se = L.CRS.EPSG3857.latLngToPoint(bounds.getSouthEast(), z).divideBy(256).floor();
    for (let x = nw.x; x <= se.x; x += 1) {
      for (let y = nw.y; y <= se.y && urls.length < MAX_TILES; y += 1) {
        urls.push(L.Util.template(template, { s: 'a', x, y, z, r: '' }));
      }
    }
  }
  return urls;
}

/* Keep the day's tiles: fetch what the cache lacks, drop what the day no longer covers. */
export async function keepDayTiles(packet) {
  const settings = (packet && packet.settings) || {};
  const template = settings.map_tile_url;
  if (!template || !('caches' in self)) return 0;
  const latlngs = (packet.visits || []).filter((v) => v.address && v.address.lat != null).map((v) => [v.address.lat, v.address.lon]);
  if (!latlngs.length) return 0;
  const L = await loadLeaflet();
  const urls = tileUrls(L, template, latlngs);
  const cache = await caches.open(TILE_CACHE);
  const keep = new Set(urls);
  for (const request of await cache.keys()) if (!keep.has(request.url)) await cache.delete(request);
  let fetched = 0;
  for (const url of urls) {
    if (await cache.match(url)) continue;
    try {
      const response = await fetch(url, { mode: 'cors', credentials: 'omit' });
      if (response.ok) { await cache.put(url, response); fetched += 1; }
    } catch (_) {
      return fetched; // offline again: the rest comes with the next pull
    }
  }
  return fetched;
}
