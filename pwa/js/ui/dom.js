/* A tiny element builder: text always goes in as text (no HTML from data). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value; // a textarea has no value attribute
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/* A labelled form field; the label is tied to the control for screen readers. */
let fieldSeq = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hintEl);
}

export function button(label, onClick, cls = 'btn', attrs = {}) {
  return h('button', Object.assign({ type: 'button', class: cls, onclick: onClick }, attrs), label);
}

/* The app's mark (a door with a check), drawn inline so it is there before any image loads. */
export function logo(size) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 48 48');
  svg.setAttribute('width', size);
  svg.setAttribute('height', size);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'logo');
  const parts = [
    ['rect', { x: 0, y: 0, width: 48, height: 48, rx: 11, fill: '#0f4c5c' }],
    ['rect', { x: 14, y: 8, width: 20, height: 32, rx: 2, fill: '#f4f6f7' }],
    ['circle', { cx: 29.5, cy: 24, r: 1.6, fill: '#0f4c5c' }],
    ['path', { d: 'M17.5 23.5l4 4 7-8', fill: 'none', stroke: '#f2a900', 'stroke-width': 3, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }],
  ];
  for (const [tag, attrs] of parts) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}
