import { describe, expect, it } from 'vitest';
import {
  BINDING_TTL_S,
  bindingCookie,
  bindingCookieName,
  bindingMatches,
  clearedBindingCookie,
  cookieScope,
  cookieValue,
  isCrossSitePost,
  newBrowserBinding,
} from '../../../src/credentials/browser-binding.js';

const attributesOf = (setCookie: string) =>
  setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim());

describe('browser binding of a sign-in', () => {
  it('makes a random nonce per sign-in and keeps only its hash', () => {
    const a = newBrowserBinding();
    const b = newBrowserBinding();
    expect(a.nonce).toMatch(/^[\w-]{43}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.hash).toHaveLength(32);
    expect(a.hash.toString('base64url')).not.toContain(a.nonce);
  });

  it('accepts the nonce whose hash was kept, and nothing else', () => {
    const { nonce, hash } = newBrowserBinding();
    expect(bindingMatches(hash, nonce)).toBe(true);
    expect(bindingMatches(hash, undefined)).toBe(false);
    expect(bindingMatches(hash, '')).toBe(false);
    expect(bindingMatches(hash, newBrowserBinding().nonce)).toBe(false);
    expect(bindingMatches(hash, `${nonce}x`)).toBe(false);
    expect(bindingMatches(hash, 'short')).toBe(false);
  });

  it('names the cookie after the state: one per sign-in, a cookie-safe token that does not reveal the state', () => {
    const name = bindingCookieName('state-one');
    expect(name).toMatch(/^switchboard_signin_[\w-]{22}$/);
    expect(bindingCookieName('state-one')).toBe(name);
    expect(bindingCookieName('state-two')).not.toBe(name);
    expect(name).not.toContain('state-one');
  });

  it('sets the cookie HttpOnly, SameSite=Lax, on the /oauth path, for the ticket lifetime (at most 10 minutes)', () => {
    expect(BINDING_TTL_S).toBeLessThanOrEqual(600);
    const set = bindingCookie('s', 'nonce-value', cookieScope('http://127.0.0.1:8080', false));
    expect(set.split(';')[0]).toBe(`${bindingCookieName('s')}=nonce-value`);
    expect(attributesOf(set)).toEqual([`Max-Age=${BINDING_TTL_S}`, 'Path=/oauth', 'HttpOnly', 'SameSite=Lax']);
  });

  it('adds Secure when the request came over HTTPS or the public URL is https', () => {
    expect(attributesOf(bindingCookie('s', 'n', cookieScope('http://gw.example', true)))).toContain('Secure');
    expect(attributesOf(bindingCookie('s', 'n', cookieScope('https://gw.example', false)))).toContain('Secure');
    expect(attributesOf(bindingCookie('s', 'n', cookieScope('http://gw.example', false)))).not.toContain('Secure');
  });

  it('scopes the cookie to /oauth under the public URL path (a gateway mounted below a prefix)', () => {
    expect(cookieScope('https://example.com/switchboard/', false).path).toBe('/switchboard/oauth');
    expect(cookieScope('https://example.com', false).path).toBe('/oauth');
  });

  it('clears the same cookie: empty value, Max-Age=0, same path', () => {
    const scope = cookieScope('https://gw.example', false);
    const cleared = clearedBindingCookie('s', scope);
    expect(cleared.split(';')[0]).toBe(`${bindingCookieName('s')}=`);
    expect(attributesOf(cleared)).toEqual(['Max-Age=0', 'Path=/oauth', 'HttpOnly', 'SameSite=Lax', 'Secure']);
  });

  it('reads one cookie out of a Cookie header', () => {
    const header = 'other=1; switchboard_signin_abc=the-nonce ;  quoted="q-value"; empty=';
    expect(cookieValue(header, 'switchboard_signin_abc')).toBe('the-nonce');
    expect(cookieValue(header, 'quoted')).toBe('q-value');
    expect(cookieValue(header, 'empty')).toBe('');
    expect(cookieValue(header, 'switchboard_signin_ab')).toBeUndefined();
    expect(cookieValue(header, 'missing')).toBeUndefined();
    expect(cookieValue(undefined, 'other')).toBeUndefined();
  });
});

describe("the start page's Continue: same-origin POSTs only", () => {
  const publicUrl = 'https://gw.example';

  it("accepts the gateway's own page (by public URL or by the Host it was served on) and non-browser clients", () => {
    expect(isCrossSitePost({ host: 'gw.example', origin: 'https://gw.example', 'sec-fetch-site': 'same-origin' }, publicUrl)).toBe(false);
    expect(isCrossSitePost({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }, publicUrl)).toBe(false);
    expect(isCrossSitePost({ host: 'gw.example' }, publicUrl)).toBe(false);
  });

  it('refuses another site, a sibling on the same host, and opaque origins', () => {
    expect(isCrossSitePost({ host: 'gw.example', 'sec-fetch-site': 'cross-site' }, publicUrl)).toBe(true);
    expect(isCrossSitePost({ host: 'gw.example', 'sec-fetch-site': 'same-site', origin: 'https://evil.gw.example' }, publicUrl)).toBe(true);
    expect(isCrossSitePost({ host: 'gw.example', origin: 'https://evil.example' }, publicUrl)).toBe(true);
    expect(isCrossSitePost({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:3000' }, 'http://127.0.0.1:8080')).toBe(true);
    expect(isCrossSitePost({ host: 'gw.example', origin: 'null' }, publicUrl)).toBe(true);
  });
});
