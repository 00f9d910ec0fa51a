/**
 * Stopping never waits for an upstream that is still connecting (`node
 * bin/switchboard.js`, the build in dist/): with an HTTP upstream that
 * accepts and never answers, and a stdio upstream that never answers
 * `initialize` (and ignores SIGTERM), `--stdio` exits within 2 s of its
 * client closing stdin, `serve` within 2 s of SIGTERM, leaving no child; and
 * `catalog` gives up on them after its 15 s, naming them. Each bound is a
 * deadline on the exit, measured from the moment the upstream is known to
 * be mid-handshake. Sequential: the 2 s bounds are about the gateway, not a
 * machine busy with this file's other processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, FIXTURES } from '../helpers/gateway.js';
import { pidAlive, runCli, spawnCli, waitForExit, type RunningCli } from '../helpers/processes.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
/** Never answers `initialize`; says its pid on stderr; ignores SIGTERM (only SIGKILL ends it). */
const STUCK = `
process.on('SIGTERM', () => {});
process.stdin.resume();
setInterval(() => {}, 60_000);
console.error('stuck-upstream pid=' + process.pid);
`;

let base: string;
let silent: http.Server;
let silentUrl: string;
/** Resolves at the next request the never-answering server receives. */
let nextRequest: Promise<void>;
let arrived: () => void;
const running = new Set<RunningCli>();

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-cli-shutdown-'));
  // Accepts every request and never answers it.
  silent = http.createServer(() => arrived());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}/mcp`;
});

beforeEach(() => {
  nextRequest = new Promise((resolve) => (arrived = resolve));
});

afterAll(async () => {
  await Promise.allSettled([...running].map((r) => r.stop()));
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
  rmSync(base, { recursive: true, force: true });
});

/** A working directory with stuck.mjs and a switchboard.json of `servers` (given that directory). */
function workdir(servers: (dir: string) => Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(base, 'cwd-'));
  writeFileSync(path.join(dir, 'stuck.mjs'), STUCK);
  writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify({ mcpServers: servers(dir), gateway: { policies: false } }, null, 2));
  return dir;
}

const silentServer = () => ({ type: 'http', url: silentUrl });
const stuckServer = (dir: string) => ({ command: 'node', args: [path.join(dir, 'stuck.mjs')] });
const ksServer = () => ({ command: 'node', args: [STDIO_FIXTURE] });

function track(cli: RunningCli): RunningCli {
  running.add(cli);
  cli.child.once('exit', () => running.delete(cli));
  return cli;
}

/** Resolves when `promise` does, or rejects naming `what` after timeoutMs. */
function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The stuck upstream's pid, once it has started (the gateway logs its stderr at debug level). */
async function stuckPid(cli: RunningCli): Promise<number> {
  const line = await cli.waitForStderr(/stuck-upstream pid=\d+/, 15_000);
  return Number(/stuck-upstream pid=(\d+)/.exec(line)![1]);
}

describe('stopping while upstreams are still connecting', () => {
  it('--stdio exits within 2 s of stdin closing while an HTTP upstream never answers', async () => {
    const cwd = workdir(() => ({ silent: silentServer() }));
    const cli = track(spawnCli(['--stdio'], { cwd }));
    await within(nextRequest, 15_000, 'the gateway did not reach the silent upstream');
    cli.child.stdin!.end();
    expect(await waitForExit(cli.child, 2_000), cli.stderr()).toBe(0);
    expect(cli.stdout()).toBe('');
  });

  it('--stdio exits within 2 s of stdin closing while a stdio upstream never answers initialize, and kills it', async () => {
    const cwd = workdir((dir) => ({ stuck: stuckServer(dir), ks: ksServer() }));
    const cli = track(spawnCli(['--stdio', '--log-level', 'debug'], { cwd }));
    const pid = await stuckPid(cli);
    // A client that said something before leaving: it is not answered (nothing is served yet), and it does not hold the exit up.
    cli.child.stdin!.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`,
    );
    cli.child.stdin!.end();
    expect(await waitForExit(cli.child, 2_000), cli.stderr().slice(-2_000)).toBe(0);
    await eventually(
      () => pidAlive(pid),
      (alive) => !alive,
      2_000,
    );
  });

  it('serve exits within 2 s of SIGTERM while both upstreams are mid-handshake, and kills the stdio one', async () => {
    const cwd = workdir((dir) => ({ silent: silentServer(), stuck: stuckServer(dir) }));
    const cli = track(spawnCli(['serve', '--port', '0', '--log-level', 'debug'], { cwd }));
    await cli.waitForStderr(/listening on http/i);
    const pid = await stuckPid(cli);
    await within(nextRequest, 15_000, 'the gateway did not reach the silent upstream');
    cli.child.kill('SIGTERM');
    expect(await waitForExit(cli.child, 2_000), cli.stderr().slice(-2_000)).toBe(0);
    await eventually(
      () => pidAlive(pid),
      (alive) => !alive,
      2_000,
    );
  });

  it('catalog gives up after its 15 s, names the servers that did not connect, and lists the rest', async () => {
    const cwd = workdir(() => ({ silent: silentServer(), ks: ksServer() }));
    const started = Date.now();
    const r = await runCli(['catalog'], { cwd, timeoutMs: 25_000 });
    const elapsed = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    // 15 s of waiting, the start and the stop: well before the 30 s connect timeout.
    expect(elapsed).toBeLessThan(20_000);
    expect(r.stderr).toContain('switchboard catalog: server "silent" did not connect (still connecting after 15 s); its entries are not listed');
    expect(r.stderr).not.toContain('server "ks"');
    expect(r.stdout).toMatch(/\bks__echo\b/);
  }, 40_000);
});
