/**
 * Binds a sign-in's authorization request to the browser that started it.
 *
 * Without it, the `state` of an authorization request only says which
 * principal it is for: an attacker could start a sign-in, send the
 * authorization server's URL to a victim, and the victim's upstream account
 * would be linked to the attacker's gateway identity (login CSRF,
 * account-linking confusion). So the start of the flow sets a short-lived
 * HttpOnly cookie holding a random value, the request in flight keeps only
 * its hash, and the callback must present the cookie.
 *
 * The cookie's name is derived from the request's `state`, so sign-ins to
 * several servers in one browser at once do not overwrite each other's.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The cookie's lifetime: as long as the authorization request it binds. */
export const BINDING_TTL_S = 600;
const COOKIE_PREFIX = 'switchboard_signin_';

export interface BrowserBinding {
  /** Goes to the browser in the cookie, nowhere else. */
  nonce: string;
  /** Kept with the request in flight. */
  hash: Buffer;
}

export interface CookieScope {
  /** `/oauth` under the public URL's path, where both legs of the sign-in are served. */
  path: string;
  secure: boolean;
}

export function newBrowserBinding(): BrowserBinding {
  const nonce = randomBytes(32).toString('base64url');
  return { nonce, hash: sha256(nonce) };
}

/** The binding cookie's name for the authorization request with this `state`. */
export function bindingCookieName(state: string): string {
  return COOKIE_PREFIX + sha256(state).toString('base64url').slice(0, 22);
}

/**
 * Where the cookie applies. `Secure` when the browser reached the gateway
 * over HTTPS, or when the public URL the links use is https (TLS ended by a
 * proxy in front: the gateway itself then sees plain HTTP).
 */
export function cookieScope(publicUrl: string, requestSecure: boolean): CookieScope {
  const url = new URL(publicUrl);
  return { path: `${url.pathname.replace(/\/+$/, '')}/oauth`, secure: requestSecure || url.protocol === 'https:' };
}

/** The `Set-Cookie` value that binds the request with `state` to this browser. */
export function bindingCookie(state: string, nonce: string, scope: CookieScope): string {
  return cookie(bindingCookieName(state), nonce, BINDING_TTL_S, scope);
}

/** The `Set-Cookie` value that removes it (after the callback, whatever its outcome). */
export function clearedBindingCookie(state: string, scope: CookieScope): string {
  return cookie(bindingCookieName(state), '', 0, scope);
}

/** The value of cookie `name` in a `Cookie` request header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

/** Whether the presented cookie value is the one whose hash was kept (constant time). */
export function bindingMatches(expectedHash: Buffer, presented: string | undefined): boolean {
  if (presented === undefined || presented === '') return false;
  // Both sides are SHA-256 digests: equal lengths, and the comparison leaks nothing about the nonce.
  return timingSafeEqual(sha256(presented), expectedHash);
}

/**
 * Whether a POST that starts a sign-in comes from somewhere other than the
 * gateway's own page. A form on another site could otherwise press
 * "Continue" for the victim, and the victim's browser would get the cookie.
 * Browsers send `Sec-Fetch-Site` and/or `Origin` with every form POST; a
 * request with neither is not a browser's, so no browser is being misled.
 */
export function isCrossSitePost(headers: IncomingHttpHeaders, publicUrl: string): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return true;
  const origin = headers.origin;
  if (origin === undefined) return false;
  let from: URL;
  try {
    from = new URL(origin);
  } catch {
    return true; // includes the opaque "null" origin
  }
  return from.origin !== new URL(publicUrl).origin && from.host !== (headers.host ?? '').toLowerCase();
}

function cookie(name: string, value: string, maxAgeS: number, scope: CookieScope): string {
  return `${name}=${value}; Max-Age=${maxAgeS}; Path=${scope.path}; HttpOnly; SameSite=Lax${scope.secure ? '; Secure' : ''}`;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
