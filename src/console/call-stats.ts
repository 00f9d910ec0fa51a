/**
 * Calls, errors and latency per server for the console's overview, from the
 * audit records as they are written: the last WINDOW latencies per server
 * (p50 and p99 over them), counts since start, and calls per BUCKET_MS over
 * the last BUCKETS buckets (the overview's chart and calls/s). Bounded by the
 * number of servers.
 */
const WINDOW = 1000;
const MAX_SERVERS = 500;
export const BUCKET_MS = 10_000;
/** Five minutes of ten-second buckets. */
export const BUCKETS = 30;
/** calls/s is the rate over the last minute. */
const RATE_BUCKETS = 6;

interface Bucket {
  /** Start of the bucket, ms since the epoch (a multiple of BUCKET_MS). */
  t: number;
  calls: number;
  errors: number;
  denied: number;
}

interface ServerStats {
  total: number;
  errors: number;
  denied: number;
  latencies: number[];
  next: number;
  buckets: Bucket[];
}

export interface ServerSummary {
  total: number;
  errors: number;
  denied: number;
  /** Calls per second over the last minute. */
  perSecond: number;
  p50Ms?: number;
  p99Ms?: number;
}

export class CallStats {
  private readonly servers = new Map<string, ServerStats>();
  private readonly all: Bucket[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  record(line: { server?: unknown; outcome?: unknown; latencyMs?: unknown }): void {
    if (typeof line.server !== 'string' || typeof line.latencyMs !== 'number') return;
    let stats = this.servers.get(line.server);
    if (!stats) {
      if (this.servers.size >= MAX_SERVERS) return;
      stats = { total: 0, errors: 0, denied: 0, latencies: [], next: 0, buckets: [] };
      this.servers.set(line.server, stats);
    }
    const error = line.outcome === 'error';
    const denied = line.outcome === 'denied';
    stats.total++;
    if (error) stats.errors++;
    if (denied) stats.denied++;
    if (stats.latencies.length < WINDOW) stats.latencies.push(line.latencyMs);
    else stats.latencies[stats.next] = line.latencyMs;
    stats.next = (stats.next + 1) % WINDOW;
    const now = this.now();
    for (const buckets of [stats.buckets, this.all]) count(currentBucket(buckets, now), error, denied);
  }

  summary(): Record<string, ServerSummary> {
    const out: Record<string, ServerSummary> = {};
    const now = this.now();
    for (const [server, s] of this.servers) {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      out[server] = {
        total: s.total,
        errors: s.errors,
        denied: s.denied,
        perSecond: rate(s.buckets, now),
        ...(sorted.length > 0 ? { p50Ms: at(0.5), p99Ms: at(0.99) } : {}),
      };
    }
    return out;
  }

  /** Every bucket of the last BUCKETS, oldest first, empty ones included (a chart needs no gaps to fill). */
  series(): { bucketSeconds: number; perSecond: number; buckets: Bucket[] } {
    const now = this.now();
    const last = startOf(now);
    const byStart = new Map(this.all.map((b) => [b.t, b]));
    const buckets: Bucket[] = [];
    for (let t = last - (BUCKETS - 1) * BUCKET_MS; t <= last; t += BUCKET_MS) buckets.push({ ...(byStart.get(t) ?? { t, calls: 0, errors: 0, denied: 0 }) });
    return { bucketSeconds: BUCKET_MS / 1000, perSecond: rate(this.all, now), buckets };
  }
}

function startOf(time: number): number {
  return time - (time % BUCKET_MS);
}

/** The bucket for `now`, opened when needed; buckets older than the window are dropped. */
function currentBucket(buckets: Bucket[], now: number): Bucket {
  const t = startOf(now);
  const last = buckets.at(-1);
  if (last && last.t === t) return last;
  const bucket = { t, calls: 0, errors: 0, denied: 0 };
  buckets.push(bucket);
  while (buckets.length > 0 && buckets[0]!.t <= t - BUCKETS * BUCKET_MS) buckets.shift();
  return bucket;
}

function count(bucket: Bucket, error: boolean, denied: boolean): void {
  bucket.calls++;
  if (error) bucket.errors++;
  if (denied) bucket.denied++;
}

/** Calls per second over the last RATE_BUCKETS whole buckets plus the current one, scaled by the time they cover. */
function rate(buckets: readonly Bucket[], now: number): number {
  const from = startOf(now) - RATE_BUCKETS * BUCKET_MS;
  const calls = buckets.filter((b) => b.t >= from).reduce((sum, b) => sum + b.calls, 0);
  const seconds = (now - from) / 1000;
  return Math.round((calls / seconds) * 100) / 100;
}
