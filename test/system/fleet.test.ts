/**
 * A fleet: two replicas of the real CLI (`serve`, replica ids r1 and r2)
 * behind a real nginx, sharing rate limits through a real redis-server.
 * nginx sends a request naming a session ("r1.<uuid>") to the replica that
 * holds it and everything else round robin (the routing of deploy/nginx):
 *
 * - one rate limit for the fleet (10 a minute in total, not per replica);
 * - stateless 2026-07-28 calls spread over both replicas;
 * - a 2025-era session stays on its replica; an unknown one gets a 404;
 * - Redis going away: the "closed" replica refuses limited calls, the "open"
 *   one allows them, both at once; limits hold again once Redis is back;
 * - a replica sent SIGTERM under load loses no call, exits 0 and leaves no
 *   child process.
 *
 * r1 runs with failMode "closed", r2 with "open"; the outage test addresses
 * them directly. Both binaries are required: without them the test fails and
 * says which Debian package to install (.ci/run installs both).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectLegacy, eventually, ROOT } from '../helpers/gateway.js';
import { NGINX, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { cliEnv, freePort, pidAlive, spawnCli, stopProcess, waitForExit, waitForPort, type RunningCli } from '../helpers/processes.js';
import { REDIS_SERVER, startRedis, type RunningRedis } from '../helpers/redis.js';
import { descendantsOf, groupMembers, STDIO_FIXTURE } from '../helpers/stress.js';

const CONFIG = path.join(ROOT, 'test/fixtures/configs/fleet/replica.json');
const DRAIN_MS = 5_000; // gateway.drainMs in the config
const FLEET_HOST = 'switchboard.fleet.test';
const LIMIT = 10; // policies/fleet.yaml: ks, 10 per minute

interface Replica {
  id: 'r1' | 'r2';
  port: number;
  /** `http://127.0.0.1:<port>`, to address the replica directly. */
  base: string;
  cli: RunningCli;
  auditFile: string;
}

type Outcome = { ok: true; text: string; ms: number } | { ok: false; code?: number; data?: Record<string, unknown>; message: string; ms: number };

let dir: string;
let redis: RunningRedis | undefined;
let nginx: RunningNginx | undefined;
const replicas: Replica[] = [];
const clients: { close(): Promise<void> }[] = [];
let r1: Replica;
let r2: Replica;
/** The fleet's MCP endpoint: nginx. */
let fleetUrl: string;

/** Fails (never skips) when a binary the test needs is absent. */
function requireBinary(file: string, debianPackage: string): void {
  if (!path.isAbsolute(file) || !existsSync(file)) {
    throw new Error(`${path.basename(file)} not found: install Debian's ${debianPackage} package (apt-get install ${debianPackage}); .ci/run installs it`);
  }
}

async function startReplica(id: 'r1' | 'r2', failMode: 'open' | 'closed'): Promise<Replica> {
  const auditFile = path.join(dir, `audit-${id}.log`);
  let lastError: unknown;
  // A free port can be taken before the replica binds it: retry once or twice.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const cli = spawnCli(['serve', '--config', CONFIG, '--port', String(port)], {
      cwd: dir,
      env: cliEnv({ SWITCHBOARD_REPLICA_ID: id, REDIS_URL: redis!.url, RATE_LIMIT_FAIL_MODE: failMode, AUDIT_FILE: auditFile, FLEET_HOST }),
    });
    try {
      await cli.waitForStderr(/upstream ks: ready/, 20_000);
      await cli.waitForStderr(/upstream free: ready/, 20_000);
      await waitForPort(port, { timeoutMs: 5_000 });
      return { id, port, base: `http://127.0.0.1:${port}`, cli, auditFile };
    } catch (err) {
      lastError = err;
      await cli.stop();
    }
  }
  throw lastError;
}

/** nginx as deploy/nginx/switchboard.conf routes: by the session id's replica prefix, else round robin. */
function nginxHttpBlock(p1: number, p2: number): string {
  return `
  map $http_mcp_session_id $sb_backend {
    default     sb_pool;
    "~^r1\\."    127.0.0.1:${p1};
    "~^r2\\."    127.0.0.1:${p2};
  }
  upstream sb_pool {
    server 127.0.0.1:${p1};
    server 127.0.0.1:${p2};
  }
  server {
    listen 127.0.0.1:{{PORT}};
    client_max_body_size 4m;
    proxy_http_version 1.1;
    proxy_buffering off;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_connect_timeout 2s;
    proxy_read_timeout 60s;
    # A draining replica answers new work 503 without running it (see docs/deployment.md, Running several replicas):
    # retried on the other replica, and the draining one is marked failed meanwhile.
    proxy_next_upstream error timeout http_503 non_idempotent;
    location / {
      proxy_pass http://$sb_backend;
    }
  }`;
}

beforeAll(async () => {
  requireBinary(REDIS_SERVER, 'redis-server');
  requireBinary(NGINX, 'nginx');
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-fleet-'));
  redis = await startRedis();
  const started = await Promise.allSettled([startReplica('r1', 'closed'), startReplica('r2', 'open')]);
  for (const s of started) if (s.status === 'fulfilled') replicas.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  [r1, r2] = replicas as [Replica, Replica];
  nginx = await startNginx(path.join(dir, 'nginx'), nginxHttpBlock(r1.port, r2.port), {
    logFormat: '$request_method $uri $status backend=$sb_backend upstream=$upstream_addr upstream_status=$upstream_status rt=$request_time',
  });
  fleetUrl = `${nginx.base}/mcp`;
  for (const r of replicas) {
    await eventually(
      () => readyz(r.base).then((b) => (b.rateLimitStore as { state?: string } | undefined)?.state),
      (s) => s === 'up',
      10_000,
    );
  }
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await nginx?.stop();
  await Promise.allSettled(replicas.map((r) => r.cli.stop()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- clients and probes ----------------------------------------------------

/** A 2026-07-28 client (stateless: every request may land on any replica). */
async function modernClient(url = fleetUrl): Promise<Client> {
  const client = new Client({ name: 'fleet-modern', version: '1' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  modernClients.add(client);
  expect(client.getProtocolEra()).toBe('modern');
  return client;
}

async function legacyClient(url = fleetUrl): Promise<LegacyClient> {
  const client = await connectLegacy(url);
  clients.push(client);
  return client;
}

const sessionIdOf = (client: LegacyClient) => (client.transport as LegacyHttpTransport).sessionId ?? '';

/** Ends a 2025-era session (DELETE, routed to its replica by the id) and closes the client. */
async function endSession(client: LegacyClient): Promise<void> {
  await (client.transport as LegacyHttpTransport).terminateSession();
  await client.close();
}

/** One call, never thrown: its text or its JSON-RPC error, and how long it took. */
async function outcomeOf(call: Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    const result = (await call) as { content?: { type: string; text?: string }[]; isError?: boolean };
    const text = result.content?.[0]?.text ?? '';
    const ms = performance.now() - started;
    return result.isError ? { ok: false, message: `isError result: ${text}`, ms } : { ok: true, text, ms };
  } catch (err) {
    const e = err as { code?: number; data?: Record<string, unknown>; message?: string };
    return { ok: false, code: e.code, data: e.data, message: String(e.message ?? err), ms: performance.now() - started };
  }
}

type AnyClient = Client | LegacyClient;
const modernClients = new WeakSet<object>();
const callTool = (client: AnyClient, name: string, args: Record<string, unknown>, timeout = 15_000): Promise<unknown> =>
  modernClients.has(client)
    ? (client as Client).callTool({ name, arguments: args }, { timeout })
    : (client as LegacyClient).callTool({ name, arguments: args }, undefined, { timeout });

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

async function readyz(base: string): Promise<Record<string, unknown>> {
  return JSON.parse((await getText(`${base}/readyz`)).text) as Record<string, unknown>;
}

/** The sum of a Prometheus metric's samples whose labels include `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function metricsOf(r: Replica): Promise<string> {
  const { status, text } = await getText(`${r.base}/metrics`);
  expect(status).toBe(200);
  return text;
}

/** tools/call counts of one server on each replica, by outcome. */
async function callCounts(server: string): Promise<Record<'r1' | 'r2', { ok: number; limited: number }>> {
  const [m1, m2] = await Promise.all([metricsOf(r1), metricsOf(r2)]);
  const of = (m: string) => ({
    ok: metric(m, 'switchboard_requests_total', { server, method: 'tools/call', outcome: 'ok' }),
    limited: metric(m, 'switchboard_requests_total', { server, method: 'tools/call', outcome: 'RATE_LIMITED' }),
  });
  return { r1: of(m1), r2: of(m2) };
}

/** Opens 2025-era sessions through nginx until one lives on each replica (initialize goes round robin). */
async function sessionsOnBoth(): Promise<Record<'r1' | 'r2', LegacyClient>> {
  const found: Partial<Record<'r1' | 'r2', LegacyClient>> = {};
  for (let i = 0; i < 8 && !(found.r1 && found.r2); i++) {
    const client = await legacyClient();
    const replica = sessionIdOf(client).split('.')[0] as 'r1' | 'r2';
    expect(['r1', 'r2']).toContain(replica);
    if (found[replica]) await endSession(client);
    else found[replica] = client;
  }
  expect(found.r1 && found.r2, 'initialize should land on both replicas').toBeTruthy();
  return found as Record<'r1' | 'r2', LegacyClient>;
}

/** One raw HTTP exchange through nginx (node:http, so Host can be set), bounded. */
function rawPost(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
        timeout: 5_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The tools/call records a replica's audit file holds so far. */
const auditedCalls = (file: string): { time: string; latencyMs: number; outcome: string; method: string; name?: string }[] =>
  (existsSync(file) ? readFileSync(file, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { time: string; latencyMs: number; outcome: string; method: string; name?: string })
    .filter((a) => a.method === 'tools/call');

// ---- the tests ---------------------------------------------------------------

describe('two replicas behind nginx, rate limits in Redis', () => {
  it('a limit of 10 a minute allows exactly 10 calls in total, served by both replicas', async () => {
    const before = await callCounts('ks');
    const modern = await modernClient();
    const pinned = await sessionsOnBoth();
    // Sequential, so that the replicas take turns: a session on r1, one on r2, and two stateless calls (round robin).
    const callers: AnyClient[] = [pinned.r1, pinned.r2, modern, modern];
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 16; i++) outcomes.push(await outcomeOf(callTool(callers[i % callers.length]!, 'ks__echo', { text: `call-${i}` })));

    const allowed = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    expect(allowed.map((o) => (o.ok ? o.text : ''))).toEqual(Array.from({ length: LIMIT }, (_, i) => `call-${i}`));
    expect(refused).toHaveLength(16 - LIMIT);
    for (const o of refused) {
      expect(o.code, o.message).toBe(-32005);
      expect(o.data).toMatchObject({ code: 'RATE_LIMITED', reason: '10 per minute', retryAfterMs: expect.any(Number) });
      // One token every 6 s.
      expect(o.data!.retryAfterMs as number).toBeGreaterThan(0);
      expect(o.data!.retryAfterMs as number).toBeLessThanOrEqual(6_000);
    }

    // Each replica's own /metrics: both served some of the 10, and together exactly 10.
    const after = await callCounts('ks');
    const served = { r1: after.r1.ok - before.r1.ok, r2: after.r2.ok - before.r2.ok };
    const limited = { r1: after.r1.limited - before.r1.limited, r2: after.r2.limited - before.r2.limited };
    console.log(`[fleet] ks__echo allowed per replica ${JSON.stringify(served)}, refused ${JSON.stringify(limited)}`);
    expect(served.r1).toBeGreaterThan(0);
    expect(served.r2).toBeGreaterThan(0);
    expect(served.r1 + served.r2).toBe(LIMIT);
    expect(limited.r1 + limited.r2).toBe(16 - LIMIT);
    await Promise.all([endSession(pinned.r1), endSession(pinned.r2)]);
  });

  it('spreads stateless 2026-07-28 calls over both replicas', async () => {
    const before = await callCounts('free');
    const workers = await Promise.all([modernClient(), modernClient()]);
    const outcomes = await Promise.all(
      workers.map(async (client, w) => {
        const out: Outcome[] = [];
        for (let i = 0; i < 10; i++) out.push(await outcomeOf(callTool(client, 'free__echo', { text: `m-${w}-${i}` })));
        return out;
      }),
    );
    expect(outcomes.flat().filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.map((out) => out.map((o) => (o.ok ? o.text : '')))).toEqual([0, 1].map((w) => Array.from({ length: 10 }, (_, i) => `m-${w}-${i}`)));
    const after = await callCounts('free');
    const served = { r1: after.r1.ok - before.r1.ok, r2: after.r2.ok - before.r2.ok };
    console.log(`[fleet] stateless free__echo per replica ${JSON.stringify(served)}`);
    expect(served.r1).toBeGreaterThan(0);
    expect(served.r2).toBeGreaterThan(0);
    expect(served.r1 + served.r2).toBe(20);
  });

  it('keeps a 2025-era session on its replica, and answers 404 for a session nobody holds', async () => {
    const before = await callCounts('free');
    const client = await legacyClient();
    const sessionId = sessionIdOf(client);
    expect(sessionId).toMatch(/^r[12]\.[0-9a-f-]{36}$/);
    const home = sessionId.slice(0, 2) as 'r1' | 'r2';
    const other = home === 'r1' ? 'r2' : 'r1';
    for (let i = 0; i < 20; i++) {
      const o = await outcomeOf(callTool(client, 'free__echo', { text: `s-${i}` }));
      expect(o, `call ${i}`).toMatchObject({ ok: true, text: `s-${i}` });
    }
    // Every call was served by the replica named in the session id (the other one would have said 404).
    const after = await callCounts('free');
    expect(after[home].ok - before[home].ok).toBe(20);
    expect(after[other].ok - before[other].ok).toBe(0);
    // DELETE ends it (on its replica: nginx routes the DELETE by the same id).
    await endSession(client);

    // A session no replica holds: one naming no replica (round robin), an unknown replica, unknown ids on each
    // replica, and the session just ended.
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'free__echo', arguments: { text: 'x' } } };
    for (const id of [randomUUID(), `r9.${randomUUID()}`, `r1.${randomUUID()}`, `r2.${randomUUID()}`, sessionId]) {
      const res = await rawPost(fleetUrl, { 'mcp-session-id': id }, call);
      expect(res.status, `${id}: ${res.body}`).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001, message: expect.any(String) } });
      expect(res.ms).toBeLessThan(2_000);
    }
  });

  it('passes the Host check through the proxy for the configured name only', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'host-check', version: '1' } },
    };
    const allowed = await rawPost(fleetUrl, { host: `${FLEET_HOST}:${nginx!.port}` }, init);
    expect(allowed.status, allowed.body).toBe(200);
    const refused = await rawPost(fleetUrl, { host: `evil.example:${nginx!.port}` }, init);
    expect(refused.status, refused.body).toBe(403);
  });

  it("applies each replica's fail mode at once while Redis is down, and enforces limits again once it is back", async () => {
    const direct = { r1: await modernClient(`${r1.base}/mcp`), r2: await modernClient(`${r2.base}/mcp`) };
    const storeState = async (r: Replica) => (await readyz(r.base)).rateLimitStore as { type: string; state: string; failMode: string };
    expect(await storeState(r1)).toMatchObject({ type: 'redis', state: 'up', failMode: 'closed' });
    expect(await storeState(r2)).toMatchObject({ type: 'redis', state: 'up', failMode: 'open' });
    for (const r of [r1, r2]) expect(metric(await metricsOf(r), 'switchboard_rate_limit_store_up')).toBe(1);
    const failuresBefore = {
      r1: metric(await metricsOf(r1), 'switchboard_rate_limit_store_failures_total', { fail_mode: 'closed' }),
      r2: metric(await metricsOf(r2), 'switchboard_rate_limit_store_failures_total', { fail_mode: 'open' }),
    };

    await redis!.kill();
    for (const r of [r1, r2]) {
      await eventually(
        () => storeState(r).then((s) => s.state),
        (s) => s === 'down',
        5_000,
      );
      expect(metric(await metricsOf(r), 'switchboard_rate_limit_store_up')).toBe(0);
    }
    for (let i = 0; i < 3; i++) {
      const [closed, open] = await Promise.all([
        outcomeOf(callTool(direct.r1, 'ks__echo', { text: `outage-r1-${i}` })),
        outcomeOf(callTool(direct.r2, 'ks__echo', { text: `outage-r2-${i}` })),
      ]);
      expect(closed).toMatchObject({ ok: false, code: -32005, data: { code: 'RATE_LIMITED', retryAfterMs: 1_000, reason: expect.stringMatching(/store/) } });
      expect(open).toMatchObject({ ok: true, text: `outage-r2-${i}` });
      expect(closed.ms).toBeLessThan(2_000);
      expect(open.ms).toBeLessThan(2_000);
    }
    // A server without a limit never asks the store: the closed replica still serves it.
    expect(await outcomeOf(callTool(direct.r1, 'free__echo', { text: 'unlimited' }))).toMatchObject({ ok: true, text: 'unlimited' });
    expect(metric(await metricsOf(r1), 'switchboard_rate_limit_store_failures_total', { fail_mode: 'closed' }) - failuresBefore.r1).toBeGreaterThanOrEqual(3);
    expect(metric(await metricsOf(r2), 'switchboard_rate_limit_store_failures_total', { fail_mode: 'open' }) - failuresBefore.r2).toBeGreaterThanOrEqual(3);

    await redis!.restart();
    for (const r of [r1, r2]) {
      await eventually(
        () => storeState(r).then((s) => s.state),
        (s) => s === 'up',
        10_000,
      );
      expect(metric(await metricsOf(r), 'switchboard_rate_limit_store_up')).toBe(1);
    }
    // The restarted Redis is empty: a fresh budget of 10, shared again by both replicas.
    const outcomes: Outcome[] = [];
    for (let i = 0; i < LIMIT + 2; i++) outcomes.push(await outcomeOf(callTool(i % 2 ? direct.r2 : direct.r1, 'ks__echo', { text: `back-${i}` })));
    expect(outcomes.slice(0, LIMIT).filter((o) => !o.ok)).toEqual([]);
    for (const o of outcomes.slice(LIMIT)) {
      expect(o).toMatchObject({ ok: false, code: -32005, data: { code: 'RATE_LIMITED', reason: '10 per minute' } });
    }
  });

  /*
   * A draining replica keeps its listening socket open until its calls in flight are done and answers new work
   * 503 (not run), which nginx retries on the other replica (`http_503 non_idempotent` above). Closing the socket
   * at once instead reset connections the kernel had accepted but the busy event loop had not read, and nginx
   * answered those calls 502. FLEET_SIGTERM_FAST_WORKERS=8 adds quick callers for a higher request rate (about
   * 250 requests/s to the replica on a 2-core machine), where that used to lose 1-6 calls in half the runs.
   */
  it('loses no call when a replica is sent SIGTERM under load', async () => {
    const pid = r1.cli.child.pid!;
    const children = await descendantsOf(pid);
    expect(children.filter((p) => p.args.includes(path.basename(STDIO_FIXTURE)))).toHaveLength(2);
    const groups = [...new Set(children.map((p) => p.pgid))].filter((g) => g !== pid && g !== process.pid);

    const WORKERS = 8;
    // Extra workers that only make quick calls, for a higher request rate: see the note above.
    const FAST_WORKERS = Number(process.env.FLEET_SIGTERM_FAST_WORKERS ?? 0);
    const workers = await Promise.all(Array.from({ length: WORKERS + FAST_WORKERS }, () => modernClient()));
    interface Sent {
      worker: number;
      i: number;
      tool: string;
      sentAt: number;
      outcome: Outcome;
    }
    const sent: Sent[] = [];
    let running = true;
    const t0 = performance.now();
    const startedWall = new Date().toISOString();
    const loops = workers.map(async (client, worker) => {
      for (let i = 0; running && i < 10_000; i++) {
        // Mostly slow calls (300-800 ms), so that calls are always in flight on both replicas.
        const slow = worker < WORKERS && i % 4 !== 3;
        const ms = 300 + ((worker * 97 + i * 131) % 500);
        const sentAt = performance.now() - t0;
        const outcome = await outcomeOf(slow ? callTool(client, 'free__slow', { ms }) : callTool(client, 'free__echo', { text: `w${worker}-${i}` }));
        if (outcome.ok && outcome.text !== (slow ? 'done' : `w${worker}-${i}`)) {
          sent.push({ worker, i, tool: slow ? 'slow' : 'echo', sentAt, outcome: { ok: false, message: `wrong answer ${outcome.text}`, ms: outcome.ms } });
        } else sent.push({ worker, i, tool: slow ? 'slow' : 'echo', sentAt, outcome });
      }
    });

    // Under load on both replicas before the signal: every worker has had a call answered, and r1 has answered
    // slow calls (so, with the workers looping, more of them are in flight on it).
    await vi.waitFor(
      () => {
        expect(new Set(sent.map((s) => s.worker)).size).toBe(workers.length);
        expect(auditedCalls(r1.auditFile).filter((a) => a.name === 'free__slow' && a.time >= startedWall).length).toBeGreaterThanOrEqual(2);
      },
      { timeout: 10_000, interval: 50 },
    );
    const signalledAt = performance.now() - t0;
    const signalledWall = Date.now();
    r1.cli.child.kill('SIGTERM');
    const code = await waitForExit(r1.cli.child, DRAIN_MS + 5_000);
    const exitedAt = performance.now() - t0;
    // Keep calling after r1 is gone, until every worker has had a call sent then answered: nginx must send everything to r2.
    await vi.waitFor(() => expect(new Set(sent.filter((s) => s.sentAt > exitedAt).map((s) => s.worker)).size).toBe(workers.length), {
      timeout: 10_000,
      interval: 50,
    });
    running = false;
    await Promise.all(loops);

    const failures = sent.filter((s) => !s.outcome.ok);
    const duringOrAfter = sent.filter((s) => s.sentAt + s.outcome.ms >= signalledAt);
    const afterExit = sent.filter((s) => s.sentAt > exitedAt);
    const retried = nginx!
      .accessLog()
      .split('\n')
      .filter((l) => /upstream=\S+, /.test(l)).length;
    console.log(
      `[fleet] SIGTERM r1 at ${Math.round(signalledAt)} ms, exit ${code} after ${Math.round(exitedAt - signalledAt)} ms (drainMs ${DRAIN_MS}); ` +
        `calls ${sent.length}, ending after SIGTERM ${duringOrAfter.length}, sent after exit ${afterExit.length}, failed ${failures.length}; ` +
        `nginx retried ${retried} on the other replica`,
    );
    expect(
      failures.map((f) => ({ ...f, sentAt: Math.round(f.sentAt - signalledAt), endedAt: Math.round(f.sentAt + f.outcome.ms - signalledAt) })),
      `calls failed (times relative to SIGTERM); nginx errors: ${nginx!.errors().slice(-2_000)}`,
    ).toEqual([]);
    expect(duringOrAfter.length).toBeGreaterThan(WORKERS);
    expect(afterExit.length).toBeGreaterThan(0);

    // r1 finished calls it had in flight at the signal (its audit log: started before, answered after).
    const audit = readFileSync(r1.auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { time: string; latencyMs: number; outcome: string; method: string; server?: string });
    const drained = audit.filter((a) => a.method === 'tools/call' && Date.parse(a.time) > signalledWall && Date.parse(a.time) - a.latencyMs < signalledWall);
    console.log(`[fleet] r1 answered ${drained.length} call(s) in flight at SIGTERM: ${JSON.stringify(drained.map((a) => a.outcome))}`);
    expect(drained.length).toBeGreaterThan(0);
    expect(drained.filter((a) => a.outcome !== 'ok')).toEqual([]);

    expect(code).toBe(0);
    expect(exitedAt - signalledAt).toBeLessThan(DRAIN_MS + 3_000);
    expect(r1.cli.stderr()).toMatch(/unready; still serving before stopping/);
    // No child, grandchild or process-group member of r1 left.
    await eventually(
      () => children.filter((p) => pidAlive(p.pid)).map((p) => `${p.pid} ${p.args}`),
      (left) => left.length === 0,
      5_000,
    );
    for (const g of groups) expect(await groupMembers(g)).toEqual([]);
    // r2 is unaffected.
    expect((await readyz(r2.base)).status).toBe('ready');
    await stopProcess(r1.cli.child);
  });
});
