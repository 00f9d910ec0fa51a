/**
 * Calls, errors and latency per server for the console's overview, from the
 * audit records as they are written: the last WINDOW latencies per server
 * (p50 and p99 over them), counts since start. Bounded by the number of servers.
 */
const WINDOW = 1000;
const MAX_SERVERS = 500;

interface ServerStats {
  total: number;
  errors: number;
  denied: number;
  latencies: number[];
  next: number;
}

export class CallStats {
  private readonly servers = new Map<string, ServerStats>();

  record(line: { server?: unknown; outcome?: unknown; latencyMs?: unknown }): void {
    if (typeof line.server !== 'string' || typeof line.latencyMs !== 'number') return;
    let stats = this.servers.get(line.server);
    if (!stats) {
      if (this.servers.size >= MAX_SERVERS) return;
      stats = { total: 0, errors: 0, denied: 0, latencies: [], next: 0 };
      this.servers.set(line.server, stats);
    }
    stats.total++;
    if (line.outcome === 'error') stats.errors++;
    if (line.outcome === 'denied') stats.denied++;
    if (stats.latencies.length < WINDOW) stats.latencies.push(line.latencyMs);
    else stats.latencies[stats.next] = line.latencyMs;
    stats.next = (stats.next + 1) % WINDOW;
  }

  summary(): Record<string, { total: number; errors: number; denied: number; p50Ms?: number; p99Ms?: number }> {
    const out: Record<string, { total: number; errors: number; denied: number; p50Ms?: number; p99Ms?: number }> = {};
    for (const [server, s] of this.servers) {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      out[server] = { total: s.total, errors: s.errors, denied: s.denied, ...(sorted.length > 0 ? { p50Ms: at(0.5), p99Ms: at(0.99) } : {}) };
    }
    return out;
  }
}
