// "Where the memory is": the resident set by kind from the memory map (memory.memoryMap, part of /memory) as one
// stacked bar, and a second bar of what grew since the monitor started (monitor.memoryMap): the kinds that grew, in
// proportion, the one that grew most named. Kinds outside the GC heap are what a dump cannot show.

import { h } from './dom.js';
import { ago, bytes, signedBytes } from './format.js';

const names = {
  gcHeap: 'GC heap',
  threadStacks: 'thread stacks',
  code: 'code',
  loadedFiles: 'loaded files',
  nativeHeap: 'native heap',
  otherAnonymous: 'other anonymous',
};

/** The map's elements, or a line saying why there is none (not Linux). monitorMap: the monitor's start/now/growth. */
export function memoryMapView(map, monitorMap) {
  if (!map) return [h('p', { class: 'muted', text: 'No memory map here: it is read from /proc/self/smaps (Linux).' })];
  const stack = h('div', { class: 'map-bar', role: 'img', 'aria-label': describe(map) });
  const legend = h('ul', { class: 'map-legend' });
  for (const kind of map.kinds) {
    const part = h('span', { class: `map-part kind-${kind.kind}`, title: `${names[kind.kind]}: ${bytes(kind.bytes)}` });
    part.style.width = `${(100 * kind.bytes) / Math.max(1, map.residentBytes)}%`; // CSSOM: the CSP allows no style attribute
    stack.append(part);
    legend.append(h('li', null, h('span', { class: `map-swatch kind-${kind.kind}` }), `${names[kind.kind]} ${bytes(kind.bytes)}`, detail(map, kind.kind)));
  }

  return [stack, legend, ...grown(monitorMap)];
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

function grown(monitorMap) {
  const growth = monitorMap?.growth;
  if (!growth || monitorMap.start.timestamp === monitorMap.now.timestamp) {
    return [h('p', { class: 'muted', text: 'What grew since the monitor started appears from its second map on.' })];
  }

  const up = growth.kinds.filter((kind) => kind.bytes > 0);
  const total = up.reduce((sum, kind) => sum + kind.bytes, 0);
  const bar = h('div', { class: 'map-bar map-growth-bar', role: 'img', 'aria-label': `Grew since the monitor started: ${up.map((kind) => `${names[kind.kind]} ${signedBytes(kind.bytes)}`).join(', ') || 'nothing'}` });
  for (const kind of up) {
    const part = h('span', { class: `map-part kind-${kind.kind}`, title: `${names[kind.kind]}: ${signedBytes(kind.bytes)}` });
    part.style.width = `${(100 * kind.bytes) / Math.max(1, total)}%`;
    bar.append(part);
  }

  const kinds = growth.kinds.filter((kind) => kind.bytes !== 0).map((kind) => `${names[kind.kind]} ${signedBytes(kind.bytes)}`);
  const most = monitorMap.growingKind ? ` Grew most: ${names[monitorMap.growingKind]}.` : '';
  const words = h('p', { class: 'map-growth', text: `Since the monitor started (${ago(monitorMap.start.timestamp)}): resident ${signedBytes(growth.residentBytes)}; ${kinds.join(', ')}.${most}` });
  const verdict = monitorMap.outsideHeap ? h('p', { class: 'map-verdict', text: `${monitorMap.outsideHeap.headline}. ${monitorMap.outsideHeap.fix}` }) : null;
  return [h('p', { class: 'map-caption muted', text: 'What grew since the monitor started' }), bar, words, verdict].filter(Boolean);
}

function describe(map) {
  return `Resident ${bytes(map.residentBytes)}: ${map.kinds.map((kind) => `${names[kind.kind]} ${bytes(kind.bytes)}`).join(', ')}`;
}
