/**
 * JWTs already verified, so a client that sends the same token with every
 * request pays for its signature once, not per request (an ES256 or RS256
 * verification is most of what a JWT costs the gateway per call).
 *
 * Keyed by the token's SHA-256, never the token. An entry is used only
 * before the token's own `exp` (stricter than the verification, which allows
 * the clock tolerance), at most VERIFIED_TTL_MS after it was verified (a key
 * the issuer withdrew stops being trusted within that time), and only for the
 * audience it was verified for. Failures are not kept: a bad token is checked
 * again, and fails again, every time. Bounded: the least recently used go.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../core/principal.js';

export const VERIFIED_TTL_MS = 60_000;
const MAX_TOKENS = 10_000;

interface Verified {
  principal: Principal;
  audience: string;
  /** Epoch ms: the token's exp, or sooner. */
  until: number;
}

export class VerifiedTokens {
  private readonly cache = new LRUCache<string, Verified>({ max: MAX_TOKENS });

  /** The principal `token` was verified as, for `audience`, while still valid. */
  get(token: string, audience: string | readonly string[]): Principal | undefined {
    const key = digest(token);
    const hit = this.cache.get(key);
    if (!hit) return undefined;
    if (Date.now() >= hit.until || hit.audience !== audienceKey(audience)) {
      this.cache.delete(key);
      return undefined;
    }
    return hit.principal;
  }

  /** Keeps a token that just verified as `principal` (whose claims hold its `exp`). */
  set(token: string, audience: string | readonly string[], principal: Principal): void {
    const exp = principal.claims.exp;
    if (typeof exp !== 'number') return;
    const until = Math.min(exp * 1000, Date.now() + VERIFIED_TTL_MS);
    if (until > Date.now()) this.cache.set(digest(token), { principal, audience: audienceKey(audience), until });
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

function audienceKey(audience: string | readonly string[]): string {
  return typeof audience === 'string' ? audience : audience.join('\n');
}
