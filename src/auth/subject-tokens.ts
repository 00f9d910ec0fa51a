/**
 * The bearer JWT each principal last authenticated with, kept in memory only
 * for RFC 8693 token exchange (credentials "token-exchange"): the gateway
 * trades it at the organisation's token endpoint for a token scoped to one
 * upstream. It is never forwarded, logged or written anywhere. Bounded, and
 * an entry is dropped once its token expires. One store per gateway (the
 * gateway owns it and hands it to the authenticator and the credential
 * sources), so two gateways in one process never see each other's tokens.
 */
import { LRUCache } from 'lru-cache';

interface Held {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
}

export class SubjectTokens {
  private readonly held = new LRUCache<string, Held>({ max: 10_000 });

  /** Remembers `token` as the principal's current subject token (called once it has been verified). */
  hold(principalId: string, token: string, expiresAtSec: number | undefined): void {
    const expiresAt = expiresAtSec === undefined ? Date.now() + 5 * 60_000 : expiresAtSec * 1000;
    this.held.set(principalId, { token, expiresAt }, { ttl: Math.max(1, expiresAt - Date.now()) });
  }

  /** The principal's unexpired subject token, if it authenticated with a JWT. */
  of(principalId: string): string | undefined {
    const entry = this.held.get(principalId);
    return entry && entry.expiresAt > Date.now() ? entry.token : undefined;
  }
}
