// Leak suspects of one dump (GET heapdump/{id}/suspects[?baseline=otherId]): what retains most of the live heap,
// where it accumulates, and the path from a GC root to it. Written against the suspects route's contract; where
// this HeapDiag has no such route yet, the summary's retained sizes by type stand in.

import { bar, chain, h } from './dom.js';
import { bytes, count, percent, signedBytes } from './format.js';
import { sitesView } from './sites.js';
import { notes } from './types.js';

/** The report, or null when the route does not exist here: a 404 that is not "no such dump". */
export async function fetchSuspects(api, id, baseline, signal) {
  const query = baseline ? `?baseline=${encodeURIComponent(baseline)}` : '';
  try {
    return await api.json(`heapdump/${encodeURIComponent(id)}/suspects${query}`, { signal });
  } catch (error) {
    if (error.status === 404 && error.problem?.title !== 'Heap dump not found') return null;
    throw error;
  }
}

export function suspectsView(report) {
  return [
    h('p', null, `Live heap: ${count(report.live.objects)} objects, ${bytes(report.live.bytes)}. A suspect retains at least `
      + `${percent(report.thresholdPercent)} of it${report.baselineDumpFileName ? `; compared with ${report.baselineDumpFileName}` : ''}.`),
    report.suspects.length
      ? report.suspects.map(suspectView)
      : h('p', { class: 'ok' }, 'Nothing retains that much: no leak suspect in this dump.'),
    notes(report.notes),
  ];
}

function suspectView(s) {
  const fact = (label, ...value) => h('div', null, h('dt', null, label), h('dd', null, ...value));
  const growth = s.growth && (s.growth.isNew ? 'a new suspect' : `${signedBytes(s.growth.retainedBytesDelta)} (was ${bytes(s.growth.baselineRetainedBytes)})`);
  return h('article', { class: 'suspect', 'data-fingerprint': s.fingerprint },
    h('h4', null, s.headline),
    s.pattern ? patternView(s.pattern) : null,
    h('p', { class: 'retained' }, bar(s.suspect.retainedPercent, `retains ${percent(s.suspect.retainedPercent)} of the live heap`),
      ` ${bytes(s.suspect.retainedBytes)} (${percent(s.suspect.retainedPercent, 1)})`),
    h('dl', { class: 'facts' },
      fact(s.kind === 'instances' ? 'Instances of' : s.kind === 'runtime' ? 'Kept by the runtime' : 'Suspect', held(s.suspect)),
      s.accumulationPoint ? fact('Accumulates in', held(s.accumulationPoint)) : null,
      s.holds ? fact('Holds', `${s.holds.kind} of ${count(s.holds.count)} ${s.holds.elementType ?? 'items'}`) : null,
      growth ? fact('Since the baseline', growth) : null,
      fact('Fingerprint', h('code', null, s.fingerprint))),
    s.rootPath ? [
      h('p', { class: 'path-head' }, `Path from the GC root (${s.rootPath.rootKind}):`),
      chain(s.rootPath.steps.map((step) => h('code', { title: step.typeName }, step.text))),
    ] : null,
    s.allocationSites ? sitesView(s.allocationSites) : null);
}

/** The known retention pattern the suspect matches (or "application leak"): why the memory stays, and the fix. */
function patternView(p) {
  const known = p.id !== 'application-leak';
  return h('div', { class: `pattern${known ? ' known' : ''}`, 'data-pattern': p.id },
    h('p', null, h('strong', null, known ? `Known pattern: ${p.name}` : 'Application leak'), ` — ${p.explanation}`),
    h('p', null, h('strong', null, 'Fix: '), p.fix, ' ', h('a', { href: p.link, rel: 'noopener noreferrer', target: '_blank' }, 'Documentation')));
}

function held(o) {
  return [
    h('code', null, o.displayName),
    o.displayName !== o.typeName ? h('span', { class: 'muted' }, ` ${o.typeName}`) : null,
    ` — ${o.instanceCount > 1 ? `${count(o.instanceCount)} instances, ` : ''}${bytes(o.retainedBytes)} (${percent(o.retainedPercent, 1)})`,
  ];
}

/** Until the suspects route exists: what the top types retain, from the summary. */
export function retainedFallbackView(summary) {
  const rows = [...(summary.retainedBytes ?? [])].sort((a, b) => b.retainedBytes - a.retainedBytes).slice(0, 10);
  return [
    h('p', { class: 'message info' }, 'This HeapDiag has no leak-suspects analysis: below, what the top types retain, from the summary.'),
    rows.length
      ? h('ul', { class: 'retained-list' }, rows.map((r) => {
        const share = (r.retainedBytes / summary.live.bytes) * 100;
        return h('li', null, bar(share, `${percent(share)} of the live heap`),
          h('span', null, h('code', null, r.name), ` — ${count(r.count)} objects retain ${bytes(r.retainedBytes)} (${percent(share, 1)})`));
      }))
      : h('p', null, 'The summary has no retained sizes for this dump.'),
    notes(rows.length ? [] : summary.notes),
  ];
}
