import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimitStore } from '../../../src/ratelimit/store.js';
import type { RateLimitSpec } from '../../../src/policy/types.js';

const perMinute = (limit: number): RateLimitSpec => ({ limit, per: 'minute' });
const perHour = (limit: number): RateLimitSpec => ({ limit, per: 'hour' });

/** Takes `n` times with the same buckets at the current (fake) time; returns how many succeeded. */
async function takeMany(store: MemoryRateLimitStore, n: number, keys: string[], limits: RateLimitSpec[]) {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await store.take(keys, limits, Date.now())).ok) ok++;
  return ok;
}

describe('MemoryRateLimitStore', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('allows `limit` requests at once, then refuses with the time until the next token', async () => {
    const store = new MemoryRateLimitStore();
    expect(await takeMany(store, 60, ['k'], [perMinute(60)])).toBe(60);
    const refused = await store.take(['k'], [perMinute(60)], Date.now());
    expect(refused).toEqual({ ok: false, retryAfterMs: 1000, limit: perMinute(60) });
  });

  it('refills continuously at limit per period', async () => {
    const store = new MemoryRateLimitStore();
    await takeMany(store, 60, ['k'], [perMinute(60)]);
    vi.advanceTimersByTime(999);
    expect(await store.take(['k'], [perMinute(60)], Date.now())).toMatchObject({ ok: false, retryAfterMs: 1 });
    vi.advanceTimersByTime(1);
    expect((await store.take(['k'], [perMinute(60)], Date.now())).ok).toBe(true);
    vi.advanceTimersByTime(30_000);
    expect(await takeMany(store, 60, ['k'], [perMinute(60)])).toBe(30);
  });

  it('never holds more than `limit` tokens', async () => {
    const store = new MemoryRateLimitStore();
    await store.take(['k'], [perMinute(5)], Date.now());
    vi.advanceTimersByTime(3_600_000);
    expect(await takeMany(store, 10, ['k'], [perMinute(5)])).toBe(5);
  });

  it('applies two limits together: 3 per minute and 5 per hour', async () => {
    const store = new MemoryRateLimitStore();
    const limits = [perMinute(3), perHour(5)];
    const keys = ['k', 'k'];
    expect(await takeMany(store, 10, keys, limits)).toBe(3);
    vi.advanceTimersByTime(60_000);
    expect(await takeMany(store, 10, keys, limits)).toBe(2);
    const refused = await store.take(keys, limits, Date.now());
    // The hourly bucket is the emptiest: 5 per hour is one token every 12 minutes, and it just ran dry.
    expect(refused).toMatchObject({ ok: false, limit: perHour(5) });
    expect(refused.ok === false && refused.retryAfterMs).toBe(Math.ceil((1 - 5 / 60) * 720_000));
  });

  it('a refused request consumes nothing, from any bucket', async () => {
    const store = new MemoryRateLimitStore();
    const limits = [perMinute(1), perHour(3)];
    const keys = ['k', 'k'];
    expect(await takeMany(store, 1, keys, limits)).toBe(1);
    // The minute bucket is empty: these are all refused and must not drain the hourly one (2 left).
    expect(await takeMany(store, 50, keys, limits)).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(await takeMany(store, 1, keys, limits)).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(await takeMany(store, 1, keys, limits)).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(await store.take(keys, limits, Date.now())).toMatchObject({ ok: false, limit: perHour(3) });
  });

  it('retryAfterMs is when the request would succeed', async () => {
    const store = new MemoryRateLimitStore();
    const limits = [{ limit: 7, per: 'second' } as RateLimitSpec];
    await takeMany(store, 7, ['k'], limits);
    const refused = await store.take(['k'], limits, Date.now());
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.retryAfterMs).toBe(143); // ceil(1000 / 7)
    vi.advanceTimersByTime(refused.retryAfterMs - 1);
    expect((await store.take(['k'], limits, Date.now())).ok).toBe(false);
    vi.advanceTimersByTime(1);
    expect((await store.take(['k'], limits, Date.now())).ok).toBe(true);
  });

  it('keys isolate callers', async () => {
    const store = new MemoryRateLimitStore();
    expect(await takeMany(store, 5, ['alice/srv'], [perMinute(2)])).toBe(2);
    expect(await takeMany(store, 5, ['bob/srv'], [perMinute(2)])).toBe(2);
  });

  it('the same key under two different limits is two buckets', async () => {
    const store = new MemoryRateLimitStore();
    await takeMany(store, 2, ['k'], [perMinute(2)]);
    expect((await store.take(['k'], [perHour(10)], Date.now())).ok).toBe(true);
  });

  it('holds at most maxKeys buckets, dropping the least recently used', async () => {
    const store = new MemoryRateLimitStore({ maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) await store.take([k], [perMinute(1)], Date.now());
    expect(store.size).toBe(3);
    // "a" was dropped: it starts full again (erring towards allowing); "d" is still empty.
    expect((await store.take(['a'], [perMinute(1)], Date.now())).ok).toBe(true);
    expect((await store.take(['d'], [perMinute(1)], Date.now())).ok).toBe(false);
  });

  it('forgets an idle bucket once it would be full again (held at least a minute)', async () => {
    const store = new MemoryRateLimitStore();
    await store.take(['k'], [perMinute(60)], Date.now());
    vi.advanceTimersByTime(1_001);
    await store.take(['other'], [perMinute(60)], Date.now());
    // Full again after a second, but kept for a minute: no evict-and-recreate churn on busy keys.
    expect(store.size).toBe(2);
    vi.advanceTimersByTime(59_500); // past k's minute, not yet past other's
    await store.take(['third'], [perMinute(60)], Date.now());
    expect(store.size).toBe(2);
  });

  it('rejects mismatched keys and limits', async () => {
    await expect(new MemoryRateLimitStore().take(['a'], [], Date.now())).rejects.toThrow(RangeError);
  });
});
