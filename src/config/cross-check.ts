/**
 * Checks that span several keys: names and prefixes vs the separator, duplicate
 * prefixes, gateway.servers vs mcpServers, per-server credentials, timeouts.
 * They run on the raw data even when zod found issues (so that all issues are
 * reported at once), and skip values zod already reports.
 */
import { didYouMean, type Report } from './issues.js';
import { SEPARATOR_PATTERN, SERVER_NAME_PATTERN, closestKey } from './schema/index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True unless the first `sep` in `name + sep` is the one appended, i.e. `<name><sep><tool>` splits right. */
function splitsBadly(name: string, sep: string): boolean {
  return (name + sep).indexOf(sep) !== name.length;
}

/** The settings block each kind that acts as the caller with their own token needs, and its required keys. */
const CALLER_TOKEN_KINDS: Record<string, { block: string; keys: string; what: string }> = {
  'token-exchange': { block: 'tokenExchange', keys: '{ tokenEndpoint, clientId, clientSecret }', what: "exchanges the caller's bearer token" },
  'id-jag': { block: 'idJag', keys: '{ idpTokenEndpoint, clientId, upstreamClient }', what: "presents the caller's bearer token to their IdP" },
};

/** A server's `credentials` needs its parts: an HTTP upstream, a key to encrypt users' tokens, a token to exchange. */
function checkCredentials(entry: Obj, own: Obj, gw: Obj, at: string[], add: Report): void {
  const kind = own.credentials;
  const needs = typeof kind === 'string' && Object.hasOwn(CALLER_TOKEN_KINDS, kind) ? CALLER_TOKEN_KINDS[kind] : undefined;
  if (kind !== 'user-oauth' && !needs) return;
  const remote = entry.url !== undefined || entry.type === 'http' || entry.type === 'sse' || entry.type === 'streamable-http';
  if (!remote) add(at, `credentials "${kind}" applies to HTTP upstreams only`, 'remove it, or point the server at a "url"');
  if (kind === 'user-oauth' && !isObj(gw.credentials))
    add(
      at,
      'credentials "user-oauth" needs gateway.credentials (where users\' tokens are kept, encrypted)',
      'add "gateway": { "credentials": { "key": "${SWITCHBOARD_CREDENTIALS_KEY}" } }',
    );
  if (!needs) return;
  if (!isObj(own[needs.block])) add(at, `credentials "${kind}" needs "${needs.block}" ${needs.keys}`, `add "${needs.block}" beside it`);
  const auth = isObj(gw.auth) ? gw.auth : {};
  if (!isObj(auth.jwt)) add(at, `credentials "${kind}" ${needs.what}, so callers must sign in with JWTs`, 'configure gateway.auth.jwt');
}

/** Every cross-key check; `key` is where the servers are ("mcpServers" or VS Code's "servers"). */
export function crossCheck(data: Obj, key: 'mcpServers' | 'servers', add: Report): void {
  const servers = isObj(data[key]) ? (data[key] as Obj) : {};
  const gw = isObj(data.gateway) ? data.gateway : {};
  const settings = isObj(gw.servers) ? gw.servers : {};
  const rawSep = gw.separator ?? '__';
  const sep = typeof rawSep === 'string' && SEPARATOR_PATTERN.test(rawSep) ? rawSep : undefined;
  const max = typeof gw.maxRequestTimeoutMs === 'number' ? gw.maxRequestTimeoutMs : 600000;
  const raiseMax = 'lower it or raise gateway.maxRequestTimeoutMs';

  for (const name of Object.keys(settings)) {
    if (name in servers) continue;
    const fix = didYouMean(closestKey(name, Object.keys(servers)), `add "${name}" to "${key}" or remove this entry`);
    add(['gateway', 'servers', name], `no server named "${name}" in "${key}"`, fix);
  }
  const owners = new Map<string, string>();
  for (const [name, entry] of Object.entries(servers)) {
    if (!isObj(entry)) continue;
    const own = isObj(settings[name]) ? settings[name] : {};
    const ownPath = ['gateway', 'servers', name];
    if (entry.type === undefined && entry.command !== undefined && entry.url !== undefined)
      add([key, name], 'has both "command" and "url"', 'keep one of them, or set "type"');
    if (sep !== undefined && SERVER_NAME_PATTERN.test(name) && splitsBadly(name, sep))
      add(
        [key, name],
        `server name "${name}" clashes with the separator "${sep}": "${name}${sep}tool" would not split unambiguously`,
        'rename the server, or choose another "gateway.separator"',
      );
    checkCredentials(entry, own, gw, [...ownPath, 'credentials'], add);
    const prefix = own.prefix ?? name;
    const validPrefix = typeof prefix === 'string' && (prefix === '' || SERVER_NAME_PATTERN.test(prefix));
    if (sep !== undefined && own.prefix !== undefined && validPrefix && prefix !== '' && splitsBadly(prefix, sep))
      add([...ownPath, 'prefix'], `prefix "${prefix}" clashes with the separator "${sep}"`, 'choose another prefix');
    if (typeof own.timeoutMs === 'number' && own.timeoutMs > max) add([...ownPath, 'timeoutMs'], `exceeds gateway.maxRequestTimeoutMs (${max})`, raiseMax);

    const skipped = entry.url === '' && entry.command === undefined;
    if (!validPrefix || prefix === '' || skipped) continue;
    // Case-insensitive: a resource URI's prefix is part of its scheme.
    const other = owners.get(prefix.toLowerCase());
    if (other === undefined) owners.set(prefix.toLowerCase(), name);
    else
      add(
        own.prefix === undefined ? [key, name] : [...ownPath, 'prefix'],
        `servers "${other}" and "${name}" have the same prefix "${prefix}"`,
        'give one of them another "prefix" in gateway.servers',
      );
  }
  if (typeof gw.requestTimeoutMs === 'number' && gw.requestTimeoutMs > max)
    add(['gateway', 'requestTimeoutMs'], `exceeds gateway.maxRequestTimeoutMs (${max})`, raiseMax);
  const consoleOidc = isObj(gw.console) && isObj(gw.console.oidc);
  if (consoleOidc && !(isObj(gw.auth) && isObj(gw.auth.jwt)))
    add(
      ['gateway', 'console', 'oidc'],
      'signing in to the console through the IdP needs gateway.auth.jwt (its issuer and keys)',
      'configure gateway.auth.jwt, or remove console.oidc',
    );
}
