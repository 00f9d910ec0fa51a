/**
 * A short-lived in-process cache in front of a credential store. A call to a
 * `user-oauth` server reads the caller's credential twice (the pipeline's
 * credentials stage, then the connection asking for its token): with the
 * Redis store that was two round trips and two decryptions per call. The
 * cache serves the second, and coalesces concurrent reads of one key.
 *
 * What this process writes or deletes is seen at once. What another replica
 * writes is seen within `ttlMs` (1 s): a token refreshed elsewhere is used a
 * moment later (the old one is still valid: refreshes happen before expiry),
 * and a revocation elsewhere takes up to a second here. An absent credential
 * is never cached, so a sign-in completed on another replica counts at once.
 */
import { LRUCache } from 'lru-cache';
import type { CredentialStore, CredentialStoreHealth, CredentialSummary, UserCredential } from '../store.js';

export class CachedCredentialStore implements CredentialStore {
  private readonly cache: LRUCache<string, UserCredential>;
  private readonly reading = new Map<string, Promise<UserCredential | undefined>>();

  constructor(
    private readonly store: CredentialStore,
    ttlMs = 1_000,
    max = 10_000,
  ) {
    this.cache = new LRUCache({ max, ttl: ttlMs });
  }

  health(): CredentialStoreHealth {
    return this.store.health();
  }

  async get(principal: string, server: string): Promise<UserCredential | undefined> {
    const key = keyOf(principal, server);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let read = this.reading.get(key);
    if (!read) {
      read = this.store.get(principal, server).then((credential) => {
        // A write or delete while the read was under way wins over what it read.
        if (credential && this.reading.get(key) === read) this.cache.set(key, credential);
        return credential;
      });
      read.finally(() => this.reading.get(key) === read && this.reading.delete(key)).catch(() => {});
      this.reading.set(key, read);
    }
    return read;
  }

  async put(credential: UserCredential): Promise<void> {
    const key = keyOf(credential.principal, credential.server);
    this.reading.delete(key);
    this.cache.delete(key);
    await this.store.put(credential);
    this.cache.set(key, credential);
  }

  async delete(principal: string, server: string): Promise<boolean> {
    const key = keyOf(principal, server);
    this.reading.delete(key);
    this.cache.delete(key);
    return this.store.delete(principal, server);
  }

  list(principal?: string): Promise<CredentialSummary[]> {
    return this.store.list(principal);
  }

  close(): Promise<void> {
    this.cache.clear();
    return this.store.close();
  }
}

function keyOf(principal: string, server: string): string {
  return `${principal}\u0000${server}`;
}
