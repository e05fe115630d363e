// Builds elements from data without ever parsing a string as HTML: type names such as List<Order> and string
// values from a dump are always text. (The page's CSP enforces it too: Trusted Types leave no string-to-HTML sink.)

import { ago, dateTime } from './format.js';

export const byId = (id) => document.getElementById(id);

/** h('td', { class: 'num', title }, child, …): props are attributes, except class, text, dataset and on<event>. */
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** The same for SVG elements. */
export function svg(tag, props, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), props, children);
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A <time> element: relative words ("5 min ago", kept fresh by the page), the exact time on hover. */
export function timeOf(value) {
  return h('time', { datetime: new Date(value).toISOString(), title: dateTime(value) }, ago(value));
}

/** A short message: kind is 'info', 'error' or 'busy'. */
export function message(kind, ...children) {
  return h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : null }, ...children);
}

/** A horizontal bar for a share in percent; warn and danger colours from 75 % and 90 %. */
export function bar(share, label) {
  const level = share >= 90 ? 'danger' : share >= 75 ? 'warn' : '';
  const filled = h('span', { class: `bar-fill ${level}` });
  filled.style.width = `${Math.min(100, Math.max(0, share))}%`; // CSSOM, which the CSP allows (no style attribute)
  return h('span', { class: 'bar', role: 'img', 'aria-label': label }, filled);
}

/** A reference chain, root first, drawn as links of a chain (the arrows are CSS). */
export function chain(links) {
  return h('ol', { class: 'chain' }, links.map((link) => h('li', null, link)));
}

function build(element, props, children) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (name === 'class') element.setAttribute('class', value);
    else if (name === 'text') element.textContent = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child != null && child !== false) element.append(child instanceof Node ? child : String(child));
  }
}
