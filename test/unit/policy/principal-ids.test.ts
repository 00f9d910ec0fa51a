/**
 * Policies and namespaced principal ids: `principal.kind` and
 * `principal.subject` in CEL, a comparison of `principal.id` with a bare
 * literal refused at load (it could never be true), and principals in
 * policy test cases.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/policy/load.js';
import { parsePolicyTestsText, runPolicyTests } from '../../../src/policy/tests-runner.js';
import { engineOf, input, issueAt, issuesOf } from './helpers.js';

describe('principal.kind and principal.subject in CEL', () => {
  const engine = engineOf(`
rules:
  - id: jwt-only
    match: { tools: [deploy] }
    effect: require
    condition: "principal.kind == 'jwt'"
  - id: not-ci-bot
    match: { tools: [echo] }
    when: "principal.kind == 'apikey' && principal.subject == 'ci-bot'"
    effect: deny
`);
  const jwtAlice = { id: 'jwt:https://idp.example.com#alice', kind: 'jwt' as const, subject: 'alice' };

  it('tell the kinds apart where the bare ids are equal', () => {
    expect(engine.decide(input({ principal: { id: 'apikey:ci-bot', kind: 'apikey', subject: 'ci-bot' } }))).toMatchObject({
      allowed: false,
      ruleId: 'not-ci-bot',
    });
    expect(engine.decide(input({ principal: { id: 'jwt:https://idp.example.com#ci-bot', kind: 'jwt', subject: 'ci-bot' } })).allowed).toBe(true);
    expect(engine.decide(input({ tool: { name: 'deploy' }, principal: jwtAlice })).allowed).toBe(true);
    expect(engine.decide(input({ tool: { name: 'deploy' }, principal: { id: 'apikey:alice', kind: 'apikey', subject: 'alice' } }))).toMatchObject({
      allowed: false,
      code: 'POLICY_DENIED',
      ruleId: 'jwt-only',
    });
  });

  it('are typed fields: a typo fails loading', () => {
    const issues = issuesOf(() => parsePolicyText(`rules: [ { id: r, when: "principal.knd == 'jwt'", effect: deny } ]`, 'p.yaml'));
    expect(issueAt(issues, 'rules[0].when').fix).toBe('did you mean "principal.kind"?');
  });
});

describe('a condition comparing principal.id with a bare literal', () => {
  it.each([`principal.id == 'ci-bot'`, `principal.id != "ci-bot"`, `'ci-bot' == principal.id`, `'ops' in principal.groups || principal.id == 'ci-bot'`])(
    '%s fails loading, with apikey:ci-bot as the fix',
    (when) => {
      const issues = issuesOf(() => parsePolicyText(`rules: [ { id: r, when: ${JSON.stringify(when)}, effect: deny } ]`, 'p.yaml'));
      const issue = issueAt(issues, 'rules[0].when');
      expect(issue.message).toMatch(/^rule "r": principal\.id is compared with "ci-bot"/);
      expect(issue.fix).toContain("'apikey:ci-bot'");
    },
  );

  it('fails in a rate-limit key too', () => {
    const issues = issuesOf(() =>
      parsePolicyText(`servers: { s: { rateLimit: [ { limit: 1, per: hour, key: "principal.id == 'ci-bot' ? 'ci' : principal.id" } ] } }`, 'p.yaml'),
    );
    expect(issueAt(issues, 'servers.s.rateLimit[0].key').fix).toContain("'apikey:ci-bot'");
  });

  it.each([
    `principal.id == 'apikey:ci-bot'`,
    `principal.id == 'jwt:https://idp.example.com#alice'`,
    `principal.id == 'stdio:local'`,
    `principal.id != 'anonymous'`,
    `principal.subject == 'ci-bot'`,
    `principal.id.startsWith('apikey:')`,
  ])('%s loads', (when) => {
    expect(() => parsePolicyText(`rules: [ { id: r, when: ${JSON.stringify(when)}, effect: deny } ]`, 'p.yaml')).not.toThrow();
  });
});

describe('principals in policy test cases', () => {
  const engine = engineOf(`rules: [ { id: no-bot, when: "principal.id == 'apikey:ci-bot'", effect: deny } ]`);

  it('are kind + id, a namespaced id, or nothing (the API key "test")', () => {
    const suite = parsePolicyTestsText(
      `
cases:
  - { name: by kind, principal: { kind: apikey, id: ci-bot }, request: { server: s, tool: t }, expect: { effect: deny, ruleId: no-bot } }
  - { name: by id, principal: { id: "apikey:ci-bot" }, request: { server: s, tool: t }, expect: { effect: deny } }
  - { name: a JWT with the same subject, principal: { kind: jwt, issuer: "https://idp", id: ci-bot }, request: { server: s, tool: t }, expect: { effect: allow } }
  - { name: default, request: { server: s, tool: t }, expect: { effect: allow } }
`,
      'x.tests.yaml',
    );
    expect(suite.cases.map((c) => c.principal.id)).toEqual(['apikey:ci-bot', 'apikey:ci-bot', 'jwt:https://idp#ci-bot', 'apikey:test']);
    expect(runPolicyTests(engine, [suite]).map((r) => r.passed)).toEqual([true, true, true, true]);
  });

  it('with a bare id, or a JWT without its issuer, are refused with the path and a fix', () => {
    const issues = issuesOf(() =>
      parsePolicyTestsText(
        `
cases:
  - { name: bare, principal: { id: ci-bot }, request: { server: s }, expect: { effect: allow } }
  - { name: no issuer, principal: { kind: jwt, id: alice }, request: { server: s }, expect: { effect: allow } }
`,
        'x.tests.yaml',
      ),
    );
    expect(issueAt(issues, 'cases[0].principal.id').fix).toContain('"apikey:ci-bot"');
    expect(issueAt(issues, 'cases[1].principal.issuer').fix).toContain('gateway.auth.jwt.issuer');
  });

  it('with an unknown kind are refused by the file schema', () => {
    const issues = issuesOf(() =>
      parsePolicyTestsText('cases: [ { name: n, principal: { kind: robot, id: r2 }, request: { server: s }, expect: { effect: allow } } ]', 'x.tests.yaml'),
    );
    expect(issueAt(issues, 'cases[0].principal.kind').fix).toContain('"apikey"');
  });
});
