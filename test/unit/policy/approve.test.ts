/**
 * The `approve` effect: deny and require still win, approve wins over allow
 * and over the default; its `when` fails closed; its message is evaluated on
 * the request; a listing shows the entry; policy tests say
 * `approval-required` with the approvers; a misshapen rule names the fix.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/policy/load.js';
import { parsePolicyTestsText, runPolicyTests } from '../../../src/policy/tests-runner.js';
import { engineOf, input, issueAt, issuesOf } from './helpers.js';

const POLICY = `
rules:
  - id: deletes-need-approval
    description: Deleting is final.
    match: { servers: [srv], tools: [delete_*] }
    effect: approve
    approvers: [self, group:sre]
    timeout: 2m
    message: "'Delete ' + string(args.path) + '?'"
    remember: session
  - id: allow-all
    match: { servers: [srv] }
    effect: allow
  - id: no-delete-root
    match: { servers: [srv], tools: [delete_file] }
    when: "args.path == '/'"
    effect: deny
  - id: big-needs-approval
    match: { servers: [srv], tools: [upload] }
    when: "args.size > 1000"
    effect: approve
    approvers: principal:apikey:boss
`;

describe('the approve effect', () => {
  const engine = engineOf(POLICY, 'deny');

  it('decides "allowed once approved", with approvers, timeout, remember and the evaluated message', () => {
    const d = engine.decide(input({ tool: { name: 'delete_file' }, args: { path: '/tmp/x' } }));
    expect(d).toMatchObject({ allowed: true, ruleId: 'deletes-need-approval' });
    expect(d.reason).toMatch(/once approved by the caller or group sre: Deleting is final/);
    expect(d.approval).toEqual({
      ruleId: 'deletes-need-approval',
      approvers: [{ kind: 'self' }, { kind: 'group', name: 'sre' }],
      timeoutMs: 120_000,
      remember: { kind: 'session' },
      message: 'Delete /tmp/x?',
    });
  });

  it('a deny still wins over approve; approve wins over allow and the default', () => {
    expect(engine.decide(input({ tool: { name: 'delete_file' }, args: { path: '/' } }))).toMatchObject({ allowed: false, ruleId: 'no-delete-root' });
    expect(engine.decide(input({ tool: { name: 'read_file' }, args: {} }))).toMatchObject({ allowed: true, ruleId: 'allow-all' });
    expect(engine.decide(input({ tool: { name: 'read_file' } })).approval).toBeUndefined();
    expect(engine.decide(input({ tool: { name: 'upload' }, args: { size: 5000 } })).approval).toMatchObject({
      approvers: [{ kind: 'principal', id: 'apikey:boss' }],
      timeoutMs: 300_000,
      remember: { kind: 'none' },
    });
    expect(engine.decide(input({ tool: { name: 'upload' }, args: { size: 5 } }))).toMatchObject({ allowed: true, ruleId: 'allow-all' });
  });

  it('a when that errors denies (fail closed); a message that errors leaves a default to show and says why', () => {
    const failed = engine.decide(input({ tool: { name: 'upload' }, args: { size: 'big' } }));
    expect(failed).toMatchObject({ allowed: false, code: 'POLICY_DENIED', ruleId: 'big-needs-approval' });
    expect(failed.conditionError).toBeDefined();
    const noPath = engine.decide(input({ tool: { name: 'delete_dir' }, args: {} }));
    expect(noPath.allowed).toBe(true);
    expect(noPath.approval?.message).toBeUndefined();
    expect(noPath.approval?.messageError).toMatch(/message expression/);
  });

  it('while listing the entry is shown (it may be used once approved); the message is not evaluated', () => {
    const listed = engine.decide(input({ method: 'tools/list', tool: { name: 'delete_file' }, args: undefined }), { listing: true });
    expect(listed.allowed).toBe(true);
    expect(listed.approval?.message).toBeUndefined();
  });

  it('explain traces the approve rule as matched', () => {
    const d = engine.decide(input({ tool: { name: 'delete_file' }, args: { path: '/a' } }), { explain: true });
    expect(d.trace).toContainEqual(expect.objectContaining({ ruleId: 'deletes-need-approval', effect: 'approve', outcome: 'matched' }));
    expect(d.approval?.ruleId).toBe('deletes-need-approval');
  });

  it('policy tests expect approval-required with the approvers', () => {
    const suite = parsePolicyTestsText(
      `
cases:
  - name: delete asks
    request: { server: srv, tool: delete_file, args: { path: /a } }
    expect: { effect: approval-required, ruleId: deletes-need-approval, approvers: [group:sre, self] }
  - name: wrong approvers
    request: { server: srv, tool: delete_file, args: { path: /a } }
    expect: { effect: approval-required, approvers: [self] }
  - name: not an allow
    request: { server: srv, tool: delete_file, args: { path: /a } }
    expect: { effect: allow }
`,
      '/p/x.tests.yaml',
    );
    const [ok, approvers, allow] = runPolicyTests(engine, [suite]);
    expect(ok).toMatchObject({ passed: true });
    expect(ok!.actual).toMatchObject({ effect: 'approval-required', approvers: ['self', 'group:sre'] });
    expect(approvers!.diff[0]).toBe('approvers: expected "self", got "group:sre, self"');
    expect(allow!.diff[0]).toBe('effect: expected "allow", got "approval-required"');
  });
});

describe('approve rules that do not load', () => {
  const load = (rule: string) => () => parsePolicyText(`rules:\n${rule}`, 'bad.yaml');

  it('an approve rule without approvers, or with a misspelt one', () => {
    expect(issueAt(issuesOf(load('  - { id: a, effect: approve }')), 'rules[0]').message).toMatch(/needs "approvers"/);
    expect(issueAt(issuesOf(load('  - { id: a, effect: approve, approvers: [team:x] }')), 'rules[0].approvers[0]').message).toMatch(/"self", "group:<name>"/);
  });

  it('approval keys on another effect, a bad duration, a message that is not a string expression, a shadow approve', () => {
    expect(issueAt(issuesOf(load('  - { id: a, effect: allow, approvers: self }')), 'rules[0].approvers').message).toMatch(/only to "effect: approve"/);
    expect(issueAt(issuesOf(load('  - { id: a, effect: approve, approvers: self, timeout: 5 minutes }')), 'rules[0].timeout').message).toMatch(/duration/);
    expect(issuesOf(load('  - { id: a, effect: approve, approvers: self, message: "1 + 2" }'))[0]!.path).toBe('rules[0].message');
    expect(issueAt(issuesOf(load('  - { id: a, effect: approve, approvers: self, mode: shadow }')), 'rules[0].mode').message).toMatch(/cannot be a shadow/);
  });
});
