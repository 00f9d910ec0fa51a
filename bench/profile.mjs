// Profiles the gateway under load: `node --cpu-prof bin/switchboard.js …`,
// driven by the lean load generator, stopped with SIGTERM (so the profile is
// written), then the top self-time and inclusive-time functions are printed.
//
//   node bench/profile.mjs [scenario] [--seconds S] [--sessions N] [--keep DIR]
//   node bench/profile.mjs --summarise FILE.cpuprofile [--callers REGEX]
//
// Scenarios: http (kitchen-sink HTTP fixture upstream), stdio (kitchen-sink
// stdio upstream), policy (stdio + 100 rules + a rate limit), bridge
// (`switchboard bridge -- server-everything stdio`), list (tools/list over 50
// upstreams × 36 tools). Default: stdio, 16 sessions, 5 s. SWITCHBOARD_ROOT
// profiles another checkout's build, as in bench/e2e.mjs.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoadGen, killAllLoadGens } from './lib/driver.mjs';
import * as P from './lib/procs.mjs';
import { hundredRules } from './policy.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const gatewayRoot = path.resolve(process.env.SWITCHBOARD_ROOT ?? root);
const NODE = process.execPath;
const BIN = path.join(gatewayRoot, 'bin/switchboard.js');
const FIX_STDIO = path.join(root, 'test/fixtures/servers/stdio.mjs');
const FIX_HTTP = path.join(root, 'test/fixtures/servers/http.mjs');
const EVERYTHING = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

/**
 * Self time and inclusive time per function (name + file + line), in ms and
 * % of busy (non-idle) samples; only samples inside `window` ([fromUs, toUs]
 * on the profile's monotonic clock) when given. `callersOf` (a RegExp) also
 * lists the commonest call chains leading to matching functions.
 */
export function summariseProfile(profile, { top = 25, window, callersOf } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    const dt = timeDeltas[i + 1] ?? timeDeltas[i] ?? 0; // the time until the next sample is spent in this one
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const keyOf = (n) => {
    const f = n.callFrame;
    const file = f.url ? shortUrl(f.url) : '';
    return `${f.functionName || '(anonymous)'}  ${file}${file && f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ''}`;
  };
  let busy = 0;
  let idle = 0;
  const self = new Map();
  const byFile = new Map();
  const inclusive = new Map();
  const chains = new Map();
  for (const [id, us] of selfUs) {
    const n = nodes.get(id);
    if (n.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const key = keyOf(n);
    self.set(key, (self.get(key) ?? 0) + us);
    const group = groupOf(n.callFrame);
    byFile.set(group, (byFile.get(group) ?? 0) + us);
    // Inclusive: credit every distinct function on the stack once.
    const seen = new Set();
    const stack = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(nodes.get(cur));
      stack.push(k);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
    if (callersOf?.test(key)) {
      const chain = stack.slice(0, 9).join('\n        ← ');
      chains.set(chain, (chains.get(chain) ?? 0) + us);
    }
  }
  const rank = (m, n = top) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / busy }));
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    self: rank(self),
    byFile: rank(byFile, 20),
    inclusive: rank(inclusive, top * 3),
    callers: rank(chains, 8),
  };
}

function shortUrl(url) {
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  for (const base of [gatewayRoot, root]) if (u.startsWith(`${base}/`)) return u.slice(base.length + 1);
  return u;
}

/** Where the time goes, coarsely: a package, a gateway source file, Node internals, GC, idle. */
function groupOf(frame) {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const u = shortUrl(frame.url);
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  if (u.startsWith('@')) return u.split('/').slice(0, 2).join('/');
  if (u.startsWith('dist/')) return u;
  return u.split('/')[0];
}

export function printSummary(s, out = console.log) {
  out(`sampled: ${s.busyMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle (percentages are of busy time)`);
  out('\ntop self time (function  file:line)');
  for (const r of s.self) out(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`);
  out('\nself time by package / gateway file');
  for (const r of s.byFile) out(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`);
  out('\ntop inclusive time (gateway code and its direct dependencies)');
  for (const r of s.inclusive.filter((x) => /dist\/|express|@modelcontextprotocol|cel-js|router|body-parser|raw-body|zod/.test(x.name)).slice(0, 40)) {
    out(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`);
  }
  if (s.callers.length) {
    out('\ncommonest call chains into the --callers functions');
    for (const r of s.callers) out(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.name}`);
  }
}

async function profileScenario({ scenario, seconds, sessions, keep, callersOf }) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-profile-'));
  const profDir = path.join(tmp, 'prof');
  mkdirSync(profDir);
  const lg = new LoadGen();
  try {
    let config;
    let fixture;
    let tool = 'ks__echo';
    let args = { text: 'hello' };
    let method = 'tools/call';
    const emptyPolicies = path.join(tmp, 'policies-empty');
    mkdirSync(emptyPolicies);
    if (scenario === 'http') {
      fixture = P.startProcess({
        name: 'http-fixture',
        command: NODE,
        args: [FIX_HTTP, '--port', '0', '--mode', 'legacy'],
        cwd: root,
        logFile: path.join(tmp, 'fixture.log'),
      });
      const url = (await P.waitForLog(fixture, /LISTENING (\S+)/))[1];
      config = { mcpServers: { ks: { type: 'http', url } }, gateway: { policies: emptyPolicies } };
    } else if (scenario === 'stdio' || scenario === 'policy') {
      let policies = emptyPolicies;
      if (scenario === 'policy') {
        policies = path.join(tmp, 'policies-100');
        mkdirSync(policies);
        const policy = hundredRules(1, () => 'ks');
        policy.servers.ks = { rateLimit: [{ limit: 100_000_000, per: 'minute' }] };
        writeFileSync(path.join(policies, 'bench.yaml'), JSON.stringify(policy));
      }
      config = { mcpServers: { ks: { command: 'node', args: [FIX_STDIO, '--name', 'ks'] } }, gateway: { policies } };
    } else if (scenario === 'list') {
      const servers = Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => [`s${i}`, { command: 'node', args: [FIX_STDIO, '--name', `s${i}`, '--extra-tools', '20'] }]),
      );
      config = { mcpServers: servers, gateway: { policies: emptyPolicies } };
      method = 'tools/list';
    } else if (scenario !== 'bridge') {
      throw new Error(`unknown scenario ${scenario}`);
    }
    let gwArgs;
    if (scenario === 'bridge') {
      gwArgs = ['bridge', '--port', '0', '--', NODE, EVERYTHING, 'stdio'];
      tool = 'echo';
      args = { message: 'hello' };
    } else {
      const file = path.join(tmp, 'config.json');
      writeFileSync(file, JSON.stringify(config, null, 2));
      gwArgs = ['--config', file, '--port', '0'];
    }
    const gw = P.startProcess({
      name: 'gateway',
      command: NODE,
      args: ['--cpu-prof', '--cpu-prof-dir', profDir, BIN, ...gwArgs],
      cwd: root,
      logFile: path.join(tmp, 'gateway.log'),
    });
    const url = (await P.waitForLog(gw, /listening on (http:\/\/[^\s"]+)/))[1];
    await P.waitGatewayReady(gw, new URL(url).origin, 90_000);
    await lg.send('open', { target: 'gw', kind: 'http', url, n: sessions }, 60_000);
    const cpu0 = P.pidCpuMs(gw.pid);
    const fromUs = Number(process.hrtime.bigint() / 1000n) + 500_000; // after the warm-up
    const params = method === 'tools/list' ? {} : { name: tool, arguments: args };
    const r = await lg.send('run', { target: 'gw', n: sessions, method, params, warmupMs: 500, durationMs: seconds * 1000 }, seconds * 1000 + 30_000);
    const cpuMs = P.pidCpuMs(gw.pid) - cpu0;
    const toUs = Number(process.hrtime.bigint() / 1000n);
    console.log(
      `${scenario}: ${sessions} sessions, ${r.callsPerSec.toFixed(0)} calls/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}; gateway CPU ${((cpuMs * 1000) / r.totalCalls).toFixed(0)} µs/call, load generator ${((r.loadgenCpuMs * 1000) / r.totalCalls).toFixed(0)} µs/call`,
    );
    await lg.send('close', { target: 'gw' });
    await P.stopProcess(gw, 15_000);
    if (fixture) await P.stopProcess(fixture);
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    if (!files.length) throw new Error(`no .cpuprofile written (gateway log:\n${P.tail(P.readLog(gw))})`);
    const file = path.join(profDir, files[0]);
    if (keep) {
      mkdirSync(keep, { recursive: true });
      cpSync(file, path.join(keep, `${scenario}.cpuprofile`));
      console.log(`profile kept: ${path.join(keep, `${scenario}.cpuprofile`)}`);
    }
    printSummary(summariseProfile(JSON.parse(readFileSync(file, 'utf8')), { window: [fromUs, toUs], callersOf }));
  } finally {
    await lg.close().catch(() => lg.killNow());
    await P.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '5' },
      sessions: { type: 'string', default: '16' },
      keep: { type: 'string' },
      summarise: { type: 'string' },
      callers: { type: 'string' },
    },
  });
  process.on('exit', () => {
    killAllLoadGens();
    P.killAllNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  const callersOf = values.callers ? new RegExp(values.callers) : undefined;
  if (values.summarise) printSummary(summariseProfile(JSON.parse(readFileSync(values.summarise, 'utf8')), { callersOf }));
  else
    await profileScenario({
      scenario: positionals[0] ?? 'stdio',
      seconds: Math.min(60, Number(values.seconds)),
      sessions: Number(values.sessions),
      keep: values.keep,
      callersOf,
    });
}
