/* Small SVG charts drawn by hand: horizontal bars per agent, and a daily trend of counts. */
const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export const PALETTE = ['#1f6feb', '#d9480f', '#2b8a3e', '#9c36b5', '#0b7285', '#c2255c', '#f59f00', '#364fc7', '#5c940d', '#862e9c',
  '#e03131', '#1098ad', '#a61e4d', '#66a80f', '#5f3dc4', '#d6336c', '#495057', '#fab005', '#0ca678', '#7048e8'];

/* rows: [{label, value (null = no data), note}] */
export function barChart(rows, { format, unit, total, label } = {}) {
  const rowH = 24; const labelW = 190; const width = 640; const valueW = 120;
  const plotW = width - labelW - valueW;
  const max = unit === 'ratio' ? 1 : Math.max(1e-9, ...rows.map((r) => r.value || 0));
  const height = rows.length * rowH + 28;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'o-svg bars', role: 'img', 'aria-label': label || '', width: '100%' });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelW + plotW * tick;
    svg.append(s('line', { x1: x, x2: x, y1: 4, y2: height - 22, class: 'grid' }),
      s('text', { x, y: height - 6, 'text-anchor': 'middle', class: 'axis' }, format(max * tick)));
  }
  if (total !== null && total !== undefined) {
    const x = labelW + plotW * Math.min(1, total / max);
    svg.append(s('line', { x1: x, x2: x, y1: 2, y2: height - 22, class: 'avg' }), s('title', {}, `total ${format(total)}`));
  }
  rows.forEach((r, i) => {
    const y = 6 + i * rowH;
    const w = r.value === null || r.value === undefined ? 0 : plotW * Math.min(1, r.value / max);
    svg.append(
      s('text', { x: labelW - 8, y: y + 14, 'text-anchor': 'end', class: 'label' }, r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label),
      s('rect', { x: labelW, y: y + 2, width: Math.max(w, r.value ? 1 : 0), height: rowH - 8, rx: 3, fill: PALETTE[i % PALETTE.length] }, s('title', {}, `${r.label}: ${r.value === null ? '—' : format(r.value)} (${r.note})`)),
      s('text', { x: labelW + w + 6, y: y + 14, class: 'value' }, r.value === null ? '—' : format(r.value)));
  });
  return svg;
}

/* points: [{date, <series keys>…}], series: [[key, label], …] */
export function trendChart(points, { series, label }) {
  const width = 640; const height = 260; const left = 40; const right = 12; const top = 12; const bottom = 52;
  const plotW = width - left - right; const plotH = height - top - bottom;
  const max = Math.max(1, ...points.flatMap((p) => series.map(([k]) => p[k] || 0)));
  const x = (i) => left + (points.length === 1 ? plotW / 2 : (plotW * i) / (points.length - 1));
  const y = (v) => top + plotH - (plotH * v) / max;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'o-svg trend', role: 'img', 'aria-label': label || '', width: '100%' });
  const step = niceStep(max);
  for (let v = 0; v <= max + 1e-9; v += step) {
    svg.append(s('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, String(Math.round(v))));
  }
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    const last = i === points.length - 1;
    if ((i % every === 0 && points.length - 1 - i >= every / 2) || last) svg.append(s('text', { x: x(i), y: height - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, p.date.slice(5)));
  });
  series.forEach(([key, label], k) => {
    const color = PALETTE[k];
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p[key] || 0).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, fill: 'none', stroke: color, 'stroke-width': 2.2 }));
    points.forEach((p, i) => svg.append(s('circle', { cx: x(i), cy: y(p[key] || 0), r: 2.6, fill: color }, s('title', {}, `${p.date} ${label}: ${p[key] || 0}`))));
    const lx = left + k * 140;
    svg.append(s('rect', { x: lx, y: height - 18, width: 12, height: 4, fill: color }), s('text', { x: lx + 18, y: height - 13, class: 'legend' }, label));
  });
  return svg;
}

function niceStep(max) {
  const raw = max / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((st) => st >= raw) || raw;
}
