import { describe, expect, it } from 'vitest';
import { BUCKETS, BUCKET_MS, CallStats } from '../../../src/console/call-stats.js';

function clockAt(start: number) {
  const clock = { now: start, advance: (ms: number) => (clock.now += ms) };
  return clock;
}

describe('CallStats', () => {
  it('counts calls, errors and denials per server with p50 and p99 over the recent latencies', () => {
    const clock = clockAt(1_000_000_000_000);
    const stats = new CallStats(() => clock.now);
    for (let i = 1; i <= 100; i++) stats.record({ server: 'a', outcome: i % 10 === 0 ? 'error' : 'ok', latencyMs: i });
    stats.record({ server: 'b', outcome: 'denied', latencyMs: 0.5 });
    const summary = stats.summary();
    expect(summary.a).toMatchObject({ total: 100, errors: 10, denied: 0, p50Ms: 51, p99Ms: 100 });
    expect(summary.b).toMatchObject({ total: 1, errors: 0, denied: 1 });
  });

  it('ignores lines that are not call records', () => {
    const stats = new CallStats(() => 0);
    stats.record({ outcome: 'ok' });
    stats.record({ server: 'a', outcome: 'ok', latencyMs: '3' });
    expect(stats.summary()).toEqual({});
  });

  it('keeps a five-minute series of ten-second buckets, empty ones included, and drops older ones', () => {
    const clock = clockAt(1_000_000_000_000);
    const stats = new CallStats(() => clock.now);
    stats.record({ server: 'a', outcome: 'ok', latencyMs: 1 });
    clock.advance(BUCKET_MS);
    stats.record({ server: 'a', outcome: 'error', latencyMs: 1 });
    stats.record({ server: 'a', outcome: 'denied', latencyMs: 1 });
    const series = stats.series();
    expect(series.bucketSeconds).toBe(10);
    expect(series.buckets).toHaveLength(BUCKETS);
    expect(series.buckets.at(-1)).toMatchObject({ calls: 2, errors: 1, denied: 1 });
    expect(series.buckets.at(-2)).toMatchObject({ calls: 1, errors: 0 });
    expect(series.buckets.slice(0, -2).every((b) => b.calls === 0)).toBe(true);
    // Timestamps are consecutive bucket starts.
    expect(series.buckets.at(-1)!.t - series.buckets.at(-2)!.t).toBe(BUCKET_MS);

    clock.advance(BUCKETS * BUCKET_MS);
    stats.record({ server: 'a', outcome: 'ok', latencyMs: 1 });
    const later = stats.series();
    expect(later.buckets.reduce((n, b) => n + b.calls, 0)).toBe(1);
  });

  it('reports calls per second over the last minute, overall and per server', () => {
    const clock = clockAt(1_000_000_000_000);
    const stats = new CallStats(() => clock.now);
    for (let i = 0; i < 120; i++) {
      stats.record({ server: i % 2 ? 'a' : 'b', outcome: 'ok', latencyMs: 1 });
      clock.advance(500);
    }
    // 120 calls over the last 60 s (plus the current bucket's part) is close to 2/s.
    expect(stats.series().perSecond).toBeGreaterThan(1.5);
    expect(stats.series().perSecond).toBeLessThanOrEqual(2);
    expect(stats.summary().a!.perSecond).toBeCloseTo(stats.series().perSecond / 2, 1);
    clock.advance(10 * 60_000);
    expect(stats.series().perSecond).toBe(0);
    expect(stats.summary().a!.perSecond).toBe(0);
  });
});
