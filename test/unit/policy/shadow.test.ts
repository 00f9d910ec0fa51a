/**
 * Shadow rules (`mode: shadow`): evaluated on every decision and reported in
 * `decision.shadow`, never enforced. The enforced decision is exactly the one
 * without them (lists and rate limits included); `would` is the decision with
 * them enforced, by the same semantics, when it differs.
 */
import { describe, expect, it } from 'vitest';
import { authorize } from '../../../src/pipeline/authorize.js';
import type { CallContext } from '../../../src/pipeline/context.js';
import { resolveRoute } from '../../../src/pipeline/resolve-route.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { parsePolicyText } from '../../../src/policy/load.js';
import { wouldAct } from '../../../src/policy/shadow.js';
import { parsePolicyTestsText, runPolicyTests } from '../../../src/policy/tests-runner.js';
import type { DecisionInput } from '../../../src/policy/types.js';
import { context, fleet } from '../pipeline/helpers.js';
import { engineOf, input, issueAt, issuesOf } from './helpers.js';

/** The decision without its shadow part, and the shadow part. */
function split(engine: PolicyEngine, req: DecisionInput, options: { listing?: boolean; explain?: boolean } = {}) {
  const { shadow, ...decision } = engine.decide(req, options);
  return { decision, shadow };
}

/** The same policy with every shadow rule removed: what the enforced decision must equal. */
const withoutShadow = (yaml: string, defaultEffect: 'allow' | 'deny' = 'allow') => {
  const set = parsePolicyText(yaml, 'test.yaml');
  return new PolicyEngine({ ...set, rules: set.rules.filter((r) => !r.shadow) }, { defaultEffect });
};

describe('a shadow deny', () => {
  const yaml = `
rules:
  - id: no-echo
    description: echo is going away
    match: { servers: [srv], tools: [echo] }
    effect: deny
    mode: shadow
`;
  const engine = engineOf(yaml);

  it('does not deny, but would', () => {
    const { decision, shadow } = split(engine, input());
    expect(decision).toEqual(withoutShadow(yaml).decide(input()));
    expect(decision.allowed).toBe(true);
    expect(shadow).toEqual({
      rules: [{ ruleId: 'no-echo', effect: 'deny', outcome: 'matched' }],
      would: { allowed: false, ruleId: 'no-echo', code: 'POLICY_DENIED' },
    });
  });

  it('reports no rules and no would where it does not match', () => {
    expect(engine.decide(input({ tool: { name: 'other' } })).shadow).toEqual({ rules: [] });
  });

  it('never hides a list entry', () => {
    const listed = engine.decide(input({ method: 'tools/list' }), { listing: true });
    expect(listed.allowed).toBe(true);
    expect(listed.shadow?.would).toEqual({ allowed: false, ruleId: 'no-echo', code: 'POLICY_DENIED' });
  });

  it('whose condition errors would deny (fail closed), and says why', () => {
    const e = engineOf(`rules: [ { id: no-etc, match: { tools: [echo] }, when: "args.path.startsWith('/etc')", effect: deny, mode: shadow } ]`);
    const { decision, shadow } = split(e, input({ args: {} }));
    expect(decision.allowed).toBe(true);
    expect(decision.trace).toEqual([]); // the enforced trace knows nothing of shadow rules
    expect(shadow?.rules).toEqual([{ ruleId: 'no-etc', effect: 'deny', outcome: 'condition-error', detail: expect.any(String) }]);
    expect(shadow?.would).toEqual({ allowed: false, ruleId: 'no-etc', code: 'POLICY_DENIED' });
    expect(split(e, input({ args: { path: '/home' } })).shadow).toEqual({ rules: [] });
  });

  it('whose `when` reads args hides nothing and is not reported while listing (undecided)', () => {
    const e = engineOf(`rules: [ { id: no-etc, match: { tools: [echo] }, when: "args.path == '/etc'", effect: deny, mode: shadow } ]`);
    expect(e.decide(input({ method: 'tools/list' }), { listing: true })).toMatchObject({ allowed: true, shadow: { rules: [] } });
  });

  it('beside an enforced deny that already decides: listed, but no would', () => {
    const e = engineOf(`
rules:
  - { id: enforced, match: { tools: [echo] }, effect: deny }
  - { id: shadowed, match: { tools: [echo] }, effect: deny, mode: shadow }
`);
    const { decision, shadow } = split(e, input());
    expect(decision).toMatchObject({ allowed: false, ruleId: 'enforced' });
    expect(shadow).toEqual({ rules: [{ ruleId: 'shadowed', effect: 'deny', outcome: 'matched' }] });
  });

  it('earlier in file order than the enforced deny: would names it (the deciding rule would change)', () => {
    const e = engineOf(`
rules:
  - { id: shadowed, match: { tools: [echo] }, effect: deny, mode: shadow }
  - { id: enforced, match: { tools: [echo] }, effect: deny }
`);
    expect(e.decide(input())).toMatchObject({ ruleId: 'enforced', shadow: { would: { allowed: false, ruleId: 'shadowed', code: 'POLICY_DENIED' } } });
  });

  it('against read-only enforcement: a rule comes first', () => {
    const e = engineOf(`
rules: [ { id: shadowed, match: { tools: [echo] }, effect: deny, mode: shadow } ]
servers: { srv: { readOnly: true } }
`);
    expect(e.decide(input())).toMatchObject({ allowed: false, ruleId: 'servers.srv.readOnly', shadow: { would: { ruleId: 'shadowed' } } });
  });
});

describe('a shadow allow', () => {
  const yaml = `
rules:
  - { id: echo-ok, match: { servers: [srv], tools: [echo] }, effect: allow, mode: shadow }
`;

  it('under defaultEffect deny: still denied by the default, would be allowed', () => {
    const engine = engineOf(yaml, 'deny');
    const { decision, shadow } = split(engine, input());
    expect(decision).toEqual(withoutShadow(yaml, 'deny').decide(input()));
    expect(decision).toMatchObject({ allowed: false, code: 'POLICY_DENIED' });
    expect(decision.ruleId).toBeUndefined();
    expect(shadow).toEqual({ rules: [{ ruleId: 'echo-ok', effect: 'allow', outcome: 'matched' }], would: { allowed: true, ruleId: 'echo-ok' } });
  });

  it('does not show a list entry the enforced rules hide', () => {
    const listed = engineOf(yaml, 'deny').decide(input({ method: 'tools/list' }), { listing: true });
    expect(listed.allowed).toBe(false);
    expect(listed.shadow?.would?.allowed).toBe(true);
  });

  it('cannot lift an enforced deny (deny wins), so no would', () => {
    const e = engineOf(`
rules:
  - { id: echo-ok, match: { tools: [echo] }, effect: allow, mode: shadow }
  - { id: no-echo, match: { tools: [echo] }, effect: deny }
`);
    expect(e.decide(input())).toMatchObject({ allowed: false, ruleId: 'no-echo', shadow: { rules: [{ ruleId: 'echo-ok', outcome: 'matched' }] } });
    expect(e.decide(input()).shadow?.would).toBeUndefined();
  });

  it('whose condition errors is reported, would not allow, and is not counted as acting', () => {
    const e = engineOf(`rules: [ { id: echo-ok, match: { tools: [echo] }, when: "args.n > 1", effect: allow, mode: shadow } ]`, 'deny');
    const { shadow } = split(e, input({ args: {} }));
    expect(shadow).toEqual({ rules: [{ ruleId: 'echo-ok', effect: 'allow', outcome: 'condition-error', detail: expect.any(String) }] });
    expect(shadow!.rules.filter(wouldAct)).toEqual([]);
  });
});

describe('a shadow require', () => {
  const yaml = `
rules:
  - { id: echo-scope, match: { tools: [echo] }, effect: require, scopes: [echo.use] }
  - { id: echo-admin, match: { tools: [echo] }, effect: require, scopes: [admin], mode: shadow }
`;
  const engine = engineOf(yaml);

  it('that fails: allowed, would be INSUFFICIENT_SCOPE', () => {
    const req = input({ principal: { scopes: ['echo.use'] } });
    const { decision, shadow } = split(engine, req);
    expect(decision).toEqual(withoutShadow(yaml).decide(req));
    expect(decision.allowed).toBe(true);
    expect(shadow).toEqual({
      rules: [{ ruleId: 'echo-admin', effect: 'require', outcome: 'matched', detail: 'missing scopes: admin' }],
      would: { allowed: false, ruleId: 'echo-admin', code: 'INSUFFICIENT_SCOPE' },
    });
  });

  it('that holds: not reported', () => {
    expect(engine.decide(input({ principal: { scopes: ['echo.use', 'admin'] } })).shadow).toEqual({ rules: [] });
  });

  it('beside an enforced require that fails: the enforced one still decides', () => {
    const { decision, shadow } = split(engine, input());
    expect(decision).toMatchObject({ allowed: false, ruleId: 'echo-scope', code: 'INSUFFICIENT_SCOPE', missingScopes: ['echo.use'] });
    expect(shadow?.rules.map((r) => r.ruleId)).toEqual(['echo-admin']);
    expect(shadow?.would).toBeUndefined();
  });

  it('whose condition errors would deny with POLICY_DENIED', () => {
    const e = engineOf(`rules: [ { id: small, match: { tools: [echo] }, effect: require, condition: "args.n < 10", mode: shadow } ]`);
    const { decision, shadow } = split(e, input({ args: {} }));
    expect(decision.allowed).toBe(true);
    expect(shadow?.rules).toMatchObject([{ ruleId: 'small', outcome: 'condition-error' }]);
    expect(shadow?.would).toEqual({ allowed: false, ruleId: 'small', code: 'POLICY_DENIED' });
    expect(e.decide(input({ args: { n: 50 } })).shadow).toMatchObject({
      rules: [{ ruleId: 'small', outcome: 'matched', detail: 'condition is false' }],
      would: { allowed: false, ruleId: 'small', code: 'POLICY_DENIED' },
    });
  });
});

describe('without shadow rules', () => {
  it('decision.shadow is undefined, explaining too', () => {
    const engine = engineOf('rules: [ { id: no-echo, match: { tools: [echo] }, effect: deny, mode: enforce } ]');
    expect(engine.decide(input())).not.toHaveProperty('shadow');
    expect(engine.decide(input(), { explain: true })).not.toHaveProperty('shadow');
    expect(engine.decide(input({ method: 'tools/list' }), { listing: true })).not.toHaveProperty('shadow');
    expect(engineOf('{}').decide(input())).not.toHaveProperty('shadow');
  });

  it('mode: enforce is the default', () => {
    const explicit = engineOf('rules: [ { id: a, match: { tools: [echo] }, effect: deny, mode: enforce } ]');
    const implicit = engineOf('rules: [ { id: a, match: { tools: [echo] }, effect: deny } ]');
    expect(explicit.decide(input())).toEqual(implicit.decide(input()));
  });
});

describe('the enforced decision ignores shadow rules entirely', () => {
  const yaml = `
rules:
  - { id: s-deny, match: { servers: [srv] }, when: "'guests' in principal.groups", effect: deny, mode: shadow }
  - { id: s-allow, match: { tools: ["read_*"] }, effect: allow, mode: shadow }
  - { id: s-require, match: { tools: ["write_*"] }, effect: require, scopes: [w], mode: shadow }
  - { id: e-deny, match: { tools: [delete] }, effect: deny }
  - { id: e-require, match: { tools: ["write_*"] }, effect: require, scopes: [x] }
  - { id: e-allow, match: { tools: [echo, write_a] }, effect: allow }
servers: { srv: { mode: allowlist } }
`;
  const requests: DecisionInput[] = [];
  for (const name of ['echo', 'read_a', 'write_a', 'delete', 'other'])
    for (const groups of [[], ['guests']])
      for (const scopes of [[], ['w'], ['x'], ['w', 'x']]) requests.push(input({ tool: { name }, principal: { groups, scopes } }));

  it('for calls, list entries and explanations', () => {
    const engine = engineOf(yaml);
    const plain = withoutShadow(yaml);
    for (const req of requests) {
      expect(split(engine, req).decision).toEqual(plain.decide(req));
      expect(split(engine, { ...req, method: 'tools/list' }, { listing: true }).decision).toEqual(
        plain.decide({ ...req, method: 'tools/list' }, { listing: true }),
      );
      expect(split(engine, req, { explain: true }).decision).toEqual(plain.decide(req, { explain: true }));
    }
  });

  it('and would is exactly the decision with them enforced', () => {
    const engine = engineOf(yaml);
    const set = parsePolicyText(yaml, 'test.yaml');
    const enforced = new PolicyEngine({ ...set, rules: set.rules.map(({ shadow: _, ...r }) => r) }, { defaultEffect: 'allow' });
    for (const req of requests) {
      const { decision, shadow } = split(engine, req);
      const expected = enforced.decide(req);
      const would = shadow?.would ?? decision;
      expect({ allowed: would.allowed, ruleId: would.ruleId, code: would.code }).toEqual({
        allowed: expected.allowed,
        ruleId: expected.ruleId,
        code: expected.code,
      });
    }
  });

  it('shadow rule ids are still rule ids (metrics labels)', () => {
    expect(engineOf(yaml).ruleIds).toEqual(expect.arrayContaining(['s-deny', 's-allow', 's-require', 'e-deny']));
  });
});

describe('explain', () => {
  it('shows every shadow rule looked at in shadow.trace, and none in the enforced trace', () => {
    const e = engineOf(`
rules:
  - { id: e-allow, match: { tools: [echo] }, effect: allow }
  - { id: s-deny, match: { tools: [echo] }, effect: deny, mode: shadow }
  - { id: s-other, match: { tools: [other] }, effect: deny, mode: shadow }
`);
    const { decision, shadow } = split(e, input(), { explain: true });
    expect(decision.trace.map((t) => t.ruleId)).toEqual(['e-allow']);
    expect(shadow?.trace).toEqual([
      { ruleId: 's-deny', effect: 'deny', outcome: 'matched' },
      { ruleId: 's-other', effect: 'deny', outcome: 'not-matched' },
    ]);
    expect(shadow?.would).toEqual({ allowed: false, ruleId: 's-deny', code: 'POLICY_DENIED' });
  });

  it('keeps would absent when nothing changes', () => {
    const e = engineOf('rules: [ { id: s-other, match: { tools: [other] }, effect: deny, mode: shadow } ]');
    expect(split(e, input(), { explain: true }).shadow).toEqual({ rules: [], trace: [{ ruleId: 's-other', effect: 'deny', outcome: 'not-matched' }] });
  });
});

describe('rate limits', () => {
  it('a rateLimit on a shadow rule is refused at load, naming the rule and the fix', () => {
    const issues = issuesOf(() => engineOf('rules: [ { id: s, effect: allow, mode: shadow, rateLimit: [ { limit: 1, per: second } ] } ]'));
    const issue = issueAt(issues, 'rules[0].rateLimit');
    expect(issue.message).toBe('rule "s": a shadow rule (mode: shadow) has no rate limit: it is never enforced');
    expect(issue.fix).toBe('remove "rateLimit", or set "mode: enforce"');
  });

  it('never come from a shadow rule, even in a set built by hand', () => {
    const set = parsePolicyText(
      `
rules:
  - { id: s, match: { tools: [echo] }, effect: allow, mode: shadow }
  - { id: e, match: { tools: [echo] }, effect: allow, rateLimit: [ { limit: 5, per: minute } ] }
`,
      'test.yaml',
    );
    set.rules[0]!.rateLimit = [{ limit: 1, per: 'second' }];
    const engine = new PolicyEngine(set, { defaultEffect: 'allow' });
    expect(engine.rateLimitsFor(input())).toMatchObject({ ruleId: 'e', sources: ['e.rateLimit[0]'] });
  });
});

describe('loading', () => {
  it('a typo in mode is an error with the fix', () => {
    const issue = issueAt(
      issuesOf(() => engineOf('rules: [ { id: a, effect: deny, mode: shadwo } ]')),
      'rules[0].mode',
    );
    expect(issue.message).toBe('rule "a": must be one of "enforce", "shadow"');
    expect(issue.fix).toBe('did you mean "shadow"?');
  });
});

describe('policy tests: expect.shadow', () => {
  const engine = engineOf(`
rules:
  - { id: no-echo, match: { tools: [echo] }, effect: deny, mode: shadow }
  - { id: admin-only, match: { tools: [reset] }, effect: require, scopes: [admin], mode: shadow }
`);
  const suite = parsePolicyTestsText(
    `
cases:
  - { name: shadow deny, request: { server: srv, tool: echo }, expect: { effect: allow, shadow: deny } }
  - { name: long form, request: { server: srv, tool: reset }, expect: { effect: allow, shadow: { effect: deny, ruleId: admin-only, code: INSUFFICIENT_SCOPE } } }
  - { name: unchanged, request: { server: srv, tool: other }, expect: { effect: allow, shadow: allow } }
  - { name: wrong, request: { server: srv, tool: echo }, expect: { effect: allow, shadow: { effect: allow } } }
  - { name: no expectation, request: { server: srv, tool: echo }, expect: { effect: allow } }
`,
    '/p/x.tests.yaml',
  );
  const results = runPolicyTests(engine, [suite]);

  it('passes on the decision with the shadow rules enforced', () => {
    expect(results.slice(0, 3).map((r) => [r.name, r.passed, r.diff])).toEqual([
      ['shadow deny', true, []],
      ['long form', true, []],
      ['unchanged', true, []],
    ]);
    expect(suite.cases[0]!.expect).toEqual({ effect: 'allow', shadow: { effect: 'deny' } });
    expect(results[0]!.actual).toMatchObject({
      effect: 'allow',
      shadow: { effect: 'deny', ruleId: 'no-echo', code: 'POLICY_DENIED' },
      shadowRules: ['no-echo (matched)'],
    });
  });

  it('fails with a diff naming the shadow rules', () => {
    expect(results[3]).toMatchObject({ passed: false, diff: ['shadow.effect: expected "allow", got "deny"', 'shadow rules: no-echo (matched)'] });
  });

  it('a case without a shadow expectation ignores shadow rules', () => {
    expect(results[4]).toMatchObject({ passed: true, diff: [] });
  });

  it('a typo in the expectation names the key and the fix', () => {
    const short = issueAt(
      issuesOf(() => parsePolicyTestsText('cases: [ { name: n, request: { server: s }, expect: { effect: allow, shadow: dney } } ]', 'f')),
      'cases[0].expect.shadow',
    );
    expect(short).toMatchObject({ message: 'case "n": must be one of "allow", "deny", "approval-required"', fix: 'did you mean "deny"?' });
    const long = issueAt(
      issuesOf(() => parsePolicyTestsText('cases: [ { name: n, request: { server: s }, expect: { effect: allow, shadow: { effect: deny, rule: x } } } ]', 'f')),
      'cases[0].expect.shadow.rule',
    );
    expect(long.fix).toBe('did you mean "ruleId"?');
  });
});

describe('authorize counts shadow rules that would act', () => {
  const { catalog } = fleet();
  const resolved = (name: string, args: Record<string, unknown> = {}): CallContext => {
    const ctx = context('tools/call', { name, arguments: args });
    resolveRoute(catalog).run(ctx);
    return ctx;
  };

  it('on allowed and denied calls, never changing the answer', () => {
    const engine = engineOf(`
rules:
  - { id: s-deny, match: { tools: [create_issue] }, effect: deny, mode: shadow }
  - { id: s-allow, match: { tools: [create_issue] }, when: "args.n > 1", effect: allow, mode: shadow }
  - { id: s-scope, match: { tools: ["*"] }, effect: require, scopes: [admin], mode: shadow }
  - { id: no-list, match: { tools: [list_issues] }, effect: deny }
`);
    const counted: [string, string][] = [];
    const stage = authorize(
      () => engine,
      (rule, effect) => counted.push([rule, effect]),
    );
    const ctx = resolved('github__create_issue');
    stage.run(ctx);
    expect(ctx.decision?.allowed).toBe(true);
    // s-allow errored (no args.n): reported, but an allow that cannot be evaluated would not act.
    expect(ctx.decision?.shadow?.rules.map((r) => r.ruleId)).toEqual(['s-deny', 's-allow', 's-scope']);
    expect(counted).toEqual([
      ['s-deny', 'deny'],
      ['s-scope', 'require'],
    ]);
    counted.length = 0;
    expect(() => stage.run(resolved('github__list_issues'))).toThrow(/Denied by policy/);
    expect(counted).toEqual([['s-scope', 'require']]);
  });

  it('counts nothing without shadow rules, or without a counter', () => {
    const counted: string[] = [];
    authorize(
      () => engineOf('rules: []'),
      (rule) => counted.push(rule),
    ).run(resolved('github__create_issue'));
    expect(counted).toEqual([]);
    expect(() => authorize(() => engineOf('rules: [ { id: s, effect: deny, mode: shadow } ]')).run(resolved('github__create_issue'))).not.toThrow();
  });
});
