// The words beside the chart: the growth slope ("+350 MB/h over 6 min") and the monitor's limits.

import { h } from './dom.js';
import { ago, bytes, duration, perHour, percent } from './format.js';

const metricNames = { WorkingSet: 'working set', GcHeapSize: 'GC heap', GcCommitted: 'GC committed' };
const metricName = (status) => metricNames[status.metric] ?? status.metric;
export const minimumSamples = 10; // MemoryTrend.MinimumSamplesForTrend: fewer say nothing about a trend

export function growthWords(status) {
  const name = metricName(status);
  const metric = name[0].toUpperCase() + name.slice(1);
  const { growth } = status;
  const window = status.window ?? [];
  if (!status.enabled) return 'The monitor is off: no trend.';
  if (growth.samples < minimumSamples || window.length < 2) {
    return `${metric}: not enough samples for a trend yet (${growth.samples} of ${minimumSamples}, one every ${duration(status.intervalSeconds)}).`;
  }

  const span = (Date.parse(window.at(-1).timestamp) - Date.parse(window[0].timestamp)) / 1000;
  const rate = Math.abs(growth.mbPerHour) < 1 ? 'flat' : perHour(growth.mbPerHour);
  return `${metric}: ${rate} over ${duration(span)}${growth.sustained ? ' — sustained growth, a potential leak' : ''}`;
}

export function monitorFacts(status) {
  const { threshold } = status;
  const metric = metricName(status);
  const source = threshold.source === 'percentOfLimit'
    ? `${percent(threshold.percentOfLimit)} of the ${bytes(threshold.limitBytes)} limit`
    : 'Monitor:ThresholdBytes';
  const next = status.nextAllowedAt && Date.parse(status.nextAllowedAt) > Date.now() ? status.nextAllowedAt : null;
  return [
    h('li', null, `Automatic dump when the ${metric} reaches ${bytes(threshold.bytes)} (${source})`),
    h('li', null, `${status.autoDumps.length} taken, ${status.autoDumpsRemaining} of ${status.maxAutoDumps} left`),
    next ? h('li', null, `next allowed ${ago(next)}`) : null,
    status.lastError ? h('li', { class: 'error-text' }, `Last error ${ago(status.lastError.at)}: ${status.lastError.message}`) : null,
  ];
}
