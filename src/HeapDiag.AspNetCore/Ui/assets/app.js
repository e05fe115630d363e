// The page: asks for access, then keeps the chart and "Now" fresh every monitor interval; the dumps and one
// dump's analysis on demand. Everything shown comes from the diagnostics routes ({prefix}/…), behind the policy.

import { Api } from './api.js';
import { MemoryChart } from './chart.js';
import { byId, fill, message } from './dom.js';
import { DumpView } from './dump-view.js';
import { DumpsPanel } from './dumps.js';
import { FleetPanel } from './fleet.js';
import { ago, clock, duration } from './format.js';
import { memoryMapView } from './memory-map.js';
import { growthWords, monitorFacts } from './monitor.js';
import { memoryView } from './now.js';

const api = new Api(new URL('../', document.baseURI), unauthorized);
const chart = new MemoryChart(byId('chart'));
const view = new DumpView(api);
const dumps = new DumpsPanel(api, { onOpen: (dump) => view.open(dump, dumps.dumps), onDeleted: (dump) => view.closeIf(dump.id) });
// A dump of the fleet opens like one of the list; one not listed here (another app's) opens by its id alone.
const fleet = new FleetPanel(api, { onOpenDump: (id) => view.open(dumps.dumps.find((d) => d.id === id) ?? fleetDump(id), dumps.dumps) });
const relistEvery = 60_000;

let session = 0; // bumped when access ends: answers that arrive for an earlier session are dropped
let timer = 0;
let refreshing = 0; // the session whose refresh is under way: it schedules the next one itself
let autoDumps = -1;
let listedAt = 0;

byId('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId('key-input');
  const key = input.value.trim();
  input.value = '';
  if (!key) return;
  api.setKey(key);
  connect();
});
byId('forget-key').addEventListener('click', () => {
  api.forgetKey();
  endSession();
  showAccess('The key is forgotten: this tab no longer holds it.');
});
byId('zoom').addEventListener('change', (event) => chart.setZoom(event.target.checked));
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && !byId('dashboard').hidden) refresh(session);
});

connect();

// Tries the data routes first: the app's own sign-in (a cookie) may already grant the role. A 401 asks for a key.
function connect() {
  setStatus('Connecting…');
  refresh(++session);
}

async function refresh(current) {
  if (refreshing === current) return;
  refreshing = current;
  clearTimeout(timer);
  let interval = 10;
  try {
    if (!document.hidden) {
      const [monitor, memory] = await Promise.all([api.json('monitor?window=true'), api.json('memory')]);
      if (current !== session) return;
      interval = Math.min(Math.max(monitor.intervalSeconds, 1), 60);
      showDashboard();
      chart.update(monitor);
      byId('growth').textContent = growthWords(monitor);
      fill(byId('monitor-facts'), monitorFacts(monitor));
      fill(byId('now-body'), memoryView(memory));
      fill(byId('map-body'), ...memoryMapView(memory.memoryMap, monitor.memoryMap));
      byId('instance').textContent = `${memory.instance.machineName} · pid ${memory.instance.processId} · ${memory.platform.runtimeVersion}`;
      if (monitor.autoDumps.length !== autoDumps || Date.now() - listedAt > relistEvery) {
        await dumps.reload();
        [autoDumps, listedAt] = [monitor.autoDumps.length, Date.now()];
      }

      document.querySelectorAll('time[datetime]').forEach((time) => { time.textContent = ago(time.dateTime); });
      setStatus(`Updated ${clock(Date.now())}, every ${duration(interval)}`);
    }
  } catch (error) {
    if (current !== session || error.status === 401) return;
    if (error.status === 403) {
      endSession();
      showAccess(error.problem?.detail ?? 'Signed in without the role these pages need. An API key works instead.');
      return;
    }

    setStatus(`Refresh failed (${error.status ?? error.message}); trying again in ${duration(interval)}.`);
  } finally {
    if (refreshing === current) refreshing = 0;
  }

  if (current === session) timer = setTimeout(() => refresh(current), interval * 1000);
}

function unauthorized() {
  const hadKey = Boolean(api.key);
  api.forgetKey();
  if (!hadKey && !byId('access').hidden) return; // already asking (two requests were refused at once)
  endSession();
  showAccess(hadKey ? 'That API key was not accepted (401). Check it against HeapDiagnostics:ApiKeys and try again.' : null);
}

function showDashboard() {
  byId('access').hidden = true;
  byId('dashboard').hidden = false;
  byId('forget-key').hidden = !api.key;
}

function showAccess(text) {
  byId('dashboard').hidden = true;
  byId('forget-key').hidden = true;
  byId('access').hidden = false;
  fill(byId('access-message'), text ? message(text.includes('not accepted') ? 'error' : 'info', text) : null);
  setStatus('');
  byId('key-input').focus();
}

/** Stops refreshing and removes every number from the page: nothing stays visible once access ends. */
function endSession() {
  session++;
  clearTimeout(timer);
  [autoDumps, listedAt] = [-1, 0];
  chart.update(null);
  ['growth', 'monitor-facts', 'now-body', 'map-body', 'instance'].forEach((id) => fill(byId(id)));
  dumps.clear();
  fleet.clear();
  view.close();
}

/** What the dump view needs of a dump known only by its id: the id says when it was taken, how and of what type. */
function fleetDump(id) {
  const [, time, trigger, number, type] = /^(\d{8}T\d{9}Z)-\d+-(manual|auto)-(\d+)-(\w+)$/.exec(id) ?? [];
  const created = time ? `${time.slice(0, 4)}-${time.slice(4, 6)}-${time.slice(6, 8)}T${time.slice(9, 11)}:${time.slice(11, 13)}:${time.slice(13, 15)}.${time.slice(15, 18)}Z` : null;
  return { id, created, trigger: trigger ?? 'manual', dumpNumber: Number(number ?? 0), type: type ?? 'heap', sizeBytes: null };
}

function setStatus(text) {
  byId('status').textContent = text;
}
