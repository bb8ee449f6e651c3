/* The route on a map. Leaflet is loaded on first use (it is precached, so this works
 * offline). The street map comes from the tile server, or offline from the tiles kept after
 * the day's pull (js/tiles.js); with no tile URL, or offline with no saved tiles, the stops
 * and their order are drawn on a plain background. */
import { progressOf } from '../flow.js';
import { loadLeaflet } from '../leaflet.js';
import { TILE_CACHE, addTiles } from '../tiles.js';
import { h } from './dom.js';

export async function mountMap(el, { visits, tileUrl, attribution, t, note }) {
  const points = visits.filter((v) => v.address && v.address.lat != null);
  let L;
  try {
    L = await loadLeaflet();
  } catch (_) {
    note.textContent = t('map.unavailable');
    return { destroy() {} };
  }
  const map = L.map(el, { zoomControl: true, attributionControl: false });
  const latlngs = points.map((v) => [v.address.lat, v.address.lon]);
  if (latlngs.length) map.fitBounds(L.latLngBounds(latlngs).pad(0.15));
  else map.setView([31.23, 121.47], 11);

  const online = navigator.onLine;
  const cachedTiles = tileUrl ? await hasCachedTiles() : false;
  if (tileUrl && (online || cachedTiles)) {
    addTiles(L, map, { url: tileUrl, attribution });
    note.textContent = online ? '' : t('map.cached_tiles');
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
