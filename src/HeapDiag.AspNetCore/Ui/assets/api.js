// The page's only way to the server: same-origin requests to the diagnostics routes, with the API key from
// sessionStorage (gone when the tab closes) or, without one, the app's own sign-in cookie.

import { h, message } from './dom.js';
import { duration } from './format.js';

const keyName = 'heapdiag.apiKey';

/** A non-2xx answer. problem is the RFC 9457 body when the server sent one. */
export class ApiError extends Error {
  constructor(status, problem, isProblem, retryAfter) {
    super(problem?.detail ?? problem?.title ?? `The server answered ${status}.`);
    this.status = status;
    this.problem = problem;
    this.isProblem = isProblem;
    this.retryAfter = retryAfter;
  }
}

export class Api {
  /** base: the URL of the routes ({prefix}/); onUnauthorized: called on every 401. */
  constructor(base, onUnauthorized) {
    this.base = base;
    this.onUnauthorized = onUnauthorized;
  }

  get key() {
    return sessionStorage.getItem(keyName);
  }

  setKey(key) {
    sessionStorage.setItem(keyName, key);
  }

  forgetKey() {
    sessionStorage.removeItem(keyName);
  }

  url(path) {
    return new URL(path, this.base).toString();
  }

  /** The response of a 2xx answer; throws ApiError otherwise. */
  async fetch(path, { method = 'GET', accept = 'application/json', signal } = {}) {
    const headers = { Accept: accept };
    const key = this.key;
    if (key) headers['X-Api-Key'] = key;
    const response = await fetch(this.url(path), { method, headers, signal, credentials: 'same-origin', cache: 'no-store' });
    if (response.ok) return response;

    const type = response.headers.get('Content-Type') ?? '';
    const problem = type.includes('json') ? await response.json().catch(() => null) : null;
    const error = new ApiError(response.status, problem, type.includes('application/problem+json'), response.headers.get('Retry-After'));
    if (response.status === 401) this.onUnauthorized(error);
    throw error;
  }

  async json(path, options) {
    const response = await this.fetch(path, options);
    return response.status === 204 ? null : response.json();
  }
}

/** An error as the page shows it: the problem's title and detail, its fix, when to retry. */
export function problemMessage(error) {
  if (!(error instanceof ApiError)) {
    return message('error', h('strong', null, 'The server could not be reached. '), error.message);
  }

  const problem = error.problem ?? {};
  const detail = problem.detail ?? error.message;
  const fix = problem.fix && !detail.includes(problem.fix) ? problem.fix : null;
  return message('error',
    h('strong', null, `${problem.title ?? 'Request failed'} (${error.status}). `), detail,
    fix ? h('p', null, h('strong', null, 'Fix: '), fix) : null,
    error.retryAfter ? h('p', null, `Try again in ${duration(Number(error.retryAfter))}.`) : null);
}

/** True when a request was abandoned on purpose (another dump opened, the key forgotten). */
export const isAbort = (error) => error?.name === 'AbortError';
