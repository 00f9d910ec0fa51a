/**
 * The bearer JWT each principal last authenticated with, kept in memory only
 * for RFC 8693 token exchange (credentials "token-exchange"): the gateway
 * trades it at the organisation's token endpoint for a token scoped to one
 * upstream. It is never forwarded, logged or written anywhere. Bounded, and
 * an entry is dropped once its token expires.
 */
import { LRUCache } from 'lru-cache';

interface Held {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
}

const held = new LRUCache<string, Held>({ max: 10_000 });

/** Remembers `token` as the principal's current subject token (called once it has been verified). */
export function holdSubjectToken(principalId: string, token: string, expiresAtSec: number | undefined): void {
  const expiresAt = expiresAtSec === undefined ? Date.now() + 5 * 60_000 : expiresAtSec * 1000;
  held.set(principalId, { token, expiresAt }, { ttl: Math.max(1, expiresAt - Date.now()) });
}

/** The principal's unexpired subject token, if it authenticated with a JWT. */
export function subjectTokenOf(principalId: string): string | undefined {
  const entry = held.get(principalId);
  return entry && entry.expiresAt > Date.now() ? entry.token : undefined;
}
