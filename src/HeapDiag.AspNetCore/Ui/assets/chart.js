// The memory chart: the monitor's window (working set, GC heap, GC committed), the threshold as a line and the
// automatic dumps as markers. Plain SVG: 360 samples of three series need no charting library; every refresh
// moves the same elements (no flicker), and what is drawn is DOM that screen readers and tests can read.

import { fill, h, svg } from './dom.js';
import { ago, bytes, clock } from './format.js';
import { minimumSamples } from './monitor.js';

const series = [
  { key: 'workingSetBytes', label: 'Working set', className: 'working-set' },
  { key: 'gcHeapSizeBytes', label: 'GC heap', className: 'gc-heap' },
  { key: 'gcCommittedBytes', label: 'GC committed', className: 'gc-committed' },
];
const margin = { top: 16, right: 16, bottom: 24, left: 64 };
const height = 240;
const MB = 1024 * 1024;
const GB = 1024 * MB;
const timeSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].map((s) => s * 1000);

export class MemoryChart {
  constructor(host) {
    this.host = host;
    this.status = null;
    this.cursor = null; // a sample's index, or null: the latest
    this.zoomed = false;

    this.grid = svg('g', { class: 'grid' });
    this.paths = series.map((s) => svg('path', { class: `series ${s.className}`, 'data-series': s.key }));
    this.thresholdLine = svg('line', { class: 'threshold' });
    this.thresholdText = svg('text', { class: 'threshold-label' });
    this.markers = svg('g', { class: 'markers' });
    this.cursorLine = svg('line', { class: 'cursor' });
    this.empty = svg('text', { class: 'empty' });
    this.svg = svg('svg', { class: 'chart-svg', role: 'img', tabindex: 0, 'aria-label': 'Memory over time; the arrow keys read the samples' },
      this.grid, ...this.paths, this.thresholdLine, this.thresholdText, this.markers, this.cursorLine, this.empty);
    this.legend = h('ul', { class: 'legend' });
    this.readout = h('p', { class: 'readout', 'aria-live': 'polite' });
    host.append(this.svg, this.legend, this.readout);

    this.svg.addEventListener('pointermove', (event) => this.pointAt(event));
    this.svg.addEventListener('pointerleave', () => this.moveCursor(null));
    this.svg.addEventListener('keydown', (event) => this.key(event));
    new ResizeObserver(() => this.draw()).observe(host);
  }

  update(status) {
    this.status = status;
    if (this.cursor != null && this.cursor >= (status?.window?.length ?? 0)) this.cursor = null;
    this.draw();
  }

  setZoom(zoomed) {
    this.zoomed = zoomed;
    this.draw();
  }

  draw() {
    const width = Math.max(this.host.clientWidth, 320);
    set(this.svg, { viewBox: `0 0 ${width} ${height}`, width, height });
    const points = this.status?.window ?? [];
    this.empty.textContent = points.length ? '' : emptyText(this.status);
    set(this.empty, { x: width / 2, y: height / 2 });
    if (!points.length) {
      this.scale = null;
      this.paths.forEach((path) => set(path, { d: '', 'data-points': 0 }));
      [this.thresholdLine, this.thresholdText, this.cursorLine].forEach((e) => e.classList.add('hidden'));
      this.thresholdText.textContent = '';
      this.thresholdLine.removeAttribute('data-bytes');
      fill(this.grid);
      fill(this.markers);
      this.drawLegend(null);
      return;
    }

    const times = points.map((p) => Date.parse(p.timestamp));
    const end = times.at(-1);
    const start = Math.min(times[0], end - minimumSamples * this.status.intervalSeconds * 1000); // room for a trend's worth
    const values = points.flatMap((p) => series.map((s) => p[s.key]));
    const threshold = this.status.threshold?.bytes;
    const high = this.zoomed || !threshold ? Math.max(...values) : Math.max(...values, threshold);
    const { ticks, label } = valueTicks(this.zoomed ? Math.min(...values) : 0, high);
    const [low, top] = [ticks[0], ticks.at(-1)];
    const x = (t) => margin.left + ((t - start) / (end - start)) * (width - margin.left - margin.right);
    const y = (v) => margin.top + (1 - (v - low) / (top - low)) * (height - margin.top - margin.bottom);
    this.scale = { x, times, width };

    fill(this.grid,
      ticks.map((v) => [
        svg('line', { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v) }),
        svg('text', { class: 'y-label', x: margin.left - 6, y: y(v), text: label(v) }),
      ]),
      timeTicks(start, end).map(({ t, text }) => svg('text', { class: 'x-label', x: x(t), y: height - 6, text })));
    series.forEach((s, i) => set(this.paths[i], {
      d: points.map((p, j) => `${j ? 'L' : 'M'}${x(times[j]).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(''),
      'data-points': points.length,
    }));

    const thresholdShown = threshold != null && threshold <= top;
    this.thresholdLine.classList.toggle('hidden', !thresholdShown);
    this.thresholdText.classList.toggle('hidden', !thresholdShown);
    if (thresholdShown) {
      set(this.thresholdLine, { x1: margin.left, x2: width - margin.right, y1: y(threshold), y2: y(threshold), 'data-bytes': threshold });
      set(this.thresholdText, { x: width - margin.right - 4, y: y(threshold) - 5 });
      this.thresholdText.textContent = `threshold ${bytes(threshold)}`;
    }

    fill(this.markers, (this.status.autoDumps ?? [])
      .filter((dump) => Date.parse(dump.at) >= start && Date.parse(dump.at) <= end)
      .map((dump) => marker(x(Date.parse(dump.at)), dump)));
    this.drawCursor();
  }

  drawCursor() {
    const points = this.status?.window ?? [];
    const shown = this.cursor != null && this.scale;
    this.cursorLine.classList.toggle('hidden', !shown);
    if (shown) {
      const cx = this.scale.x(this.scale.times[this.cursor]);
      set(this.cursorLine, { x1: cx, x2: cx, y1: margin.top, y2: height - margin.bottom });
    }

    this.drawLegend(points.length ? points[this.cursor ?? points.length - 1] : null);
  }

  drawLegend(point) {
    const threshold = this.status?.threshold?.bytes;
    fill(this.legend,
      series.map((s) => h('li', null, h('span', { class: `swatch ${s.className}` }), `${s.label} `, h('strong', null, point ? bytes(point[s.key]) : '–'))),
      threshold != null ? h('li', null, h('span', { class: 'swatch threshold' }), 'Threshold ', h('strong', null, bytes(threshold)),
        this.thresholdLine.classList.contains('hidden') && point ? ' (above the chart)' : '') : null,
      (this.status?.autoDumps ?? []).length ? h('li', null, h('span', { class: 'swatch marker' }), 'Automatic dump') : null);
    this.readout.textContent = point
      ? `${this.cursor == null ? 'Latest sample' : 'Sample'}: ${clock(point.timestamp)} (${ago(point.timestamp)})`
      : '';
  }

  pointAt(event) {
    if (!this.scale) return;
    const box = this.svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) * this.scale.width) / box.width;
    let nearest = 0;
    this.scale.times.forEach((t, i) => {
      if (Math.abs(this.scale.x(t) - px) < Math.abs(this.scale.x(this.scale.times[nearest]) - px)) nearest = i;
    });
    this.moveCursor(nearest);
  }

  key(event) {
    const last = (this.status?.window?.length ?? 0) - 1;
    const current = this.cursor ?? last;
    const next = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: last, Escape: last }[event.key];
    if (last < 0 || next === undefined) return;
    event.preventDefault();
    const index = Math.max(0, Math.min(last, next));
    this.moveCursor(index === last ? null : index);
  }

  moveCursor(index) {
    this.cursor = index;
    this.drawCursor();
  }
}

function marker(x, dump) {
  const text = `Automatic dump ${dump.dumpNumber}, ${ago(dump.at)}, at ${bytes(dump.valueBytes)}${dump.success ? '' : ` — failed: ${dump.error}`}`;
  return svg('g', { class: `marker${dump.success ? '' : ' failed'}`, transform: `translate(${x.toFixed(1)},0)`, 'data-dump-id': dump.id ?? '' },
    svg('line', { y1: margin.top, y2: height - margin.bottom }),
    svg('path', { d: `M-6,${margin.top - 10}L6,${margin.top - 10}L0,${margin.top}Z` }),
    svg('title', { text }));
}

function emptyText(status) {
  if (!status) return '';
  return status.enabled ? 'Waiting for the first samples…' : 'The monitor is off (HeapDiagnostics:Monitor:Enabled is false): no samples to draw.';
}

/** Round steps of MB or GB from low to past high, with labels in that unit. */
function valueTicks(low, high) {
  const unit = high >= GB ? GB : MB;
  const name = unit === GB ? 'GB' : 'MB';
  const span = Math.max(high - low, unit / 10);
  const raw = span / unit / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) * unit;
  const first = Math.floor(low / step) * step;
  const ticks = [];
  for (let v = first; v < high + step * 0.05 || ticks.length < 2; v += step) ticks.push(v);
  if (ticks.at(-1) < high * 1.04) ticks.push(ticks.at(-1) + step); // room above the highest line
  const label = (v) => `${(v / unit).toLocaleString(undefined, { maximumFractionDigits: 2 })} ${name}`;
  return { ticks, label };
}

/** At most six clock times at a round step. */
function timeTicks(start, end) {
  const step = timeSteps.find((s) => (end - start) / s <= 6) ?? timeSteps.at(-1);
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) {
    ticks.push({ t, text: new Date(t).toLocaleTimeString([], step >= 60_000 ? { hour: '2-digit', minute: '2-digit' } : { hour: '2-digit', minute: '2-digit', second: '2-digit' }) });
  }
  return ticks;
}

function set(element, attributes) {
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
}
