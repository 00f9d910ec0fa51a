/**
 * `switchboard pin` as a user runs it: the built CLI
 * (bin/switchboard.js) against a config on disk whose server is the shifting
 * stdio fixture. The lock is written (YAML by default), checked
 * (exit 1 listing differences, --json for CI), diffed word by word, approved
 * per entry or per server. (JSON locks, --profile and `scan` are in
 * contracts-cli-scan.test.ts.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readLock } from '../../src/contracts/lock.js';
import { baseState, driftedState, lockOf, workspace, writeState, type State, type Workspace } from '../fixtures/contracts/harness.js';
import { runCli, type CliResult } from '../helpers/processes.js';

const cli = (ws: Workspace, ...args: string[]): Promise<CliResult> => runCli([...args, '--config', ws.file], { cwd: ws.dir, timeoutMs: 20_000 });

/** The same JSON with every object's keys in reverse order (arrays keep theirs: their order is meaning). */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .reverse()
      .map(([k, v]) => [k, reversedKeys(v)]),
  );
}

interface CheckJson {
  ok: boolean;
  differences: { change: string; server: string; kind: string; name: string; drifted?: string[]; widens?: boolean; widening?: string[] }[];
  unread: unknown[];
}

describe('switchboard pin', () => {
  let ws: Workspace;
  beforeAll(() => {
    // No pinning settings at all: the lock goes to ./switchboard.lock next to the config, in YAML.
    ws = workspace('contracts-cli-pin', { state: baseState() });
  });
  afterAll(() => ws?.remove());

  it('writes the lock (YAML by default, next to the config) and exits 0', async () => {
    const run = await cli(ws, 'pin');
    expect(run.stderr).toContain('9 new, 0 changed, 0 removed');
    expect(run.code).toBe(0);
    const file = path.join(ws.dir, 'switchboard.lock');
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('#')).toBe(true);
    const parsed = parseYaml(text) as { lockfileVersion: number; servers: Record<string, { tools: Record<string, unknown> }> };
    expect(parsed.lockfileVersion).toBe(1);
    expect(Object.keys(parsed.servers.fs!.tools).sort()).toEqual(['delete_file', 'list_dir', 'read_file', 'stat', 'write_file']);
    // What the CLI pinned is what the gateway would hash: the same lock, entry for entry.
    expect(readLock(file)).toEqual(lockOf(baseState()));
  });

  it('pin --check exits 0 while nothing changed', async () => {
    const run = await cli(ws, 'pin', '--check');
    expect(run.stdout).toContain('lock up to date');
    expect(run.code).toBe(0);
  });

  it('key order and whitespace in what the server sends do not change a hash', async () => {
    const reordered = reversedKeys(baseState()) as State;
    expect(Object.keys(reordered.tools[0]!)).toEqual(['annotations', 'inputSchema', 'description', 'name']);
    writeFileSync(ws.stateFile, JSON.stringify(reordered, null, '\t\t'));
    const run = await cli(ws, 'pin', '--check');
    expect(run.stdout).toContain('lock up to date');
    expect(run.code).toBe(0);
  });

  it('pin --check exits 1 listing every difference after a change', async () => {
    writeState(ws.stateFile, driftedState());
    const run = await cli(ws, 'pin', '--check');
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('~ fs tool read_file: description');
    expect(lines).toContain('~ fs tool write_file: annotations (widens)');
    expect(lines).toContain('~ fs tool list_dir: inputSchema (widens)');
    expect(lines).toContain('+ fs tool exec (not in the lock)');
    expect(lines).toContain('- fs tool delete_file (in the lock, no longer served)');
    expect(lines).toContain('~ fs prompt summarize: description');
    expect(lines).toContain('~ fs resourceTemplate notes://{id}: description');
    expect(run.stdout).toContain('lock out of date: 1 new, 5 changed, 1 removed');
  });

  it('pin --check --json exits 1 with the differences as JSON', async () => {
    const run = await cli(ws, 'pin', '--check', '--json');
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as CheckJson;
    expect(body.ok).toBe(false);
    expect(body.unread).toEqual([]);
    expect(body.differences).toHaveLength(7);
    expect(body.differences).toContainEqual({
      change: 'changed',
      server: 'fs',
      kind: 'tool',
      name: 'list_dir',
      drifted: ['inputSchema'],
      widens: true,
      widening: [expect.stringContaining('recursive')],
    });
    expect(body.differences).toContainEqual({
      change: 'changed',
      server: 'fs',
      kind: 'tool',
      name: 'read_file',
      drifted: ['description'],
      widens: false,
      widening: [],
    });
    expect(body.differences).toContainEqual({ change: 'added', server: 'fs', kind: 'tool', name: 'exec' });
    expect(body.differences).toContainEqual({ change: 'removed', server: 'fs', kind: 'tool', name: 'delete_file' });
  });

  it('pin diff shows word-level [-…-]/{+…+} changes and marks widenings', async () => {
    const run = await cli(ws, 'pin', 'diff');
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('\x1b['); // not a TTY: no colour
    expect(run.stdout).toContain('~ fs tool read_file');
    expect(run.stdout).toContain('  description: Read a file from the [-workspace-]{+disk+}.');
    expect(run.stdout).toContain('  description: Summarize a file {+in one line+}.');
    expect(run.stdout).toContain('inputSchema: + property "recursive" (widens)');
    expect(run.stdout).toContain('annotations.readOnlyHint: false → true (widens)');
    expect(run.stdout).toContain('+ fs tool exec (new, not in the lock)');
    expect(run.stdout).toContain('- fs tool delete_file (in the lock, no longer served)');
  });

  it('pin approve of an entry the server does not serve exits 1 with a clear message', async () => {
    const before = readFileSync(path.join(ws.dir, 'switchboard.lock'), 'utf8');
    const run = await cli(ws, 'pin', 'approve', 'fs__nope');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('server "fs" serves nothing named "nope"');
    expect(run.stderr).toContain('fix:');
    const unknown = await cli(ws, 'pin', 'approve', 'nosuchserver');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no server in the config matches "nosuchserver"');
    expect(readFileSync(path.join(ws.dir, 'switchboard.lock'), 'utf8')).toBe(before);
  });

  it('pin approve fs approves all its differences; then pin --check exits 0', async () => {
    const approved = await cli(ws, 'pin', 'approve', 'fs');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('approved + fs tool exec');
    expect(approved.stdout).toContain('approved - fs tool delete_file');
    const check = await cli(ws, 'pin', '--check');
    expect(check.stdout).toContain('lock up to date');
    expect(check.code).toBe(0);
    expect(readLock(path.join(ws.dir, 'switchboard.lock'))).toEqual(lockOf(driftedState()));
  });

  it('a lock edited by hand is rejected, naming the entry and the fix', async () => {
    const file = path.join(ws.dir, 'switchboard.lock');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/sha256:[0-9a-f]{64}/, `sha256:${'a'.repeat(64)}`));
    const run = await cli(ws, 'pin', '--check');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('edited by hand');
  });
});
