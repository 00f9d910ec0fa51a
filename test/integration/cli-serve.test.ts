/**
 * The long-running CLI commands as a user runs them (design §10): `serve`,
 * `serve --stdio` and `bridge` from a working directory of their own, and
 * clean shutdown (SIGINT, SIGTERM, stdin closing) with no child left behind.
 * Runs the build in dist/ (`npm run build` before the suite).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { eventually, FIXTURES, ROOT } from '../helpers/gateway.js';
import { cliEnv, freePort, processesMatching, spawnCli, waitForExit, type ProcessRow, type RunningCli } from '../helpers/processes.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
const SLOW_START = path.join(ROOT, 'test/helpers/slow-start.mjs');
const KS_CONFIG = { mcpServers: { ks: { command: 'node', args: [STDIO_FIXTURE] } } };

let base: string;
const running = new Set<RunningCli>();

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-cli-serve-'));
});

afterAll(async () => {
  await Promise.allSettled([...running].map((r) => r.stop()));
  rmSync(base, { recursive: true, force: true });
});

/** A fresh working directory with the given files (objects are written as JSON). */
function workdir(files: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(base, 'cwd-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

function track(cli: RunningCli): RunningCli {
  running.add(cli);
  cli.child.once('exit', () => running.delete(cli));
  return cli;
}

/** The gateway's direct children running the stdio fixture. */
async function fixtureChildrenOf(pid: number): Promise<ProcessRow[]> {
  return (await processesMatching(STDIO_FIXTURE)).filter((p) => p.ppid === pid);
}

/** No process is left with that pid running the fixture, nor in its process group. */
async function expectGone(child: ProcessRow): Promise<void> {
  await eventually(
    async () => (await processesMatching(STDIO_FIXTURE)).filter((p) => p.pid === child.pid || p.pgid === child.pgid),
    (left) => left.length === 0,
    3_000,
  );
}

describe('long-running commands', () => {
  it('bridge serves one stdio server over HTTP with names unchanged, and SIGTERM leaves no child', async () => {
    const cwd = workdir();
    // A policies/ folder in the working directory is not the bridge's: it has no config file, so no policies.
    mkdirSync(path.join(cwd, 'policies'));
    writeFileSync(
      path.join(cwd, 'policies', 'other.yaml'),
      'rules:\n  - { id: no-echo, match: { tools: [echo] }, effect: deny }\nservers:\n  memory: { readOnly: true }\n',
    );
    const port = await freePort();
    const cli = track(spawnCli(['bridge', '--port', String(port), '--', 'node', STDIO_FIXTURE], { cwd }));
    await cli.waitForStderr(/listening/i);
    // The catalog is complete once the bridged server is up (see the next test for the window before).
    await cli.waitForStderr(/upstream bridge: ready/);
    const client = new LegacyClient({ name: 'bridge-test', version: '1.0.0' });
    await client.connect(new LegacyHttpTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    let child: ProcessRow | undefined;
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('echo');
      expect(names.filter((n) => n.includes('__'))).toEqual([]);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'through the bridge' } });
      expect(result.content).toEqual([{ type: 'text', text: 'through the bridge' }]);
      const children = await fixtureChildrenOf(cli.child.pid!);
      expect(children).toHaveLength(1);
      child = children[0]!;
    } finally {
      await client.close();
    }
    cli.child.kill('SIGTERM');
    expect(await waitForExit(cli.child, 10_000)).toBe(0);
    await expectGone(child);
  });

  it('bridge: a client that connects as soon as it says "listening" gets the bridged tools', async () => {
    // The bridged server takes a second to come up (like one started through a package runner).
    const cwd = workdir();
    const port = await freePort();
    const cli = track(spawnCli(['bridge', '--port', String(port), '--', 'node', SLOW_START], { cwd, env: cliEnv({ SLOW_START_MS: '1000' }) }));
    await cli.waitForStderr(/listening/i);
    const client = new LegacyClient({ name: 'bridge-early', version: '1.0.0' });
    await client.connect(new LegacyHttpTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('echo');
      const result = await client.callTool({ name: 'echo', arguments: { text: 'early' } });
      expect(result.content).toEqual([{ type: 'text', text: 'early' }]);
    } finally {
      await client.close();
      await cli.stop();
    }
  });

  it('serve exits 0 on SIGINT with a client connected, and leaves no child', async () => {
    const cwd = workdir({ 'switchboard.json': KS_CONFIG });
    const cli = track(spawnCli(['serve', '--port', '0'], { cwd }));
    const line = await cli.waitForStderr(/listening on http/i);
    const url = /(http:\/\/[^\s"]+\/mcp)/.exec(line)?.[1];
    expect(url, line).toBeDefined();
    await cli.waitForStderr(/upstream ks: ready/);
    const client = new LegacyClient({ name: 'serve-test', version: '1.0.0' });
    await client.connect(new LegacyHttpTransport(new URL(url!)));
    try {
      const result = await client.callTool({ name: 'ks__echo', arguments: { text: 'served' } });
      expect(result.content).toEqual([{ type: 'text', text: 'served' }]);
      const children = await fixtureChildrenOf(cli.child.pid!);
      expect(children).toHaveLength(1);
      cli.child.kill('SIGINT');
      expect(await waitForExit(cli.child, 10_000)).toBe(0);
      await expectGone(children[0]!);
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('--stdio speaks only JSON-RPC on stdout and exits 0 when stdin closes, leaving no child', async () => {
    const cwd = workdir({ 'switchboard.json': KS_CONFIG });
    const cli = track(spawnCli(['--stdio'], { cwd }));
    cli.child.stdin!.write(
      `${JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      })}\n`,
    );
    await cli.waitForStdout(/"id":1\b/);
    cli.child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    await cli.waitForStderr(/"msg":"upstream ready"/);
    cli.child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'ks__echo', arguments: { text: 'raw' } } })}\n`);
    await cli.waitForStdout(/"id":2\b/);
    const children = await fixtureChildrenOf(cli.child.pid!);
    expect(children).toHaveLength(1);

    cli.child.stdin!.end();
    expect(await waitForExit(cli.child, 10_000)).toBe(0);
    await expectGone(children[0]!);

    const lines = cli
      .stdout()
      .split('\n')
      .filter((l) => l !== '');
    const messages = lines.map((l) => JSON.parse(l) as { jsonrpc: string; id?: number; result?: unknown });
    for (const m of messages) expect(m.jsonrpc).toBe('2.0');
    expect(messages.find((m) => m.id === 1)?.result).toMatchObject({ serverInfo: { name: 'switchboard' } });
    expect(messages.find((m) => m.id === 2)?.result).toMatchObject({ content: [{ type: 'text', text: 'raw' }] });
  });
});
