#!/usr/bin/env node
// Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned
// in conformance/package.json together with the Node 22 it needs) against the
// conformance fixture three ways and compares them:
//
//   direct          the fixture itself over Streamable HTTP
//   gateway(stdio)  Switchboard in front of the fixture mounted over stdio, prefix ""
//   gateway(http)   Switchboard in front of the fixture mounted over Streamable HTTP, prefix ""
//
// Usage: npm run conformance [-- --scenario NAME] [--mode direct,stdio,http] [--gateway PATH]
//   --scenario  run one scenario instead of the active suite
//   --mode      which of the three runs to do (default: all three)
//   --gateway   the gateway's entry point (default bin/switchboard.js), e.g. another build to compare
//
// Then the suite's client scenarios run with the gateway as the client under test
// (conformance/gateway-client.mjs: the test server is the gateway's upstream, and a
// driver calls through the gateway).
//
// It prints a scenario × mode table, writes conformance/results/latest.json, and
// keeps the suite's raw output (checks.json per scenario, stdout) and the gateway's
// debug log under conformance/results/run/. Exit 0 when every scenario that passes
// direct also passes through both gateway modes and every client scenario passes;
// 1 when one regresses or fails (each is listed); 2 when the run itself could not be set up.
//
// The gateway and the fixture run on this script's Node (the gateway's runtime);
// only the suite runs on conformance/node_modules/.bin/node.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const confDir = path.join(root, 'conformance');
const resultsDir = path.join(confDir, 'results');
const runDir = path.join(resultsDir, 'run');
const fixturePath = path.join(confDir, 'fixture.mjs');
const suiteNode = path.join(confDir, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
const suitePkgDir = path.join(confDir, 'node_modules', '@modelcontextprotocol', 'conformance');
const SPEC_VERSION = '2025-11-25';
const MODERN_SPEC_VERSION = '2026-07-28';
const SUITE_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 30_000;

const MODES = [
  { key: 'direct', label: 'direct' },
  { key: 'stdio', label: 'gateway(stdio)' },
  { key: 'http', label: 'gateway(http)' },
];

/** Every child this script started, so that they can all be stopped on any exit path. */
const children = new Set();
const startedAt = Date.now();

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string' },
    mode: { type: 'string', default: 'direct,stdio,http' },
    gateway: { type: 'string', default: path.join(root, 'bin', 'switchboard.js') },
  },
  strict: true,
});
const gatewayBin = path.resolve(args.gateway);
const selectedModes = MODES.filter((m) =>
  args.mode
    .split(',')
    .map((s) => s.trim())
    .includes(m.key),
);
if (selectedModes.length === 0) fail(`--mode must list some of ${MODES.map((m) => m.key).join(',')}`);

/** A setup error: nothing has been started yet, so stop at once. */
function fail(message) {
  process.stderr.write(`conformance: ${message}\n`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(2);
}

function log(message) {
  process.stdout.write(`${message}\n`);
}

// ---- setup --------------------------------------------------------------------

function ensureSuite() {
  const suitePkg = path.join(suitePkgDir, 'package.json');
  if (!existsSync(suiteNode) || !existsSync(suitePkg)) {
    log('conformance/node_modules is missing: running `npm ci --prefix conformance`');
    const npm = spawnSync('npm', ['ci', '--prefix', 'conformance'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
    if (npm.status !== 0) fail('`npm ci --prefix conformance` failed');
  }
  const pkg = JSON.parse(readFileSync(suitePkg, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.conformance;
  if (!bin) fail(`no "conformance" bin in ${suitePkg}`);
  return { version: pkg.version, bin: path.join(suitePkgDir, bin) };
}

function ensureBuild() {
  if (!existsSync(gatewayBin)) fail(`no gateway entry point at ${gatewayBin}`);
  if (gatewayBin !== path.join(root, 'bin', 'switchboard.js') || existsSync(path.join(root, 'dist', 'cli', 'index.js'))) return;
  log('dist/cli/index.js is missing: running `npm run build`');
  const npm = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (npm.status !== 0) fail('`npm run build` failed');
}

// ---- processes ----------------------------------------------------------------

/**
 * Starts a long-running child, writes its stdout+stderr to `logFile`, and
 * resolves once `ready(line)` returns a value for one of its output lines.
 */
function startChild(name, command, argv, { logFile, ready, cwd = root }) {
  const child = spawn(command, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const out = createWriteStream(logFile);
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => settle(new Error(`${name} did not become ready within ${START_TIMEOUT_MS} ms (log: ${logFile})`)), START_TIMEOUT_MS);
    function settle(error, value) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve({ child, value });
    }
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream.on('data', (chunk) => {
        out.write(chunk);
        buffer += chunk.toString('utf8');
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          const value = ready(line);
          if (value !== undefined) settle(undefined, value);
        }
      });
    }
    child.once('error', (error) => settle(error));
    child.once('exit', (code, signal) => {
      out.end();
      settle(new Error(`${name} exited early (${signal ?? code}); log: ${logFile}`));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the child has exited. */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function stopAll() {
  await Promise.allSettled([...children].map(stopChild));
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`conformance: ${signal}, stopping\n`);
    stopAll().finally(() => process.exit(130));
  });
}

async function startFixture(logFile) {
  const { child, value: url } = await startChild('fixture', process.execPath, [fixturePath, '--port', '0', '--host', '127.0.0.1'], {
    logFile,
    ready: (line) => /^LISTENING (\S+)/.exec(line)?.[1],
  });
  return { child, url };
}

async function startGateway(configFile, logFile) {
  const { child, value: url } = await startChild(
    'gateway',
    process.execPath,
    [gatewayBin, '--config', configFile, '--host', '127.0.0.1', '--port', '0', '--log-level', 'debug'],
    {
      logFile,
      ready: (line) => {
        try {
          const msg = JSON.parse(line).msg;
          return /^Switchboard listening on (http:\/\/\S+)/.exec(msg ?? '')?.[1];
        } catch {
          return /Switchboard listening on (http:\/\/\S+)/.exec(line)?.[1];
        }
      },
    },
  );
  // MCP requests wait for the first upstream connection anyway; waiting here keeps
  // a slow start out of the first scenario's timing and says clearly when it never comes.
  const readyz = new URL('/readyz', url);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let state = 'unknown';
  while (Date.now() < deadline) {
    try {
      const body = await (await fetch(readyz)).json();
      state = body?.upstreams?.conformance?.state ?? 'unknown';
      if (state === 'ready') break;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (state !== 'ready') log(`  warning: upstream "conformance" is ${state} after ${START_TIMEOUT_MS} ms (see ${logFile})`);
  return { child, url };
}

// ---- the suite ----------------------------------------------------------------

/** Client scenarios that apply to a gateway's upstream side without a person in the loop. */
const CLIENT_SCENARIOS = ['initialize', 'tools_call', 'elicitation-sep1034-client-defaults', 'sse-retry'];
const CLIENT_SCENARIOS_NOT_RUN =
  "auth/* (the gateway's upstream OAuth needs an operator's `switchboard login` or a user's browser sign-in, covered by test/integration/upstream-oauth.test.ts and user-credentials.test.ts)";

/** Runs each client scenario with the gateway as the client; a scenario's verdict is the suite's own summary. */
async function runClientScenarios(suite) {
  const scenarios = {};
  const driver = `${process.execPath} ${path.join(confDir, 'gateway-client.mjs')}`;
  for (const scenario of CLIENT_SCENARIOS) {
    const outDir = path.join(runDir, 'client', scenario);
    mkdirSync(outDir, { recursive: true });
    const result = await runSuite(suite, ['client', '--command', driver, '--scenario', scenario, '-o', outDir], { timeoutMs: 60_000 });
    // The suite reports client scenarios on stderr.
    const text = stripAnsi(`${result.stdout}\n${result.stderr}`);
    writeFileSync(path.join(outDir, 'suite-output.txt'), `${result.stdout}\n--- stderr ---\n${result.stderr}`);
    const counts = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(text);
    const passed = Number(counts?.[1] ?? 0);
    const total = Number(counts?.[2] ?? 0);
    const failed = Number(counts?.[3] ?? 1);
    scenarios[scenario] = { status: /OVERALL: PASSED/.test(text) && failed === 0 ? 'pass' : 'FAIL', passed, total, failed };
  }
  return { scenarios, notRun: CLIENT_SCENARIOS_NOT_RUN };
}

/** Runs the suite CLI; resolves with its exit code and output. */
function runSuite(suite, argv, { timeoutMs = SUITE_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    const child = spawn(suiteNode, [suite.bin, ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n[conformance.mjs] suite timed out after ${timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? (signal ? 1 : 0), stdout, stderr });
    });
  });
}

const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');

/**
 * Per-scenario results. Each "Results saved to" line names a scenario's
 * checks.json (counts and the failing checks' messages); the summary lines of a
 * suite run also cover a scenario that threw before it could write one.
 */
function parseRun(stdout) {
  const text = stripAnsi(stdout);
  const scenarios = {};
  let current;
  for (const line of text.split('\n')) {
    const running = /^Running client scenario '([^']+)'/.exec(line);
    if (running) current = running[1];
    const saved = /^Results saved to (.+)$/.exec(line.trim());
    if (!saved || !current) continue;
    const file = path.join(saved[1], 'checks.json');
    const entry = { status: 'pass', passed: 0, failed: 0, failures: [], warnings: [], checksFile: path.relative(root, file) };
    try {
      for (const check of JSON.parse(readFileSync(file, 'utf8'))) {
        if (check.status === 'SUCCESS') entry.passed++;
        if (check.status === 'FAILURE') {
          entry.failed++;
          entry.failures.push({ id: check.id, errorMessage: check.errorMessage ?? null });
        }
        if (check.status === 'WARNING') entry.warnings.push({ id: check.id, errorMessage: check.errorMessage ?? null });
      }
    } catch (error) {
      entry.failed++;
      entry.failures.push({ id: current, errorMessage: `unreadable checks.json: ${error.message}` });
    }
    entry.status = entry.failed === 0 ? 'pass' : 'fail';
    scenarios[current] = entry;
  }
  const at = text.lastIndexOf('=== SUMMARY ===');
  if (at >= 0) {
    for (const line of text.slice(at).split('\n')) {
      const m = /^([✓✗]) (\S+): (\d+) passed, (\d+) failed/.exec(line.trim());
      if (!m || scenarios[m[2]]) continue;
      const failed = Number(m[4]);
      scenarios[m[2]] = {
        status: failed === 0 ? 'pass' : 'fail',
        passed: Number(m[3]),
        failed,
        failures: failed === 0 ? [] : [{ id: m[2], errorMessage: 'failed to run (no checks.json; see suite-output.txt)' }],
        warnings: [],
      };
    }
  }
  return scenarios;
}

/** Runs the scenarios of one spec version against `url`, output under `outDir`. */
async function runMode(suite, url, outDir, specVersion) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const argv = ['server', '--url', url, '--spec-version', specVersion, '-o', outDir];
  if (args.scenario) argv.push('--scenario', args.scenario);
  const started = Date.now();
  const result = await runSuite(suite, argv);
  writeFileSync(path.join(outDir, 'suite-output.txt'), `${result.stdout}\n--- stderr ---\n${result.stderr}`);
  const scenarios = parseRun(result.stdout);
  return { exitCode: result.code, durationMs: Date.now() - started, scenarios, stderr: result.stderr };
}

function writeGatewayConfig(dir, name, server) {
  const policies = path.join(dir, 'policies-empty');
  mkdirSync(policies, { recursive: true });
  const config = {
    mcpServers: { conformance: server },
    gateway: { servers: { conformance: { prefix: '' } }, policies },
  };
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** Runs one mode from start to stop of its processes. */
async function runOneMode(suite, mode, specVersion, tmp) {
  const outDir = path.join(runDir, specVersion === SPEC_VERSION ? mode.key : `${mode.key}-${specVersion}`);
  mkdirSync(outDir, { recursive: true });
  const started = [];
  try {
    let url;
    if (mode.key === 'direct') {
      const fixture = await startFixture(path.join(outDir, 'fixture.log'));
      started.push(fixture.child);
      url = fixture.url;
    } else if (mode.key === 'stdio') {
      const config = writeGatewayConfig(tmp, 'gateway-stdio', { command: process.execPath, args: [fixturePath, '--stdio'] });
      const gateway = await startGateway(config, path.join(outDir, 'gateway.log'));
      started.push(gateway.child);
      url = gateway.url;
    } else {
      const fixture = await startFixture(path.join(outDir, 'fixture.log'));
      started.push(fixture.child);
      const config = writeGatewayConfig(tmp, 'gateway-http', { type: 'http', url: fixture.url });
      const gateway = await startGateway(config, path.join(outDir, 'gateway.log'));
      started.push(gateway.child);
      url = gateway.url;
    }
    // The suite lives in outDir/…; logs stay beside it.
    const logsDir = outDir;
    const suiteOut = path.join(outDir, 'suite');
    const result = await runMode(suite, url, suiteOut, specVersion);
    return { url, logsDir: path.relative(root, logsDir), ...result };
  } finally {
    for (const child of started.reverse()) await stopChild(child);
  }
}

// ---- report -------------------------------------------------------------------

function pad(text, width) {
  return text + ' '.repeat(Math.max(0, width - text.length));
}

function cell(entry) {
  if (!entry) return '—';
  return `${entry.status === 'pass' ? 'pass' : 'FAIL'} ${entry.passed}/${entry.passed + entry.failed}`;
}

function printTable(results, modes) {
  const names = [];
  for (const mode of modes) for (const name of Object.keys(results[mode.key]?.scenarios ?? {})) if (!names.includes(name)) names.push(name);
  const header = ['scenario', ...modes.map((m) => m.label)];
  const rows = names.map((name) => [name, ...modes.map((m) => cell(results[m.key]?.scenarios[name]))]);
  const totals = modes.map((m) => {
    const entries = Object.values(results[m.key]?.scenarios ?? {});
    return {
      pass: entries.filter((e) => e.status === 'pass').length,
      fail: entries.filter((e) => e.status === 'fail').length,
      checksPassed: entries.reduce((n, e) => n + e.passed, 0),
      checksFailed: entries.reduce((n, e) => n + e.failed, 0),
    };
  });
  const footer = [
    ['scenarios passed / failed', ...totals.map((t) => `${t.pass} / ${t.fail}`)],
    ['checks passed / failed', ...totals.map((t) => `${t.checksPassed} / ${t.checksFailed}`)],
  ];
  const widths = header.map((_, i) => Math.max(...[header, ...rows, ...footer].map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => pad(c, widths[i])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  log(line(header));
  log(rule);
  for (const r of rows) log(line(r));
  log(rule);
  for (const r of footer) log(line(r));
  return totals;
}

function findRegressions(results, modes) {
  const direct = results.direct?.scenarios ?? {};
  const regressions = [];
  for (const [name, entry] of Object.entries(direct)) {
    if (entry.status !== 'pass') continue;
    for (const mode of modes) {
      // A mode that could not start is a setup error, reported once, not one regression per scenario.
      if (mode.key === 'direct' || results[mode.key]?.error) continue;
      const other = results[mode.key]?.scenarios?.[name];
      if (other?.status !== 'pass') {
        regressions.push({
          scenario: name,
          mode: mode.label,
          failures: other ? other.failures : [{ id: name, errorMessage: 'scenario did not run' }],
          checksFile: other?.checksFile,
        });
      }
    }
  }
  return regressions;
}

// ---- main ---------------------------------------------------------------------

async function main() {
  const suite = ensureSuite();
  ensureBuild();
  const suiteNodeVersion = spawnSync(suiteNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`MCP conformance ${suite.version} (suite on Node ${suiteNodeVersion}; gateway and fixture on Node ${process.version})`);
  if (args.gateway !== path.join(root, 'bin', 'switchboard.js')) log(`gateway: ${gatewayBin}`);
  log(
    `spec version ${SPEC_VERSION}, default active suite${args.scenario ? `, scenario ${args.scenario}` : ''}; modes: ${selectedModes.map((m) => m.label).join(', ')}`,
  );

  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-conformance-'));

  const results = {};
  try {
    for (const mode of selectedModes) {
      log(`\n▶ ${mode.label}`);
      try {
        results[mode.key] = await runOneMode(suite, mode, SPEC_VERSION, tmp);
        const entries = Object.values(results[mode.key].scenarios);
        log(`  ${entries.length} scenarios in ${(results[mode.key].durationMs / 1000).toFixed(1)} s against ${results[mode.key].url}`);
        if (entries.length === 0) log(`  warning: no scenario results parsed; suite stderr:\n${results[mode.key].stderr}`);
      } catch (error) {
        log(`  error: ${error.message}`);
        results[mode.key] = { error: error.message, scenarios: {} };
      }
    }

    // 2026-07-28 (modern era): only if this suite version knows the spec version.
    const listed = await runSuite(suite, ['list', '--server', '--spec-version', MODERN_SPEC_VERSION], { timeoutMs: 60_000 });
    const modernScenarios = listed.code === 0 ? [...stripAnsi(listed.stdout).matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]) : [];
    const modern = { specVersion: MODERN_SPEC_VERSION, offered: modernScenarios.length > 0, scenarios: modernScenarios };
    if (!modern.offered) {
      modern.note =
        listed.code === 0
          ? `conformance ${suite.version} lists no server scenarios for ${MODERN_SPEC_VERSION}`
          : `conformance ${suite.version} offers no ${MODERN_SPEC_VERSION} scenarios: ${stripAnsi(`${listed.stderr}${listed.stdout}`)
              .trim()
              .replace(/\s*\n\s*/g, '; ')}`;
    } else {
      modern.results = {};
      for (const mode of selectedModes) {
        try {
          modern.results[mode.key] = await runOneMode(suite, mode, MODERN_SPEC_VERSION, tmp);
        } catch (error) {
          modern.results[mode.key] = { error: error.message, scenarios: {} };
        }
      }
    }

    log(`\nResults (spec ${SPEC_VERSION}; cell = status, checks passed/total):\n`);
    const totals = printTable(results, selectedModes);
    const regressions = findRegressions(results, selectedModes);
    if (modern.offered) {
      log(`\nResults (spec ${MODERN_SPEC_VERSION}):\n`);
      printTable(modern.results, selectedModes);
      modern.regressions = findRegressions(modern.results, selectedModes);
      regressions.push(...modern.regressions.map((r) => ({ ...r, specVersion: MODERN_SPEC_VERSION })));
    } else {
      log(`\n${MODERN_SPEC_VERSION}: ${modern.note}`);
    }

    // The gateway's upstream side as the client under test (conformance/gateway-client.mjs).
    const client = args.scenario ? { skipped: 'a single scenario was asked for' } : await runClientScenarios(suite);
    if (client.scenarios) {
      log(`\nClient scenarios (the gateway as the upstream's client; a driver calls through it):\n`);
      for (const [name, r] of Object.entries(client.scenarios))
        log(`  ${pad(name, 40)} ${r.status} ${r.passed}/${r.total}${r.failed ? `, ${r.failed} failed` : ''}`);
      log(`  not run: ${CLIENT_SCENARIOS_NOT_RUN}`);
    }

    const directFailures = Object.entries(results.direct?.scenarios ?? {}).filter(([, e]) => e.status !== 'pass');
    if (directFailures.length > 0) {
      log(`\nFailing direct (fixture or suite limits, not regressions):`);
      for (const [name, entry] of directFailures) log(`  - ${name}: ${entry.failures.map((f) => f.errorMessage).join('; ')}`);
    }
    const setupErrors = selectedModes.filter((m) => results[m.key]?.error);
    if (setupErrors.length > 0) {
      log(`\nCould not run:`);
      for (const m of setupErrors) log(`  - ${m.label}: ${results[m.key].error}`);
    }
    if (regressions.length > 0) {
      log(`\nRegressions (pass direct, fail through the gateway): ${regressions.length}`);
      for (const r of regressions) {
        log(`  - ${r.scenario} [${r.mode}${r.specVersion ? `, ${r.specVersion}` : ''}]`);
        for (const f of r.failures) log(`      ${f.id}: ${f.errorMessage}`);
        if (r.checksFile) log(`      (${r.checksFile})`);
      }
    } else if (selectedModes.some((m) => m.key !== 'direct') && selectedModes.some((m) => m.key === 'direct')) {
      log('\nNo regressions: every scenario that passes direct passes through the gateway.');
    }

    const durationMs = Date.now() - startedAt;
    const git = (...argv) => spawnSync('git', argv, { cwd: root, encoding: 'utf8' }).stdout?.trim() || undefined;
    const report = {
      gateway:
        gatewayBin === path.join(root, 'bin', 'switchboard.js')
          ? { entry: 'bin/switchboard.js', commit: git('rev-parse', 'HEAD'), srcModified: Boolean(git('status', '--porcelain', '--', 'src')) }
          : { entry: gatewayBin },
      suite: { package: '@modelcontextprotocol/conformance', version: suite.version, node: suiteNodeVersion },
      gatewayNode: process.version,
      specVersion: SPEC_VERSION,
      suiteSelection: args.scenario ? { scenario: args.scenario } : 'active',
      startedAt: new Date(startedAt).toISOString(),
      durationMs,
      modes: Object.fromEntries(
        selectedModes.map((m, i) => [
          m.key,
          {
            label: m.label,
            url: results[m.key]?.url,
            error: results[m.key]?.error,
            suiteExitCode: results[m.key]?.exitCode,
            durationMs: results[m.key]?.durationMs,
            logs: results[m.key]?.logsDir,
            totals: totals[i],
            scenarios: results[m.key]?.scenarios ?? {},
          },
        ]),
      ),
      regressions,
      client,
      modern: {
        ...modern,
        results: modern.results && Object.fromEntries(Object.entries(modern.results).map(([k, v]) => [k, { error: v.error, scenarios: v.scenarios }])),
      },
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    log(
      `\nTotal time ${(durationMs / 1000).toFixed(1)} s. Wrote ${path.relative(root, path.join(resultsDir, 'latest.json'))}; raw output and gateway logs in ${path.relative(root, runDir)}/.`,
    );

    if (setupErrors.length > 0) return 2;
    if (selectedModes.some((m) => m.key === 'direct') && Object.keys(results.direct?.scenarios ?? {}).length === 0) return 2;
    const clientFailures = Object.values(client.scenarios ?? {}).filter((r) => r.status !== 'pass').length;
    return regressions.length > 0 || clientFailures > 0 ? 1 : 0;
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`conformance: ${error?.stack ?? error}\n`);
    stopAll().finally(() => process.exit(2));
  },
);
