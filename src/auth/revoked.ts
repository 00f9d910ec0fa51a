/**
 * Which callers a reloaded `gateway.auth` no longer accepts, so that the
 * sessions they opened end with the reload. The authenticator itself is
 * rebuilt, so their next request is refused anyway; an open session is a
 * standing grant (its SSE stream, its upstream connections and children),
 * and it should not outlive the credential that opened it.
 */
import type { AuthSettings } from '../config/schema/index.js';
import type { Principal } from '../core/principal.js';

/** True for a principal whose credential `before` accepted and `after` does not. */
export function revokedBy(before: AuthSettings, after: AuthSettings): (principal: Principal) => boolean {
  // An API key is gone when its id is, or when its hash changed (the old key no longer works).
  const keptKeys = new Set(after.apiKeys.map((k) => `${k.id}\u0000${k.sha256.toLowerCase()}`));
  const goneKeys = new Set(before.apiKeys.filter((k) => !keptKeys.has(`${k.id}\u0000${k.sha256.toLowerCase()}`)).map((k) => k.id));
  const jwtChanged = trustOf(before.jwt) !== trustOf(after.jwt);
  const anonymousRefused = !requiredBy(before) && requiredBy(after);
  return (principal) => {
    switch (principal.kind) {
      case 'apikey':
        return goneKeys.has(principal.subject);
      case 'jwt':
        return jwtChanged;
      case 'anonymous':
        return anonymousRefused;
      default:
        // The stdio principal is not an HTTP credential: a reload does not change it.
        return false;
    }
  };
}

/**
 * What decides which tokens are accepted and whose they are. Cache timings,
 * advertised scopes and the scope/group claim names are left out: a change to
 * those changes no identity (groups and scopes are read per request).
 */
function trustOf(jwt: AuthSettings['jwt']): string {
  if (!jwt) return 'none';
  const { issuer, audience, jwksUri, publicKeys, algorithms, claims } = jwt;
  return JSON.stringify([issuer, audience, jwksUri, publicKeys, algorithms, claims.id]);
}

/** Whether a credential is required (auth/http.ts: explicitly, or because some credential is configured). */
function requiredBy(settings: AuthSettings): boolean {
  return settings.required ?? (settings.apiKeys.length > 0 || settings.jwt !== undefined);
}
