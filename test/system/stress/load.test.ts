/**
 * Load (issue 7): 64 concurrent sessions make 20,000 calls in total through
 * the real CLI gateway, split between a stdio upstream and a Streamable HTTP
 * upstream (the kitchen-sink HTTP fixture in `legacy` mode, in its own
 * process). Every response must answer its own request (id, and the unique
 * text each call echoes): zero lost, zero mismatched. Prints throughput and
 * latency percentiles. Afterwards: sessions and upstream connections are all
 * released, and SIGTERM leaves no child process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, nodeServer, startGateway, type RunningGateway } from '../../helpers/gateway.js';
import { cliEnv, freePort, pidAlive, spawnCli, waitForExit, type RunningCli } from '../../helpers/processes.js';
import { RawSession, RpcError, textOf } from '../../helpers/raw-mcp.js';
import {
  descendantsOf,
  fmtMs,
  heapAfterGcMb,
  latencyStats,
  spawnHttpFixture,
  startHttpFixtureInProcess,
  STDIO_FIXTURE,
  type ChildHttpFixture,
  type InProcessHttpFixture,
} from '../../helpers/stress.js';

const SESSIONS = 64;
const TOTAL_CALLS = 20_000;

interface Readyz {
  ready: number;
  total: number;
  sessions: Record<string, number>;
  sessionConnections: number;
  upstreams: Record<string, { state: string }>;
}

async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('load: 64 sessions, 20,000 calls, a stdio and an HTTP upstream', () => {
  let dir: string;
  let fixture: ChildHttpFixture | undefined;
  let cli: RunningCli | undefined;
  let base: string;
  const sessions: RawSession[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-load-'));
    fixture = await spawnHttpFixture('legacy');
    const config = {
      mcpServers: { ks: { command: 'node', args: [STDIO_FIXTURE] }, web: { type: 'http', url: fixture.url } },
      gateway: { audit: { file: path.join(dir, 'audit.log') } },
    };
    writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify(config));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    cli = spawnCli(['serve', '--port', String(port), '--log-level', 'warn'], { cwd: dir, env: cliEnv() });
    await eventually(
      () =>
        fetch(`${base}/readyz`).then(
          (r) => r.json() as Promise<Readyz>,
          () => undefined,
        ),
      (body) => body !== undefined && body.ready === 2 && body.total === 2,
      20_000,
    );
  });

  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await cli?.stop();
    await fixture?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every call with its own response, and reports throughput and latency', async () => {
    const cliPid = cli!.child.pid!;
    const childrenBefore = await descendantsOf(cliPid);
    expect(childrenBefore.filter((p) => p.args.includes(STDIO_FIXTURE))).toHaveLength(1);
    const rssBefore = await metric(base, 'process_resident_memory_bytes');

    // Open the sessions (8 at a time).
    const opening = performance.now();
    for (let i = 0; i < SESSIONS; i += 8) {
      const batch = Array.from({ length: Math.min(8, SESSIONS - i) }, () => new RawSession(`${base}/mcp`, { timeoutMs: 30_000 }));
      sessions.push(...batch);
      await Promise.all(batch.map((s) => s.initialize()));
    }
    const openMs = performance.now() - opening;

    const latency = { ks: [] as number[], web: [] as number[] };
    const problems: string[] = [];
    let ok = 0;
    const t0 = performance.now();
    await Promise.all(
      sessions.map(async (s, si) => {
        const mine = Math.floor(TOTAL_CALLS / SESSIONS) + (si < TOTAL_CALLS % SESSIONS ? 1 : 0);
        for (let i = 0; i < mine; i++) {
          const server = (si + i) % 2 === 0 ? 'ks' : 'web';
          const text = `s${si}-c${i}-${Math.random().toString(36).slice(2, 10)}`;
          const started = performance.now();
          try {
            const result = await s.call(`${server}__echo`, { text });
            latency[server].push(performance.now() - started);
            const structured = (result.structuredContent as { text?: string } | undefined)?.text;
            if (textOf(result) !== text || structured !== text) {
              problems.push(`mismatch on session ${si} call ${i} (${server}): sent ${text}, got ${JSON.stringify(result).slice(0, 200)}`);
            } else ok++;
          } catch (err) {
            problems.push(`session ${si} call ${i} (${server}): ${err instanceof RpcError ? JSON.stringify(err.error) : String(err)}`);
          }
        }
      }),
    );
    const elapsed = performance.now() - t0;

    const all = latencyStats([...latency.ks, ...latency.web]);
    const rows = [
      ['all', all],
      ['stdio (ks)', latencyStats(latency.ks)],
      ['http (web)', latencyStats(latency.web)],
    ] as const;
    const rssAfter = await metric(base, 'process_resident_memory_bytes');
    console.log(
      `[load] ${SESSIONS} sessions (opened in ${fmtMs(openMs)}), ${TOTAL_CALLS} calls in ${fmtMs(elapsed)}: ` +
        `${((ok / elapsed) * 1000).toFixed(0)} calls/s; ${ok} ok, ${problems.length} lost or mismatched`,
    );
    for (const [label, st] of rows) {
      console.log(
        `[load]   ${label.padEnd(11)} n=${String(st.n).padStart(5)}  p50 ${fmtMs(st.p50)}  p90 ${fmtMs(st.p90)}  p99 ${fmtMs(st.p99)}  max ${fmtMs(st.max)}`,
      );
    }
    if (rssBefore && rssAfter) console.log(`[load]   gateway RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`);
    for (const p of problems.slice(0, 10)) console.log(`[load] PROBLEM ${p}`);

    expect(problems.slice(0, 20)).toEqual([]);
    expect(ok).toBe(TOTAL_CALLS);

    // Still one stdio child; the HTTP upstream got one session per downstream session (plus the shared one).
    expect((await descendantsOf(cliPid)).filter((p) => p.args.includes(STDIO_FIXTURE))).toHaveLength(1);
    const during = (await (await fetch(`${base}/readyz`)).json()) as Readyz;
    expect(during.sessions['streamable-http/legacy']).toBe(SESSIONS);
    expect(during.sessionConnections).toBe(SESSIONS);

    // Every session ends with DELETE, and takes its upstream connection with it.
    const statuses = await Promise.all(sessions.splice(0).map((s) => s.close()));
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    await eventually(
      () => fetch(`${base}/readyz`).then((r) => r.json() as Promise<Readyz>),
      (body) => Object.values(body.sessions).every((n) => n === 0) && body.sessionConnections === 0,
      10_000,
    );

    // SIGTERM: exit 0, no child left.
    const children = await descendantsOf(cliPid);
    cli!.child.kill('SIGTERM');
    expect(await waitForExit(cli!.child, 15_000)).toBe(0);
    await eventually(
      () => children.filter((p) => pidAlive(p.pid)).map((p) => p.args),
      (left) => left.length === 0,
      5_000,
    );
  }, 240_000); // 20,000 calls: ~40 s on a quiet 2-core machine, much more when it is shared
});

const CHURN = 200;

describe('session churn: sessions opened, used and deleted leave nothing behind', () => {
  let gw: RunningGateway;
  let fixture: InProcessHttpFixture;

  beforeAll(async () => {
    fixture = await startHttpFixtureInProcess('legacy');
    gw = await startGateway({
      mcpServers: { ks: nodeServer(STDIO_FIXTURE), iso: nodeServer(STDIO_FIXTURE, ['--name', 'iso']), web: { type: 'http', url: fixture.url } },
      gateway: { servers: { iso: { isolation: 'session', maxProcesses: 8 } } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fixture?.close();
  });

  // In process, for the heap after GC. Each session calls a shared stdio upstream, its own HTTP upstream
  // session and (one in fifteen) its own stdio child, then ends with DELETE.
  it(`keeps the heap, the sessions, the upstream sessions and the children flat over ${CHURN} sessions`, async () => {
    const churn = async (n: number) => {
      for (let i = 0; i < n; i += 8) {
        await Promise.all(
          Array.from({ length: Math.min(8, n - i) }, async (_, j) => {
            const s = new RawSession(gw.mcpUrl);
            await s.initialize();
            await s.call('ks__echo', { text: 'x' });
            await s.call('web__echo', { text: 'y' });
            if ((i + j) % 15 === 0) await s.call('iso__echo', { text: 'z' });
            expect(await s.close()).toBe(200);
          }),
        );
      }
    };
    const settled = async () => {
      await eventually(
        () => gw.gateway.hub.sessions.size,
        (n) => n === 0,
        5_000,
      );
      await eventually(
        () => fixture.sessionCount(),
        (n) => n === 1,
        5_000,
      ); // the shared (catalog) connection
      await eventually(
        async () => (await descendantsOf(process.pid)).filter((p) => p.args.includes(STDIO_FIXTURE)).length,
        (n) => n === 2,
        10_000,
      );
    };
    // The test harness keeps every log line, audit record and fixture request's headers in arrays
    // (same heap): empty them before each measurement.
    const heap = () => {
      gw.logs.length = 0;
      gw.audit.length = 0;
      fixture.headersSeen.length = 0;
      return heapAfterGcMb();
    };
    await churn(80); // warm-up: lazy imports, JIT, caches, pools
    await settled();
    const before = heap();
    const t0 = performance.now();
    await churn(CHURN);
    const ms = performance.now() - t0;
    await settled();
    const after = heap();
    console.log(
      `[churn] ${CHURN} sessions in ${fmtMs(ms)}; heap after GC ${before.toFixed(1)} → ${after.toFixed(1)} MiB (${(((after - before) * 1024) / CHURN).toFixed(1)} KiB per session)`,
    );
    expect(((await (await fetch(`${gw.url}/readyz`)).json()) as Readyz).sessionConnections).toBe(0);
    expect(after - before).toBeLessThan(5);
  });
});
