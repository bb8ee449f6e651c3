/* Small pieces every step of the visit uses. */
import { h } from '../dom.js';

/* Node.append would print "null" for the optional parts. */
export function put(el, ...children) {
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', { text: title }), ...children);
}

export function fact(label, value, cls) {
  if (value === null || value === undefined || value === '') return null;
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', { class: cls, text: value }));
}
