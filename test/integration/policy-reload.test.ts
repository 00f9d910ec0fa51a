/**
 * A policy reload that cannot be trusted fails closed: a truncated file, a
 * directory emptied or removed, a file lost on a file change all keep the
 * last good set in force, with a warning, a metric and /readyz saying so.
 * A policy naming a server the configuration does not have is an error in
 * `validate`, `serve`, reload and `policy test`.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';

const NO_FAIL = 'rules:\n  - { id: no-fail, match: { servers: [ks], tools: [fail] }, effect: deny }\n';
const NO_ADD = 'rules:\n  - { id: no-add, match: { servers: [ks], tools: [add] }, effect: deny }\n';

let root: string;
let dir: string;
let gw: RunningGateway;
let client: Client;

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: McpError) => (e.data as { code?: string }).code,
  );
const failIsDenied = async () => (await codeOf(client.callTool({ name: 'ks__fail', arguments: {} }))) === 'POLICY_DENIED';
const addIsDenied = async () => (await codeOf(client.callTool({ name: 'ks__add', arguments: { a: 1, b: 2 } }))) === 'POLICY_DENIED';
const readyz = async () => (await (await fetch(`${gw.url}/readyz`)).json()) as { policy: { rules: number; stale?: { reason: string; files: string[] } } };
const refusedCount = async (reason: string) => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(new RegExp(`switchboard_policy_reload_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 'NaN');
};

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'switchboard-reload-'));
  dir = path.join(root, 'policies');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'a.yaml'), NO_FAIL);
  writeFileSync(path.join(dir, 'b.yaml'), NO_ADD);
  gw = await startGateway({ mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) }, gateway: { policies: dir } });
  gw.gateway.policy.watch();
  client = await connectLegacy(gw.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await gw?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a reload that cannot be trusted keeps the last good set', () => {
  it('a file truncated to nothing (an editor saving in two steps) is refused', async () => {
    expect(await failIsDenied()).toBe(true);
    writeFileSync(path.join(dir, 'a.yaml'), '');
    await eventually(
      () => gw.gateway.policy.stale?.reason,
      (r) => r === 'invalid',
    );
    expect(await failIsDenied()).toBe(true);
    expect((await readyz()).policy.stale).toMatchObject({ reason: 'invalid', files: [path.join(dir, 'a.yaml')] });
    expect(await refusedCount('invalid')).toBeGreaterThanOrEqual(1);
    expect(gw.logs.some((l) => l.includes('policy reload refused') && l.includes('"warn"'))).toBe(true);

    const before = gw.gateway.policy.generation;
    writeFileSync(path.join(dir, 'a.yaml'), NO_FAIL);
    await eventually(
      () => gw.gateway.policy.generation,
      (g) => g > before,
    );
    expect((await readyz()).policy.stale).toBeUndefined();
  });

  it('a file deleted (a deploy caught halfway) is refused on a file change; SIGHUP confirms it', async () => {
    unlinkSync(path.join(dir, 'b.yaml'));
    await eventually(
      () => gw.gateway.policy.stale?.reason,
      (r) => r === 'lost-files',
    );
    expect(await addIsDenied()).toBe(true);
    expect((await readyz()).policy.stale?.files).toEqual([path.join(dir, 'b.yaml')]);
    // The operator meant it: an explicit reload applies the smaller set.
    expect(gw.gateway.policy.reload('SIGHUP')).toBe(true);
    expect(await addIsDenied()).toBe(false);
    expect(await failIsDenied()).toBe(true);
  });

  it('a directory that is gone or holds no policy file is refused, even on SIGHUP', async () => {
    rmSync(dir, { recursive: true });
    expect(gw.gateway.policy.reload('SIGHUP')).toBe(false);
    expect(gw.gateway.policy.stale?.reason).toBe('no-files');
    expect(await failIsDenied()).toBe(true);
    mkdirSync(dir);
    expect(gw.gateway.policy.reload('SIGHUP')).toBe(false);
    expect(await failIsDenied()).toBe(true);
    expect(await refusedCount('no-files')).toBe(2);
    // No rules on purpose: a file that says so.
    writeFileSync(path.join(dir, 'none.yaml'), 'rules: []\n');
    expect(gw.gateway.policy.reload('SIGHUP')).toBe(true);
    expect(await failIsDenied()).toBe(false);
    expect((await readyz()).policy).toMatchObject({ rules: 0 });
  });

  it('a rule naming a server the configuration does not have is refused', async () => {
    writeFileSync(path.join(dir, 'none.yaml'), NO_FAIL);
    expect(gw.gateway.policy.reload('SIGHUP')).toBe(true);
    writeFileSync(path.join(dir, 'typo.yaml'), 'rules:\n  - { id: typo, match: { servers: [kss], tools: [add] }, effect: deny }\n');
    expect(gw.gateway.policy.reload('SIGHUP')).toBe(false);
    expect(gw.gateway.policy.stale?.reason).toBe('invalid');
    expect(await failIsDenied()).toBe(true);
  });
});

describe('validate and policy test know the configured servers', () => {
  let cfgDir: string;
  beforeAll(() => {
    cfgDir = mkdtempSync(path.join(tmpdir(), 'switchboard-names-'));
    mkdirSync(path.join(cfgDir, 'policies'));
    writeFileSync(
      path.join(cfgDir, 'switchboard.json'),
      JSON.stringify({
        mcpServers: { memory: nodeServer(path.join(FIXTURES, 'stdio.mjs')), later: { type: 'http', url: '' } },
        gateway: { policies: './policies' },
      }),
    );
  });
  afterAll(() => rmSync(cfgDir, { recursive: true, force: true }));

  it('validate fails on a misspelled server, with a did-you-mean, and accepts one listed for later', async () => {
    const file = path.join(cfgDir, 'policies', 'p.yaml');
    writeFileSync(file, 'rules:\n  - { id: r, match: { servers: [memroy], tools: [x] }, effect: deny }\nservers:\n  later: { readOnly: true }\n');
    const bad = await runCli(['validate', '--config', path.join(cfgDir, 'switchboard.json')], { cwd: cfgDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('rules[0].match.servers[0]');
    expect(bad.stderr).toContain('did you mean "memory"?');
    writeFileSync(file, 'rules:\n  - { id: r, match: { servers: [memory], tools: [x] }, effect: deny }\nservers:\n  later: { readOnly: true }\n');
    const good = await runCli(['validate', '--config', path.join(cfgDir, 'switchboard.json')], { cwd: cfgDir });
    expect(good.code).toBe(0);
  });

  it('policy test fails a case about a server the configuration does not have', async () => {
    writeFileSync(
      path.join(cfgDir, 'policies', 'p.tests.yaml'),
      'cases:\n  - name: typo\n    request: { server: memroy, tool: x }\n    expect: { effect: allow }\n',
    );
    const result = await runCli(['policy', 'test', '--config', path.join(cfgDir, 'switchboard.json')], { cwd: cfgDir });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL');
    expect(result.stdout).toContain('"memroy" is not a server of the configuration');
  });
});
