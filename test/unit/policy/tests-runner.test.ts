import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { loadPolicyDir } from '../../../src/policy/load.js';
import { loadPolicyTests, parsePolicyTestsText, runPolicyTests } from '../../../src/policy/tests-runner.js';
import { engineOf, issueAt, issuesOf } from './helpers.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/policies');

const engine = engineOf(`
rules:
  - id: guests-no-env
    match: { servers: [everything], tools: [get-env] }
    when: "'guests' in principal.groups"
    effect: deny
  - id: writes-need-scope
    match: { servers: [memory], tools: ["create_*"] }
    effect: require
    scopes: [memory.write]
`);

describe('runPolicyTests', () => {
  const suite = parsePolicyTestsText(
    `
cases:
  - name: guests cannot read the environment
    principal: { kind: apikey, id: g, groups: [guests] }
    request: { server: everything, tool: get-env }
    expect: { effect: deny, ruleId: guests-no-env, code: POLICY_DENIED }
  - name: a wrong expectation
    request: { server: everything, tool: get-env }
    expect: { effect: deny, ruleId: guests-no-env }
  - name: a scope is missing
    request: { server: memory, tool: create_entities }
    expect: { effect: deny, code: INSUFFICIENT_SCOPE }
`,
    '/p/x.tests.yaml',
  );
  const results = runPolicyTests(engine, [suite]);

  it('a passing case', () => {
    expect(results[0]).toMatchObject({ file: '/p/x.tests.yaml', name: 'guests cannot read the environment', passed: true, diff: [] });
    expect(results[0]!.actual).toMatchObject({ effect: 'deny', ruleId: 'guests-no-env', code: 'POLICY_DENIED' });
    expect(results[2]!.passed).toBe(true);
  });

  it('a failing case, with a diff', () => {
    const failed = results[1]!;
    expect(failed.passed).toBe(false);
    expect(failed.expected).toEqual({ effect: 'deny', ruleId: 'guests-no-env' });
    expect(failed.actual.effect).toBe('allow');
    expect(failed.diff).toEqual(['effect: expected "deny", got "allow"', 'ruleId: expected "guests-no-env", got none', `reason: ${failed.actual.reason}`]);
  });
});

describe('test cases', () => {
  it('fill in defaults: principal, transport, time, args', () => {
    const { cases } = parsePolicyTestsText('cases: [ { name: n, request: { server: s, tool: t }, expect: { effect: allow } } ]', 'f');
    expect(cases[0]).toEqual({
      name: 'n',
      principal: { id: 'apikey:test', kind: 'apikey', subject: 'test', scopes: [], groups: [], claims: {} },
      request: {
        method: 'tools/call',
        server: { name: 's', transport: 'stdio' },
        tool: { name: 't' },
        args: {},
        request: { time: new Date('2026-01-01T00:00:00Z'), transport: 'stdio', sessionId: 'test' },
      },
      expect: { effect: 'allow' },
    });
  });

  it('listing cases have no args', () => {
    const { cases } = parsePolicyTestsText('cases: [ { name: n, request: { server: s, tool: t, listing: true }, expect: { effect: allow } } ]', 'f');
    expect(cases[0]!.listing).toBe(true);
    expect(cases[0]!.request.args).toBeUndefined();
  });

  it('are validated like policy files', () => {
    const issues = issuesOf(() =>
      parsePolicyTestsText(
        `
cases:
  - name: a
    request: { server: s, tol: t, time: yesterday }
    expect: { effect: maybe }
  - name: a
    request: { server: s }
    expect: { effect: allow }
`,
        '/p/bad.tests.yaml',
      ),
    );
    expect(issueAt(issues, 'cases[0].request.tol').fix).toBe('did you mean "tool"?');
    expect(issueAt(issues, 'cases[0].expect.effect').fix).toBe('use one of "allow", "deny", "approval-required"');
  });

  it('report bad times and duplicate names', () => {
    const issues = issuesOf(() =>
      parsePolicyTestsText(
        'cases: [ { name: a, request: { server: s, time: yesterday }, expect: { effect: allow } }, { name: a, request: { server: s }, expect: { effect: allow } } ]',
        'f',
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(['cases[0].request.time', 'cases[1].name']);
  });

  it('loadPolicyTests reads the *.tests.yaml files of a directory', () => {
    const dir = path.join(fixtures, 'valid');
    const suites = loadPolicyTests(dir);
    expect(suites.map((s) => path.basename(s.file))).toEqual(['b.tests.yaml']);
    const results = runPolicyTests(new PolicyEngine(loadPolicyDir(dir), { defaultEffect: 'allow' }), suites);
    expect(results.map((r) => r.passed)).toEqual([true, true]);
  });

  it('loadPolicyTests reports broken tests files', () => {
    const issues = issuesOf(() => loadPolicyTests(path.join(fixtures, 'broken')));
    expect(issues.map((i) => [path.basename(i.file), i.path])).toEqual([['3-keys.tests.yaml', 'cases[0].expect.effect']]);
  });

  it('a missing directory has no tests', () => {
    expect(loadPolicyTests(path.join(fixtures, 'no-such-dir'))).toEqual([]);
  });
});
