/**
 * The console's JSON API, relative to where the page is mounted:
 * /console/ (or /console) → /console/api. The CSRF token lives in memory only.
 */
export const API_BASE = `${location.pathname.replace(/\/+$/, '')}/api`;

let csrf = '';
let role = '';
let unauthorized = () => {};

/** Keeps what the page needs of the session (null when signed out): its CSRF token and role. */
export function setSession(session) {
  csrf = typeof session?.csrf === 'string' ? session.csrf : '';
  role = typeof session?.role === 'string' ? session.role : '';
}

export const isAdmin = () => role === 'admin';

/** Called with the ApiError when a request answers 401 (the session ended), unless the request was made with `quiet`. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export class ApiError extends Error {
  /** `data`: the error answer's JSON body, when it had one (a 401 from GET session says `oidc: true|false`). */
  constructor(status, message, data = null) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

export const apiUrl = (path) => `${API_BASE}/${path}`;

/** Resolves to the JSON answer (null for 204); rejects with an ApiError carrying the server's `error` message. */
export async function api(path, { method = 'GET', body, quiet = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The gateway cannot be reached.');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    // Not JSON (a proxy's error page, say): the status says enough.
  }
  if (!res.ok) {
    const message = data && typeof data.error === 'string' ? data.error : `${res.status} ${res.statusText}`.trim();
    const error = new ApiError(res.status, message, data);
    if (res.status === 401 && !quiet) unauthorized(error);
    throw error;
  }
  return data;
}
