// Numbers for people: binary megabytes and gigabytes (as the monitor's MB/h), percentages, relative times.

const counts = new Intl.NumberFormat();
const KB = 1024;
const MB = KB * 1024;
const GB = MB * 1024;

export const count = (value) => (value == null ? '–' : counts.format(value));

export function bytes(value) {
  if (value == null) return '–';
  const size = Math.abs(value);
  if (size >= GB) return `${decimal(value / GB, size >= 100 * GB ? 0 : 2)} GB`;
  if (size >= MB) return `${decimal(value / MB, size >= 100 * MB ? 0 : 1)} MB`;
  if (size >= KB) return `${decimal(value / KB, 0)} KB`;
  return `${value} B`;
}

/** +12 MB, −3.4 GB, ±0 B: a change. */
export const signedBytes = (value) => `${sign(value)}${bytes(Math.abs(value))}`;

export const signedCount = (value) => `${sign(value)}${count(Math.abs(value))}`;

/** A value already in percent. */
export const percent = (value, digits = 0) => (value == null ? '–' : `${decimal(value, digits)} %`);

/** 45 s, 6 min, 2 h 5 min, 3 d. */
export function duration(seconds) {
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.round(s / 86400)} d`;
}

/** "just now", "5 min ago", "in 40 min". */
export function ago(time, now = Date.now()) {
  const seconds = (now - new Date(time).getTime()) / 1000;
  if (Math.abs(seconds) < 5) return 'just now';
  return seconds > 0 ? `${duration(seconds)} ago` : `in ${duration(seconds)}`;
}

export const dateTime = (time) => new Date(time).toLocaleString();

export const clock = (time) => new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** +350 MB/h. */
export const perHour = (mbPerHour) => `${signedBytes(mbPerHour * MB)}/h`;

function decimal(value, digits) {
  return value.toLocaleString(undefined, { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

function sign(value) {
  return value > 0 ? '+' : value < 0 ? '−' : '±';
}
