// The load generator: a separate process (forked by bench/lib/driver.mjs) that
// holds client sessions and runs timed, bounded load on command over IPC, and
// reports its own CPU time with every run.
//
// Commands (each answered { id, ok, result | error }):
//   open    { target, kind: 'http', url, n, modern?, headers? }  n sessions (handshake each, none when modern), kept for runs
//   open    { target, kind: 'stdio', command, args, n }  one child, n concurrent callers on it
//   run     { target, n, method, params, warmupMs, durationMs, drain? }
//   setup   { label, url, count, concurrency, keep }     session setup times (initialize → initialized)
//   release { label }                                    closes sessions kept by setup
//   close   { target }
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { HttpSession } from './mcp-http.mjs';
import { StdioConnection } from './mcp-stdio.mjs';

const MAX_LATENCIES = 2_000_000;
const MAX_ERRORS = 50;
const targets = new Map();
const kept = new Map();

function stats(values, n) {
  const a = values.subarray(0, n).sort();
  const at = (q) => (n ? a[Math.min(n - 1, Math.floor(q * n))] : NaN);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i];
  return { n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: n ? a[n - 1] : NaN, mean: n ? sum / n : NaN };
}

async function pool(count, concurrency, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await fn(next++);
  });
  await Promise.all(workers);
}

const commands = {
  async open({ target, kind, url, command, args, cwd, n, openConcurrency = 4, modern, headers }) {
    if (targets.has(target)) throw new Error(`target ${target} already open`);
    const t0 = performance.now();
    if (kind === 'stdio') {
      const conn = new StdioConnection(command, args, { cwd });
      targets.set(target, { kind, conn, sessions: Array.from({ length: n }, () => conn) });
      await conn.initialize();
      return { pid: conn.pid, setupMs: performance.now() - t0 };
    }
    const sessions = Array.from({ length: n }, () => new HttpSession(url, { modern, headers }));
    targets.set(target, { kind, sessions });
    const setupMs = [];
    await pool(n, openConcurrency, async (i) => {
      const s0 = performance.now();
      await sessions[i].initialize();
      setupMs[i] = performance.now() - s0;
    });
    return { setupMs, totalMs: performance.now() - t0 };
  },

  async run({ target, n, method, params, warmupMs, durationMs, drain = false }) {
    const t = targets.get(target);
    if (!t) throw new Error(`target ${target} is not open`);
    if (n > t.sessions.length) throw new Error(`target ${target} has ${t.sessions.length} sessions, asked for ${n}`);
    const paramsJson = JSON.stringify(params ?? {});
    const lat = new Float64Array(Math.min(MAX_LATENCIES, 1 << 20));
    let nLat = 0;
    let total = 0;
    let measured = 0;
    let errors = 0;
    let firstError;
    let items = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const warmEnd = t0 + warmupMs;
    const end = warmEnd + durationMs;
    let lastDone = warmEnd;

    const fail = (why) => {
      errors++;
      firstError ??= why;
    };
    // One "call": a request, or with `drain` a list drained through every page.
    async function once(client) {
      if (!drain) return client.request(method, paramsJson);
      let cursor;
      let pages = 0;
      for (;;) {
        const msg = await client.request(method, cursor ? JSON.stringify({ cursor }) : paramsJson);
        if (msg.error) return msg;
        items += msg.result.tools?.length ?? 0;
        cursor = msg.result.nextCursor;
        if (!cursor || ++pages > 1000) return msg;
      }
    }
    async function loop(client) {
      while (errors <= MAX_ERRORS) {
        const s = performance.now();
        if (s >= end) break;
        let msg;
        try {
          msg = await once(client);
        } catch (err) {
          fail(err.message);
          continue;
        }
        const f = performance.now();
        total++;
        if (msg.error) fail(JSON.stringify(msg.error).slice(0, 300));
        else if (msg.result?.isError) fail(JSON.stringify(msg.result).slice(0, 300));
        if (s >= warmEnd) {
          measured++;
          if (nLat < lat.length) lat[nLat++] = f - s;
          if (f > lastDone) lastDone = f;
        }
      }
    }
    await Promise.all(t.sessions.slice(0, n).map(loop));
    const cpu = process.cpuUsage(cpu0);
    const elapsedMs = performance.now() - t0;
    const windowMs = lastDone - warmEnd;
    return {
      calls: measured,
      totalCalls: total,
      errors,
      firstError,
      callsPerSec: windowMs > 0 ? (measured * 1000) / windowMs : 0,
      latencyMs: stats(lat, nLat),
      itemsPerCall: drain && total ? items / total : undefined,
      elapsedMs,
      loadgenCpuMs: (cpu.user + cpu.system) / 1000,
    };
  },

  async setup({ label, url, count, concurrency = 1, keep = false }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, concurrency) });
    const sessions = [];
    const lat = new Float64Array(count);
    const t0 = performance.now();
    await pool(count, concurrency, async (i) => {
      const s = new HttpSession(url, { agent });
      const s0 = performance.now();
      await s.initialize();
      lat[i] = performance.now() - s0;
      sessions.push(s);
    });
    const totalMs = performance.now() - t0;
    if (keep) kept.set(label, { agent, sessions });
    else {
      await pool(sessions.length, concurrency, (i) => sessions[i].close());
      agent.destroy();
    }
    return { count, totalMs, latencyMs: stats(lat, count) };
  },

  async release({ label }) {
    const k = kept.get(label);
    if (!k) return { closed: 0 };
    kept.delete(label);
    await pool(k.sessions.length, 16, (i) => k.sessions[i].close());
    k.agent.destroy();
    return { closed: k.sessions.length };
  },

  async close({ target }) {
    const t = targets.get(target);
    if (!t) return {};
    targets.delete(target);
    if (t.kind === 'stdio') await t.conn.close();
    else await Promise.all(t.sessions.map((s) => s.close()));
    return {};
  },
};

async function closeEverything() {
  for (const target of [...targets.keys()]) await commands.close({ target }).catch(() => {});
  for (const label of [...kept.keys()]) await commands.release({ label }).catch(() => {});
}

process.on('message', async (msg) => {
  if (msg.cmd === 'exit') {
    await closeEverything();
    process.send({ id: msg.id, ok: true, result: {} }, () => process.exit(0));
    return;
  }
  try {
    const result = await commands[msg.cmd](msg);
    process.send({ id: msg.id, ok: true, result });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: err?.stack ?? String(err) });
  }
});
// The driver going away means we go too (and take the direct stdio children with us).
process.on('disconnect', () => {
  closeEverything().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
});
