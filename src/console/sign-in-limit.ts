/**
 * Sign-in attempts per source address: at most `perMinute` in a fixed
 * one-minute window, so a stolen cookie jar or a key list cannot be tried at
 * speed. Bounded: the addresses least recently seen go first when full. The
 * address is the TCP peer (the gateway trusts no X-Forwarded-For): behind a
 * proxy every browser shares the proxy's budget.
 */
import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

/** `first` marks the first refusal in a window (what gets audited: a flood writes one line, not one per request). */
export type SignInVerdict = { ok: true } | { ok: false; retryAfterMs: number; first: boolean };

export class SignInLimit {
  private readonly windows = new LRUCache<string, { start: number; count: number }>({ max: MAX_ADDRESSES });

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  attempt(address: string): SignInVerdict {
    const now = this.now();
    let window = this.windows.get(address);
    if (!window || now - window.start >= WINDOW_MS) {
      window = { start: now, count: 0 };
      this.windows.set(address, window);
    }
    window.count++;
    if (window.count > this.perMinute) return { ok: false, retryAfterMs: window.start + WINDOW_MS - now, first: window.count === this.perMinute + 1 };
    return { ok: true };
  }
}
