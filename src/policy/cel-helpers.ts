/**
 * The helper functions policies call on arguments: `path.within`,
 * `path.normalize`, `url.host`, `url.scheme`. Plain functions here; cel.ts
 * registers them (one namespace constant each, the way the library declares
 * `cel.bind`).
 *
 * Each throws on input it cannot judge (not a string, not a URL), so the
 * condition errors, and an erroring deny or require denies (fail closed). Error
 * messages never repeat the input: they reach the caller and the logs.
 */

/** A value's kind for an error message, without its content. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

function text(fn: string, what: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: the ${what} must be a string, not ${kindOf(value)}`);
  return value;
}

/**
 * `p` as an absolute POSIX path: relative to `/`, empty and `.` segments
 * dropped, `..` removes the segment before it (and stays at `/`). With
 * `backslash` a `\` is a separator too; without, an ordinary character.
 * No percent-decoding: `%2e%2e` is a name, not `..`.
 */
function resolve(p: string, backslash: boolean): string {
  const out: string[] = [];
  for (const segment of (backslash ? p.replaceAll('\\', '/') : p).split('/')) {
    if (segment === '..') out.pop();
    else if (segment !== '' && segment !== '.') out.push(segment);
  }
  return `/${out.join('/')}`;
}

const inside = (p: string, root: string): boolean => p === root || p.startsWith(root === '/' ? '/' : `${root}/`);

/** `path.normalize(p)`: `p` resolved as above, `\` read as `/`. Throws on a NUL byte. */
export function normalizePath(p: unknown): string {
  const s = text('path.normalize', 'path', p);
  if (s.includes('\0')) throw new Error('path.normalize: the path contains a NUL byte');
  return resolve(s, true);
}

/**
 * `path.within(p, root)`: whether `p` is `root` or below it, both resolved as
 * above. A `\` counts as a separator (so `..\` climbs) and, in addition, `p`
 * must also be within `root` when `\` is an ordinary character: a POSIX
 * server reads `/srv/data\x` as the file `data\x` in `/srv`, so that is not
 * within `/srv/data` (nor is `\srv\data\x`). A NUL byte in either → false; an
 * empty root throws (it would otherwise mean `/`, everything).
 */
export function pathWithin(p: unknown, root: unknown): boolean {
  const s = text('path.within', 'path', p);
  const r = text('path.within', 'root', root);
  if (r === '') throw new Error('path.within: the root is empty');
  if (s.includes('\0') || r.includes('\0')) return false;
  return inside(resolve(s, true), resolve(r, true)) && inside(resolve(s, false), resolve(r, false));
}

const WEB_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:']);

function parseUrl(fn: string, u: unknown): URL {
  const s = text(fn, 'URL', u);
  try {
    return new URL(s);
  } catch {
    throw new Error(`${fn}: not an absolute URL`);
  }
}

/**
 * `url.host(u)`: the host of an http, https, ws or wss URL as WHATWG URL
 * parsing (`new URL`, what `fetch` uses) finds it: lowercased, percent-decoded,
 * IDN as punycode, IPv4 in dotted decimal, IPv6 in brackets (`[::1]`), no
 * port, no userinfo (`https://a.com@evil.com/` → `evil.com`). One trailing
 * dot (the DNS root) is removed, so `evil.com.` is `evil.com`. Throws for
 * anything else.
 */
export function urlHost(u: unknown): string {
  const url = parseUrl('url.host', u);
  if (!WEB_SCHEMES.has(url.protocol)) throw new Error('url.host: not an http, https, ws or wss URL');
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  if (host === '') throw new Error('url.host: the URL has no host');
  return host;
}

/** `url.scheme(u)`: the lowercased scheme of any absolute URL, without `:` (`https`, `file`, `javascript`). Throws if `u` is not one. */
export function urlScheme(u: unknown): string {
  return parseUrl('url.scheme', u).protocol.slice(0, -1);
}

/** Namespace → CEL signature (without the namespace) → implementation. cel.ts registers these. */
export const CEL_HELPERS: Record<string, Record<string, (...args: unknown[]) => unknown>> = {
  path: {
    'within(string, string): bool': (p, root) => pathWithin(p, root),
    'normalize(string): string': (p) => normalizePath(p),
  },
  url: {
    'host(string): string': (u) => urlHost(u),
    'scheme(string): string': (u) => urlScheme(u),
  },
};
