/**
 * `switchboard audit replay` end to end, in process: a real gateway in front
 * of the kitchen-sink fixture (stdio) records a session of two API-key
 * callers (alice, an admin; bob, a guest) with their arguments; the audit
 * lines go to a file; the command then re-decides them under a stricter and
 * a looser candidate policy set (its output captured from stdout).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import type { ParsedArgs } from '../../src/cli/args.js';
import { auditReplay } from '../../src/cli/commands/audit-replay.js';
import { ConfigError } from '../../src/core/errors.js';
import type { ReplayReport } from '../../src/policy/replay.js';
import { FIXTURES, nodeServer, startGateway } from '../helpers/gateway.js';

/** In force while recording: only admins may add. */
const RECORDED = `
rules:
  - id: add-admins-only
    match: { servers: [ks], tools: [add] }
    when: "!('admins' in principal.groups)"
    effect: deny
`;

/** Stricter: echo for admins only too, and no big sums for anyone. */
const STRICTER = `${RECORDED}
  - id: echo-admins-only
    match: { servers: [ks], tools: [echo] }
    when: "!('admins' in principal.groups)"
    effect: deny
  - id: no-big-add
    match: { servers: [ks], tools: [add] }
    when: "args.a > 100"
    effect: deny
`;

const KEYS = { alice: 'alice-secret-key', bob: 'bob-secret-key' };

let dir: string;
let configFile: string;
let auditFile: string;
const policyDir = (name: string) => path.join(dir, name);

async function connectAs(mcpUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'replay-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

/** Runs the command as the CLI would, capturing what it writes to stdout and stderr. */
async function run(flags: ParsedArgs['flags'], files: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await auditReplay({ command: 'audit', positionals: ['replay', ...files], flags, rest: [] });
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-replay-'));
  for (const [name, text] of Object.entries({ recorded: RECORDED, stricter: STRICTER, looser: 'rules: []\n' })) {
    mkdirSync(policyDir(name));
    writeFileSync(path.join(policyDir(name), 'ks.yaml'), text);
  }
  const config = {
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      policies: policyDir('recorded'),
      audit: { includeArgs: true },
      auth: {
        apiKeys: [
          { id: 'alice', sha256: hashKey(KEYS.alice), scopes: [], groups: ['admins'] },
          { id: 'bob', sha256: hashKey(KEYS.bob), scopes: [], groups: ['guests'] },
        ],
      },
    },
  };
  configFile = path.join(dir, 'switchboard.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const gw = await startGateway(config, { file: configFile });
  try {
    const alice = await connectAs(gw.mcpUrl, KEYS.alice);
    const bob = await connectAs(gw.mcpUrl, KEYS.bob);
    await alice.callTool({ name: 'ks__echo', arguments: { text: 'one' } });
    await alice.callTool({ name: 'ks__echo', arguments: { text: 'two' } });
    await alice.callTool({ name: 'ks__add', arguments: { a: 1, b: 2 } });
    await alice.callTool({ name: 'ks__add', arguments: { a: 1000, b: 1 } });
    await bob.callTool({ name: 'ks__echo', arguments: { text: 'three' } });
    await expect(bob.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } })).rejects.toThrow(/add-admins-only/);
    await expect(bob.callTool({ name: 'ks__nope', arguments: {} })).rejects.toThrow();
    await alice.close();
    await bob.close();
  } finally {
    await gw.close();
  }
  auditFile = path.join(dir, 'audit.log');
  writeFileSync(auditFile, `${gw.audit.map((line) => JSON.stringify(line)).join('\n')}\nnot a json line\n`);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const callsOf = (groups: { examples: { principal: string; tool: string }[] }[]) =>
  groups.flatMap((g) => g.examples.map((e) => `${e.principal} ${e.tool}`)).sort();

describe('audit replay of a recorded session', () => {
  it('finds exactly the calls a stricter policy set would deny, by rule, principal and tool', async () => {
    const { code, out } = await run({ config: configFile, policies: policyDir('stricter'), json: true }, [auditFile]);
    expect(code).toBe(0);
    const report = JSON.parse(out) as ReplayReport & { policies: string };
    expect(report.policies).toBe(policyDir('stricter'));
    // 7 calls: 6 decided by policy, 1 refused before (an unknown tool); one line is not JSON.
    expect(report.counts).toMatchObject({
      records: 7,
      reDecided: 6,
      unchanged: 4,
      newlyDenied: 2,
      newlyAllowed: 0,
      notReEvaluable: 0,
      skipped: 1,
      malformed: 1,
    });
    expect(report.skipped).toEqual([expect.objectContaining({ reason: 'refused-before-policy', count: 1 })]);
    const denied = report.newlyDenied;
    expect(denied.byRule.map((g) => [g.rule, g.originalRule, g.count])).toEqual([
      ['no-big-add', '(default)', 1],
      ['echo-admins-only', '(default)', 1],
    ]);
    expect(callsOf(denied.byRule)).toEqual(['apikey:alice add', 'apikey:bob echo']);
    expect(denied.byPrincipal.map((g) => [g.principal, g.count]).sort()).toEqual([
      ['apikey:alice', 1],
      ['apikey:bob', 1],
    ]);
    expect(denied.byTool.map((g) => [g.server, g.tool, g.count]).sort()).toEqual([
      ['ks', 'add', 1],
      ['ks', 'echo', 1],
    ]);
    for (const g of denied.byRule) expect(g.examples[0]!.requestId).toEqual(expect.any(String));
  });

  it('finds the call a looser policy set would allow, and prints it as text', async () => {
    const { code, out } = await run({ config: configFile, policies: policyDir('looser') }, [auditFile]);
    expect(code).toBe(0);
    expect(out).toMatch(/^ {2}re-decided: +6$/m);
    expect(out).toMatch(/^ {4}newly denied: +0$/m);
    expect(out).toMatch(/^ {4}newly allowed: +1$/m);
    expect(out).toMatch(/^ {4}refused before policy was asked \(decision "none"\): 1 \(\w+ 1\)$/m);
    expect(out).toMatch(/^Newly denied: none$/m);
    const allowed = out.slice(out.indexOf('Newly allowed: 1'));
    expect(allowed).toMatch(/^ {4}\(default\), was add-admins-only: 1$/m);
    expect(allowed).toMatch(/^ {6}\S+ {2}apikey:bob {2}ks add {2}request \S+$/m);
    expect(allowed).toMatch(/^ {2}by tool:\n {4}ks add: 1$/m);
  });

  it('re-decides nothing that needs arguments when none were recorded', async () => {
    const stripped = path.join(dir, 'no-args.log');
    const lines = readFileSync(auditFile, 'utf8')
      .split('\n')
      .map((line) => line.replace(/,"args":\{[^}]*\}/, ''));
    writeFileSync(stripped, lines.join('\n'));
    const { out } = await run({ config: configFile, policies: policyDir('stricter'), json: true }, [stripped]);
    const report = JSON.parse(out) as ReplayReport;
    // The three add calls meet no-big-add, which reads args; the echo calls are still decided.
    expect(report.counts).toMatchObject({ reDecided: 3, newlyDenied: 1, notReEvaluable: 3 });
    expect(report.notReEvaluable.map((g) => [g.reason, g.count])).toEqual([['args-not-recorded', 3]]);
    expect(callsOf(report.newlyDenied.byRule)).toEqual(['apikey:bob echo']);
  });

  it('is a usage error without --policies or files, and a configuration error for what it cannot read', async () => {
    expect((await run({ config: configFile }, [auditFile])).code).toBe(2);
    expect((await run({ config: configFile, policies: policyDir('stricter') }, [])).code).toBe(2);
    await expect(run({ config: configFile, policies: policyDir('stricter') }, [path.join(dir, 'missing.log')])).rejects.toThrow(ConfigError);
    await expect(run({ config: configFile, policies: path.join(dir, 'no-such-dir') }, [auditFile])).rejects.toThrow(ConfigError);
    const broken = policyDir('broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'ks.yaml'), 'rules:\n  - id: x\n    effect: maybe\n');
    await expect(run({ config: configFile, policies: broken }, [auditFile])).rejects.toThrow(ConfigError);
  });
});
