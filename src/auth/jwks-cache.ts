/**
 * The cached remote key set behind `jwksUri`. It is refetched when older
 * than its max age, and on an unknown `kid` at most once per cooldown
 * (concurrent requests share one fetch). A failed fetch keeps the last good
 * key set, and is not retried for a short backoff. Generic over what a key
 * set is, so the jose types stay in jwt.ts.
 */
import { jwtFailure } from './jwt-failure.js';

export interface RemoteKeyTiming {
  maxAgeMs: number;
  cooldownMs: number;
  /** After a failed fetch, no new attempt for this long. */
  backoffMs: number;
  now: () => number;
}

export class RemoteKeySet<S> {
  private set: S | undefined;
  private fetchedAt = -Infinity;
  private failedAt = -Infinity;
  private kidRefetchAt = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly load: () => Promise<S>,
    private readonly timing: RemoteKeyTiming,
  ) {}

  /** The keys `select` finds in the set, refetching it once (within the cooldown) when it finds none. */
  async candidates<K>(select: (set: S) => Promise<K[]>): Promise<K[]> {
    const fetchedNow = await this.ensureFresh();
    const keys = await select(this.set!);
    if (keys.length > 0) return keys;
    // Unknown key: the issuer may have rotated. Join a fetch under way, or start one
    // unless this request has just fetched or one was triggered within the cooldown.
    if (this.pending) {
      await this.pending.catch(() => {});
      return select(this.set!);
    }
    const now = this.timing.now;
    if (fetchedNow || now() - this.kidRefetchAt < this.timing.cooldownMs) return [];
    this.kidRefetchAt = now();
    try {
      await this.refresh();
    } catch (err) {
      throw jwtFailure('unavailable', "The token issuer's keys are unavailable", err);
    }
    return select(this.set!);
  }

  /** Makes sure a key set is loaded and, if possible, not older than the max age. True if this call fetched it. */
  private async ensureFresh(): Promise<boolean> {
    const now = this.timing.now;
    if (this.set && now() - this.fetchedAt < this.timing.maxAgeMs) return false;
    if (!this.pending && now() - this.failedAt < this.timing.backoffMs) {
      if (this.set) return false; // stale keys beat none while the issuer is unreachable
      throw jwtFailure('unavailable', "The token issuer's keys are unavailable");
    }
    try {
      await this.refresh();
      return true;
    } catch (err) {
      if (this.set) return false;
      throw jwtFailure('unavailable', "The token issuer's keys are unavailable", err);
    }
  }

  /** One fetch at a time; callers arriving meanwhile share it. */
  private refresh(): Promise<void> {
    this.pending ??= this.load()
      .then(
        (set) => {
          this.set = set;
          this.fetchedAt = this.timing.now();
        },
        (err: unknown) => {
          this.failedAt = this.timing.now();
          throw err;
        },
      )
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
