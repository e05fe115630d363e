// The fleet: every instance's record from the shared bucket (live or gone) and the leaks grouped by fingerprint
// across them. A leak lists the dumps that show it; opening one shows its analysis in the dump view.

import { problemMessage } from './api.js';
import { byId, fill, h, message, timeOf } from './dom.js';
import { bytes, count, signedBytes } from './format.js';

export class FleetPanel {
  constructor(api, { onOpenDump }) {
    this.api = api;
    this.onOpenDump = onOpenDump;
    this.body = byId('fleet-body');
    byId('fleet-refresh').addEventListener('click', () => this.load());
  }

  clear() {
    fill(this.body);
  }

  /** Read on request only: an instance without a bucket has no fleet, and the page asks nothing it did not need. */
  async load() {
    fill(this.body, message('busy', 'Reading the fleet from the bucket…'));
    try {
      this.render(await this.api.json('fleet'));
    } catch (error) {
      fill(this.body, problemMessage(error));
    }
  }

  render(fleet) {
    const scan = fleet.scan;
    const ignored = scan.ignoredObjects || scan.damagedRecords
      ? h('p', { class: 'muted' }, `Ignored: ${count(scan.ignoredObjects)} objects that are not HeapDiag's, ${count(scan.damagedRecords)} damaged records.`) : null;
    fill(this.body,
      h('p', { class: 'fleet-summary' }, `${count(fleet.instanceCount)} instances, ${count(fleet.liveCount)} live, ${count(fleet.leaks.length)} leaks, from ${fleet.source}`),
      ignored,
      h('h3', null, 'Leaks by fingerprint'),
      fleet.leaks.length ? fleet.leaks.map((leak) => this.leak(leak)) : h('p', { class: 'muted' }, 'No analysed dump shows a leak yet.'),
      h('h3', null, 'Instances'),
      instancesTable(fleet.instances));
  }

  leak(leak) {
    const growth = leak.worstGrowthBytesPerHour == null ? 'no growth measured yet (one dump per instance)' : `worst growth ${signedBytes(leak.worstGrowthBytesPerHour)}/h`;
    return h('details', { class: 'leak', 'data-fingerprint': leak.fingerprint },
      h('summary', null, h('strong', null, leak.headline), ' ',
        h('span', { class: 'muted' }, `${leak.kind}, on ${leak.instanceCount} instance${leak.instanceCount === 1 ? '' : 's'}, ${growth}, first seen `), timeOf(leak.firstSeenUtc),
        ' ', h('code', { title: 'fingerprint' }, leak.fingerprint)),
      h('table', { class: 'fleet-leak' },
        h('thead', null, h('tr', null, ['Instance', 'Live', 'Retained', 'Growth', 'Per hour', 'Dumps'].map((name) => h('th', { scope: 'col' }, name)))),
        h('tbody', null, leak.instances.map((on) => h('tr', { 'data-instance': on.instance },
          h('td', null, `${on.app} / ${on.instance}`),
          h('td', null, on.live ? 'live' : 'gone'),
          h('td', { class: 'num' }, bytes(on.latestRetainedBytes)),
          h('td', { class: 'num' }, on.growthBytes == null ? '–' : signedBytes(on.growthBytes)),
          h('td', { class: 'num' }, on.growthBytesPerHour == null ? '–' : `${signedBytes(on.growthBytesPerHour)}/h`),
          h('td', null, on.dumpIds.map((id) => h('button', { type: 'button', 'aria-label': `Open dump ${id}`, onclick: () => this.onOpenDump(id) }, id))))))));
  }
}

function instancesTable(instances) {
  if (!instances.length) return h('p', { class: 'muted' }, 'No instance has written a record to the bucket yet.');
  return h('table', { class: 'fleet-instances' },
    h('thead', null, h('tr', null, ['App', 'Instance', 'Host', 'State', 'Record', 'Dumps', 'Latest report'].map((name) => h('th', { scope: 'col' }, name)))),
    h('tbody', null, instances.map((instance) => h('tr', { 'data-instance': instance.instance, class: instance.live ? null : 'gone' },
      h('td', null, instance.app),
      h('td', null, h('code', null, instance.instance)),
      h('td', null, instance.host),
      h('td', null, instance.live ? 'live' : 'gone'),
      h('td', null, timeOf(instance.refreshedUtc)),
      h('td', { class: 'num' }, count(instance.dumpsTaken)),
      h('td', null, instance.latestReport ?? '–')))));
}
