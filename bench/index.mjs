// `npm run bench`: every benchmark in one run, printed as a table and written
// as JSON (bench/results/latest.json). Uses the compiled gateway in dist/
// (npm run bench builds it first).
//
//   bench/policy.mjs   the cost of one policy decision (in-process, no I/O)
//   bench/contracts.mjs  the added cost of a pinned, validated tool call (in-process)
//   bench/audit.mjs    the added cost of sealing an audit record into the hash chain (in-process)
//   bench/spec.mjs     Mcp-Param-* headers per tools/call and a list's cache hint (in-process)
//   bench/approvals.mjs the approvals stage when no rule asks for one (in-process)
//   bench/e2e.mjs      tools/call throughput and latency direct vs through the
//                      gateway (HTTP and stdio upstreams, with and without
//                      policies), against supergateway and mcp-proxy, session
//                      setup, tools/list over 50 upstreams, memory per idle session
//
// Knobs (environment): BENCH_RUNS (3), BENCH_SECONDS (2), BENCH_WARMUP_MS (300),
// BENCH_IDLE_SESSIONS (1000), BENCH_SECTIONS (httpUpstream,stdioUpstream,peers,scale),
// BENCH_ONLY=policy to skip the end-to-end part, SWITCHBOARD_ROOT (another checkout's build),
// BENCH_BUDGET_S (360: after that, no new section or round starts; what was skipped is reported).
// Progress goes to stderr; the table to stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDisclosureBench } from './disclosure.mjs';
import { runAuditBench } from './audit.mjs';
import { runContractsBench } from './contracts.mjs';
import { runSpecBench } from './spec.mjs';
import { runApprovalsBench } from './approvals.mjs';
import { runPolicyBench } from './policy.mjs';
import { runRateLimitStoreBench } from './rate-limit-store.mjs';
import { runEndToEndBench, TARGETS, fmt, signed } from './e2e.mjs';
import { killAllNow } from './lib/procs.mjs';
import { killAllLoadGens } from './lib/driver.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();

// Whatever happens, no process we started outlives the benchmark.
const hardStop = () => {
  killAllLoadGens();
  killAllNow();
};
process.on('exit', hardStop);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping every process it started\n`);
    hardStop();
    process.exit(130);
  });
}

const results = {
  machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavgAtStart: os.loadavg() },
  startedAt: new Date(started).toISOString(),
  policy: runPolicyBench(),
  contracts: runContractsBench(),
  audit: runAuditBench(),
  spec: runSpecBench(),
  approvals: runApprovalsBench(),
  rateLimitStore: await runRateLimitStoreBench(),
  // Large catalogs first: it is quick, and the end-to-end part may use the whole time budget.
  disclosure: process.env.BENCH_ONLY === 'policy' ? undefined : await runDisclosureBench(),
};
// The end-to-end part stops starting work once this much time has passed since the start (npm run build comes before).
const deadline = started + Number(process.env.BENCH_BUDGET_S ?? 360) * 1000;
if (process.env.BENCH_ONLY !== 'policy') results.e2e = await runEndToEndBench({ deadline });
results.machine.loadavgAtEnd = os.loadavg();
results.wallMs = Date.now() - started;
results.targets = verdicts(results);

print(results);
if (results.disclosure) {
  const d = results.disclosure;
  console.log(`\nlarge catalogs (50 upstreams, ${d.tools} tools)`);
  console.log(
    `  tools/list, all pages: full ${d.fullListBytes} B in ${d.fullListMs.toFixed(2)} ms; disclosure "search" ${d.searchListBytes} B in ${d.searchListMs.toFixed(2)} ms (${(d.fullListBytes / d.searchListBytes).toFixed(0)}x smaller)`,
  );
  console.log(`  find_tools over ${d.findToolsCatalog} tools: ${d.findToolsUs.toFixed(1)} µs per query (index built in ${d.indexBuildMs.toFixed(1)} ms)`);
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, 'bench/results/latest.json');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${path.relative(root, out)}; bench ran ${(results.wallMs / 1000).toFixed(0)} s`);

// ---------------------------------------------------------------- verdicts

function verdicts(r) {
  const p = r.policy;
  const list = [
    {
      target: `policy decision, 100 rules over 10 servers ≤ ${p.targetUs} µs`,
      value: `${p.hundredRulesPerCallUs.toFixed(2)} µs`,
      met: p.hundredRulesPerCallUs <= p.targetUs,
    },
    {
      target: `policy decision, 100 rules on one server ≤ ${p.targetUs} µs`,
      value: `${p.hundredRulesOneServerPerCallUs.toFixed(2)} µs`,
      met: p.hundredRulesOneServerPerCallUs <= p.targetUs,
    },
    {
      target: `chained audit record ≤ +${r.audit.targetUs} µs over a plain JSON line`,
      value: `+${r.audit.addedUs.toFixed(2)} µs`,
      met: r.audit.addedUs <= r.audit.targetUs,
    },
    {
      target: `pinned tool: pin check + argument validation ≤ +${r.contracts.targetUs} µs over the unpinned path`,
      value: `+${r.contracts.addedUs.toFixed(2)} µs`,
      met: r.contracts.addedUs <= r.contracts.targetUs,
    },
  ];
  const e = r.e2e?.sections;
  if (!e) return list;
  const ok = (c) => (c && !c.failed ? c : undefined);
  const cell = (sec, key, n) => ok(e[sec]?.calls?.[key]?.bySessions?.[n]);
  const notRun = (what) => ({ target: what, value: 'not run or failed (see table)', met: false });
  const httpGw16 = cell('httpUpstream', 'httpGateway', 16);
  list.push(
    httpGw16?.vsBaseline
      ? {
          target: `HTTP upstream, 16 sessions: gateway ≥ ${TARGETS.httpRatio16}× direct throughput`,
          value: `×${fmt(httpGw16.vsBaseline.throughputRatio, 2)}`,
          met: httpGw16.vsBaseline.throughputRatio >= TARGETS.httpRatio16,
        }
      : notRun('HTTP upstream, 16 sessions'),
  );
  for (const [sec, key, what] of [
    ['httpUpstream', 'httpGateway', 'HTTP upstream'],
    ['stdioUpstream', 'stdioGateway', 'stdio upstream (vs in-process stdio: includes the HTTP hop)'],
    ['stdioUpstream', 'stdioGateway100', "100 rules + rate limit vs no policies (end to end; the issue's policy target is per decision)"],
  ]) {
    const c = cell(sec, key, 1);
    list.push(
      c?.vsBaseline
        ? {
            target: `${what}, 1 session: added p50 ≤ ${TARGETS.addedP50Ms} ms`,
            value: `${signed(c.vsBaseline.addedP50Ms)} ms`,
            met: c.vsBaseline.addedP50Ms <= TARGETS.addedP50Ms,
          }
        : notRun(`${what}, 1 session: added p50`),
    );
  }
  list.push(...closeToTheHop(cell, notRun));
  const list50 = ok(e.scale?.toolsList?.firstPage?.list50Page?.bySessions?.[1]);
  list.push(
    list50
      ? {
          target: `tools/list over 50 upstreams × 36 tools (first page of 500) ≤ ${TARGETS.toolsListMs} ms`,
          value: `p50 ${fmt(list50.p50Ms, 2)} ms`,
          met: list50.p50Ms <= TARGETS.toolsListMs,
        }
      : notRun('tools/list over 50 upstreams'),
  );
  const mem = e.scale?.memory;
  list.push(
    mem
      ? {
          target: `memory per idle session ≤ ${TARGETS.kbPerSession} KB`,
          value: `${fmt(mem.kbPerSession, 1)} KB`,
          met: mem.kbPerSession <= TARGETS.kbPerSession,
        }
      : notRun('memory per idle session'),
  );
  const vs = ok(e.peers?.calls?.bridge?.bySessions?.[16]) && e.peers?.vsBestPeer?.[16];
  list.push(
    vs
      ? {
          target: `switchboard bridge ≥ ${TARGETS.bridgeVsBestPeer16}× best peer at 16 sessions (${vs.bestPeer})`,
          value: `×${fmt(vs.ratio, 2)}`,
          met: vs.ratio >= TARGETS.bridgeVsBestPeer16,
        }
      : notRun('switchboard bridge vs best peer at 16 sessions'),
  );
  return list;
}

/** Median over rounds of f(this target's run, the other target's run of the same round). */
function paired(a, b, f) {
  const xs = a.runs
    .map((r, i) => (b.runs[i] ? f(r, b.runs[i]) : NaN))
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  return xs.length ? xs[Math.floor(xs.length / 2)] : NaN;
}

/** The targets measured against the relay and against the gateway's own no-policy / no-auth rows. */
function closeToTheHop(cell, notRun) {
  const out = [];
  const gw16 = cell('httpUpstream', 'httpGateway', 16);
  const relay16 = cell('httpUpstream', 'httpRelay', 16);
  if (gw16 && relay16) {
    const ratio = paired(gw16, relay16, (g, r) => g.callsPerSec / r.callsPerSec);
    out.push({ target: `HTTP upstream, 16 sessions: gateway ≥ ${TARGETS.vsRelay16}× the relay`, value: `×${fmt(ratio, 2)}`, met: ratio >= TARGETS.vsRelay16 });
  } else out.push(notRun('HTTP upstream, 16 sessions: gateway vs relay'));
  const gw1 = cell('httpUpstream', 'httpGateway', 1);
  const relay1 = cell('httpUpstream', 'httpRelay', 1);
  if (gw1 && relay1) {
    const added = paired(gw1, relay1, (g, r) => g.p50Ms - r.p50Ms);
    out.push({
      target: `HTTP upstream, 1 session: added p50 over the relay ≤ ${TARGETS.overRelayP50Ms} ms`,
      value: `${signed(added)} ms`,
      met: added <= TARGETS.overRelayP50Ms,
    });
  } else out.push(notRun('HTTP upstream, 1 session: added p50 over the relay'));
  const frontDelta = (sec, key, baseKey) => {
    const c = cell(sec, key, 16);
    const b = cell(sec, baseKey, 16);
    return c && b ? paired(c, b, (x, y) => x.frontCpuUsPerCall - y.frontCpuUsPerCall) : undefined;
  };
  const governance = frontDelta('stdioUpstream', 'stdioGateway100', 'stdioGateway');
  out.push(
    governance === undefined
      ? notRun('governance CPU')
      : {
          target: `100 rules + rate limit + audit: ≤ +${TARGETS.governanceUs} µs gateway CPU per call (16 sessions)`,
          value: `${signed(governance, 0)} µs`,
          met: governance <= TARGETS.governanceUs,
        },
  );
  for (const [key, what] of [
    ['httpGatewayApiKey', 'API key'],
    ['httpGatewayJwt', 'JWT'],
  ]) {
    const added = frontDelta('httpUpstream', key, 'httpGateway');
    out.push(
      added === undefined
        ? notRun(`${what} authentication CPU`)
        : {
            target: `${what} authentication: ≤ +${TARGETS.authUs} µs gateway CPU per call (16 sessions)`,
            value: `${signed(added, 0)} µs`,
            met: added <= TARGETS.authUs,
          },
    );
  }
  return out;
}

// ---------------------------------------------------------------- table

function print(r) {
  const lines = [];
  const say = (s = '') => lines.push(s);
  const e = r.e2e;
  say(
    `Switchboard benchmark — Node ${r.machine.node}, ${r.machine.cpus} CPUs, load average ${r.machine.loadavgAtStart.map((x) => x.toFixed(1)).join(' ')} at start`,
  );
  if (e?.settings.gatewayRoot && e.settings.gatewayRoot !== root) say(`Gateway under test: ${e.settings.gatewayRoot} (SWITCHBOARD_ROOT)`);
  if (e) {
    const s = e.settings;
    say(
      `${s.runs} runs per cell, targets of a group alternating (A B A B …), ${(s.durationMs / 1000).toFixed(1)} s measured after ${s.warmupMs} ms warm-up; medians of runs.`,
    );
    say(`Load: a lean node:http client (keep-alive, handshake by hand) in its own process; "vs base" = median of per-round paired ratios and added p50.`);
    say(
      `CPU µs/call: "server" = every server-side process of the path (gateway/bridge + upstream), "front" = the gateway/bridge process alone, "load" = the load generator.`,
    );
  }
  say();
  say('policy decision (in-process, bench/policy.mjs)                         µs per decision');
  say(`  empty policy set                                                     ${r.policy.emptyPerCallUs.toFixed(2)}`);
  say(`  ${r.policy.rules} rules over 10 servers                                            ${r.policy.hundredRulesPerCallUs.toFixed(2)}`);
  say(`  ${r.policy.rules} rules on one server (worst case)                                 ${r.policy.hundredRulesOneServerPerCallUs.toFixed(2)}`);
  const c = r.contracts;
  say();
  say('tool contracts (in-process, bench/contracts.mjs)                        µs per call');
  say(`  resolve-route + validate-arguments, unpinned                         ${c.unpinnedPerCallUs.toFixed(2)}`);
  say(`  the same, pinned (enforce) and validated against the approved schema ${c.pinnedPerCallUs.toFixed(2)}   (+${c.addedUs.toFixed(2)})`);
  const a = r.audit;
  say();
  say('audit record (in-process, bench/audit.mjs)                             µs per record');
  say(`  plain JSON line                                                      ${a.plainPerCallUs.toFixed(2)}`);
  say(`  sealed into the hash chain (JCS order, SHA-256)                      ${a.chainedPerCallUs.toFixed(2)}   (+${a.addedUs.toFixed(2)})`);
  const sp = r.spec;
  say();
  say('2026-07-28 per-request work (in-process, bench/spec.mjs)               µs per request');
  say(`  Mcp-Param-* check + upstream headers, tool declaring none            ${sp.paramHeadersPlainUs.toFixed(2)}`);
  say(
    `  the same, tool declaring one x-mcp-header                           ${sp.paramHeadersDeclaredUs.toFixed(2)}   (+${sp.paramHeadersAddedUs.toFixed(2)})`,
  );
  say(`  cache hint of a list over 10 upstreams, 100 rules                    ${sp.listHintUs.toFixed(2)}`);
  say();
  say('approvals (in-process, bench/approvals.mjs)                            µs per call');
  say(`  the approve stage, no rule asks for an approval                      ${r.approvals.noopPerCallUs.toFixed(3)}`);
  const rl = r.rateLimitStore;
  say();
  say('rate-limit decisions per second (bench/rate-limit-store.mjs)          memory      redis   redis/memory');
  if (rl.failed) say(`  not run: ${rl.failed.split('\n')[0]}`);
  else
    for (const row of rl.rows)
      say(
        `  ${String(row.concurrency).padStart(2)} concurrent callers${' '.repeat(44)}${row.memoryPerSec.toFixed(0).padStart(9)}${row.redisPerSec.toFixed(0).padStart(11)}${row.ratio.toFixed(3).padStart(15)}`,
      );
  if (e) {
    const head = `  ${'path'.padEnd(46)}${'sess'.padStart(4)}${'calls/s'.padStart(9)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}  ${'vs base'.padEnd(17)}${'server'.padStart(7)}${'front'.padStart(7)}${'load'.padStart(6)}  target`;
    const sec = e.sections;
    const group = (title, section, targetFor) => {
      say();
      say(title);
      if (!section) return say('  not run (BENCH_SECTIONS)');
      if (section.failed) return say(`  not run: ${section.failed.split('\n')[0]}`);
      say(head);
      for (const n of e.settings.sessions) {
        for (const [key, t] of Object.entries(section.calls)) {
          if (t.notRun) {
            if (n === e.settings.sessions[0]) say(`  ${t.label.padEnd(46)}  not run: ${t.notRun}`);
            continue;
          }
          say(row(t, n, t.bySessions[n], targetFor?.(key, n, t.bySessions[n])));
        }
      }
    };
    group(`(a) HTTP upstream — ${sec.httpUpstream?.upstream ?? ''}`, sec.httpUpstream, (key, n, c) => {
      if (key === 'httpGateway' && c?.failed) return 'FAILED';
      if (key !== 'httpGateway' || !c?.vsBaseline) return '';
      if (n === 16) return `≥ ${TARGETS.httpRatio16}×: ${c.vsBaseline.throughputRatio >= TARGETS.httpRatio16 ? 'met' : 'MISSED'}`;
      if (n === 1) return `+p50 ≤ ${TARGETS.addedP50Ms} ms: ${c.vsBaseline.addedP50Ms <= TARGETS.addedP50Ms ? 'met' : 'MISSED'}`;
      return '';
    });
    if (sec.httpUpstream?.sessionSetupMs) {
      say(
        `  session setup (initialize → initialized), p50: direct ${fmt(sec.httpUpstream.sessionSetupMs.direct, 2)} ms, through the gateway ${fmt(sec.httpUpstream.sessionSetupMs.gateway, 2)} ms`,
      );
    }
    group(`(b) stdio upstream, (c) policies — ${sec.stdioUpstream?.upstream ?? ''}`, sec.stdioUpstream, (key, n, c) => {
      if (key !== 'stdioDirect' && c?.failed) return 'FAILED';
      if (n !== 1 || !c?.vsBaseline || key === 'stdioDirect') return '';
      return `+p50 ≤ ${TARGETS.addedP50Ms} ms: ${c.vsBaseline.addedP50Ms <= TARGETS.addedP50Ms ? 'met' : 'MISSED'}`;
    });
    say('  (the 100-rule row is compared with the no-policy gateway; the no-policy row with the in-process stdio client, so it includes the HTTP hop)');
    group(`peers — ${sec.peers?.upstream ?? ''}`, sec.peers, (key, n, c) => {
      if (c?.failed) return 'FAILED';
      const vs = sec.peers?.vsBestPeer?.[n];
      if (key !== 'bridge' || !vs) return '';
      return `×${fmt(vs.ratio, 2)} best peer${n === 16 ? ` (≥ ${TARGETS.bridgeVsBestPeer16}×: ${vs.ratio >= TARGETS.bridgeVsBestPeer16 ? 'met' : 'MISSED'})` : ''}`;
    });
    if (sec.peers?.calls) {
      const parts = Object.values(sec.peers.calls)
        .filter((t) => t.sessionSetupMs)
        .map((t) => `${t.label.split(' (')[0]} ${fmt(t.sessionSetupMs.p50, 1)} ms`);
      if (parts.length) say(`  session setup p50 (16 sessions opened a few at a time; direct = spawn + initialize): ${parts.join(', ')}`);
    }
    say();
    say(`scale — ${sec.scale?.upstreams ?? ''}`);
    if (!sec.scale) say('  not run (BENCH_SECTIONS)');
    else if (sec.scale.failed) say(`  not run: ${sec.scale.failed.split('\n')[0]}`);
    else {
      const sc = sec.scale;
      for (const [count, s] of Object.entries(sc.sessionSetup))
        say(`  session setup (initialize → initialized), ${String(count).padStart(2)} upstream(s): p50 ${fmt(s.p50Ms, 2)} ms, p90 ${fmt(s.p90Ms, 2)} ms`);
      for (const [title, g] of [
        ['tools/list, first page', sc.toolsList.firstPage],
        ['tools/list, all pages', sc.toolsList.drained],
      ]) {
        for (const t of Object.values(g)) {
          const c = t.bySessions[1];
          if (!c) continue;
          const target =
            t.label.startsWith('50') && title.endsWith('first page')
              ? `   ≤ ${TARGETS.toolsListMs} ms: ${!c.failed && c.p50Ms <= TARGETS.toolsListMs ? 'met' : 'MISSED'}`
              : '';
          say(
            `  ${`${title}, ${t.label}`.padEnd(54)} p50 ${fmt(c.p50Ms, 2).padStart(6)} ms  p99 ${fmt(c.p99Ms, 2).padStart(6)} ms  ${fmt(c.callsPerSec, 0).padStart(5)}/s${c.itemsPerCall ? `  (${fmt(c.itemsPerCall, 0)} tools)` : ''}${c.errors ? `  ERRORS ${c.errors}` : ''}${target}`,
          );
        }
      }
      const m = sc.memory;
      say(
        `  ${m.sessions} idle sessions (fresh gateway, 1 upstream): RSS ${fmt(m.before.rssKb / 1024, 1)} → ${fmt(m.after.rssKb / 1024, 1)} MB, peak (VmHWM) ${fmt(m.peakRssKb / 1024, 1)} MB: ${fmt(m.kbPerSession, 1)} KB per session by peak (${fmt(m.rssKbPerSession, 1)} by RSS)   ≤ ${TARGETS.kbPerSession} KB: ${m.kbPerSession <= TARGETS.kbPerSession ? 'met' : 'MISSED'}`,
      );
    }
  }
  say();
  say('targets');
  for (const v of r.targets) say(`  ${(v.met ? 'met   ' : 'MISSED').padEnd(7)} ${v.target}: ${v.value}`);
  console.log(lines.join('\n'));
}

function row(t, n, c, target = '') {
  if (!c) return `  ${t.label.padEnd(46)}${String(n).padStart(4)}  –`;
  const vs = c.vsBaseline ? `×${fmt(c.vsBaseline.throughputRatio, 2)} ${signed(c.vsBaseline.addedP50Ms)}ms` : c.baselineFailed ? 'baseline failed' : '';
  const err = `${c.errors ? `  ERRORS ${c.errors}: ${c.firstError}` : ''}${c.runCount < results.e2e.settings.runs ? `  [${c.runCount} run(s): time budget]` : ''}`;
  return `  ${t.label.padEnd(46)}${String(n).padStart(4)}${fmt(c.callsPerSec, 0).padStart(9)}${fmt(c.p50Ms, 2).padStart(8)}${fmt(c.p99Ms, 2).padStart(8)}  ${vs.padEnd(17)}${fmt(c.serverCpuUsPerCall, 0).padStart(7)}${fmt(c.frontCpuUsPerCall, 0).padStart(7)}${fmt(c.loadgenCpuUsPerCall, 0).padStart(6)}  ${target}${err}`;
}
