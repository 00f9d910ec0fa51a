/**
 * Policy coverage over hand-built policy sets and catalogs: uncovered entries
 * (and what decides them), dead rules, shadowed rules, servers that could
 * not be read, the audit tally, and the coverage percentage.
 */
import { describe, expect, it } from 'vitest';
import { newAuditTally, tallyLine, tallyText } from '../../../src/policy/coverage-audit.js';
import { analyzeCoverage, type CatalogEntry, type CoverageInput, coveragePercent, ruleSelects } from '../../../src/policy/coverage.js';
import { parsePolicyText } from '../../../src/policy/load.js';

const tool = (server: string, name: string, annotations?: Record<string, unknown>): CatalogEntry => ({
  kind: 'tool',
  server,
  name,
  exposed: `${server}__${name}`,
  ...(annotations ? { annotations } : {}),
});
const prompt = (server: string, name: string): CatalogEntry => ({ kind: 'prompt', server, name, exposed: `${server}__${name}` });
const resource = (server: string, uri: string): CatalogEntry => ({ kind: 'resource', server, name: uri, exposed: `${server}+${uri}` });
const template = (server: string, uri: string): CatalogEntry => ({ kind: 'resourceTemplate', server, name: uri, exposed: `${server}+${uri}` });

/** Server fs: three tools, a prompt, a resource and a template; server mem: two tools. */
const CATALOG: CatalogEntry[] = [
  tool('fs', 'read_file', { readOnlyHint: true }),
  tool('fs', 'read_dir'),
  tool('fs', 'write_file'),
  prompt('fs', 'review'),
  resource('fs', 'file:///etc/motd'),
  template('fs', 'file:///{path}'),
  tool('mem', 'search'),
  tool('mem', 'delete'),
];

function coverage(yaml: string, over: Partial<CoverageInput> = {}) {
  return analyzeCoverage({
    set: parsePolicyText(yaml, 'test.yaml'),
    defaultEffect: 'allow',
    read: ['fs', 'mem'],
    unreadable: [],
    offline: [],
    entries: CATALOG,
    ...over,
  });
}

const names = (entries: { server: string; name: string }[]) => entries.map((e) => `${e.server}/${e.name}`);
const ids = (rules: { ruleId: string }[]) => rules.map((r) => r.ruleId);

describe('uncovered entries', () => {
  it('lists the entries no rule matches, with the gateway default deciding them', () => {
    const report = coverage(`rules: [ { id: fs-reads, match: { servers: [fs], tools: ["read_*"] }, effect: allow } ]`, { defaultEffect: 'deny' });
    expect(names(report.covered)).toEqual(['fs/read_file', 'fs/read_dir']);
    expect(report.covered[0]!.rules).toEqual(['fs-reads']);
    expect(names(report.uncovered)).toEqual(['fs/write_file', 'fs/review', 'fs/file:///etc/motd', 'fs/file:///{path}', 'mem/search', 'mem/delete']);
    expect(report.uncovered[0]).toMatchObject({
      kind: 'tool',
      exposed: 'fs__write_file',
      decidedBy: 'gateway-default',
      setting: 'gateway.defaultEffect',
      effect: 'deny',
    });
    expect(report.totals).toEqual({ entries: 8, covered: 2, uncovered: 6, percent: 25 });
    expect(report.conditionsEvaluated).toBe(false);
    expect(report.notes.join(' ')).toContain('not evaluated');
  });

  it('ignores conditions: a rule with `when` covers what its match selects', () => {
    const report = coverage(`rules: [ { id: guests, match: { servers: [mem] }, when: "'guests' in principal.groups", effect: deny } ]`);
    expect(names(report.covered)).toEqual(['mem/search', 'mem/delete']);
  });

  it('a rule naming no kind covers tools, prompts and resources; one naming tools covers tools only', () => {
    const all = coverage(`rules: [ { id: fs-all, match: { servers: [fs] }, effect: allow } ]`);
    expect(names(all.covered)).toEqual(['fs/read_file', 'fs/read_dir', 'fs/write_file', 'fs/review', 'fs/file:///etc/motd', 'fs/file:///{path}']);
    const tools = coverage(`rules: [ { id: fs-tools, match: { servers: [fs], tools: ["*"] }, effect: allow } ]`);
    expect(names(tools.covered)).toEqual(['fs/read_file', 'fs/read_dir', 'fs/write_file']);
  });

  it('matches resources and templates by URI glob, prompts by name, and methods against the entry’s uses', () => {
    const report = coverage(`
rules:
  - { id: files, match: { resources: ["file:///*"] }, effect: allow }
  - { id: completions, match: { methods: [completion/complete] }, effect: deny }
`);
    expect(report.covered.map((e) => `${e.name}:${e.rules.join('+')}`)).toEqual([
      'review:completions',
      'file:///etc/motd:files',
      'file:///{path}:files+completions',
    ]);
  });

  it('counts allowTools/denyTools (derived rules) as covering; an allowlist mode alone is "decided by server settings"', () => {
    const report = coverage(`
servers:
  mem: { mode: allowlist, allowTools: [search] }
  fs: { mode: denylist }
`);
    expect(report.covered).toEqual([{ kind: 'tool', server: 'mem', name: 'search', exposed: 'mem__search', rules: ['servers.mem.allowTools'] }]);
    expect(report.uncovered.find((e) => e.name === 'delete')).toMatchObject({ decidedBy: 'server-settings', setting: 'servers.mem.mode', effect: 'deny' });
    expect(report.uncovered.find((e) => e.name === 'review')).toMatchObject({ decidedBy: 'server-settings', setting: 'servers.fs.mode', effect: 'allow' });
  });

  it('a read-only server decides its tools not declared read-only; declared ones fall to the default', () => {
    const report = coverage(`servers: { fs: { readOnly: true, readOnlyTools: [read_dir] } }`, { trustedServers: ['fs'] });
    const by = Object.fromEntries(report.uncovered.map((e) => [e.name, `${e.setting}:${e.effect}`]));
    expect(by).toMatchObject({
      read_file: 'gateway.defaultEffect:allow', // readOnlyHint on a trusted server
      read_dir: 'gateway.defaultEffect:allow', // readOnlyTools
      write_file: 'servers.fs.readOnly:deny',
      review: 'gateway.defaultEffect:allow', // prompts are reads
    });
    const untrusted = coverage(`servers: { fs: { readOnly: true } }`);
    expect(untrusted.uncovered.find((e) => e.name === 'read_file')!.setting).toBe('servers.fs.readOnly');
  });
});

describe('dead rules', () => {
  it('reports a servers glob that matches no configured server', () => {
    const report = coverage(`rules: [ { id: jira, match: { servers: ["jira-*"] }, effect: deny } ]`);
    expect(report.deadRules).toEqual([{ ruleId: 'jira', file: 'test.yaml', effect: 'deny', reason: expect.stringContaining('match no configured server') }]);
  });

  it('reports a rule whose only server is disabled or not configured', () => {
    const report = coverage(`rules: [ { id: legacy, match: { servers: [old] }, effect: allow } ]`, { offline: [{ server: 'old', reason: 'disabled' }] });
    expect(report.deadRules[0]).toMatchObject({ ruleId: 'legacy', reason: 'it selects no live server: old (disabled) serves nothing' });
  });

  it('reports tool globs that match nothing the server serves, and methods that never meet what the rule names', () => {
    const report = coverage(`
rules:
  - { id: typo, match: { servers: [fs], tools: ["raed_*"] }, effect: allow }
  - { id: wrong-method, match: { servers: [fs], prompts: [review], methods: [tools/call] }, effect: deny }
  - { id: elsewhere, match: { servers: [mem], prompts: [review] }, effect: deny }
  - { id: alive, match: { servers: [fs], tools: ["read_*"] }, effect: allow }
`);
    expect(ids(report.deadRules)).toEqual(['typo', 'wrong-method', 'elsewhere']);
    expect(report.deadRules[0]!.reason).toBe('its tools ["raed_*"] match nothing that fs serves');
    expect(report.deadRules[1]!.reason).toContain('its methods ["tools/call"] never apply to the prompts it names');
    expect(report.deadRules[2]!.reason).toBe('its prompts ["review"] match nothing that mem serves');
  });

  it('reports dead allowTools settings too', () => {
    const report = coverage(`servers: { mem: { allowTools: [serach] } }`);
    expect(report.deadRules).toEqual([
      { ruleId: 'servers.mem.allowTools', file: 'test.yaml', effect: 'allow', reason: 'its tools ["serach"] match nothing that mem serves' },
    ]);
  });

  it('does not call a rule dead for a server that could not be read: it is not judged', () => {
    const report = coverage(`rules: [ { id: on-down, match: { servers: [down, fs], tools: [nothing] }, effect: deny } ]`, {
      unreadable: [{ server: 'down', reason: 'not ready (spawn)' }],
    });
    expect(report.deadRules).toEqual([]);
    expect(report.undeterminedRules).toEqual([
      {
        ruleId: 'on-down',
        file: 'test.yaml',
        effect: 'deny',
        reason: 'it matches nothing on the servers read; but it also selects down, which could not be read',
      },
    ]);
  });
});

describe('shadowed rules', () => {
  it('an allow under an unconditional deny, whatever the file order', () => {
    for (const yaml of [
      `rules: [ { id: no-fs, match: { servers: [fs], tools: ["*"] }, effect: deny }, { id: reads, match: { servers: [fs], tools: ["read_*"] }, effect: allow } ]`,
      `rules: [ { id: reads, match: { servers: [fs], tools: ["read_*"] }, effect: allow }, { id: no-fs, match: { servers: [fs], tools: ["*"] }, effect: deny } ]`,
    ]) {
      const report = coverage(yaml);
      expect(report.shadowedRules).toEqual([
        { ruleId: 'reads', file: 'test.yaml', effect: 'allow', by: ['no-fs'], reason: expect.stringContaining('whatever the file order') },
      ]);
    }
  });

  it('a require under denies that together match everything it matches', () => {
    const report = coverage(`
rules:
  - { id: no-search, match: { servers: [mem], tools: [search] }, effect: deny }
  - { id: no-delete, match: { servers: [mem], tools: [delete] }, effect: deny }
  - { id: mem-scope, match: { servers: [mem], tools: ["*"] }, effect: require, scopes: [mem] }
`);
    expect(report.shadowedRules.map((r) => `${r.ruleId}<${r.by.join(',')}`)).toEqual(['mem-scope<no-search,no-delete']);
  });

  it('not under a deny with a condition, one that matches only part, or one that only hides the list entry', () => {
    const report = coverage(`
rules:
  - { id: guests-no-fs, match: { servers: [fs] }, when: "'guests' in principal.groups", effect: deny }
  - { id: no-writes, match: { servers: [fs], tools: ["write_*"] }, effect: deny }
  - { id: hide-mem, match: { servers: [mem], methods: [tools/list] }, effect: deny }
  - { id: fs-tools, match: { servers: [fs], tools: ["*"] }, effect: allow }
  - { id: mem-tools, match: { servers: [mem], tools: ["*"] }, effect: allow }
`);
    expect(report.shadowedRules).toEqual([]);
  });

  it('a deny only under an earlier unconditional deny (the first matching deny decides)', () => {
    const report = coverage(`
rules:
  - { id: late-guests, match: { servers: [mem], tools: [delete] }, when: "'guests' in principal.groups", effect: deny }
  - { id: no-mem, match: { servers: [mem] }, effect: deny }
  - { id: no-delete, match: { servers: [mem], tools: [delete] }, effect: deny }
`);
    expect(report.shadowedRules.map((r) => `${r.ruleId}<${r.by.join(',')}`)).toEqual(['no-delete<no-mem']);
  });

  it('an allow for tools a read-only server refuses', () => {
    const report = coverage(`
rules:
  - { id: allow-writes, match: { servers: [fs], tools: [write_file] }, effect: allow }
  - { id: deny-writes, match: { servers: [fs], tools: [write_file] }, when: "true", effect: deny }
  - { id: allow-reads, match: { servers: [fs], tools: [read_dir] }, effect: allow }
servers: { fs: { readOnly: true, readOnlyTools: [read_dir] } }
`);
    expect(report.shadowedRules.map((r) => `${r.ruleId}<${r.by.join(',')}`)).toEqual(['allow-writes<servers.fs.readOnly']);
  });

  it('shadow rules (mode: shadow) decide nothing: they neither cover an entry nor shadow a rule', () => {
    const report = coverage(`
rules:
  - { id: try-no-mem, match: { servers: [mem] }, effect: deny, mode: shadow }
  - { id: mem-search, match: { servers: [mem], tools: [search] }, effect: allow }
`);
    expect(report.shadowedRules).toEqual([]);
    expect(report.covered).toEqual([
      { kind: 'tool', server: 'mem', name: 'search', exposed: 'mem__search', rules: ['mem-search'], shadowRules: ['try-no-mem'] },
    ]);
    expect(report.uncovered.find((e) => e.name === 'delete')).toMatchObject({ decidedBy: 'gateway-default', shadowRules: ['try-no-mem'] });
    expect(report.notes.join(' ')).toContain('mode: shadow');
    // A shadow allow under an enforced deny would never change a decision either.
    const under = coverage(
      `rules: [ { id: no-mem, match: { servers: [mem] }, effect: deny }, { id: try-search, match: { servers: [mem], tools: [search] }, effect: allow, mode: shadow } ]`,
    );
    expect(ids(under.shadowedRules)).toEqual(['try-search']);
  });

  it('is not judged when the rule also selects a server that could not be read', () => {
    const report = coverage(`rules: [ { id: no-all, match: { tools: ["*"] }, effect: deny }, { id: reads, match: { tools: ["read_*"] }, effect: allow } ]`, {
      unreadable: [{ server: 'down', reason: 'not ready (spawn)' }],
    });
    expect(report.shadowedRules).toEqual([]);
    expect(ids(report.undeterminedRules)).toEqual(['reads']);
    expect(report.undeterminedRules[0]!.reason).toContain('shadowed on the servers read (no-all)');
  });
});

describe('ruleSelects', () => {
  it('follows the engine: methods of either the use or the list, kinds by their own key', () => {
    const [listOnly, calls] = parsePolicyText(
      `rules: [ { id: a, match: { methods: [tools/list] }, effect: deny }, { id: b, match: { tools: [x], methods: ["tools/*"] }, effect: deny } ]`,
      't.yaml',
    ).rules;
    expect(ruleSelects(listOnly!, tool('s', 'x'), ['tools/call'])).toBe(false);
    expect(ruleSelects(listOnly!, tool('s', 'x'), ['tools/call', 'tools/list'])).toBe(true);
    expect(ruleSelects(calls!, tool('s', 'x'), ['tools/call'])).toBe(true);
    expect(ruleSelects(calls!, tool('s', 'y'), ['tools/call'])).toBe(false);
    expect(ruleSelects(calls!, prompt('s', 'x'), ['prompts/get'])).toBe(false);
  });
});

describe('coveragePercent', () => {
  it('is the share of entries some rule matches, and 0 for an empty catalog', () => {
    expect(coveragePercent({ totals: { entries: 3, covered: 2, uncovered: 1, percent: 66.7 } })).toBeCloseTo(66.667, 2);
    expect(coveragePercent(coverage('rules: []', { entries: [] }))).toBe(0);
    expect(coveragePercent(coverage(`rules: [ { id: all, match: {}, effect: allow } ]`))).toBe(100);
  });
});

describe('audit', () => {
  const line = (record: Record<string, unknown>) => JSON.stringify(record);
  const call = (server: string, original: string, ruleId?: string) =>
    line({ type: 'audit', method: 'tools/call', server, name: `${server}__${original}`, original, decision: 'allow', ...(ruleId ? { ruleId } : {}) });
  const POLICY = `
rules:
  - { id: reads, match: { servers: [fs], tools: ["read_*"] }, effect: allow }
  - { id: no-delete, match: { servers: [mem], tools: [delete] }, effect: deny }
  - { id: prompts, match: { servers: [fs], prompts: ["*"] }, effect: allow }
servers: { mem: { mode: allowlist } }
`;

  it('tallies records, skips other types, counts malformed lines and dropped records', () => {
    const tally = newAuditTally();
    tallyText(
      tally,
      'a.jsonl',
      [
        line({ type: 'audit-start', version: '1' }),
        call('fs', 'read_file', 'reads'),
        '{"type": "audit", "method": ',
        '',
        '[1, 2]',
        line({ type: 'contract', event: 'drift' }),
        line({ type: 'audit-gap', dropped: 3, reason: 'behind' }),
        line({ type: 'audit', server: 'fs' }),
      ].join('\n'),
    );
    tallyLine(tally, 'b.jsonl', 1, call('mem', 'delete', 'no-delete'));
    expect(tally).toMatchObject({ files: ['a.jsonl', 'b.jsonl'], records: 2, skipped: 3, dropped: 3, malformed: 3 });
    expect(tally.malformedLines).toEqual([
      { file: 'a.jsonl', line: 3, reason: 'not JSON' },
      { file: 'a.jsonl', line: 5, reason: 'not a JSON object' },
      { file: 'a.jsonl', line: 8, reason: 'an audit record without a method' },
    ]);
  });

  it('reports rules that never fired, tools never called, and rule ids the policy no longer has', () => {
    const tally = newAuditTally();
    tallyText(
      tally,
      'audit.jsonl',
      [
        call('fs', 'read_file', 'reads'),
        call('fs', 'read_file', 'reads'),
        // Only the exposed name: still a call of fs/write_file.
        line({ type: 'audit', method: 'tools/call', server: 'fs', name: 'fs__write_file', decision: 'allow' }),
        call('mem', 'search', 'servers.mem.mode'),
        call('mem', 'gone', 'old-rule'),
        // Not a tools/call: names a rule but calls no tool.
        line({ type: 'audit', method: 'prompts/get', server: 'fs', name: 'fs__review', original: 'review', decision: 'allow', ruleId: 'prompts' }),
      ].join('\n'),
    );
    const { audit } = coverage(POLICY, { audit: tally });
    expect(audit).toMatchObject({ records: 6, malformed: 0, skipped: 0 });
    expect(ids(audit!.neverFired)).toEqual(['no-delete']);
    expect(audit!.fired).toEqual([
      { ruleId: 'reads', count: 2 },
      { ruleId: 'prompts', count: 1 },
    ]);
    expect(names(audit!.neverCalled)).toEqual(['fs/read_dir', 'mem/delete']);
    expect(audit!.unknownRuleIds).toEqual([{ ruleId: 'old-rule', count: 1 }]);
  });

  it('a shadow rule fires when a record lists it in shadow.rules (it is never the deciding rule)', () => {
    const tally = newAuditTally();
    const shadow = { rules: [{ ruleId: 'try-no-mem', effect: 'deny', outcome: 'matched' }], would: { allowed: false, ruleId: 'try-no-mem' } };
    tallyLine(tally, 'a.jsonl', 1, line({ type: 'audit', method: 'tools/call', server: 'mem', original: 'search', decision: 'allow', shadow }));
    const { audit } = coverage(
      `rules: [ { id: try-no-mem, match: { servers: [mem] }, effect: deny, mode: shadow }, { id: quiet, match: { servers: [fs] }, effect: deny, mode: shadow } ]`,
      {
        audit: tally,
      },
    );
    expect(audit!.fired).toEqual([{ ruleId: 'try-no-mem', count: 1 }]);
    expect(ids(audit!.neverFired)).toEqual(['quiet']);
  });

  it('is absent without audit files', () => {
    expect(coverage(POLICY).audit).toBeUndefined();
  });
});
