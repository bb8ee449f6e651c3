/* The JSON API as the page sees it: bearer token, time-outs, one error type. */
import './db.js';
import './outbox.js';

const core = globalThis.doorstepCore;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.errors = (body && body.errors) || {};
    this.body = body;
  }
}

/* Thrown when the request never got an answer (offline, time-out): callers fall back to stored data. */
export class NetworkError extends Error {
  constructor(cause) {
    super(cause && cause.name === 'AbortError' ? 'timeout' : 'network');
    this.cause = cause;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function request(path, { method = 'GET', body, timeoutMs = 15000, token } = {}) {
  const session = token === undefined ? await core.kvGet('session') : { token };
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session && session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await core.fetchWithTimeout(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store',
    }, timeoutMs);
  } catch (err) {
    throw new NetworkError(err);
  }
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    if (response.status === 401 && session && session.token) onUnauthorized();
    throw new ApiError(response.status, data);
  }
  return data;
}

/* The object handed to other views (office console, push): small on purpose. */
export const api = {
  get: (path, opts) => request(path, Object.assign({}, opts, { method: 'GET' })),
  post: (path, body, opts) => request(path, Object.assign({}, opts, { method: 'POST', body })),
  patch: (path, body, opts) => request(path, Object.assign({}, opts, { method: 'PATCH', body })),
  del: (path, opts) => request(path, Object.assign({}, opts, { method: 'DELETE' })),
  request,
};
