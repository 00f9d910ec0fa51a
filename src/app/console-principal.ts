/**
 * The principal the console's catalog is shown for: an id with groups and
 * scopes typed in, or a JWT's claims pasted in, mapped exactly as a verified
 * token's claims are (gateway.auth.jwt.claims). The claims are not verified:
 * they only say what such a token would see.
 */
import { claimMapping, principalFromClaims } from '../auth/jwt-claims.js';
import type { JwtSettings } from '../config/schema/index.js';
import { principalFromInput } from '../core/principal-input.js';
import type { Principal } from '../core/principal.js';

/** Pasted claims larger than this are refused (a token's claims are a few KB). */
const MAX_CLAIMS_BYTES = 16 * 1024;

/** The principal a catalog query names, undefined for none; a query it cannot use throws a message for a 400. */
export function consolePrincipal(query: Record<string, unknown>, jwt: JwtSettings | undefined): Principal | undefined {
  if (typeof query.claims === 'string' && query.claims !== '') return fromClaims(query.claims, jwt);
  if (typeof query.principal !== 'string' || query.principal === '') return undefined;
  const list = (key: string) => (typeof query[key] === 'string' && query[key] !== '' ? (query[key] as string).split(',').map((s) => s.trim()) : []);
  const who = principalFromInput({ id: query.principal, groups: list('groups'), scopes: list('scopes') });
  if (!who.ok) throw new Error(`principal: ${who.message}`);
  return who.principal;
}

function fromClaims(text: string, jwt: JwtSettings | undefined): Principal {
  if (!jwt) throw new Error('claims: this gateway accepts no JWTs (gateway.auth.jwt is not set); name a principal instead');
  if (Buffer.byteLength(text) > MAX_CLAIMS_BYTES) throw new Error(`claims: larger than ${MAX_CLAIMS_BYTES} bytes`);
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch {
    throw new Error('claims: not JSON (paste the token\'s payload, e.g. { "sub": "alice", "scope": "tools.read" })');
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('claims: a JSON object is needed');
  const { iss } = claims as { iss?: unknown };
  if (iss !== undefined && iss !== jwt.issuer)
    throw new Error(`claims: iss is ${JSON.stringify(iss)}, but this gateway accepts tokens from ${jwt.issuer} only`);
  try {
    return principalFromClaims(claims as Record<string, unknown>, claimMapping(jwt));
  } catch (err) {
    throw new Error(`claims: ${(err as Error).message}`);
  }
}
