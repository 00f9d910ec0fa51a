// Rate-limit decisions per second: the Redis store (shared by replicas) vs the
// in-memory store, side by side in one run, as a ratio. Starts its own
// redis-server on loopback (Debian's package); reports "not run" without it.
// Each round measures memory then Redis (A B A B …); medians of the rounds.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MemoryRateLimitStore } from '../dist/ratelimit/store.js';
import { RedisRateLimitStore } from '../dist/ratelimit/redis.js';
import { silentLogger } from '../dist/observability/log.js';
import { freePort, startProcess, stopProcess, waitForPort } from './lib/procs.mjs';

const ROUNDS = 3;
const DURATION_MS = 1_000;
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
// A limit no decision reaches: the cost measured is the decision, not the refusal.
const LIMITS = [{ limit: 1e12, per: 'minute' }];

/** Decisions per second with `concurrency` callers deciding back to back, over 64 keys. */
async function decisionsPerSecond(store, concurrency) {
  let done = 0;
  const until = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; performance.now() < until; i += concurrency) {
        await store.take([`principal${i % 64}|server`], LIMITS, Date.now());
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runRateLimitStoreBench() {
  if (!REDIS) return { name: 'rate-limit store', failed: 'redis-server is not installed (Debian package redis-server)' };
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-bench-redis-'));
  const proc = startProcess({
    name: 'redis',
    command: REDIS,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    logFile: path.join(dir, 'redis.log'),
  });
  const redis = new RedisRateLimitStore({ url: `redis://127.0.0.1:${port}`, prefix: 'bench:', failMode: 'closed', timeoutMs: 1_000 }, silentLogger);
  try {
    await waitForPort(proc, port, 10_000);
    for (let i = 0; i < 50 && redis.health().state !== 'up'; i++) await new Promise((r) => setTimeout(r, 100));
    const memory = new MemoryRateLimitStore();
    const rows = [];
    for (const concurrency of [1, 16]) {
      await decisionsPerSecond(memory, concurrency); // warm-up
      await decisionsPerSecond(redis, concurrency);
      const runs = { memory: [], redis: [], ratio: [] };
      for (let r = 0; r < ROUNDS; r++) {
        const m = await decisionsPerSecond(memory, concurrency);
        const d = await decisionsPerSecond(redis, concurrency);
        runs.memory.push(m);
        runs.redis.push(d);
        runs.ratio.push(d / m);
      }
      rows.push({ concurrency, memoryPerSec: median(runs.memory), redisPerSec: median(runs.redis), ratio: median(runs.ratio) });
    }
    return { name: 'rate-limit store', rows };
  } catch (err) {
    return { name: 'rate-limit store', failed: String(err?.stack ?? err) };
  } finally {
    await redis.close();
    await stopProcess(proc);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runRateLimitStoreBench();
  if (r.failed) console.log(`rate-limit store: not run: ${r.failed}`);
  else
    for (const row of r.rows)
      console.log(`${row.concurrency} callers: memory ${row.memoryPerSec.toFixed(0)}/s, redis ${row.redisPerSec.toFixed(0)}/s, ratio ${row.ratio.toFixed(3)}`);
}
