// Watches a process while something is done to it (bench/run, row 1).
//   - polls GET <url> one request at a time (next one <gap> ms after the previous answer) and records the
//     latency of each: the longest is the stall a client saw;
//   - samples VmRSS of <pid> from /proc every <rss-ms> ms.
// The first <baseline-ms> are the baseline; then it writes the <ready> file, and everything until SIGTERM (or
// <max-s>, so it always stops by itself) is the measured window. On exit it writes a JSON summary to <out>.
//
// node probe.mjs --pid 123 --url http://127.0.0.1:5000/ping --out probe.json --ready probe.ready
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const opts = { 'baseline-ms': 1000, 'rss-ms': 50, 'gap-ms': 10, 'max-s': 600, 'timeout-ms': 120000 };
for (let i = 2; i < process.argv.length; i += 2) {
  opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const key of ['pid', 'url', 'out', 'ready']) {
  if (!opts[key]) {
    console.error(`probe: --${key} is required`);
    process.exit(2);
  }
}
const baselineMs = Number(opts['baseline-ms']);
const rssMs = Number(opts['rss-ms']);
const gapMs = Number(opts['gap-ms']);
const start = performance.now();
const inWindow = () => performance.now() - start >= baselineMs;

const baseline = { rssKb: [], pings: [] };
const window = { rssKb: [], pings: [], errors: 0, firstError: null, long: [] };
const epochMs = () => performance.timeOrigin + performance.now();
let inflightStart = null;
let stopping = false;

function readRssKb() {
  try {
    const status = fs.readFileSync(`/proc/${opts.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

const rssTimer = setInterval(() => {
  const kb = readRssKb();
  if (kb !== null) (inWindow() ? window : baseline).rssKb.push(kb);
}, rssMs);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function ping() {
  if (stopping) return;
  const t0 = performance.now();
  const epochStart = epochMs();
  inflightStart = t0;
  const counted = inWindow();
  const done = (ok, err) => {
    if (inflightStart !== t0) return;
    inflightStart = null;
    const ms = performance.now() - t0;
    const bucket = counted || inWindow() ? window : baseline;
    // Pings slower than 100 ms, with their wall-clock start: where in the capture the stalls fell.
    if (bucket === window && ms >= 100 && window.long.length < 50) window.long.push({ startEpochMs: Math.round(epochStart), ms: Math.round(ms) });
    if (ok) bucket.pings.push(ms);
    else if (bucket === window) {
      window.errors++;
      window.firstError ??= String(err);
      window.pings.push(ms);
    }
    setTimeout(ping, ok ? gapMs : 100);
  };
  const req = http.get(opts.url, { agent, timeout: Number(opts['timeout-ms']) }, (res) => {
    res.resume();
    res.on('end', () => done(res.statusCode === 200, `HTTP ${res.statusCode}`));
    res.on('error', (e) => done(false, e));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => done(false, e));
}

const readyTimer = setTimeout(() => fs.writeFileSync(opts.ready, 'ready\n'), baselineMs);
const maxTimer = setTimeout(() => finish('max-s reached'), Number(opts['max-s']) * 1000);

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (values) => percentile(values, 50);
const max = (values) => (values.length ? Math.max(...values) : null);

function finish(reason) {
  if (stopping) return;
  stopping = true;
  // A request still waiting when the window closes has been stalled at least this long.
  if (inflightStart !== null) {
    const ms = performance.now() - inflightStart;
    window.pings.push(ms);
    if (ms >= 100) window.long.push({ startEpochMs: Math.round(performance.timeOrigin + inflightStart), ms: Math.round(ms), unanswered: true });
  }
  const last = readRssKb();
  if (last !== null) window.rssKb.push(last);
  const summary = {
    reason,
    windowMs: performance.now() - start - baselineMs,
    baselineRssKb: median(baseline.rssKb),
    baselineRssSamples: baseline.rssKb.length,
    maxRssKb: max(window.rssKb),
    rssSamples: window.rssKb.length,
    baselinePingP50Ms: median(baseline.pings),
    baselinePingMaxMs: max(baseline.pings),
    pings: window.pings.length,
    pingP50Ms: median(window.pings),
    pingP99Ms: percentile(window.pings, 99),
    pingMaxMs: max(window.pings),
    pingErrors: window.errors,
    firstError: window.firstError,
    longPings: window.long,
  };
  fs.writeFileSync(opts.out, JSON.stringify(summary, null, 2) + '\n');
  clearInterval(rssTimer);
  clearTimeout(readyTimer);
  clearTimeout(maxTimer);
  agent.destroy();
  process.exit(0);
}
process.on('SIGTERM', () => finish('stopped'));
process.on('SIGINT', () => finish('stopped'));
ping();
