// What fills the heap (GET heapdump/{id}/summary): the top types, sortable by objects, bytes and retained bytes;
// and what grew between two dumps (GET heapdump/{id}/diff/{otherId}).

import { h } from './dom.js';
import { bytes, count, duration, percent, signedBytes, signedCount } from './format.js';

const columns = [
  { key: 'count', label: 'Objects', value: (row) => row.count, text: (row) => count(row.count) },
  { key: 'bytes', label: 'Bytes', value: (row) => row.bytes, text: (row) => bytes(row.bytes) },
  { key: 'retained', label: 'Retained', value: (row) => row.retained ?? -1, text: (row) => bytes(row.retained) },
];

/** onType(name): the person asked who holds that type. */
export function typesView(summary, onType) {
  const retained = new Map((summary.retainedBytes ?? []).map((r) => [r.name, r.retainedBytes]));
  const byName = new Map([...summary.topByBytes, ...summary.topByCount].map((t) => [t.name, { ...t, retained: retained.get(t.name) }]));
  const rows = [...byName.values()];
  const shown = columns.filter((c) => c.key !== 'retained' || retained.size);
  const body = h('tbody');
  const heads = shown.map((column) => h('th', { scope: 'col', class: 'num' },
    h('button', { type: 'button', class: 'sort', onclick: () => sortBy(column) }, column.label)));

  function sortBy(column) {
    rows.sort((a, b) => column.value(b) - column.value(a));
    shown.forEach((c, i) => heads[i].setAttribute('aria-sort', c === column ? 'descending' : 'none'));
    body.replaceChildren(...rows.map((row) => h('tr', null,
      h('td', null, h('button', { type: 'button', class: 'link', title: 'Who holds these?', onclick: () => onType(row.name) }, row.name)),
      shown.map((c) => h('td', { class: 'num' }, c.text(row))),
      h('td', { class: 'num' }, percent((row.bytes / summary.live.bytes) * 100, 1)))));
  }

  sortBy(columns[1]);
  const strings = summary.duplicateStrings;
  return [
    h('p', null, `Live: ${count(summary.live.objects)} objects, ${bytes(summary.live.bytes)}; the whole heap, garbage included: `
      + `${bytes(summary.inHeap.bytes)}. .NET ${summary.clrVersion}, analysed in ${duration(summary.analysisDurationMs / 1000)}.`),
    h('table', { class: 'types' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Type'), heads, h('th', { scope: 'col', class: 'num' }, 'Of live bytes'))),
      body),
    strings.duplicatedValues ? h('p', null, `Duplicate strings waste ${bytes(strings.wastedBytes)} (${count(strings.duplicatedValues)} values occur more than once).`) : null,
    notes(summary.notes),
  ];
}

export function diffView(diff) {
  const row = (t) => h('tr', null,
    h('td', null, t.name),
    h('td', { class: 'num' }, `${count(t.countBefore)} → ${count(t.countAfter)}`),
    h('td', { class: 'num' }, signedCount(t.countDelta)),
    h('td', { class: 'num' }, signedBytes(t.bytesDelta)));
  const table = (caption, types) => (types.length ? h('table', { class: 'types' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, ['Type', 'Objects', 'Change', 'Bytes change'].map((label, i) => h('th', { scope: 'col', class: i ? 'num' : null }, label)))),
    h('tbody', null, types.map(row))) : null);
  return [
    h('p', null, `From ${diff.beforeDumpFileName} to ${diff.afterDumpFileName}: `, h('strong', null, `${signedCount(diff.objectsDelta)} objects, ${signedBytes(diff.bytesDelta)}`),
      ` of live heap (${bytes(diff.before.bytes)} → ${bytes(diff.after.bytes)}); ${count(diff.changedTypeCount)} types changed.`),
    table('Changed the most, by bytes', diff.types),
    table('Only in the later dump', diff.newTypes),
    table('Gone from the later dump', diff.vanishedTypes),
  ];
}

export function notes(sentences) {
  return sentences?.length ? h('ul', { class: 'notes' }, sentences.map((sentence) => h('li', null, sentence))) : null;
}
