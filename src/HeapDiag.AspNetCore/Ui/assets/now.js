// Memory diagnostics as people read them: for "Now" (GET memory) and for the diagnostics written with a dump.

import { bar, h } from './dom.js';
import { ago, bytes, count, duration, perHour, percent } from './format.js';

export function memoryView(m) {
  const usage = m.memoryUsage;
  const leaks = m.analysis.potentialLeaks;
  return [
    h('dl', { class: 'figures' },
      figure('Working set', bytes(usage.workingSetBytes)),
      figure('GC heap', bytes(usage.gcHeapSizeBytes)),
      figure('GC committed', bytes(usage.gcCommittedBytes)),
      figure('Native (est.)', bytes(usage.nativeEstimateBytes))),
    limitView(m),
    h('p', null, `Growth ${perHour(m.memoryGrowthRate.mbPerHour)} `,
      h('span', { class: 'muted' }, m.memoryGrowthRate.source === 'samples' ? '(slope over the monitor’s samples)' : '(working set over uptime: a rough estimate)')),
    h('h3', null, 'Leak indicators'),
    leaks.length
      ? h('ul', { class: 'indicators' }, leaks.map((leak) => h('li', null, leak)))
      : h('p', { class: 'ok' }, 'None of the leak indicators fires.'),
    h('p', { class: 'recommendation' }, h('strong', null, 'Recommendation: '), m.analysis.recommendation),
    h('p', { class: 'muted' },
      `${m.instance.machineName} · pid ${m.instance.processId} · up ${duration(m.uptimeSeconds)} · `
      + `GCs ${count(m.gc.gen0Collections)}/${count(m.gc.gen1Collections)}/${count(m.gc.gen2Collections)} · `
      + `${count(m.runtime.threads)} threads · ${count(m.runtime.activeTimers)} timers`),
  ];
}

/** The diagnostics written just before a dump, with the automatic leak report when there is one. */
export function diagnosticsView(d) {
  const report = d.leakReport;
  return [
    h('p', null, `Measured ${ago(d.timestamp)}, trigger ${d.trigger}${d.dumpNumber ? ` #${d.dumpNumber}` : ''}.`),
    memoryView(d),
    report ? [
      h('h3', null, 'Leak report'),
      h('p', { class: 'headline' }, report.headline),
      report.heldBy ? h('p', null, 'Held by ', h('code', null, report.heldBy)) : null,
      report.error ? h('p', { class: 'error-text' }, report.error) : null,
    ] : null,
    h('details', null, h('summary', null, 'The diagnostics as JSON'), h('pre', { class: 'raw' }, JSON.stringify(d, null, 2))),
  ];
}

function figure(label, value) {
  return h('div', { class: 'figure' }, h('dt', null, label), h('dd', null, value));
}

function limitView(m) {
  const ws = m.memoryUsage.workingSetBytes;
  const limit = m.container?.memoryLimitBytes;
  if (limit) {
    const share = (ws / limit) * 100;
    const usage = m.container.memoryUsageBytes;
    return h('div', { class: 'limit' },
      h('p', null, `Container limit ${bytes(limit)}: the working set is at `, h('strong', null, percent(share)),
        ` of it, ${bytes(limit - ws)} left${usage ? ` (the cgroup counts ${bytes(usage)}, page cache included)` : ''}.`),
      bar(share, `working set at ${percent(share)} of the container limit`));
  }

  const gc = m.gc;
  const load = gc.highMemoryLoadThresholdBytes ? (gc.memoryLoadBytes / gc.highMemoryLoadThresholdBytes) * 100 : null;
  return h('div', { class: 'limit' },
    h('p', null, `No container memory limit. The GC sees ${bytes(gc.totalAvailableMemoryBytes)}`
      + (load == null ? '.' : `; memory load is at ${percent(load)} of its high-load threshold.`)),
    load == null ? null : bar(load, `memory load at ${percent(load)} of the GC's high-load threshold`));
}
