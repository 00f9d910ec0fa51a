import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { loadPolicyDir, parsePolicyText } from '../../../src/policy/load.js';
import { input, issueAt, issuesOf } from './helpers.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/policies');
const fixture = (...p: string[]) => path.join(fixtures, ...p);
const FILE = '/policies/test.yaml';
const parse = (text: string) => parsePolicyText(text, FILE);
const rule = (fields: string) => `rules:\n  - id: r1\n    ${fields.trim().split('\n').join('\n    ')}\n`;

describe('the file shape of design.md §10', () => {
  const engine = new PolicyEngine(loadPolicyDir(fixture('design-example')), { defaultEffect: 'allow' });
  const on = (server: string, tool: string, over: Parameters<typeof input>[0] = {}) =>
    engine.decide(input({ server: { name: server, transport: 'stdio' }, tool: { name: tool }, ...over }));

  it('loads and decides as documented', () => {
    expect(engine.ruleIds).toContain('guests-no-env');
    expect(on('memory', 'delete_entities', { principal: { scopes: ['memory.write'] } }).ruleId).toBe('no-delete-entities');
    expect(on('memory', 'create_entities')).toMatchObject({ code: 'INSUFFICIENT_SCOPE', missingScopes: ['memory.write'] });
    expect(on('memory', 'read_graph').allowed).toBe(true);
    expect(on('everything', 'get-env', { principal: { groups: ['guests'] } }).ruleId).toBe('guests-no-env');
    expect(on('filesystem', 'write_file').ruleId).toBe('servers.filesystem.readOnly');
    expect(on('filesystem', 'read_file', { tool: { name: 'read_file', annotations: { readOnlyHint: true } } }).allowed).toBe(true);
    expect(engine.rateLimitsFor(input({ server: { name: 'everything', transport: 'stdio' } })).limits).toHaveLength(2);
  });
});

describe('loadPolicyDir', () => {
  it('reads *.yaml and *.yml in name order, not tests files or other files', () => {
    const set = loadPolicyDir(fixture('valid'));
    expect(set.files).toEqual([fixture('valid', 'a.yaml'), fixture('valid', 'b.yml')]);
    expect(set.rules.map((r) => r.id)).toEqual(['a-deny', 'b-allow']);
    expect(set.rules[1]!.file).toBe(fixture('valid', 'b.yml'));
  });

  it('merges the settings of one server given by several files', () => {
    const s = loadPolicyDir(fixture('valid')).servers.one!;
    expect(s.readOnly).toBe(true);
    expect(s.readOnlyTools?.test('read')).toBe(true);
  });

  it('a missing directory is an empty policy set', () => {
    expect(loadPolicyDir(fixture('no-such-dir'))).toEqual({ files: [], rules: [], servers: {}, groups: {} });
  });

  it('an empty file is an error, not an empty policy (a truncated file must not drop every rule)', () => {
    for (const text of ['', '\n  \n', '# only a comment\n']) {
      const issue = issuesOf(() => parse(text))[0]!;
      expect(issue).toMatchObject({ file: FILE, path: '' });
      expect(issue.fix).toContain('rules: []');
    }
    expect(parse('rules: []\n').rules).toEqual([]);
  });

  it('a server name the configuration does not have is an error with a did-you-mean; globs are not checked', () => {
    const known = { servers: new Set(['memory', 'everything']) };
    const dir = mkdtempSync(path.join(tmpdir(), 'policies-'));
    writeFileSync(
      path.join(dir, 'p.yaml'),
      'rules:\n  - { id: r, match: { servers: [memroy, "later-*"] }, effect: deny }\nservers:\n  everythin: { rateLimit: [ { limit: 1, per: minute } ] }\n',
    );
    const issues = issuesOf(() => loadPolicyDir(dir, known));
    expect(issues.map((i) => i.path).sort()).toEqual(['rules[0].match.servers[0]', 'servers.everythin']);
    expect(issues.find((i) => i.path === 'servers.everythin')!.fix).toContain('did you mean "everything"?');
    expect(issues.find((i) => i.path === 'rules[0].match.servers[0]')!.fix).toContain('did you mean "memory"?');
    // Without the configuration's names (a policy file on its own), nothing is checked.
    expect(loadPolicyDir(dir).rules).toHaveLength(1);
  });

  it('warns about a group setting for a group no caller has, when the config knows every group', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'policies-'));
    writeFileSync(path.join(dir, 'p.yaml'), 'groups:\n  contractorz: { readOnly: true }\n  guests: { readOnly: true }\n');
    const set = loadPolicyDir(dir, { servers: new Set(), groups: new Set(['contractors', 'guests']) });
    expect(set.warnings).toEqual([expect.objectContaining({ path: 'groups.contractorz', fix: expect.stringContaining('did you mean "contractors"?') })]);
    // Groups that come with JWTs cannot be known: nothing is said.
    expect(loadPolicyDir(dir, { servers: new Set() }).warnings).toBeUndefined();
  });

  it('warns about deny conditions that read args without a type guard', () => {
    const set = parse(
      'rules:\n  - { id: a, when: "args.path.startsWith(\'/etc\')", effect: deny }\n  - { id: b, when: "has(args.n) && (type(args.n) != double || args.n > 3)", effect: deny }\n  - { id: c, when: "args.x == 1", effect: allow }\n',
    );
    expect(set.warnings?.map((w) => w.path)).toEqual(['rule "a"']);
  });

  it('a duplicate rule id across files names both files', () => {
    const issues = issuesOf(() => loadPolicyDir(fixture('duplicate-ids')));
    const dup = issueAt(issues, 'rules[1].id');
    expect(dup.file).toBe(fixture('duplicate-ids', 'second.yaml'));
    expect(dup.message).toContain('shared-id');
    expect(dup.message).toContain(fixture('duplicate-ids', 'first.yaml'));
  });

  it('a server setting given by two files names both files', () => {
    const issues = issuesOf(() => loadPolicyDir(fixture('duplicate-ids')));
    const conflict = issueAt(issues, 'servers.one.readOnly');
    expect(conflict.file).toBe(fixture('duplicate-ids', 'third.yaml'));
    expect(conflict.message).toContain(fixture('duplicate-ids', 'second.yaml'));
    expect(issues).toHaveLength(2);
  });

  it('reports the issues of every file at once', () => {
    const issues = issuesOf(() => loadPolicyDir(fixture('broken')));
    expect(issues.map((i) => [path.basename(i.file), i.path])).toEqual([
      ['1-yaml.yaml', ''],
      ['2-cel.yaml', 'rules[0].when'],
      ['3-keys.yaml', 'rules[0].effect'],
      ['3-keys.yaml', 'rules[0].efect'],
    ]);
    expect(issues[0]!.message).toMatch(/YAML syntax error at line 3/);
  });

  it('a duplicate rule id within one file', () => {
    const issues = issuesOf(() => parse('rules: [ { id: a, effect: allow }, { id: a, effect: deny } ]'));
    expect(issueAt(issues, 'rules[1].id').message).toMatch(/duplicate rule id "a".*rules\[0\]/);
  });
});

describe('CEL compile errors name file, path, rule id and line:column', () => {
  it.each([
    ['a syntax error', `when: "'guests' in principal.groups &&"`, 'rules[0].when', /rule "r1": CEL syntax error at 1:32/],
    ['an unknown variable', `when: "'x' in princpal.groups"`, 'rules[0].when', /rule "r1": unknown variable "princpal" at 1:8/],
    ['an unknown field', `when: "'x' in principal.group"`, 'rules[0].when', /rule "r1": principal has no field "group" \(at 1:18/],
    ['a non-bool condition', `when: "principal.id"`, 'rules[0].when', /rule "r1": CEL type error at 1:1.*string.*bool/],
    ['an operand type error', `effect: require\ncondition: "principal.id == 1"`, 'rules[0].condition', /rule "r1": CEL type error at 1:1.*string == int/],
    ['an error on line 2', `when: "'x' in principal.groups ||\\n  args.n > nope"`, 'rules[0].when', /unknown variable "nope" at 2:12/],
    [
      'a non-string rate-limit key',
      `rateLimit: [ { limit: 1, per: second, key: "principal.scopes" } ]`,
      'rules[0].rateLimit[0].key',
      /rule "r1": CEL type error.*list<string>.*string/,
    ],
  ])('%s', (_name, fields, at, message) => {
    const effect = fields.includes('effect:') ? '' : '\neffect: deny';
    const issues = issuesOf(() => parse(rule(fields + effect)));
    const issue = issueAt(issues, at);
    expect(issue.file).toBe(FILE);
    expect(issue.message).toMatch(message);
  });

  it('fixes suggest the closest name', () => {
    const issues = issuesOf(() => parse(rule(`when: "'x' in princpal.groups && principal.scope.size() > 0"\neffect: deny`)));
    expect(issues[0]!.fix).toBe('did you mean "principal"?');
    const field = issuesOf(() => parse(rule(`when: "principal.scope.size() > 0"\neffect: deny`)));
    expect(field[0]!.fix).toBe('did you mean "principal.scopes"?');
  });

  it('server rate-limit keys are checked too', () => {
    const issues = issuesOf(() => parse('servers: { s: { rateLimit: [ { limit: 1, per: hour, key: "principal.idd" } ] } }'));
    expect(issueAt(issues, 'servers.s.rateLimit[0].key').message).toMatch(/principal has no field "idd"/);
  });

  it('are reported together with schema issues of the same file', () => {
    const issues = issuesOf(() => parse('rules: [ { id: a, when: "nope", effect: deny }, { id: b, effect: maybe } ]'));
    expect(issues.map((i) => i.path).sort()).toEqual(['rules[0].when', 'rules[1].effect']);
  });
});

describe('schema issues', () => {
  it.each([
    ['a typo in a rule key', rule('whne: "true"\neffect: deny'), 'rules[0].whne', /unknown key "whne"/, 'did you mean "when"?'],
    ['a typo in match', rule('match: { tool: [x] }\neffect: deny'), 'rules[0].match.tool', /unknown key "tool"/, 'did you mean "tools"?'],
    ['a typo in a server setting', 'servers: { s: { readonly: true } }', 'servers.s.readonly', /unknown key/, 'did you mean "readOnly"?'],
    ['a typo in a group setting', 'groups: { g: { readOnyl: true } }', 'groups.g.readOnyl', /unknown key/, 'did you mean "readOnly"?'],
    ['an unknown top-level key', 'rule: []', 'rule', /unknown key "rule"/, 'did you mean "rules"?'],
    ['a bad effect', rule('effect: alow'), 'rules[0].effect', /must be one of/, 'did you mean "allow"?'],
    ['a bad period', 'servers: { s: { rateLimit: [ { limit: 1, per: minutes } ] } }', 'servers.s.rateLimit[0].per', /must be one of/, 'did you mean "minute"?'],
    ['a zero limit', 'servers: { s: { rateLimit: [ { limit: 0, per: minute } ] } }', 'servers.s.rateLimit[0].limit', /must be > 0/, undefined],
    [
      'a rate limit that is not a list',
      'servers: { s: { rateLimit: { limit: 1, per: minute } } }',
      'servers.s.rateLimit',
      /expected list/,
      'write a list: [ … ]',
    ],
    ['an empty glob list', rule('match: { tools: [] }\neffect: deny'), 'rules[0].match.tools', /empty list/, undefined],
    ['a missing id', 'rules: [ { effect: deny } ]', 'rules[0].id', /"id" is required/, undefined],
    ['a bad id', 'rules: [ { id: "has space", effect: deny } ]', 'rules[0].id', /rule id may contain/, undefined],
    ['a reserved id', 'rules: [ { id: servers.x, effect: deny } ]', 'rules[0].id', /reserved/, undefined],
    ['require without scopes or condition', rule('effect: require'), 'rules[0]', /needs "scopes", "condition"/, undefined],
    ['scopes on a deny', rule('effect: deny\nscopes: [a]'), 'rules[0].scopes', /only to "effect: require"/, undefined],
    [
      'condition on an allow',
      rule('effect: allow\ncondition: "true"'),
      'rules[0].condition',
      /only to "effect: require"/,
      'use "when" for a condition on an allow or deny rule',
    ],
    ['group servers without readOnly', 'groups: { g: { servers: [s] } }', 'groups.g.servers', /only narrows "readOnly"/, undefined],
  ])('%s', (_name, text, at, message, fix) => {
    const issue = issueAt(
      issuesOf(() => parse(text)),
      at,
    );
    expect(issue.message).toMatch(message);
    if (fix !== undefined) expect(issue.fix).toBe(fix);
  });

  it('messages inside a rule name the rule', () => {
    const issue = issueAt(
      issuesOf(() => parse(rule('efect: deny'))),
      'rules[0].efect',
    );
    expect(issue.message).toBe('rule "r1": unknown key "efect"');
  });

  it('a YAML syntax error names line and column', () => {
    const issues = issuesOf(() => parse('rules:\n  - id: x\n   effect: deny\n'));
    expect(issues[0]).toMatchObject({ file: FILE, path: '' });
    expect(issues[0]!.message).toMatch(/YAML syntax error at line 3, column \d+/);
  });
});
