// One dump: its leak suspects, top types, a comparison with another dump, retainers of a type, and the
// diagnostics written with it. Each tab loads when first shown; opening another dump abandons what is in flight.

import { isAbort, problemMessage } from './api.js';
import { byId, chain, fill, h, message } from './dom.js';
import { ago, bytes, count } from './format.js';
import { diagnosticsView } from './now.js';
import { fetchSuspects, retainedFallbackView, suspectsView } from './suspects.js';
import { diffView, notes, typesView } from './types.js';

const analysing = 'Analysing the dump… The first analysis reads the whole file (seconds for a large heap); its result is kept beside the dump.';

export class DumpView {
  constructor(api) {
    this.api = api;
    this.section = byId('dump-view');
    this.tabs = [...this.section.querySelectorAll('[role=tab]')];
    this.tabs.forEach((tab, i) => {
      tab.addEventListener('click', () => this.select(tab.dataset.tab));
      tab.addEventListener('keydown', (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = this.tabs[(i + step + this.tabs.length) % this.tabs.length];
        next.focus();
        this.select(next.dataset.tab);
      });
    });
    byId('dump-close').addEventListener('click', () => this.close());
    byId('diff-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.load('diff', byId('diff-body'), `diff/${encodeURIComponent(byId('diff-baseline').value)}?top=30`, diffView);
    });
    byId('retainers-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const type = byId('retainers-type').value.trim();
      if (type) this.load('retainers', byId('retainers-body'), `retainers?type=${encodeURIComponent(type)}`, retainersView);
    });
    byId('suspects-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.suspects(byId('suspects-baseline').value || null);
    });
  }

  open(dump, dumps) {
    this.close();
    this.controller = new AbortController();
    this.dump = dump;
    this.summary = null;
    this.shown = new Set();
    fill(byId('dump-title'), 'Dump ', h('code', null, dump.id));
    byId('dump-meta').textContent = `${dump.trigger === 'auto' ? `automatic #${dump.dumpNumber}` : dump.trigger}, ${dump.type}, ${bytes(dump.sizeBytes)}, taken ${ago(dump.created)}`;
    const others = dumps.filter((d) => d.id !== dump.id && (d.type === 'heap' || d.type === 'full'));
    const before = others.find((d) => d.created < dump.created) ?? others[0];
    for (const [id, empty] of [['diff-baseline', null], ['suspects-baseline', 'no baseline']]) {
      fill(byId(id), empty ? h('option', { value: '' }, empty) : null,
        others.map((d) => h('option', { value: d.id, selected: !empty && d === before }, `${d.id} (${ago(d.created)})`)));
    }
    byId('diff-form').hidden = !others.length;
    if (!others.length) fill(byId('diff-body'), h('p', { class: 'muted' }, 'No other dump with a heap to compare with.'));
    this.section.hidden = false;
    this.select('suspects');
    byId('dump-title').focus();
  }

  /** Hides the view and empties it: no id, number or type name stays in the page. */
  close() {
    this.controller?.abort();
    this.dump = null;
    this.summary = null;
    this.section.hidden = true;
    ['dump-title', 'dump-meta', 'diff-baseline', 'suspects-baseline', 'suspects-body', 'types-body', 'diff-body', 'retainers-body', 'diagnostics-body']
      .forEach((id) => fill(byId(id)));
    byId('suspects-form').hidden = true;
    byId('retainers-type').value = '';
  }

  closeIf(id) {
    if (this.dump?.id === id) this.close();
  }

  select(name) {
    this.tabs.forEach((tab) => {
      const selected = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      byId(tab.getAttribute('aria-controls')).hidden = !selected;
    });
    if (this.shown.has(name)) return;
    this.shown.add(name);
    if (name === 'suspects') this.suspects(null);
    if (name === 'types') this.withSummary(byId('types-body'), (summary) => typesView(summary, (type) => this.showRetainers(type)));
    if (name === 'diagnostics') this.load('diagnostics', byId('diagnostics-body'), 'diagnostics', diagnosticsView);
  }

  showRetainers(type) {
    byId('retainers-type').value = type;
    this.select('retainers');
    byId('retainers-form').requestSubmit();
  }

  async suspects(baseline) {
    const target = byId('suspects-body');
    const { dump, controller } = this;
    fill(target, message('busy', analysing));
    try {
      const report = await fetchSuspects(this.api, dump.id, baseline, controller.signal);
      if (report) {
        byId('suspects-form').hidden = byId('suspects-baseline').options.length < 2;
        fill(target, suspectsView(report));
      } else {
        await this.withSummary(target, retainedFallbackView);
      }
    } catch (error) {
      this.fail(target, error);
    }
  }

  /** The summary is shared by the top types and the suspects' stand-in: asked for once per dump. */
  async withSummary(target, render) {
    const { controller } = this;
    fill(target, message('busy', analysing));
    try {
      this.summary ??= this.api.json(`heapdump/${encodeURIComponent(this.dump.id)}/summary?top=30`, { signal: controller.signal });
      const summary = await this.summary;
      if (!controller.signal.aborted) fill(target, render(summary));
    } catch (error) {
      this.summary = null;
      this.fail(target, error);
    }
  }

  async load(kind, target, path, render) {
    const { controller } = this;
    fill(target, message('busy', kind === 'diagnostics' ? 'Loading…' : analysing));
    try {
      const answer = await this.api.json(`heapdump/${encodeURIComponent(this.dump.id)}/${path}`, { signal: controller.signal });
      if (!controller.signal.aborted) fill(target, render(answer));
    } catch (error) {
      this.fail(target, error);
    }
  }

  fail(target, error) {
    if (isAbort(error) || error.status === 401) return;
    fill(target, problemMessage(error));
  }
}

function retainersView(report) {
  const step = (s) => [s.fieldName ? h('span', { class: 'field' }, s.fieldName === '[]' ? '[] ' : `.${s.fieldName} `) : null, h('code', null, s.typeName)];
  return [
    h('p', null, `${count(report.instanceCount)} live instances of `, h('code', null, report.typeName), `; ${count(report.sampledCount)} traced back to a GC root.`),
    report.paths.map((path) => h('div', { class: 'path' },
      h('p', null, h('strong', null, `${count(path.count)} of ${count(report.sampledCount)}`), ` held from a ${path.rootKind}: `, h('code', null, path.root)),
      chain(path.steps.map(step)))),
    notes(report.notes),
  ];
}
