/**
 * The gateway never launches itself, with real processes through the CLI
 * (`node bin/switchboard.js`, the build in dist/): a config that lists the
 * gateway on itself fails fast and starts nothing; a gateway started by a
 * gateway on the same config (behind a wrapper the load-time check cannot
 * read) refuses, so the chain stops at one level; a gateway nested under
 * another with a different config starts and serves.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/gateway.js';
import { CLI, cliEnv, listProcesses, processesMatching, runCli, spawnCli, waitForExit, type ProcessRow, type RunningCli } from '../helpers/processes.js';

let base: string;
const running = new Set<RunningCli>();

beforeAll(() => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), 'switchboard-config-self-')));
});

afterAll(async () => {
  await Promise.allSettled([...running].map((r) => r.stop()));
  rmSync(base, { recursive: true, force: true });
});

/** A stdio MCP server without the SDK that records its start (pid, env) in the file named by its first argument. */
const PROBE = readFileSync(path.join(FIXTURES, 'env-probe.mjs'), 'utf8');

/** A fresh folder under the suite's, with the probe server in it. */
function folder(): { dir: string; probe: string; seen: string; write: (name: string, content: unknown) => string } {
  const dir = mkdtempSync(path.join(base, 'case-'));
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  };
  return { dir, probe: write('probe.mjs', PROBE), seen: path.join(dir, 'seen.jsonl'), write };
}

/** What each probe process that started recorded. */
const seenBy = (file: string): { pid: number; env: Record<string, string> }[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];

function track(cli: RunningCli): RunningCli {
  running.add(cli);
  cli.child.once('exit', () => running.delete(cli));
  return cli;
}

/** Every process below `pid`, with its depth (1: a child). */
function descendants(rows: ProcessRow[], pid: number, depth = 1): (ProcessRow & { depth: number })[] {
  return rows.filter((r) => r.ppid === pid).flatMap((r) => [{ ...r, depth }, ...descendants(rows, r.pid, depth + 1)]);
}

/** Polls until no process's command line mentions `needle` (bounded), and returns what is left. */
async function leftOver(needle: string, timeoutMs = 5_000): Promise<ProcessRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await processesMatching(needle);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a config that lists the gateway on itself', () => {
  it('fails fast at start, naming the entry and the fix, and starts no process', async () => {
    const { dir, probe, seen, write } = folder();
    // As Claude Code's project scope writes it, plus a real server that must not be started either.
    const file = write('.mcp.json', {
      mcpServers: { probe: { command: 'node', args: [probe, seen] }, gw: { command: 'node', args: [CLI, '--stdio', '--config', '.mcp.json'] } },
    });
    const started = Date.now();
    const cli = track(spawnCli(['--config', file, '--port', '0'], { cwd: dir }));
    // Fast: it exits on its own at load (the CLI's own start-up is most of this, on a busy machine too).
    const code = await waitForExit(cli.child, 15_000);
    expect(code, cli.stderr()).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(cli.stderr()).toContain(`${file} at mcpServers.gw: this entry starts Switchboard itself`);
    expect(cli.stderr()).toMatch(/without end\n\s+fix: remove "gw" from this file, or give the gateway a config file of its own/);
    expect(cli.stderr()).not.toMatch(/listening/);
    expect(seenBy(seen)).toEqual([]);
    expect(await leftOver(dir)).toEqual([]);
  });

  it('validate reports it, for npx and for the default lookup', async () => {
    const { dir, write } = folder();
    const npx = write('gateway.json', {
      mcpServers: { gw: { command: 'npx', args: ['-y', '@switchboard-mcp/switchboard', '--stdio', '--config', 'gateway.json'] } },
    });
    const r = await runCli(['validate', '--config', npx], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/gateway\.json at mcpServers\.gw: this entry starts Switchboard itself \(--config names this file\)/);

    const project = write('.mcp.json', { mcpServers: { gw: { command: 'npx', args: ['switchboard', '--stdio'] } } });
    const d = await runCli(['validate'], { cwd: dir });
    expect(d.code, d.stderr).toBe(1);
    expect(d.stderr).toContain(`${project} at mcpServers.gw: this entry starts Switchboard itself (without --config it finds this file`);
  });
});

describe('at run time', () => {
  it('a gateway started with SWITCHBOARD_PARENT_CONFIG naming its own config refuses at once, in one line, starting nothing', async () => {
    const { dir, probe, seen, write } = folder();
    const file = write('switchboard.json', { mcpServers: { probe: { command: 'node', args: [probe, seen] } } });
    const started = Date.now();
    const r = await runCli(['--stdio', '--config', file], { cwd: dir, env: cliEnv({ SWITCHBOARD_PARENT_CONFIG: file }), timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const loopLines = r.stderr.split('\n').filter((l) => /gateway loop/.test(l));
    expect(loopLines).toEqual([
      `${file}: gateway loop: the gateway that started this one uses this same config file (SWITCHBOARD_PARENT_CONFIG), so this gateway would start itself again without end; refusing to start`,
    ]);
    expect(r.stdout).toBe('');
    expect(seenBy(seen)).toEqual([]);
  });

  it('validate under that marker still validates (it starts nothing) and warns that a gateway would refuse', async () => {
    const { dir, probe, seen, write } = folder();
    const file = write('switchboard.json', { mcpServers: { probe: { command: 'node', args: [probe, seen] } } });
    const r = await runCli(['validate', '--config', file], { cwd: dir, env: cliEnv({ SWITCHBOARD_PARENT_CONFIG: file }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${file}: valid`);
    expect(r.stderr).toContain(`warning: a gateway started from here would refuse: ${file}: gateway loop:`);
  });

  it('a gateway that reaches itself through a wrapper script: the child refuses, the chain stops at one level, nothing is left', async () => {
    const { dir, write } = folder();
    const file = path.join(dir, 'switchboard.json');
    // The load-time check cannot read a script: the marker stops it.
    const wrapper = write('wrap.sh', `#!/bin/sh\nexec "${process.execPath}" "${CLI}" --stdio --config "${file}"\n`);
    chmodSync(wrapper, 0o755);
    write('switchboard.json', { mcpServers: { gw: { command: 'sh', args: [wrapper] } } });
    const cli = track(spawnCli(['--config', file, '--port', '0'], { cwd: dir }));
    const listening = await cli.waitForStderr(/listening on http/i);
    const url = /(http:\/\/[^\s"]+?)\/mcp/.exec(listening)?.[1];
    // The parent logs its child's refusal (the child's stderr is in the upstream's error).
    await cli.waitForStderr(/gateway loop: the gateway that started this one uses this same config file/, 15_000);
    // Sample the process tree for a while: never a gateway below a gateway below the parent.
    for (let i = 0; i < 10; i++) {
      const below = descendants(await listProcesses(), cli.child.pid!).filter((p) => p.args.includes(CLI));
      expect(
        below.filter((p) => p.depth > 2),
        JSON.stringify(below),
      ).toEqual([]);
      expect(below.length).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Down, or trying again (each try starts one child, which refuses).
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { upstreams: Record<string, { state: string; restarts: number }> };
    expect(['down', 'connecting']).toContain(ready.upstreams.gw?.state);
    cli.child.kill('SIGTERM');
    expect(await waitForExit(cli.child, 10_000)).toBe(0);
    expect(await leftOver(dir)).toEqual([]);
  });

  it('a gateway whose child is a gateway with another config starts and serves its tools; the child learns the chain', async () => {
    const { dir, probe, seen, write } = folder();
    const inner = write('inner.json', { mcpServers: { probe: { command: 'node', args: [probe, seen] } } });
    const outer = write('outer.json', { mcpServers: { inner: { command: 'node', args: [CLI, '--stdio', '--config', inner] } } });
    const r = await runCli(['catalog', '--json', '--config', outer], { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { upstreams: Record<string, { state: string }>; items: { exposed: string }[] };
    expect(out.upstreams.inner?.state).toBe('ready');
    expect(out.items.map((i) => i.exposed)).toContain('inner__probe__probe');
    // The inner gateway's child was told both configs above it, nearest first.
    const [record] = seenBy(seen);
    expect(record?.env.SWITCHBOARD_PARENT_CONFIG).toBe([inner, outer].join(path.delimiter));
    expect(await leftOver(dir)).toEqual([]);
  });

  it('A → B → A: the gateway two levels down refuses (the marker carries the chain)', async () => {
    const { dir, write } = folder();
    const a = path.join(dir, 'a.json');
    const b = path.join(dir, 'b.json');
    const chainLog = path.join(dir, 'chain.log');
    const wrapper = write(
      'back.sh',
      `#!/bin/sh\necho "$SWITCHBOARD_PARENT_CONFIG" >> "${chainLog}"\nexec "${process.execPath}" "${CLI}" --stdio --config "${a}"\n`,
    );
    write('a.json', { mcpServers: { b: { command: 'node', args: [CLI, '--stdio', '--config', b] } } });
    write('b.json', { mcpServers: { back: { command: 'sh', args: [wrapper] } } });
    const r = await runCli(['catalog', '--json', '--config', a], { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { upstreams: Record<string, { state: string }> }).upstreams.b?.state).toBe('ready');
    const chains = readFileSync(chainLog, 'utf8').trim().split('\n');
    expect(chains.length).toBeGreaterThan(0);
    // Every start of A's gateway below B's carried [B, A]: none got further to start B again.
    expect(new Set(chains)).toEqual(new Set([[b, a].join(path.delimiter)]));
    expect(await leftOver(dir)).toEqual([]);
  });
});
