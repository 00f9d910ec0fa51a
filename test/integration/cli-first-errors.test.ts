/**
 * The first errors a user meets, as they meet them (`node bin/switchboard.js`,
 * the build in dist/): a busy port, a bridged command that cannot start, a
 * tool name `policy explain` does not know, tool names too long for clients,
 * and what `GET /` tells someone who opens the gateway's address.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { eventually, FIXTURES } from '../helpers/gateway.js';
import { processesMatching, runCli, spawnCli, waitForExit, type RunningCli } from '../helpers/processes.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
const LONG_PREFIX = 'an_extremely_long_prefix_for_the_kitchen_sink_fixture_srv'; // 57 characters

let base: string;
const running = new Set<RunningCli>();

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-cli-first-'));
});

afterAll(async () => {
  await Promise.allSettled([...running].map((r) => r.stop()));
  rmSync(base, { recursive: true, force: true });
});

/** A working directory with a switchboard.json, an empty policies/ and a copy-free wrapper of the stdio fixture whose path is unique to it. */
function workdir(config: (wrapper: string) => Record<string, unknown>): { cwd: string; wrapper: string } {
  const cwd = mkdtempSync(path.join(base, 'cwd-'));
  mkdirSync(path.join(cwd, 'policies'));
  const wrapper = path.join(cwd, `ks-${randomUUID()}.mjs`);
  writeFileSync(wrapper, `await import(${JSON.stringify(new URL(`file://${STDIO_FIXTURE}`).href)});\n`);
  writeFileSync(path.join(cwd, 'switchboard.json'), JSON.stringify(config(wrapper), null, 2));
  return { cwd, wrapper };
}

const ks = (wrapper: string, gateway: Record<string, unknown> = {}) => ({
  mcpServers: { ks: { command: 'node', args: [wrapper] } },
  gateway: { policies: 'policies', ...gateway },
});

function track(cli: RunningCli): RunningCli {
  running.add(cli);
  cli.child.once('exit', () => running.delete(cli));
  return cli;
}

function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

/** GET `path` with the given Host header (fetch cannot set one). */
function get(port: number, urlPath: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
  });
}

describe.concurrent('listening', () => {
  it('a busy port is one line with the port and how to pick another (exit 1, no stack), and no child is left', async () => {
    const { server, port } = await occupy();
    try {
      const { cwd, wrapper } = workdir((w) => ks(w));
      const r = await runCli(['serve', '--port', String(port)], { cwd, timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`switchboard: port ${port} on 127.0.0.1 is already in use (EADDRINUSE)`);
      expect(r.stderr).toMatch(/fix: .*--port N, or gateway\.listen\.port in .*switchboard\.json/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      await eventually(
        () => processesMatching(wrapper),
        (left) => left.length === 0,
        3_000,
      );
    } finally {
      server.close();
    }
  });

  it('GET / answers a small index behind the Host check, with no secret in it', async () => {
    const { cwd } = workdir((w) =>
      ks(w, { console: { enabled: true }, auth: { apiKeys: [{ id: 'ops', sha256: hashKey('ops-secret-key'), scopes: ['switchboard.admin'] }] } }),
    );
    const cli = track(spawnCli(['serve', '--port', '0'], { cwd }));
    const line = await cli.waitForStderr(/listening on http/i);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
    const index = await get(port, '/');
    expect(index.status).toBe(200);
    expect(JSON.parse(index.body)).toEqual({
      name: 'switchboard',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      mcp: [{ path: '/mcp', legacySse: '/sse' }],
      healthz: '/healthz',
      readyz: '/readyz',
      metrics: '/metrics',
      console: '/console',
      docs: expect.stringMatching(/^https:\/\//),
    });
    expect(index.body).not.toContain(hashKey('ops-secret-key'));
    const foreign = await get(port, '/', 'evil.example');
    expect([400, 403]).toContain(foreign.status);
    expect(foreign.body).not.toContain('healthz');
    cli.child.kill('SIGTERM');
    expect(await waitForExit(cli.child, 10_000)).toBe(0);
  });
});

describe.concurrent('bridge', () => {
  it('a command that cannot start ends it at once (exit 1), naming the command and the cause', async () => {
    const missing = `no-such-command-${randomUUID()}`;
    const r = await runCli(['bridge', '--port', '0', '--', missing, '--flag'], { cwd: mkdtempSync(path.join(base, 'cwd-')), timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`switchboard bridge: the bridged command did not start: ${missing} --flag: .*ENOENT`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a command that exits before it answers ends it too, with the command’s own words', async () => {
    const r = await runCli(['bridge', '--port', '0', '--', 'node', '-e', 'console.error("no token configured"); process.exit(3)'], {
      cwd: mkdtempSync(path.join(base, 'cwd-')),
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/switchboard bridge: the bridged command did not start: node -e .*no token configured/);
  });
});

describe.concurrent('policy explain', () => {
  it('a tool the server does not serve is a usage error listing near matches; a served one is decided', async () => {
    const { cwd } = workdir((w) => ks(w));
    const [typo, prefix, served] = await Promise.all([
      runCli(['policy', 'explain', '--call', 'ks__ecoh'], { cwd, timeoutMs: 20_000 }),
      runCli(['policy', 'explain', '--call', 'kz__echo'], { cwd, timeoutMs: 20_000 }),
      runCli(['policy', 'explain', '--call', 'ks__echo'], { cwd, timeoutMs: 20_000 }),
    ]);
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toContain("switchboard policy: unknown tool 'ks__ecoh': ks serves no tool 'ecoh'; near matches: ks__echo\n");
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toContain("unknown tool 'kz__echo': no configured server has the prefix 'kz' (the servers' prefixes are ks); near matches: ks__echo");
    expect(served.code, served.stderr).toBe(0);
    expect(JSON.parse(served.stdout)).toMatchObject({ decision: { allowed: true } });
  });
});

describe.concurrent('tool names over 64 characters', () => {
  it('catalog names each once, with a prefix that would fit', async () => {
    const { cwd } = workdir((w) => ks(w, { servers: { ks: { prefix: LONG_PREFIX } } }));
    const r = await runCli(['catalog', '--json'], { cwd, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const long = (JSON.parse(r.stdout) as { items: { kind: string; exposed: string; original: string }[] }).items.filter(
      (i) => i.kind === 'tool' && i.exposed.length > 64,
    );
    expect(long.length).toBeGreaterThan(0);
    for (const t of long) {
      const warnings = r.stderr.split('\n').filter((l) => l.includes(`"${t.exposed}"`));
      expect(warnings).toEqual([`warning: tool name "${t.exposed}" is ${t.exposed.length} characters; many clients refuse tool names over 64`]);
      expect(r.stderr).toContain(`give server "ks" a shorter prefix (gateway.servers.ks.prefix: at most ${62 - t.original.length} characters for this tool)`);
    }
    expect(r.stderr.match(/warning: tool name/g)).toHaveLength(long.length);
  });

  it('serve warns once per tool at start', async () => {
    const { cwd } = workdir((w) => ks(w, { servers: { ks: { prefix: LONG_PREFIX } } }));
    const cli = track(spawnCli(['serve', '--port', '0'], { cwd }));
    await cli.waitForStderr(/many clients refuse/);
    cli.child.kill('SIGTERM');
    expect(await waitForExit(cli.child, 10_000)).toBe(0);
    const warned = cli
      .stderr()
      .split('\n')
      .filter((l) => l.includes('many clients refuse'))
      .map((l) => (JSON.parse(l) as { tool: string; server: string; fix: string }).tool);
    expect(warned.length).toBeGreaterThan(0);
    expect(new Set(warned).size).toBe(warned.length);
    for (const tool of warned) expect(tool.startsWith(`${LONG_PREFIX}__`) && tool.length > 64).toBe(true);
  });
});
