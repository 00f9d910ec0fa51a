/**
 * A verified token's claims as a Principal. Which claims hold the id, the
 * scopes and the groups is configured (`gateway.auth.jwt.claims`); the id is
 * `jwt:<configured issuer>#<id claim>` (see core/principal.ts).
 */
import type { JwtSettings } from '../config/schema/index.js';
import { jwtPrincipal, type Principal } from '../core/principal.js';
import { jwtFailure } from './jwt-failure.js';

/** Where a principal's parts are read from, fixed per verifier. */
export interface ClaimMapping {
  issuer: string;
  idClaim: string;
  scopeClaims: string[];
  groupClaims: string[];
}

export function claimMapping(settings: JwtSettings): ClaimMapping {
  return { issuer: settings.issuer, idClaim: settings.claims.id, scopeClaims: listOf(settings.claims.scopes), groupClaims: listOf(settings.claims.groups) };
}

/** Only called once `iss` has been checked to be the configured issuer, so the id can name that issuer. */
export function principalFromClaims(claims: Record<string, unknown>, mapping: ClaimMapping): Principal {
  const rawId = claimAt(claims, mapping.idClaim);
  const id = typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : rawId;
  if (typeof id !== 'string' || id === '') throw jwtFailure('invalid', `Token has no usable "${mapping.idClaim}" claim`);
  const scopes = new Set<string>();
  for (const name of mapping.scopeClaims) for (const s of stringsOf(claimAt(claims, name), true)) scopes.add(s);
  const groups = new Set<string>();
  for (const name of mapping.groupClaims) for (const g of stringsOf(claimAt(claims, name), false)) groups.add(g);
  return jwtPrincipal(mapping.issuer, id, { scopes: [...scopes], groups: [...groups], claims });
}

/** A claim by exact name (`https://example.com/groups` is one name), else by dotted path (`realm_access.roles`). */
function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  if (!name.includes('.')) return undefined;
  let value: unknown = claims;
  for (const segment of name.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** Scopes: a space-separated string (`scope`) or an array (`scp`). Groups: an array, or one group as a string. */
function stringsOf(value: unknown, split: boolean): string[] {
  if (typeof value === 'string') return split ? value.split(/\s+/).filter(Boolean) : value ? [value] : [];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

function listOf(value: string | string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}
