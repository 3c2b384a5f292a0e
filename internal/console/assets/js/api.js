// The admin API client. The console holds no authority: every call carries the bearer token
// the user typed, and the API decides what it may do. The token lives in this tab's
// sessionStorage (same origin, this tab only, gone when the tab closes), never in a URL or a
// cookie, so no other site can make the browser send it (nothing for CSRF to ride on).

const KEY = 'keygate.console.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}

export class APIError extends Error {
  constructor(status, kind, message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

// call sends one admin API request. body: an object (sent as JSON) or a string (sent as is).
// Returns {data (parsed JSON or null), text, headers}.
export async function call(method, path, body, contentType) {
  const headers = { Authorization: 'Bearer ' + token() };
  let payload;
  if (typeof body === 'string') {
    payload = body;
    headers['Content-Type'] = contentType || 'text/plain';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  const resp = await fetch(path, {
    method, headers, body: payload,
    credentials: 'omit', cache: 'no-store', redirect: 'error', referrerPolicy: 'no-referrer',
  });
  const text = await resp.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* a raw dry-run output */ }
  if (!resp.ok) {
    const e = data && data.error;
    throw new APIError(resp.status, (e && e.kind) || '', (e && e.message) || text || resp.statusText);
  }
  return { data, text, headers: resp.headers };
}

export const get = (path) => call('GET', path);

// q builds a query string from an object, skipping empty values.
export function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}
