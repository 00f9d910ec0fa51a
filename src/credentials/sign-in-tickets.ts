/**
 * Where a sign-in waits between its steps: the one-time tickets of sign-in
 * links, and the authorization requests in flight. Both live in this
 * process only (a link works on the replica that issued it), in one bounded
 * store shared by every principal.
 *
 * The global bound alone would let one caller who mints links in a loop
 * evict everyone else's: so each principal also holds at most a few entries,
 * and a new one drops the oldest of *that principal* only.
 */
import { LRUCache } from 'lru-cache';

export interface PerPrincipalStoreOptions {
  /** Entries in all (the memory bound). */
  max: number;
  /** Entries one principal may hold; their oldest goes first. */
  perPrincipal: number;
  ttlMs: number;
  /** The clock ages are read from, in milliseconds (default `performance.now`). */
  now?: () => number;
}

export class PerPrincipalStore<V extends { principal: string }> {
  private readonly entries: LRUCache<string, V>;
  /**
   * Each principal's keys, oldest first. Kept in step with `entries` by its
   * dispose hook (delete, eviction, expiry), so it never outgrows it.
   */
  private readonly byPrincipal = new Map<string, string[]>();

  constructor(private readonly options: PerPrincipalStoreOptions) {
    if (options.perPrincipal < 1) throw new Error('perPrincipal must be at least 1');
    this.entries = new LRUCache<string, V>({
      max: options.max,
      ttl: options.ttlMs,
      // An injected clock is read at every check (lru-cache otherwise reuses a reading for 1 ms, on a timer).
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
      dispose: (value, key) => this.unindex(value.principal, key),
    });
  }

  set(key: string, value: V): void {
    const keys = this.byPrincipal.get(value.principal);
    // Expired entries are still in `keys` until the cache lets them go; they are the oldest, so they go first.
    while (keys && keys.length >= this.options.perPrincipal) {
      const oldest = keys[0]!;
      // delete() unindexes through dispose; unindex anyway, so a key the cache no longer has cannot stall the loop.
      if (!this.entries.delete(oldest)) this.unindex(value.principal, oldest);
    }
    this.entries.set(key, value);
    const now = this.byPrincipal.get(value.principal);
    if (now) now.push(key);
    else this.byPrincipal.set(value.principal, [key]);
  }

  /** The entry, left in place (undefined once expired). */
  peek(key: string): V | undefined {
    return this.entries.peek(key);
  }

  /** The entry, removed: each is used once. */
  take(key: string): V | undefined {
    const value = this.entries.get(key);
    this.entries.delete(key);
    return value;
  }

  /** How many entries `principal` holds (expired ones not yet let go included). */
  countFor(principal: string): number {
    return this.byPrincipal.get(principal)?.length ?? 0;
  }

  private unindex(principal: string, key: string): void {
    const keys = this.byPrincipal.get(principal);
    if (!keys) return;
    const at = keys.indexOf(key);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length === 0) this.byPrincipal.delete(principal);
  }
}
