// Row 2 of bench/run: how long v8.writeHeapSnapshot takes, and how much memory it needs, on a Node process
// holding N small objects (BENCH_NODE_OBJECTS, default 10 000 000). Prints one JSON line.
//
// node --max-old-space-size=16000 node-snapshot.mjs /tmp/out.heapsnapshot
import fs from 'node:fs';
import v8 from 'node:v8';
import { performance } from 'node:perf_hooks';

const out = process.argv[2];
if (!out) {
  console.error('usage: node-snapshot.mjs OUTPUT.heapsnapshot');
  process.exit(2);
}
const count = Number(process.env.BENCH_NODE_OBJECTS ?? 10_000_000);

function status(field) {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : null;
}

const fillStart = performance.now();
const items = [];
for (let i = 0; i < count; i++) {
  items.push({ a: i, b: 'x' + (i % 100) });
}
const fillMs = performance.now() - fillStart;
globalThis.gc?.();
const rssBeforeBytes = status('VmRSS');

// Reset the peak-RSS counter (Linux ≥ 4.0), so VmHWM afterwards is the peak of the snapshot alone.
let peakReset = true;
try {
  fs.writeFileSync('/proc/self/clear_refs', '5');
} catch {
  peakReset = false;
}

const t0 = performance.now();
v8.writeHeapSnapshot(out);
const snapshotMs = performance.now() - t0;
const peakRssBytes = status('VmHWM');
const sizeBytes = fs.statSync(out).size;

console.log(JSON.stringify({
  objects: items.length,
  fillMs,
  rssBeforeBytes,
  snapshotMs,
  peakRssBytes,
  peakReset,
  sizeBytes,
  node: process.version,
}));
