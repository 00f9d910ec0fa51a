/**
 * The CLI as a user runs it (design §10): `node bin/switchboard.js …` from a
 * working directory of its own, with an environment that names no config
 * unless the test says so. Exit codes, where the messages go, config lookup
 * and `catalog`; serve, bridge and their shutdown are in cli-serve.test.ts.
 * Runs the build in dist/ (`npm run build` before the suite).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../helpers/gateway.js';
import { cliEnv, runCli } from '../helpers/processes.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
const CONFIGS = path.join(ROOT, 'test/fixtures/configs');
const KS_CONFIG = { mcpServers: { ks: { command: 'node', args: [STDIO_FIXTURE] } } };

let base: string;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-cli-'));
});

afterAll(() => {
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

describe.concurrent('validate', () => {
  it('exits 0 on a good file and names it', async () => {
    const file = path.join(CONFIGS, 'valid/claude-desktop.json');
    const r = await runCli(['validate', '--config', file], { cwd: workdir() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(file);
    expect(r.stderr).toMatch(/valid/);
  });

  it('exits 1 on a bad file; stderr names the file, each JSON path and a fix', async () => {
    const file = path.join(CONFIGS, 'invalid/many-issues.json');
    const r = await runCli(['validate', '--config', file], { cwd: workdir() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(file);
    for (const p of ['mcpServers.no-command', 'mcpServers.weird.type', 'gateway.lisen', 'gateway.servers.ghost', 'gateway.logLevel']) {
      expect(r.stderr).toContain(p);
    }
    // The suggestion for the misspelt key, as a fix line.
    expect(r.stderr).toMatch(/gateway\.lisen[^\n]*\n\s*fix:[^\n]*"listen"/);
  });

  it('exits 1 on a JSON syntax error, naming line and column', async () => {
    const file = path.join(CONFIGS, 'invalid/trailing-comma.json');
    const r = await runCli(['validate', '--config', file], { cwd: workdir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/line 3, column \d+/);
    expect(r.stderr).toMatch(/fix:/);
  });

  it('exits 1 on a bad file of my own, with its path and fix', async () => {
    const cwd = workdir({ 'switchboard.json': { mcpServers: { files: { command: 'node', args: 'not-a-list' } } } });
    const r = await runCli(['validate'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(cwd, 'switchboard.json'));
    expect(r.stderr).toMatch(/mcpServers\.files\.args[^\n]*\n\s*fix: .+/);
  });

  it('names the server field whose ${VAR} is not set', async () => {
    const cwd = workdir({
      'switchboard.json': {
        mcpServers: {
          files: { command: 'node', args: ['x.js'], env: { TOKEN: '${SB_TEST_UNSET_TOKEN}' } },
          github: { type: 'http', url: 'https://example.com/mcp', headers: { Authorization: 'Bearer ${SB_TEST_UNSET_GH}' } },
        },
      },
    });
    const r = await runCli(['validate'], { cwd, env: cliEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mcpServers\.files\.env\.TOKEN[^\n]*SB_TEST_UNSET_TOKEN/);
    expect(r.stderr).toMatch(/mcpServers\.github\.headers\.Authorization[^\n]*SB_TEST_UNSET_GH/);
    expect(r.stderr).toMatch(/fix: [^\n]*SB_TEST_UNSET_TOKEN/);

    // …and the same file validates once the variables are set.
    const ok = await runCli(['validate'], { cwd, env: cliEnv({ SB_TEST_UNSET_TOKEN: 't', SB_TEST_UNSET_GH: 'g' }) });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe.concurrent('config lookup: SWITCHBOARD_CONFIG, then ./switchboard.json, then ./.mcp.json', () => {
  const one = (name: string) => ({ mcpServers: { [name]: { command: 'node', args: ['x.js'] } } });

  it('prefers SWITCHBOARD_CONFIG over files in the working directory', async () => {
    const elsewhere = workdir({ 'named.json': one('named') });
    const cwd = workdir({ 'switchboard.json': one('sb'), '.mcp.json': one('mcp') });
    const r = await runCli(['validate'], { cwd, env: cliEnv({ SWITCHBOARD_CONFIG: path.join(elsewhere, 'named.json') }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(path.join(elsewhere, 'named.json'));
    expect(r.stderr).not.toContain('switchboard.json');
  });

  it('then ./switchboard.json over ./.mcp.json', async () => {
    const cwd = workdir({ 'switchboard.json': one('sb'), '.mcp.json': one('mcp') });
    const r = await runCli(['validate'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(path.join(cwd, 'switchboard.json'));
  });

  it('then ./.mcp.json', async () => {
    const cwd = workdir({ '.mcp.json': one('mcp') });
    const r = await runCli(['validate'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(path.join(cwd, '.mcp.json'));
  });

  it('--config beats SWITCHBOARD_CONFIG', async () => {
    const cwd = workdir({ 'a.json': one('a'), 'b.json': one('b') });
    const r = await runCli(['validate', '--config', 'b.json'], { cwd, env: cliEnv({ SWITCHBOARD_CONFIG: path.join(cwd, 'a.json') }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(path.join(cwd, 'b.json'));
  });

  it('exits 1 naming the ways to give one when there is none', async () => {
    const r = await runCli(['validate'], { cwd: workdir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no configuration file/);
    expect(r.stderr).toMatch(/--config|SWITCHBOARD_CONFIG/);
  });

  it('exits 1 when SWITCHBOARD_CONFIG names a missing file', async () => {
    const cwd = workdir({ 'switchboard.json': one('sb') });
    const r = await runCli(['validate'], { cwd, env: cliEnv({ SWITCHBOARD_CONFIG: path.join(cwd, 'nope.json') }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nope.json');
    expect(r.stderr).toContain('SWITCHBOARD_CONFIG');
  });
});

describe.concurrent('usage errors', () => {
  it('exits 2 with usage on an unknown option', async () => {
    const r = await runCli(['validate', '--frobnicate'], { cwd: workdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--frobnicate');
    expect(r.stderr).toMatch(/Usage:/);
    expect(r.stdout).toBe('');
  });
});

describe('catalog', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = workdir({ 'switchboard.json': KS_CONFIG });
  });

  it('--json prints exposed and original names and read-only hints, then exits', async () => {
    const r = await runCli(['catalog', '--json'], { cwd, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      upstreams: Record<string, { state: string }>;
      items: { kind: string; server: string; exposed: string; original: string; readOnly?: boolean }[];
    };
    expect(out.upstreams.ks).toMatchObject({ state: 'ready' });
    const tools = out.items.filter((i) => i.kind === 'tool');
    expect(tools).toContainEqual({ kind: 'tool', server: 'ks', exposed: 'ks__echo', original: 'echo', readOnly: true });
    expect(tools).toContainEqual(expect.objectContaining({ server: 'ks', exposed: 'ks__add', original: 'add', readOnly: false }));
    expect(tools.length).toBe(17); // KITCHEN_SINK_TOOLS in test/fixtures/servers/kitchen-sink.mjs
    expect(out.items).toContainEqual(expect.objectContaining({ kind: 'prompt', exposed: 'ks__greet', original: 'greet' }));
    expect(out.items).toContainEqual(expect.objectContaining({ kind: 'resource', exposed: 'ks+fixture://static/hello', original: 'fixture://static/hello' }));
  });

  it('prints a SERVER/EXPOSED/ORIGINAL table', async () => {
    const r = await runCli(['catalog'], { cwd, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/\bSERVER\s+EXPOSED\s+ORIGINAL\b/);
    const echo = lines.find((l) => /\bks__echo\b/.test(l));
    expect(echo).toBeDefined();
    expect(echo!.split(/\s+/)).toEqual(expect.arrayContaining(['ks', 'ks__echo', 'echo']));
    expect(echo).toMatch(/\byes\b/); // read-only
    expect(lines.find((l) => /\bks__add\b/.test(l))).not.toMatch(/\byes\b/);
  });
});
