// "Where the memory is": the resident set by kind from the memory map (memory.memoryMap, part of /memory) as one
// stacked bar, and what each kind grew since the first map. Kinds outside the GC heap are what a dump cannot show.

import { h } from './dom.js';
import { bytes, signedBytes } from './format.js';

const names = {
  gcHeap: 'GC heap',
  threadStacks: 'thread stacks',
  code: 'code',
  loadedFiles: 'loaded files',
  nativeHeap: 'native heap',
  otherAnonymous: 'other anonymous',
};

/** The map's elements, or a line saying why there is none (not Linux). */
export function memoryMapView(map) {
  if (!map) return [h('p', { class: 'muted', text: 'No memory map here: it is read from /proc/self/smaps (Linux).' })];
  const stack = h('div', { class: 'map-bar', role: 'img', 'aria-label': describe(map) });
  const legend = h('ul', { class: 'map-legend' });
  for (const kind of map.kinds) {
    const part = h('span', { class: `map-part kind-${kind.kind}`, title: `${names[kind.kind]}: ${bytes(kind.bytes)}` });
    part.style.width = `${(100 * kind.bytes) / Math.max(1, map.residentBytes)}%`; // CSSOM: the CSP allows no style attribute
    stack.append(part);
    legend.append(h('li', null, h('span', { class: `map-swatch kind-${kind.kind}` }), `${names[kind.kind]} ${bytes(kind.bytes)}`, detail(map, kind.kind)));
  }

  return [stack, legend, grown(map)];
}

function detail(map, kind) {
  switch (kind) {
    case 'gcHeap': return ` (free ${bytes(map.gcHeap.freeBytes)})`;
    case 'threadStacks': return ` (${map.threadStacks.threads} threads)`;
    case 'nativeHeap': return ` (${map.nativeHeap.arenas} malloc arenas)`;
    case 'loadedFiles': return map.loadedFiles.top.length ? ` (largest ${map.loadedFiles.top[0].name})` : '';
    default: return '';
  }
}

function grown(map) {
  const growth = map.growthSinceStart;
  if (!growth) return h('p', { class: 'muted', text: 'Growth by kind appears from the second map on.' });
  const kinds = growth.kinds.filter((kind) => kind.bytes !== 0).map((kind) => `${names[kind.kind]} ${signedBytes(kind.bytes)}`);
  return h('p', { class: 'map-growth', text: `Since start: resident ${signedBytes(growth.residentBytes)}; ${kinds.join(', ')}.` });
}

function describe(map) {
  return `Resident ${bytes(map.residentBytes)}: ${map.kinds.map((kind) => `${names[kind.kind]} ${bytes(kind.bytes)}`).join(', ')}`;
}
