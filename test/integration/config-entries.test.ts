/**
 * Server entries as other clients write them, through the CLI with real
 * processes (the build in dist/): `"disabled": true` (listed as disabled in
 * /readyz and `catalog`, never spawned), near-miss keys (a warning from
 * `validate` and in the start log, never an error), and a real VS Code
 * `.vscode/mcp.json` (`${workspaceFolder}`, `${env:…}`, `envFile`, `${input:…}`).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/gateway.js';
import { cliEnv, runCli, spawnCli, waitForExit, type RunningCli } from '../helpers/processes.js';

let base: string;
const running = new Set<RunningCli>();

beforeAll(() => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), 'switchboard-config-entries-')));
});

afterAll(async () => {
  await Promise.allSettled([...running].map((r) => r.stop()));
  rmSync(base, { recursive: true, force: true });
});

/** A stdio MCP server without the SDK that records its start (pid, env) in the file named by its first argument. */
const PROBE = readFileSync(path.join(FIXTURES, 'env-probe.mjs'), 'utf8');

function folder(): { dir: string; probe: string; write: (name: string, content: unknown) => string } {
  const dir = mkdtempSync(path.join(base, 'case-'));
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  };
  return { dir, probe: write('probe.mjs', PROBE), write };
}

const seenBy = (file: string): { pid: number; env: Record<string, string> }[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];

/** A config with a disabled server, a running one, and a near-miss key on the running one. */
function disabledConfig() {
  const f = folder();
  const seenOff = path.join(f.dir, 'off.jsonl');
  const seenOn = path.join(f.dir, 'on.jsonl');
  const file = f.write('switchboard.json', {
    mcpServers: {
      off: { command: 'node', args: [f.probe, seenOff], disabled: true, autoApprove: [] },
      on: { command: 'node', args: [f.probe, seenOn], enviroment: { X: '1' }, alwaysAllow: [], timeout: 30 },
    },
    gateway: { policies: false },
  });
  return { ...f, file, seenOff, seenOn };
}

describe('"disabled": true and near-miss keys', () => {
  it('serve: /readyz lists the server as disabled, it is never spawned, and the near miss is logged as a warning', async () => {
    const { dir, file, seenOff, seenOn } = disabledConfig();
    const cli = spawnCli(['--config', file, '--port', '0'], { cwd: dir });
    running.add(cli);
    try {
      const line = await cli.waitForStderr(/listening on http/i);
      const url = /(http:\/\/[^\s"]+?)\/mcp/.exec(line)?.[1];
      await cli.waitForStderr(/upstream on: ready/);
      const ready = (await (await fetch(`${url}/readyz`)).json()) as {
        upstreams: Record<string, { state: string }>;
        ready: number;
        total: number;
        skipped: unknown[];
      };
      expect(ready.upstreams.off?.state).toBe('disabled');
      expect(ready.upstreams.on?.state).toBe('ready');
      expect([ready.ready, ready.total]).toEqual([1, 1]);
      expect(ready.skipped).toEqual([]);
      expect(cli.stderr()).toMatch(/mcpServers\.on\.enviroment: unknown key \\?"enviroment\\?" is ignored; did you mean \\?"env\\?"\?/);
      // Other clients' keys pass silently.
      expect(cli.stderr()).not.toMatch(/autoApprove|alwaysAllow|"timeout"/);
      expect(seenBy(seenOn)).toHaveLength(1);
      expect(seenBy(seenOff)).toEqual([]);
    } finally {
      cli.child.kill('SIGTERM');
      await waitForExit(cli.child, 10_000);
    }
  });

  it('catalog shows it as disabled; validate counts it and prints the did-you-mean warning, exit 0', async () => {
    const { dir, file, seenOff } = disabledConfig();
    const c = await runCli(['catalog', '--json', '--config', file], { cwd: dir, timeoutMs: 30_000 });
    expect(c.code, c.stderr).toBe(0);
    const states = (JSON.parse(c.stdout) as { upstreams: Record<string, { state: string }> }).upstreams;
    expect(states.off?.state).toBe('disabled');
    expect(states.on?.state).toBe('ready');
    expect(seenBy(seenOff)).toEqual([]);

    const v = await runCli(['validate', '--config', file], { cwd: dir });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain('valid (1 server(s) enabled, 1 disabled, 0 skipped)');
    expect(v.stderr).toContain('warning: mcpServers.on.enviroment: unknown key "enviroment" is ignored; did you mean "env"?');
    expect(v.stderr.match(/^warning:/gm)).toHaveLength(1);
  });
});

describe("VS Code's .vscode/mcp.json", () => {
  it('${workspaceFolder}, ${env:VAR} and envFile reach the server; run from another folder', async () => {
    const { dir: ws, probe, write } = folder();
    write('.env', '# secrets for the probe\nFROM_FILE=file-value\nBOTH=from-file\n');
    const config = write('.vscode/mcp.json', {
      inputs: [],
      servers: {
        probe: {
          type: 'stdio',
          command: 'node',
          args: ['${workspaceFolder}/probe.mjs', '${workspaceFolder}/seen.jsonl'],
          env: { FROM_ENV: '${env:SB_VSCODE_VALUE}', BOTH: 'explicit' },
          envFile: '.env',
          dev: { watch: 'src/**/*.ts' },
        },
      },
    });
    expect(probe).toBe(path.join(ws, 'probe.mjs'));
    const elsewhere = mkdtempSync(path.join(base, 'cwd-'));
    const env = cliEnv({ SB_VSCODE_VALUE: 'from-environment' });
    const v = await runCli(['validate', '--config', config], { cwd: elsewhere, env });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).not.toMatch(/warning/);
    const r = await runCli(['catalog', '--json', '--config', config], { cwd: elsewhere, env, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { upstreams: Record<string, { state: string }> }).upstreams.probe?.state).toBe('ready');
    const [seen] = seenBy(path.join(ws, 'seen.jsonl'));
    expect(seen?.env).toMatchObject({ FROM_ENV: 'from-environment', FROM_FILE: 'file-value', BOTH: 'explicit', SWITCHBOARD_PARENT_CONFIG: config });
  });

  it('${input:…} is refused with the input named and the ${env:…} to write instead', async () => {
    const { dir: ws, write } = folder();
    const config = write('.vscode/mcp.json', {
      inputs: [{ type: 'promptString', id: 'api-key', description: 'API key', password: true }],
      servers: { s: { type: 'stdio', command: 'node', args: ['x.js'], env: { API_KEY: '${input:api-key}' } } },
    });
    const r = await runCli(['validate', '--config', config], { cwd: ws });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${config} at servers.s.env.API_KEY: "\${input:api-key}" is a VS Code input, a value VS Code prompts for; the gateway runs without VS Code and cannot prompt for input "api-key"`,
    );
    expect(r.stderr).toContain("fix: write ${env:API_KEY} instead and set API_KEY in the gateway's environment");
  });

  it('a missing envFile is an error naming the server, the path and where relative paths start', async () => {
    const { dir: ws, write } = folder();
    const config = write('.vscode/mcp.json', { servers: { s: { type: 'stdio', command: 'node', envFile: 'missing.env' } } });
    const r = await runCli(['validate', '--config', config], { cwd: ws });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${config} at servers.s.envFile: cannot read ${path.join(ws, 'missing.env')} (ENOENT)`);
    expect(r.stderr).toContain(`relative paths start at ${ws}`);
  });
});
