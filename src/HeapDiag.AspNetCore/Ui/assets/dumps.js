// The dumps table: capture (with the type), download, delete after a confirmation.

import { isAbort, problemMessage } from './api.js';
import { byId, fill, h, message, timeOf } from './dom.js';
import { bytes, duration } from './format.js';

// Dumps carry a SHA-256 once the store records digests; the name is read defensively until then.
const digestOf = (dump) => dump.sha256 ?? dump.digest ?? null;

export class DumpsPanel {
  constructor(api, { onOpen, onDeleted }) {
    this.api = api;
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.dumps = [];
    this.signature = '';
    this.highlight = null;
    this.body = byId('dumps-body');
    this.notice = byId('capture-message');
    this.dialog = byId('confirm-delete');
    byId('capture-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.capture(byId('capture-type').value);
    });
    byId('confirm-cancel').addEventListener('click', () => this.dialog.close('cancel'));
    byId('confirm-ok').addEventListener('click', () => this.dialog.close('delete'));
  }

  clear() {
    this.dumps = [];
    this.signature = '';
    this.highlight = null;
    fill(this.body);
    fill(this.notice);
    fill(byId('confirm-text'));
  }

  /** Lists the dumps; the table is rebuilt only when the list changed, so focus and selection survive a refresh. */
  async reload() {
    const list = await this.api.json('heapdump');
    const signature = JSON.stringify([list.dumps, list.remoteError]);
    if (signature !== this.signature) {
      this.signature = signature;
      this.dumps = list.dumps;
      this.render(list);
    }

    return this.dumps;
  }

  render(list) {
    const remote = list.remoteError ? message('error', `The bucket could not be listed: ${list.remoteError} Only this instance's dumps are shown.`) : null;
    if (!list.dumps.length) {
      fill(this.body, remote, h('p', { class: 'muted' }, 'No dumps yet. Capture one, or let the monitor take one at the threshold.'));
      return;
    }

    const withDigest = list.dumps.some(digestOf);
    fill(this.body, remote, h('table', { class: 'dumps' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Dump'), h('th', { scope: 'col' }, 'Taken'), h('th', { scope: 'col' }, 'Trigger'),
        h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col' }, 'Location'),
        withDigest ? h('th', { scope: 'col' }, 'SHA-256') : null,
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
      h('tbody', null, list.dumps.map((dump) => this.row(dump, withDigest)))));
  }

  row(dump, withDigest) {
    const digest = digestOf(dump);
    return h('tr', { 'data-dump-id': dump.id, class: dump.id === this.highlight ? 'new' : null },
      h('td', null, h('code', { class: 'id' }, dump.id)),
      h('td', null, timeOf(dump.created)),
      h('td', null, dump.trigger === 'auto' ? `automatic #${dump.dumpNumber}` : dump.trigger),
      h('td', null, dump.type),
      h('td', { class: 'num' }, bytes(dump.sizeBytes)),
      h('td', null, dump.location),
      withDigest ? h('td', null, digest ? h('code', { title: digest }, `${digest.slice(0, 12)}…`) : '–') : null,
      h('td', { class: 'actions' },
        h('button', { type: 'button', 'aria-label': `Open dump ${dump.id}`, onclick: () => this.onOpen(dump) }, 'Open'),
        h('button', { type: 'button', 'aria-label': `Download dump ${dump.id}`, onclick: () => this.download(dump) }, 'Download'),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete dump ${dump.id}`, onclick: () => this.remove(dump) }, 'Delete')));
  }

  async capture(type) {
    const button = byId('capture-button');
    button.disabled = true;
    fill(this.notice, message('busy', `Capturing a ${type} dump… The process pauses while the runtime writes it: seconds for a large heap.`));
    try {
      const result = await this.api.json(`heapdump?type=${encodeURIComponent(type)}`, { method: 'POST' });
      this.highlight = result.id;
      fill(this.notice, message('info', 'Captured ', h('code', null, result.id), `: ${bytes(result.sizeBytes)} in ${duration(result.durationMs / 1000)}.`));
      this.signature = '';
      await this.reload();
    } catch (error) {
      this.show(error);
    } finally {
      button.disabled = false;
    }
  }

  async download(dump) {
    const path = `heapdump/${encodeURIComponent(dump.id)}`;
    const name = `heapdump-${dump.id}.dmp`;
    if (!this.api.key) {
      // Signed in by cookie: a plain link, which the browser streams to disk by itself.
      save(this.api.url(path), name);
      return;
    }

    // A header cannot ride on a link, so with a key the dump comes through fetch as a blob (Chromium spills large
    // blobs to disk); curl is lighter for very large dumps.
    fill(this.notice, message('busy', `Downloading ${name} (${bytes(dump.sizeBytes)})…`));
    try {
      const response = await this.api.fetch(path, { accept: 'application/octet-stream' });
      const url = URL.createObjectURL(await response.blob());
      save(url, name);
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      fill(this.notice, message('info', `Downloaded ${name}. For very large dumps, curl is lighter: `,
        h('code', null, `curl -H "X-Api-Key: $KEY" -OJ ${this.api.url(path)}`)));
    } catch (error) {
      this.show(error);
    }
  }

  async remove(dump) {
    fill(byId('confirm-text'), 'Delete dump ', h('code', null, dump.id),
      '? Its file, its diagnostics and its analyses are deleted, here and in the bucket. This cannot be undone.');
    this.dialog.returnValue = '';
    this.dialog.showModal();
    const answer = await new Promise((resolve) => this.dialog.addEventListener('close', () => resolve(this.dialog.returnValue), { once: true }));
    if (answer !== 'delete') return;
    try {
      await this.api.fetch(`heapdump/${encodeURIComponent(dump.id)}`, { method: 'DELETE' });
      fill(this.notice, message('info', 'Deleted ', h('code', null, dump.id), '.'));
      this.onDeleted(dump);
      this.signature = '';
      await this.reload();
    } catch (error) {
      this.show(error);
    }

    byId('capture-button').focus();
  }

  show(error) {
    if (error.status !== 401 && !isAbort(error)) fill(this.notice, problemMessage(error));
  }
}

function save(href, name) {
  h('a', { href, download: name }).click();
}
