/**
 * `switchboard policy coverage` end to end, in process (the command's output
 * goes through its `write` option): a config on disk with two real stdio
 * upstreams (the kitchen-sink fixture as `ks`, server-memory as `mem`), a
 * disabled one, one that exits at once and one not configured yet; the policy
 * in test/fixtures/policy-coverage/policies has rules for every category, and
 * test/fixtures/policy-coverage/audit.jsonl is the audit trail it is checked against.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedArgs } from '../../src/cli/args.js';
import { coveragePercent, formatCoverage, policyCoverage, type CoverageReport } from '../../src/cli/commands/policy-coverage.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { FIXTURES, ROOT } from '../helpers/gateway.js';

const COVERAGE = path.join(ROOT, 'test/fixtures/policy-coverage');
const AUDIT = path.join(COVERAGE, 'audit.jsonl');
const MEMORY = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

let dir: string;
let configFile: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-coverage-'));
  configFile = path.join(dir, 'switchboard.json');
  const node = (args: string[], env: Record<string, string> = {}) => ({ command: process.execPath, args, env });
  const config = {
    mcpServers: {
      ks: node([path.join(FIXTURES, 'stdio.mjs')]),
      mem: node([MEMORY], { MEMORY_FILE_PATH: path.join(dir, 'memory.jsonl') }),
      off: node([path.join(FIXTURES, 'stdio.mjs')]),
      broken: node(['-e', 'process.exit(3)']),
      later: { type: 'http', url: '' },
    },
    gateway: { policies: path.join(COVERAGE, 'policies'), defaultEffect: 'deny', servers: { off: { enabled: false } } },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const argsOf = (files: string[], json: boolean): ParsedArgs => ({
  command: 'policy',
  positionals: ['coverage', ...files],
  flags: { config: configFile, ...(json ? { json: true } : {}) },
  rest: [],
});

describe('policy coverage against live upstreams and an audit file', () => {
  let report: CoverageReport;
  let code: number;

  beforeAll(async () => {
    let out = '';
    code = await policyCoverage(loadConfigFile(configFile), argsOf([AUDIT], true), { write: (text) => void (out += text), settleMs: 20_000 });
    report = JSON.parse(out) as CoverageReport;
  }, 60_000);

  const ids = (rules: { ruleId: string }[]) => rules.map((r) => r.ruleId);
  const at = (entries: { server: string; name: string }[], server: string) =>
    entries
      .filter((e) => e.server === server)
      .map((e) => e.name)
      .sort();

  it('reads the live servers, and says which could not be read and which are offline', () => {
    expect(code).toBe(0);
    expect(report.servers.read).toEqual(['ks', 'mem']);
    expect(report.servers.unreadable).toEqual([{ server: 'broken', reason: expect.stringMatching(/^not ready/) }]);
    expect(report.servers.offline.map((s) => s.server).sort()).toEqual(['later', 'off']);
    expect(report.conditionsEvaluated).toBe(false);
  });

  it('covers tools, prompts, resources and templates of the catalog', () => {
    const covered = Object.fromEntries(report.covered.map((e) => [`${e.kind}:${e.server}/${e.name}`, e.rules]));
    expect(covered).toMatchObject({
      'tool:ks/echo': ['ks-echo'],
      'tool:ks/fail': ['no-ks-failures'],
      'prompt:ks/greet': ['ks-prompts'],
      'resource:ks/fixture://static/hello': ['ks-static'],
      'tool:mem/delete_entities': ['mem-no-deletes', 'mem-delete-entities'],
      'tool:mem/read_graph': ['servers.mem.allowTools'],
    });
    expect(report.covered.find((e) => e.name === 'echo')!.exposed).toBe('ks__echo');
  });

  it('reports uncovered entries, decided by the server mode or by the gateway default', () => {
    const uncovered = Object.fromEntries(report.uncovered.map((e) => [`${e.server}/${e.name}`, `${e.decidedBy} ${e.setting} ${e.effect}`]));
    expect(uncovered).toMatchObject({
      'ks/add': 'gateway-default gateway.defaultEffect deny',
      'ks/fixture://items/{id}': 'gateway-default gateway.defaultEffect deny',
      'mem/create_entities': 'server-settings servers.mem.mode deny',
    });
    expect(uncovered['ks/echo']).toBeUndefined();
    expect(report.uncovered.some((e) => e.kind === 'resourceTemplate')).toBe(true);
    expect(report.totals.entries).toBe(report.covered.length + report.uncovered.length);
    expect(report.totals.percent).toBeCloseTo(coveragePercent(report), 1);
  });

  it('reports dead rules with why, and does not judge the rule for the server that could not be read', () => {
    expect(ids(report.deadRules).sort()).toEqual(['jira', 'ks-typo', 'off-all']);
    const why = Object.fromEntries(report.deadRules.map((r) => [r.ruleId, r.reason]));
    expect(why['ks-typo']).toBe('its tools ["ecko"] match nothing that ks serves');
    expect(why.jira).toContain('match no configured server');
    expect(why['off-all']).toBe('it selects no live server: off (disabled) serves nothing');
    expect(ids(report.undeterminedRules)).toEqual(['broken-x']);
  });

  it('reports the allow under an unconditional deny as shadowed', () => {
    expect(report.shadowedRules).toEqual([
      {
        ruleId: 'mem-delete-entities',
        file: path.join(COVERAGE, 'policies/coverage.yaml'),
        effect: 'allow',
        by: ['mem-no-deletes'],
        reason: expect.stringContaining('whatever the file order'),
      },
    ]);
  });

  it('reads the audit file: rules that never fired, tools never called, malformed lines and other records', () => {
    const audit = report.audit!;
    expect(audit).toMatchObject({ files: [AUDIT], records: 5, skipped: 2, malformed: 1, malformedLines: [{ file: AUDIT, line: 7, reason: 'not JSON' }] });
    expect(audit.fired).toEqual([
      { ruleId: 'ks-echo', count: 2 },
      { ruleId: 'servers.mem.allowTools', count: 1 },
    ]);
    expect(ids(audit.neverFired)).toContain('no-ks-failures');
    expect(ids(audit.neverFired)).not.toContain('ks-echo');
    expect(audit.unknownRuleIds).toEqual([{ ruleId: 'removed-rule', count: 1 }]);
    expect(at(audit.neverCalled, 'ks')).not.toContain('echo');
    expect(at(audit.neverCalled, 'ks')).toContain('add');
    expect(at(audit.neverCalled, 'mem')).not.toContain('read_graph');
    expect(at(audit.neverCalled, 'mem')).not.toContain('create_entities');
    expect(at(audit.neverCalled, 'mem')).toContain('search_nodes');
  });

  it('prints the same report as tables', () => {
    const text = formatCoverage(report);
    expect(text).toMatch(/^Policy coverage: \d+ of \d+ catalog entries \(\d+\.\d%\) are matched by some rule\.\n/);
    expect(text).toContain('are not evaluated');
    expect(text).toContain('Server not read: broken: not ready');
    expect(text).toMatch(/Dead rules, which can never match \(3\):\nRULE +EFFECT +FILE +WHY\n/);
    expect(text).toMatch(/mem-delete-entities +allow +\S+coverage\.yaml +mem-no-deletes/);
    expect(text).toMatch(/create_entities +mem__create_entities +server settings +servers\.mem\.mode +deny/);
    expect(text).toContain('1 malformed line:');
    expect(text).toContain('rule "removed-rule" decided 1 recorded request(s) but is not in the policy now');
    expect(text).toMatch(/Tools never called, in no tools\/call record \(\d+\):\nSERVER +TOOL +EXPOSED\n/);
  });
});

it('fails with a ConfigError, before starting any upstream, on an audit file it cannot read', async () => {
  const started = Date.now();
  const run = policyCoverage(loadConfigFile(configFile), argsOf([path.join(dir, 'missing.jsonl')], false), { write: () => {} });
  await expect(run).rejects.toThrow(ConfigError);
  await expect(run).rejects.toThrow(/cannot read the audit file \(ENOENT\)/);
  expect(Date.now() - started).toBeLessThan(5_000);
});
