/* The day board's map: each route in its agent's colour with numbered stops and the agent's
 * start, unassigned stops ringed red, eligible cases as grey dots, over the street map of the
 * configured tile server (with its credit) when there is one. One Leaflet map for the view's
 * life, made once even when renders overlap. Leaflet writes a string given as tooltip or icon
 * content as HTML: names and everything else from data go in as DOM nodes built by h(). */
import { h, clear, empty } from '../util.js';
import { loadLeaflet } from '../../leaflet.js';
import { addTiles } from '../../tiles.js';

export function boardMapView(mapBox, legend, t) {
  let L = null; let map = null; let layers = null; let ready = null; let tiled = false;
  let gone = false;

  function ensure() {
    if (!ready) {
      ready = loadLeaflet().then((leaflet) => {
        L = leaflet;
        map = L.map(mapBox, { zoomControl: true, attributionControl: false, preferCanvas: true });
        layers = L.layerGroup().addTo(map);
      });
    }
    return ready;
  }

  async function draw({ shown, at, candidates, inPlan, unplaced, tiles }) {
    try {
      await ensure();
    } catch (err) {
      clear(mapBox, empty(t('board.map_unavailable')));
      return;
    }
    if (gone) return;
    if (!tiled && tiles && tiles.tile_url) {
      addTiles(L, map, { url: tiles.tile_url, attribution: tiles.attribution });
      tiled = true;
    }
    layers.clearLayers();
    const bounds = [];
    const eligibleOffMap = candidates.filter((c) => c.eligible && Number.isFinite(c.lat) && Number.isFinite(c.lon) && !inPlan.has(c.case_id));
    for (const c of eligibleOffMap) {
      L.circleMarker([c.lat, c.lon], { radius: 3, color: '#8a94a6', weight: 1, fillOpacity: 0.5 }).bindTooltip(h('span', { text: c.debtor_name })).addTo(layers);
    }
    for (const r of shown) {
      const a = r.agent;
      const home = a.start_lat !== null && a.start_lat !== undefined ? [a.start_lat, a.start_lon] : null;
      const path = home ? [home] : [];
      r.stops.forEach((s, i) => {
        const p = at.get(s.case_id);
        if (!p) return;
        path.push(p);
        bounds.push(p);
        const late = s.progress === 'late';
        L.marker(p, {
          icon: L.divIcon({ className: 'o-pin', html: h('span', { style: `--c:${r.colour}`, class: `${s.progress || ''} ${late ? 'late' : ''}`, text: String(i + 1) }), iconSize: [22, 22], iconAnchor: [11, 11] }),
          title: `${a.name}: ${i + 1}. ${s.name}`,
        }).addTo(layers);
      });
      if (home) {
        bounds.push(home);
        path.push(home);
        L.circleMarker(home, { radius: 6, color: r.colour, weight: 3, fillColor: '#fff', fillOpacity: 1 }).bindTooltip(h('span', { text: a.name })).addTo(layers);
      }
      if (path.length > 1) L.polyline(path, { color: r.colour, weight: 3, opacity: 0.85 }).addTo(layers);
    }
    for (const u of unplaced) {
      const p = at.get(u.case_id);
      if (p) L.circleMarker(p, { radius: 6, color: '#c92a2a', weight: 2, fillOpacity: 0 }).bindTooltip(h('span', { text: `${t('board.unassigned')}: ${u.debtor || u.debtor_name}` })).addTo(layers);
    }
    if (!bounds.length) for (const c of eligibleOffMap) bounds.push([c.lat, c.lon]);
    // the grid may have resized the box since the last draw; refit without animation so a
    // re-render never leaves the map half-way through a zoom
    map.invalidateSize({ animate: false });
    // a box not laid out yet (no width or height) has no zoom that fits anything: centre it instead
    const size = map.getSize();
    if (bounds.length && size.x > 0 && size.y > 0) map.fitBounds(bounds, { padding: [28, 28], animate: false });
    else map.setView([31.23, 121.47], 11, { animate: false });
    clear(legend, shown.map((r) => h('span', { class: 'o-legend-item', style: `--agent:${r.colour}` }, h('i', {}), r.agent.name)));
  }

  return {
    draw,
    remove() { gone = true; if (map) map.remove(); },
  };
}
