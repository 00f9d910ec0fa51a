/**
 * The Redis rate-limit store against a real redis-server: the same bucket
 * semantics as the memory store, one budget shared by several stores (the
 * replicas), and fail modes that answer at once while Redis is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type LogFields } from '../../src/observability/log.js';
import { RedisRateLimitStore, type RedisStoreSettings } from '../../src/ratelimit/redis.js';
import type { RateLimitSpec } from '../../src/policy/types.js';
import { eventually } from '../helpers/gateway.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';

const perMinute = (limit: number): RateLimitSpec => ({ limit, per: 'minute' });

let redis: RunningRedis;
const stores: RedisRateLimitStore[] = [];
let prefixSeq = 0;

function store(overrides: Partial<RedisStoreSettings> = {}, logs: { msg: string; fields: LogFields }[] = []) {
  const s = new RedisRateLimitStore(
    { url: redis.url, prefix: `test${prefixSeq++}:`, failMode: 'open', timeoutMs: 250, ...overrides },
    createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as { msg: string; fields: LogFields }) }),
  );
  stores.push(s);
  return s;
}

const ready = (s: RedisRateLimitStore) =>
  eventually(
    () => s.health().state,
    (state) => state === 'up',
    5_000,
  );

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  await redis?.stop();
});

describe('RedisRateLimitStore', () => {
  it('allows exactly the limit, then refuses with the time until the next token', async () => {
    const s = store();
    await ready(s);
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await s.take(['alice'], [perMinute(3)], Date.now()));
    expect(outcomes.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    const refused = outcomes[3]!;
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.limit).toEqual(perMinute(3));
      // One token per 20 s; a few ms have passed since the bucket was emptied.
      expect(refused.retryAfterMs).toBeGreaterThan(19_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(20_000);
    }
    // Another key has its own bucket.
    expect(await s.take(['bob'], [perMinute(3)], Date.now())).toEqual({ ok: true });
  });

  it('shares one budget between stores on the same Redis (N in total, not N per replica)', async () => {
    const prefix = `shared${prefixSeq++}:`;
    const a = store({ prefix });
    const b = store({ prefix });
    await Promise.all([ready(a), ready(b)]);
    // 30 concurrent decisions spread over both "replicas": the script is atomic, so exactly 10 pass.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).take(['team'], [perMinute(10)], Date.now())));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results.filter((r) => !r.ok)).toHaveLength(20);
  });

  it('takes from every bucket or from none', async () => {
    const s = store();
    await ready(s);
    const limits = [perMinute(5), { limit: 2, per: 'hour' } as RateLimitSpec];
    expect(await s.take(['k', 'k'], limits, Date.now())).toEqual({ ok: true });
    expect(await s.take(['k', 'k'], limits, Date.now())).toEqual({ ok: true });
    const third = await s.take(['k', 'k'], limits, Date.now());
    expect(third).toMatchObject({ ok: false, limit: limits[1] });
    // The refused call spent nothing: the per-minute bucket still has 3 tokens.
    expect(await s.take(['k'], [perMinute(5)], Date.now())).toEqual({ ok: true });
    expect(await s.take(['k'], [perMinute(5)], Date.now())).toEqual({ ok: true });
    expect(await s.take(['k'], [perMinute(5)], Date.now())).toEqual({ ok: true });
    expect((await s.take(['k'], [perMinute(5)], Date.now())).ok).toBe(false);
  });

  it('applies the fail mode at once while Redis is down, logs the outage once, and recovers by itself', async () => {
    const openLogs: { msg: string; fields: LogFields }[] = [];
    const open = store({ failMode: 'open' }, openLogs);
    const closed = store({ failMode: 'closed' });
    await Promise.all([ready(open), ready(closed)]);
    expect(await closed.take(['x'], [perMinute(1)], Date.now())).toEqual({ ok: true });

    await redis.kill();
    await eventually(
      () => open.health().state,
      (state) => state === 'down',
      5_000,
    );
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const [o, c] = await Promise.all([open.take(['y'], [perMinute(1)], Date.now()), closed.take(['y'], [perMinute(1)], Date.now())]);
      const ms = performance.now() - started;
      expect(o).toEqual({ ok: true });
      expect(c).toMatchObject({ ok: false, unavailable: true, retryAfterMs: 1_000 });
      // Never longer than the store's timeout (250 ms), with slack for a loaded machine.
      expect(ms).toBeLessThan(1_000);
    }
    expect(closed.health()).toMatchObject({ type: 'redis', state: 'down', failMode: 'closed' });
    expect(openLogs.filter((l) => l.msg === 'rate-limit store unreachable')).toHaveLength(1);
    // The log never carries the URL (it may hold a password).
    expect(JSON.stringify(openLogs)).not.toContain(redis.url);

    await redis.restart();
    await Promise.all([ready(open), ready(closed)]);
    expect(openLogs.filter((l) => l.msg === 'rate-limit store reachable again')).toHaveLength(1);
    // Enforced again (the restarted Redis is empty: a fresh bucket).
    expect(await closed.take(['z'], [perMinute(1)], Date.now())).toEqual({ ok: true });
    expect(await closed.take(['z'], [perMinute(1)], Date.now())).toMatchObject({ ok: false });
    expect((await closed.take(['z'], [perMinute(1)], Date.now())).ok).toBe(false);
  });
});
