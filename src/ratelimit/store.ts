/**
 * Token buckets. Capacity = `limit`, refilled continuously at `limit` per
 * `per`. A request takes one token from every bucket that applies, or from
 * none: if any is empty nothing is consumed, and the answer says how long
 * until the emptiest one has a token again. Behind an async interface so a
 * shared store (Redis) can replace the in-memory one for several replicas.
 */
import { LRUCache } from 'lru-cache';
import type { RateLimitSpec } from '../policy/types.js';

export type TakeResult =
  | { ok: true }
  /** `unavailable`: the store could not decide (a shared store is down) and its fail mode refused. */
  | { ok: false; retryAfterMs: number; limit: RateLimitSpec; unavailable?: true };

export interface RateLimitStore {
  /**
   * One token from each bucket `keys[i]` × `limits[i]`, all or nothing.
   * `now` is the caller's clock in ms (Date.now()); the store keeps no clock of its own.
   */
  take(keys: string[], limits: RateLimitSpec[], now: number): Promise<TakeResult>;
  close?(): Promise<void>;
}

export const PER_MS: Readonly<Record<RateLimitSpec['per'], number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** Float slack, so a bucket refilled for exactly `retryAfterMs` counts as holding its token. */
const EPSILON = 1e-9;

interface Bucket {
  tokens: number;
  /** When `tokens` was last computed (caller's clock). */
  at: number;
}

/** The bucket's content at `now`: what it had plus what flowed in since, up to capacity. */
export function refill(bucket: Bucket | undefined, limit: RateLimitSpec, now: number): number {
  if (!bucket) return limit.limit;
  const elapsed = Math.max(0, now - bucket.at);
  return Math.min(limit.limit, bucket.tokens + (elapsed * limit.limit) / PER_MS[limit.per]);
}

/** Ms until a bucket holding `tokens` has one token. */
export function msUntilToken(tokens: number, limit: RateLimitSpec): number {
  return Math.max(1, Math.ceil(((1 - tokens) * PER_MS[limit.per]) / limit.limit - EPSILON));
}

/** A bucket per (key, limit): the same key under `60/minute` and `1000/hour` is two buckets. */
export const bucketId = (key: string, limit: RateLimitSpec): string => `${key}\u0000${limit.limit}/${limit.per}`;

/**
 * The in-memory store: one process's buckets, bounded in number (least
 * recently used ones are dropped first). A bucket expires once it would be
 * full again, since a full bucket and no bucket are the same thing; dropping
 * a non-full bucket early (over `maxKeys`) only errs towards allowing.
 */
const MIN_TTL_MS = 60_000;

export class MemoryRateLimitStore implements RateLimitStore {
  private clock = 0;
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(opts: { maxKeys?: number } = {}) {
    this.buckets = new LRUCache<string, Bucket>({
      max: opts.maxKeys ?? 100_000,
      // Expiry runs on the callers' clock (the `now` they pass), not on the
      // wall clock: the two agree in production and tests can fake time.
      perf: { now: () => this.clock },
      // No timer-based caching of the clock (it would need a real setTimeout).
      ttlResolution: 0,
    });
  }

  /** How many live buckets are held (for tests and metrics; drops expired ones first, O(n)). */
  get size(): number {
    this.buckets.purgeStale();
    return this.buckets.size;
  }

  async take(keys: string[], limits: RateLimitSpec[], now: number): Promise<TakeResult> {
    if (keys.length !== limits.length) throw new RangeError('take: keys and limits must have the same length');
    this.clock = Math.max(this.clock, now);
    const ids = keys.map((key, i) => bucketId(key, limits[i]!));
    const levels = ids.map((id, i) => refill(this.buckets.get(id), limits[i]!, now));
    // Check every bucket before touching any: a refused request spends nothing.
    let refused: { retryAfterMs: number; limit: RateLimitSpec } | undefined;
    levels.forEach((tokens, i) => {
      if (tokens + EPSILON >= 1) return;
      const retryAfterMs = msUntilToken(tokens, limits[i]!);
      if (!refused || retryAfterMs > refused.retryAfterMs) refused = { retryAfterMs, limit: limits[i]! };
    });
    if (refused) return { ok: false, ...refused };
    ids.forEach((id, i) => {
      const limit = limits[i]!;
      const tokens = Math.max(0, levels[i]! - 1);
      // Held at least a minute: refill() treats an old bucket as full anyway, and a
      // TTL of a few milliseconds would make nearly every take() evict (and, with
      // one key, clear the whole cache's arrays) only to recreate the bucket.
      const ttl = Math.max(MIN_TTL_MS, Math.ceil(((limit.limit - tokens) * PER_MS[limit.per]) / limit.limit));
      this.buckets.set(id, { tokens, at: now }, { ttl });
    });
    return { ok: true };
  }
}
