// Which code adds to a suspect: the allocation sites of what it accumulates, sampled after the dump
// (allocationSites of a suspect in GET heapdump/{id}/suspects). The app's own frames first, the framework's folded.

import { h } from './dom.js';
import { count, percent } from './format.js';

export function sitesView(sites) {
  if (!sites.sites.length) {
    return h('p', { class: 'sites-none' }, sites.note ?? `No ${sites.typeName} was allocated while sampling.`);
  }
  return h('section', { class: 'sites' },
    h('p', { class: 'path-head' }, `Added by (${count(sites.samples)} sampled ${sites.typeName} allocations):`),
    h('ol', null, sites.sites.map((site) => h('li', null,
      h('code', null, site.addedBy ?? site.allocatingMethod), ` — ${percent(site.sharePercent)} of the sampled bytes`,
      h('details', null, h('summary', null, 'stack'),
        h('ul', { class: 'frames' }, site.frames.map((frame) => h('li', null, h('code', null, frame)))))))));
}
