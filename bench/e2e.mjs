// End-to-end benchmark (issue 6): the gateway against calling upstreams
// directly and against the popular npm bridges, all in one interleaved run.
//
// Every server runs as users run it (`node bin/switchboard.js …`, the peers'
// own CLIs), in its own process group, logging to a file in a temp dir. The
// load comes from a separate lean process (bench/lib/loadgen.mjs: node:http,
// keep-alive, the 2025-era handshake by hand) whose own CPU is reported. Each
// cell is run `runs` times with the targets of a group alternating
// (A B A B …); the table shows medians, and ratios are medians of the
// per-round paired ratios.
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadGen } from './lib/driver.mjs';
import * as P from './lib/procs.mjs';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { hundredRules } from './policy.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const NODE = process.execPath;
// SWITCHBOARD_ROOT benchmarks another checkout's build (its bin/ and dist/) with this repo's fixtures and peers.
export const GATEWAY_ROOT = path.resolve(process.env.SWITCHBOARD_ROOT ?? root);
const BIN = path.join(GATEWAY_ROOT, 'bin/switchboard.js');
const FIX_STDIO = path.join(root, 'test/fixtures/servers/stdio.mjs');
const FIX_HTTP = path.join(root, 'test/fixtures/servers/http.mjs');
const EVERYTHING = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const RELAY = path.join(here, 'lib/relay.mjs');
const MCP_PROXY = path.join(root, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs');
const SUPERGATEWAY = path.join(root, 'node_modules/supergateway/dist/index.js');
const LOOPBACK = path.join(here, 'lib/loopback-listen.mjs');

export const TARGETS = {
  httpRatio16: 0.8,
  addedP50Ms: 0.3,
  /** The gateway against the do-nothing relay (the hop alone), HTTP upstream: throughput at 16 sessions, added p50 at 1. */
  vsRelay16: 0.9,
  overRelayP50Ms: 0.15,
  /** Gateway CPU per call that 100 rules + a rate limit + audit add end to end, and what authentication adds on top. */
  governanceUs: 15,
  authUs: 5,
  toolsListMs: 2,
  kbPerSession: 100,
  bridgeVsBestPeer16: 2,
};

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

export async function runEndToEndBench(options = {}) {
  const opts = {
    runs: Number(process.env.BENCH_RUNS ?? 3),
    durationMs: Number(process.env.BENCH_SECONDS ?? 2) * 1000,
    warmupMs: Number(process.env.BENCH_WARMUP_MS ?? 300),
    sessions: [1, 16],
    idleSessions: Number(process.env.BENCH_IDLE_SESSIONS ?? 1000),
    log: (line) => process.stderr.write(`${line}\n`),
    ...options,
  };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  const lg = new LoadGen();
  const ctx = { opts, tmp, lg };
  const t0 = Date.now();
  const out = {
    settings: { runs: opts.runs, durationMs: opts.durationMs, warmupMs: opts.warmupMs, sessions: opts.sessions, gatewayRoot: GATEWAY_ROOT },
    sections: {},
  };
  // A time budget keeps the whole run bounded on a crowded machine: a section that would not fit is
  // skipped, and a cell stops after its current round once the deadline has passed (both are reported).
  const nominalMs = { httpUpstream: 30_000, stdioUpstream: 45_000, peers: 70_000, scale: 45_000 };
  const section = async (name, fn) => {
    const s0 = Date.now();
    if (opts.deadline && s0 + (nominalMs[name] ?? 0) > opts.deadline) {
      opts.log(`\n== ${name}: skipped, the time budget (BENCH_BUDGET_S) is spent`);
      out.sections[name] = { failed: 'time budget (BENCH_BUDGET_S) spent before this section' };
      return;
    }
    opts.log(`\n== ${name}`);
    try {
      out.sections[name] = await fn(ctx);
    } catch (err) {
      opts.log(`!! ${name} failed: ${err.stack ?? err}`);
      out.sections[name] = { failed: String(err.message ?? err).slice(0, 2000) };
    } finally {
      await P.stopAll();
      if (out.sections[name]) out.sections[name].wallMs = Date.now() - s0;
    }
  };
  try {
    const all = { httpUpstream, stdioUpstream, peers, scale };
    const only = (process.env.BENCH_SECTIONS ?? Object.keys(all).join(',')).split(',').map((x) => x.trim());
    for (const [name, fn] of Object.entries(all)) if (only.includes(name)) await section(name, fn);
  } finally {
    await lg.close().catch(() => lg.killNow());
    await P.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
  out.wallMs = Date.now() - t0;
  return out;
}

// ---------------------------------------------------------------- processes

function writeConfig(ctx, name, config) {
  const file = path.join(ctx.tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function emptyPolicyDir(ctx) {
  const dir = path.join(ctx.tmp, 'policies-empty');
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function startGateway(ctx, name, args) {
  const proc = P.startProcess({ name, command: NODE, args: [BIN, ...args], cwd: root, logFile: path.join(ctx.tmp, `${name}.log`) });
  const m = await P.waitForLog(proc, /listening on (http:\/\/[^\s"]+)/, 30_000);
  const url = m[1];
  await P.waitGatewayReady(proc, new URL(url).origin, 90_000);
  return { proc, url };
}

async function startGatewayWithConfig(ctx, name, config) {
  const file = writeConfig(ctx, name, config);
  return startGateway(ctx, name, ['--config', file, '--port', '0']);
}

async function startHttpFixture(ctx, name, extra = []) {
  const proc = P.startProcess({
    name,
    command: NODE,
    args: [FIX_HTTP, '--port', '0', '--mode', 'legacy', ...extra],
    cwd: root,
    logFile: path.join(ctx.tmp, `${name}.log`),
  });
  const m = await P.waitForLog(proc, /LISTENING (\S+)/, 30_000);
  return { proc, url: m[1] };
}

// ---------------------------------------------------------------- measuring

/** Opens a target's sessions in the load generator, retrying while a peer finishes starting. */
async function openTarget(ctx, t, n) {
  let lastErr;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const r = await ctx.lg.send('open', { target: t.key, n, ...t.open }, 120_000);
      if (r.pid) t.clientChildPid = r.pid;
      return r;
    } catch (err) {
      lastErr = err;
      await ctx.lg.send('close', { target: t.key }).catch(() => {});
      await sleep(500);
    }
  }
  throw lastErr;
}

/**
 * Runs every target of a group at every session count, `runs` rounds each,
 * alternating the targets within a round (A B A B …).
 */
async function measureGroup(ctx, targets, { method = 'tools/call', sessions = ctx.opts.sessions, durationMs = ctx.opts.durationMs, drain = false } = {}) {
  const { opts, lg } = ctx;
  const live = [];
  for (const t of targets) {
    if (t.notRun) continue;
    try {
      t.openResult = await openTarget(ctx, t, Math.max(...sessions));
      live.push(t);
    } catch (err) {
      t.notRun = `sessions did not open: ${firstLine(err.message)}`;
      opts.log(`   ${t.label}: not run (${t.notRun})`);
    }
  }
  const cells = {};
  for (const t of targets) cells[t.key] = Object.fromEntries(sessions.map((n) => [n, []]));
  for (const n of sessions) {
    for (let r = 0; r < opts.runs; r++) {
      if (r > 0 && opts.deadline && Date.now() > opts.deadline) {
        opts.log(`   time budget spent: ${r} run(s) at ${n} session(s)`);
        break;
      }
      for (const t of live) {
        const cpu0 = t.cpu ? t.cpu() : undefined;
        let res;
        try {
          res = await lg.send(
            'run',
            { target: t.key, n, method, params: t.params, warmupMs: opts.warmupMs, durationMs, drain },
            opts.warmupMs + durationMs + 30_000,
          );
        } catch (err) {
          res = { errors: 1, firstError: firstLine(err.message), callsPerSec: NaN, latencyMs: {}, totalCalls: 0 };
        }
        if (cpu0) {
          const cpu1 = t.cpu();
          res.serverCpuUsPerCall = res.totalCalls ? ((cpu1.server - cpu0.server) * 1000) / res.totalCalls : NaN;
          res.frontCpuUsPerCall = cpu0.front !== undefined && res.totalCalls ? ((cpu1.front - cpu0.front) * 1000) / res.totalCalls : undefined;
        }
        res.loadgenCpuUsPerCall = res.totalCalls ? (res.loadgenCpuMs * 1000) / res.totalCalls : NaN;
        cells[t.key][n].push(res);
        opts.log(
          `   ${t.label.padEnd(44)} ${String(n).padStart(2)} sess  run ${r + 1}/${opts.runs}: ${fmt(res.callsPerSec, 0).padStart(6)} calls/s  p50 ${fmt(res.latencyMs.p50, 2)} ms  p99 ${fmt(res.latencyMs.p99, 2)} ms${res.errors ? `  ERRORS ${res.errors}: ${res.firstError}` : ''}`,
        );
      }
    }
  }
  for (const t of live) await lg.send('close', { target: t.key }, 30_000).catch(() => {});
  return summarise(targets, cells, sessions);
}

function summarise(targets, cells, sessions) {
  const out = {};
  for (const t of targets) {
    out[t.key] = { label: t.label, notRun: t.notRun, baseline: t.baseline, bySessions: {} };
    if (t.notRun) continue;
    // Opening the target's sessions (an HTTP handshake each, a few at a time; for direct stdio: spawn + initialize).
    const raw = t.openResult?.setupMs;
    const setup = Array.isArray(raw) ? raw : Number.isFinite(raw) ? [raw] : [];
    if (setup.length) out[t.key].sessionSetupMs = { p50: median(setup), max: Math.max(...setup), sessions: setup.length };
    for (const n of sessions) {
      const runs = cells[t.key][n];
      const cell = {
        callsPerSec: median(runs.map((r) => r.callsPerSec)),
        p50Ms: median(runs.map((r) => r.latencyMs.p50)),
        p99Ms: median(runs.map((r) => r.latencyMs.p99)),
        serverCpuUsPerCall: median(runs.map((r) => r.serverCpuUsPerCall)),
        frontCpuUsPerCall: median(runs.map((r) => r.frontCpuUsPerCall)),
        loadgenCpuUsPerCall: median(runs.map((r) => r.loadgenCpuUsPerCall)),
        itemsPerCall: median(runs.map((r) => r.itemsPerCall)),
        runCount: runs.length,
        errors: runs.reduce((a, r) => a + (r.errors ?? 0), 0),
        firstError: runs.find((r) => r.firstError)?.firstError,
        runs: runs.map((r) => ({
          callsPerSec: r.callsPerSec,
          p50Ms: r.latencyMs.p50,
          p99Ms: r.latencyMs.p99,
          calls: r.calls,
          errors: r.errors,
          loadgenCpuMs: r.loadgenCpuMs,
          serverCpuUsPerCall: r.serverCpuUsPerCall,
          frontCpuUsPerCall: r.frontCpuUsPerCall,
        })),
      };
      const base = t.baseline && cells[t.baseline]?.[n];
      if (cell.errors) cell.failed = `${cell.errors} errors: ${cell.firstError}`;
      if (base?.some((r) => r.errors)) cell.baselineFailed = true;
      else if (!cell.failed && base?.length) {
        const paired = runs.map((r, i) => [r, base[i]]).filter(([, b]) => b);
        cell.vsBaseline = {
          baseline: t.baseline,
          throughputRatio: median(paired.map(([r, b]) => r.callsPerSec / b.callsPerSec)),
          addedP50Ms: median(paired.map(([r, b]) => r.latencyMs.p50 - b.latencyMs.p50)),
        };
      }
      out[t.key].bySessions[n] = cell;
    }
  }
  return out;
}

const cpuOf = (rootPids, frontPid) => () => ({
  server: rootPids().reduce((a, pid) => a + P.treeCpuMs(pid), 0),
  front: frontPid === undefined ? undefined : P.pidCpuMs(frontPid()),
});

// ---------------------------------------------------------------- sections

/** A gateway config's `auth` with one API key and one JWT issuer (static key), and the headers that present each. */
async function benchAuth() {
  const key = 'bench-api-key-0123456789';
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const issuer = 'https://idp.bench.invalid';
  const jwt = await new SignJWT({ scope: 'mcp' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setIssuer(issuer)
    .setAudience('switchboard-bench')
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return {
    auth: {
      apiKeys: [{ id: 'bench', sha256: createHash('sha256').update(key).digest('hex') }],
      jwt: { issuer, audience: 'switchboard-bench', publicKeys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }] },
    },
    apiKey: { authorization: `Bearer ${key}` },
    jwt: { authorization: `Bearer ${jwt}` },
  };
}

/**
 * (a) An HTTP upstream (the kitchen-sink fixture, legacy mode), direct vs through the gateway: 2025-era sessions,
 * 2026-07-28 stateless requests, and with authentication on (an API key, a JWT).
 */
async function httpUpstream(ctx) {
  const fixture = await startHttpFixture(ctx, 'http-fixture');
  const gw = await startGatewayWithConfig(ctx, 'gw-http', {
    mcpServers: { ks: { type: 'http', url: fixture.url } },
    gateway: { policies: emptyPolicyDir(ctx) },
  });
  const auth = await benchAuth();
  const gwAuth = await startGatewayWithConfig(ctx, 'gw-http-auth', {
    mcpServers: { ks: { type: 'http', url: fixture.url } },
    gateway: { policies: emptyPolicyDir(ctx), auth: auth.auth },
  });
  const relay = P.startProcess({ name: 'http-relay', command: NODE, args: [RELAY, fixture.url], cwd: root, logFile: path.join(ctx.tmp, 'http-relay.log') });
  const relayUrl = (await P.waitForLog(relay, /LISTENING (\S+)/, 30_000))[1];
  const params = (name) => ({ name, arguments: { text: 'hello' } });
  const targets = [
    {
      key: 'httpDirect',
      label: 'direct (kitchen-sink HTTP, legacy)',
      open: { kind: 'http', url: fixture.url },
      params: params('echo'),
      cpu: cpuOf(() => [fixture.proc.pid]),
    },
    // The hop alone: what any HTTP proxy in the gateway's place costs on this machine before doing any work.
    {
      key: 'httpRelay',
      label: 'do-nothing node:http relay (the hop)',
      baseline: 'httpDirect',
      open: { kind: 'http', url: relayUrl },
      params: params('echo'),
      cpu: cpuOf(
        () => [relay.pid, fixture.proc.pid],
        () => relay.pid,
      ),
    },
    {
      key: 'httpGateway',
      label: 'through the gateway',
      baseline: 'httpDirect',
      open: { kind: 'http', url: gw.url },
      params: params('ks__echo'),
      cpu: cpuOf(
        () => [gw.proc.pid, fixture.proc.pid],
        () => gw.proc.pid,
      ),
    },
    {
      key: 'httpGatewayModern',
      label: 'through the gateway, 2026-07-28 stateless',
      baseline: 'httpDirect',
      open: { kind: 'http', url: gw.url, modern: true },
      params: params('ks__echo'),
      cpu: cpuOf(
        () => [gw.proc.pid, fixture.proc.pid],
        () => gw.proc.pid,
      ),
    },
    {
      key: 'httpGatewayApiKey',
      label: 'through the gateway, API key',
      baseline: 'httpDirect',
      open: { kind: 'http', url: gwAuth.url, headers: auth.apiKey },
      params: params('ks__echo'),
      cpu: cpuOf(
        () => [gwAuth.proc.pid, fixture.proc.pid],
        () => gwAuth.proc.pid,
      ),
    },
    {
      key: 'httpGatewayJwt',
      label: 'through the gateway, JWT',
      baseline: 'httpDirect',
      open: { kind: 'http', url: gwAuth.url, headers: auth.jwt },
      params: params('ks__echo'),
      cpu: cpuOf(
        () => [gwAuth.proc.pid, fixture.proc.pid],
        () => gwAuth.proc.pid,
      ),
    },
  ];
  const calls = await measureGroup(ctx, targets);
  // Session setup: direct vs through the gateway (with an HTTP upstream the upstream session opens lazily, on first use).
  const setup = { direct: [], gateway: [] };
  for (let r = 0; r < ctx.opts.runs; r++) {
    setup.direct.push((await ctx.lg.send('setup', { label: 'd', url: fixture.url, count: 20 })).latencyMs);
    setup.gateway.push((await ctx.lg.send('setup', { label: 'g', url: gw.url, count: 20 })).latencyMs);
  }
  return {
    upstream: 'test/fixtures/servers/http.mjs --mode legacy (kitchen-sink, one SDK transport per session), tool echo',
    calls,
    sessionSetupMs: { direct: median(setup.direct.map((s) => s.p50)), gateway: median(setup.gateway.map((s) => s.p50)) },
  };
}

/** (b) a stdio upstream through the gateway vs driven directly; (c) empty policy set vs 100 rules + a rate limit. */
async function stdioUpstream(ctx) {
  const ks = { command: 'node', args: [FIX_STDIO, '--name', 'ks'] };
  const policyDir = path.join(ctx.tmp, 'policies-100');
  mkdirSync(policyDir, { recursive: true });
  // The worst case of bench/policy.mjs: all 100 rules name the called server, plus a rate limit that never trips.
  const policy = hundredRules(1, () => 'ks');
  policy.servers.ks = { rateLimit: [{ limit: 100_000_000, per: 'minute' }] };
  writeFileSync(path.join(policyDir, 'bench.yaml'), JSON.stringify(policy, null, 2));
  const empty = await startGatewayWithConfig(ctx, 'gw-stdio', { mcpServers: { ks }, gateway: { policies: emptyPolicyDir(ctx) } });
  const ruled = await startGatewayWithConfig(ctx, 'gw-stdio-100', { mcpServers: { ks }, gateway: { policies: policyDir } });
  const readyz = await P.httpGet(`${new URL(ruled.url).origin}/readyz`);
  const targets = [
    {
      key: 'stdioDirect',
      label: 'direct stdio (lean client, in-process)',
      open: { kind: 'stdio', command: NODE, args: [FIX_STDIO, '--name', 'ks'], cwd: root },
      params: { name: 'echo', arguments: { text: 'hello' } },
    },
    {
      key: 'stdioGateway',
      label: 'through the gateway, no policies',
      baseline: 'stdioDirect',
      open: { kind: 'http', url: empty.url },
      params: { name: 'ks__echo', arguments: { text: 'hello' } },
      cpu: cpuOf(
        () => [empty.proc.pid],
        () => empty.proc.pid,
      ),
    },
    {
      key: 'stdioGateway100',
      label: 'through the gateway, 100 rules + rate limit',
      baseline: 'stdioGateway',
      open: { kind: 'http', url: ruled.url },
      params: { name: 'ks__echo', arguments: { text: 'hello' } },
      cpu: cpuOf(
        () => [ruled.proc.pid],
        () => ruled.proc.pid,
      ),
    },
  ];
  targets[0].cpu = cpuOf(() => (targets[0].clientChildPid ? [targets[0].clientChildPid] : []));
  const calls = await measureGroup(ctx, targets);
  return {
    upstream: 'test/fixtures/servers/stdio.mjs --name ks (kitchen-sink), tool echo',
    policyRules: policy.rules.length,
    readyzStatus: readyz.status,
    calls,
  };
}

/** Peers: supergateway and mcp-proxy bridging server-everything (stdio) vs `switchboard bridge` vs the server driven directly. */
async function peers(ctx) {
  const cmd = [NODE, EVERYTHING, 'stdio'];
  const params = { name: 'echo', arguments: { message: 'hello' } };
  const targets = [
    {
      key: 'everythingDirect',
      label: 'direct stdio server-everything (the limit)',
      open: { kind: 'stdio', command: NODE, args: [EVERYTHING, 'stdio'], cwd: root },
      params,
    },
    { key: 'bridge', label: 'switchboard bridge', baseline: 'everythingDirect', params },
    { key: 'mcpProxy', label: 'mcp-proxy 6.7.19 (one shared child)', baseline: 'everythingDirect', params },
    { key: 'supergateway', label: 'supergateway 4.0.0 --stateful (child/session)', baseline: 'everythingDirect', params },
  ];
  targets[0].cpu = cpuOf(() => (targets[0].clientChildPid ? [targets[0].clientChildPid] : []));
  const [direct, bridge, proxy, superg] = targets;

  await Promise.all([
    (async () => {
      const gw = await startGateway(ctx, 'bridge', ['bridge', '--port', '0', '--', ...cmd]);
      bridge.open = { kind: 'http', url: gw.url };
      bridge.cpu = cpuOf(
        () => [gw.proc.pid],
        () => gw.proc.pid,
      );
    })().catch((err) => (bridge.notRun = firstLine(err.message))),
    (async () => {
      const port = await P.freePort();
      const proc = P.startProcess({
        name: 'mcp-proxy',
        command: NODE,
        args: [MCP_PROXY, '--host', '127.0.0.1', '--port', String(port), '--', ...cmd],
        cwd: root,
        logFile: path.join(ctx.tmp, 'mcp-proxy.log'),
      });
      await P.waitForPort(proc, port);
      proxy.open = { kind: 'http', url: `http://127.0.0.1:${port}/mcp` };
      proxy.cpu = cpuOf(
        () => [proc.pid],
        () => proc.pid,
      );
    })().catch((err) => (proxy.notRun = `did not start: ${firstLine(err.message)}`)),
    (async () => {
      const port = await P.freePort();
      const stdio = cmd.map((a) => `'${a}'`).join(' ');
      const proc = P.startProcess({
        name: 'supergateway',
        command: NODE,
        args: [
          '--import',
          LOOPBACK,
          SUPERGATEWAY,
          '--stdio',
          stdio,
          '--outputTransport',
          'streamableHttp',
          '--stateful',
          '--port',
          String(port),
          '--logLevel',
          'none',
        ],
        cwd: root,
        logFile: path.join(ctx.tmp, 'supergateway.log'),
      });
      await P.waitForPort(proc, port);
      superg.open = { kind: 'http', url: `http://127.0.0.1:${port}/mcp`, openConcurrency: 2 };
      superg.cpu = cpuOf(
        () => [proc.pid],
        () => proc.pid,
      );
    })().catch((err) => (superg.notRun = `did not start: ${firstLine(err.message)}`)),
  ]);
  void direct;
  const calls = await measureGroup(ctx, targets);
  // The bridge against the best peer at each session count.
  const vsBestPeer = {};
  for (const n of ctx.opts.sessions) {
    const peerCells = [calls.mcpProxy, calls.supergateway].filter((c) => !c.notRun && c.bySessions[n] && !c.bySessions[n].errors);
    const best = peerCells.sort((a, b) => b.bySessions[n].callsPerSec - a.bySessions[n].callsPerSec)[0];
    const mine = calls.bridge.bySessions?.[n];
    if (best && mine && !mine.failed) vsBestPeer[n] = { bestPeer: best.label, ratio: mine.callsPerSec / best.bySessions[n].callsPerSec };
  }
  return { upstream: 'server-everything stdio, tool echo', calls, vsBestPeer };
}

/** Session setup with 1, 10 and 50 upstreams; tools/list over 50 × 20 tools; memory of idle sessions. */
async function scale(ctx) {
  const { opts, lg } = ctx;
  const stdioServers = (count) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, { command: 'node', args: [FIX_STDIO, '--name', `s${i}`, '--extra-tools', '20'] }]));
  const gws = {};
  await Promise.all(
    [1, 10, 50].map(async (count) => {
      gws[count] = await startGatewayWithConfig(ctx, `gw-${count}`, { mcpServers: stdioServers(count), gateway: { policies: emptyPolicyDir(ctx) } });
      opts.log(`   gateway with ${count} upstream(s) ready`);
    }),
  );
  // Session setup (initialize → initialized), interleaved across the three gateways.
  const setup = { 1: [], 10: [], 50: [] };
  for (let r = 0; r < opts.runs; r++) {
    for (const count of [1, 10, 50]) setup[count].push((await lg.send('setup', { label: `s${count}`, url: gws[count].url, count: 30 })).latencyMs);
  }
  const sessionSetup = Object.fromEntries(
    Object.entries(setup).map(([count, runs]) => [
      count,
      { p50Ms: median(runs.map((s) => s.p50)), p90Ms: median(runs.map((s) => s.p90)), runs: runs.map((s) => s.p50) },
    ]),
  );
  opts.log(
    `   session setup p50: ${Object.entries(sessionSetup)
      .map(([c, s]) => `${c} upstreams ${fmt(s.p50Ms, 2)} ms`)
      .join(', ')}`,
  );

  // tools/list: the first page (500 entries) and the whole list drained, 1 session, 1 upstream vs 50.
  const listTargets = (suffix) => [
    {
      key: `list1${suffix}`,
      label: `1 upstream × 36 tools`,
      open: { kind: 'http', url: gws[1].url },
      params: {},
      cpu: cpuOf(
        () => [gws[1].proc.pid],
        () => gws[1].proc.pid,
      ),
    },
    {
      key: `list50${suffix}`,
      label: `50 upstreams × 36 tools`,
      open: { kind: 'http', url: gws[50].url },
      params: {},
      cpu: cpuOf(
        () => [gws[50].proc.pid],
        () => gws[50].proc.pid,
      ),
    },
  ];
  const firstPage = await measureGroup(ctx, listTargets('Page'), { method: 'tools/list', sessions: [1], durationMs: 1000 });
  const drained = await measureGroup(ctx, listTargets('All'), { method: 'tools/list', sessions: [1], durationMs: 1000, drain: true });

  // Memory: 1,000 idle sessions (handshake only, no GET stream) on a fresh 1-upstream gateway, so that
  // garbage left by earlier runs does not hide what the sessions cost.
  for (const count of [10, 50]) await P.stopProcess(gws[count].proc);
  const mem = await startGatewayWithConfig(ctx, 'gw-mem', { mcpServers: stdioServers(1), gateway: { policies: emptyPolicyDir(ctx) } });
  const pid = mem.proc.pid;
  await lg.send('setup', { label: 'warm', url: mem.url, count: 50, concurrency: 8 }); // JIT and lazy state first
  await sleep(1000);
  const before = P.memoryKb(pid);
  const half = Math.floor(opts.idleSessions / 2);
  const opened1 = await lg.send('setup', { label: 'idle1', url: mem.url, count: half, concurrency: 8, keep: true }, 180_000);
  await sleep(500);
  const middle = P.memoryKb(pid);
  const opened2 = await lg.send('setup', { label: 'idle2', url: mem.url, count: opts.idleSessions - half, concurrency: 8, keep: true }, 180_000);
  await sleep(1000);
  const after = P.memoryKb(pid);
  const readyz = JSON.parse((await P.httpGet(`${new URL(mem.url).origin}/readyz`)).text);
  await lg.send('release', { label: 'idle1' }, 120_000);
  await lg.send('release', { label: 'idle2' }, 120_000);
  const memory = {
    sessions: opts.idleSessions,
    liveSessionsReported: readyz.sessions,
    before,
    middle,
    after,
    // RSS moves with garbage collection; the peak (VmHWM) over the baseline is the conservative figure.
    kbPerSession: (Math.max(after.rssKb, after.hwmKb) - before.rssKb) / opts.idleSessions,
    rssKbPerSession: (after.rssKb - before.rssKb) / opts.idleSessions,
    kbPerSessionSecondHalf: (after.rssKb - middle.rssKb) / (opts.idleSessions - half),
    peakRssKb: after.hwmKb,
    openMs: opened1.totalMs + opened2.totalMs,
    setupP50Ms: median([opened1.latencyMs.p50, opened2.latencyMs.p50]),
  };
  opts.log(
    `   ${opts.idleSessions} idle sessions: RSS ${before.rssKb} → ${middle.rssKb} → ${after.rssKb} KB (${fmt(memory.kbPerSession, 1)} KB/session), HWM ${before.hwmKb} → ${after.hwmKb} KB`,
  );
  return { upstreams: 'test/fixtures/servers/stdio.mjs --name sN --extra-tools 20 (36 tools each)', sessionSetup, toolsList: { firstPage, drained }, memory };
}

// ---------------------------------------------------------------- helpers

/** A signed difference: +1.20 / −0.30. */
export function signed(x, digits = 2) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  return `${x < 0 ? '−' : '+'}${fmt(Math.abs(x), digits)}`;
}

export function fmt(x, digits = 1) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function firstLine(s) {
  return (
    String(s)
      .split('\n')
      .find((l) => l.trim()) ?? String(s)
  );
}
