import { describe, expect, it } from 'vitest';
import { engineOf, input, type InputOverrides } from './helpers.js';

const listing = (over: Parameters<typeof input>[0] = {}) => input({ method: 'tools/list', args: undefined, ...over });

describe('CEL variables', () => {
  it.each([
    ["'ops' in principal.groups", { principal: { groups: ['ops'] } }],
    ["principal.scopes.exists(s, s.startsWith('repo.'))", { principal: { scopes: ['repo.read'] } }],
    [
      "principal.claims.tenant == 'acme' && principal.id.endsWith('@acme.com')",
      { principal: { id: 'jwt:https://idp.acme.com#jo@acme.com', kind: 'jwt', subject: 'jo@acme.com', claims: { tenant: 'acme' } } },
    ],
    ["server.name == 'srv' && server.transport == 'stdio'", {}],
    ["tool.name.matches('^ec.o$') && tool.annotations.readOnlyHint == true", { tool: { name: 'echo', annotations: { readOnlyHint: true } } }],
    ["resource.uri.startsWith('file:') && method == 'resources/read'", { method: 'resources/read', tool: undefined, resource: { uri: 'file:///x' } }],
    ["prompt.name.contains('sum')", { method: 'prompts/get', tool: undefined, prompt: { name: 'summary' } }],
    ['size(args.items) > 2 && args.items.all(i, i > 0) && args.n == 5', { args: { items: [1, 2, 3], n: 5 } }],
    ["request.time.getDayOfWeek() == 4 && request.transport == 'stdio' && request.sessionId == 's1'", {}],
    ["request.profile == 'sales'", { request: { time: new Date(), transport: 'http', sessionId: 'x', profile: 'sales' } }],
    ["request.profile == '' && tool.name == '' && prompt.name == ''", { method: 'resources/read', tool: undefined, resource: { uri: 'x:/' } }],
  ] satisfies [string, InputOverrides][])('%s', (when, over) => {
    const engine = engineOf(`rules: [ { id: r, when: ${JSON.stringify(when)}, effect: deny } ]`);
    expect(engine.decide(input(over)).ruleId).toBe('r');
  });
});

describe('run-time errors in conditions', () => {
  const policy = `
rules:
  - { id: deny-on-flag, match: { tools: [a] }, when: "args.flag == true", effect: deny }
  - { id: allow-on-flag, match: { tools: [b] }, when: "args.flag == true", effect: allow }
  - { id: require-flag, match: { tools: [c] }, effect: require, condition: "args.flag == true" }
  - { id: require-when-flag, match: { tools: [d] }, when: "args.flag == true", effect: require, scopes: [x] }
`;
  const engine = engineOf(policy, 'deny');
  const call = (tool: string) => engine.decide(input({ tool: { name: tool }, args: {} }));

  it('make a deny deny (fail closed: the caller controls the input that made it fail)', () => {
    const d = call('a');
    expect(d).toMatchObject({ allowed: false, code: 'POLICY_DENIED', ruleId: 'deny-on-flag', conditionError: expect.stringMatching(/flag/) });
    expect(d.trace).toContainEqual(expect.objectContaining({ ruleId: 'deny-on-flag', outcome: 'condition-error', detail: expect.stringMatching(/flag/) }));
    // Under a default of allow too: the rule denies, not the default.
    expect(engineOf(policy, 'allow').decide(input({ tool: { name: 'a' }, args: {} }))).toMatchObject({ allowed: false, ruleId: 'deny-on-flag' });
  });

  it('make a deny deny when an argument has another type than the condition expects', () => {
    const e = engineOf(`rules: [ { id: etc, when: "has(args.path) && args.path.startsWith('/etc')", effect: deny } ]`);
    expect(e.decide(input({ args: { path: '/etc/passwd' } })).allowed).toBe(false);
    expect(e.decide(input({ args: { path: ['/etc/passwd'] } }))).toMatchObject({ allowed: false, ruleId: 'etc' });
    expect(e.decide(input({ args: { path: 42 } }))).toMatchObject({ allowed: false, ruleId: 'etc' });
    expect(e.decide(input({ args: { path: '/tmp/x' } })).allowed).toBe(true);
  });

  it('apply a rate limit whose condition errors', () => {
    const e = engineOf(`rules: [ { id: big, when: "args.size > 10", effect: allow, rateLimit: [ { limit: 1, per: minute } ] } ]`, 'allow');
    expect(e.rateLimitsFor(input({ args: { size: 'huge' } })).ruleId).toBe('big');
    expect(e.rateLimitsFor(input({ args: { size: 1 } })).ruleId).toBeUndefined();
  });

  it('do not allow', () => {
    const d = call('b');
    expect(d.allowed).toBe(false);
    expect(d.ruleId).toBeUndefined();
    expect(d.trace).toContainEqual(expect.objectContaining({ ruleId: 'allow-on-flag', outcome: 'condition-error' }));
  });

  it('fail a require (condition or when)', () => {
    expect(call('c')).toMatchObject({ allowed: false, code: 'POLICY_DENIED', ruleId: 'require-flag' });
    expect(call('d')).toMatchObject({ allowed: false, code: 'POLICY_DENIED', ruleId: 'require-when-flag' });
  });

  it('has() avoids them', () => {
    const e = engineOf(`rules: [ { id: r, when: "has(args.flag) && args.flag", effect: deny } ]`);
    expect(e.decide(input({ args: {} })).allowed).toBe(true);
    expect(e.decide(input({ args: { flag: true } })).allowed).toBe(false);
  });
});

describe('listing', () => {
  it('a deny that depends on args does not hide the entry', () => {
    const e = engineOf(`rules: [ { id: big, match: { tools: [copy] }, when: "args.size > 10", effect: deny } ]`);
    expect(e.decide(listing({ tool: { name: 'copy' } })).allowed).toBe(true);
    expect(e.decide(input({ tool: { name: 'copy' }, args: { size: 11 } })).allowed).toBe(false);
  });

  it('an allow that depends on args shows the entry', () => {
    const e = engineOf(`rules: [ { id: small, match: { tools: [copy] }, when: "args.size < 10", effect: allow } ]`, 'deny');
    expect(e.decide(listing({ tool: { name: 'copy' } }))).toMatchObject({ allowed: true, ruleId: 'small' });
    expect(e.decide(input({ tool: { name: 'copy' }, args: { size: 11 } })).allowed).toBe(false);
  });

  it('a require whose condition depends on args shows the entry; its scopes still count', () => {
    const e = engineOf(`rules: [ { id: r, match: { tools: [copy] }, effect: require, scopes: [s], condition: "args.size < 10" } ]`);
    expect(e.decide(listing({ tool: { name: 'copy' }, principal: { scopes: ['s'] } })).allowed).toBe(true);
    expect(e.decide(listing({ tool: { name: 'copy' } })).code).toBe('INSUFFICIENT_SCOPE');
  });

  it('conditions that do not depend on args are decided', () => {
    const e = engineOf(`rules: [ { id: g, match: { tools: [env] }, when: "'guests' in principal.groups", effect: deny } ]`);
    expect(e.decide(listing({ tool: { name: 'env' }, principal: { groups: ['guests'] } }))).toMatchObject({ allowed: false, ruleId: 'g' });
  });

  it('list methods and { listing: true } with the use method are the same question', () => {
    const e = engineOf(`rules: [ { id: no-calls, match: { methods: [tools/call] }, effect: deny } ]`);
    expect(e.decide(listing()).ruleId).toBe('no-calls');
    expect(e.decide(input({ args: undefined }), { listing: true }).ruleId).toBe('no-calls');
  });

  it('a rule on the list method itself hides entries', () => {
    const e = engineOf(`rules: [ { id: no-lists, match: { methods: [tools/list] }, effect: deny } ]`);
    expect(e.decide(listing()).ruleId).toBe('no-lists');
    expect(e.decide(input()).allowed).toBe(true);
  });

  it('the CEL method variable is the method that would use the entry', () => {
    const e = engineOf(`rules: [ { id: m, when: "method == 'resources/read'", effect: deny } ]`);
    expect(e.decide(input({ method: 'resources/templates/list', tool: undefined, args: undefined, resource: { uri: 'x://{id}' } })).ruleId).toBe('m');
  });
});

describe('trace', () => {
  const policy = `
rules:
  - { id: d1, match: { servers: [other] }, effect: deny }
  - { id: d2, match: { tools: [echo] }, when: "'x' in principal.groups", effect: deny }
  - { id: r1, match: { tools: [echo] }, effect: require, scopes: [s] }
  - { id: a1, match: { tools: [echo] }, effect: allow }
`;
  const engine = engineOf(policy);

  it('with explain: every rule and its outcome', () => {
    const d = engine.decide(input({ principal: { scopes: ['s'] } }), { explain: true });
    expect(d.trace.map((t) => [t.ruleId, t.outcome])).toEqual([
      ['d1', 'not-matched'],
      ['d2', 'condition-false'],
      ['r1', 'held'],
      ['a1', 'matched'],
    ]);
  });

  it('explain does not change the decision', () => {
    for (const scopes of [[], ['s']]) {
      const plain = engine.decide(input({ principal: { scopes } }));
      const explained = engine.decide(input({ principal: { scopes } }), { explain: true });
      expect({ ...explained, trace: [] }).toEqual({ ...plain, trace: [] });
    }
  });

  it('without explain: only what decided', () => {
    expect(engine.decide(input({ principal: { scopes: ['s'] } })).trace).toEqual([{ ruleId: 'a1', effect: 'allow', outcome: 'matched' }]);
    expect(engine.decide(input()).trace).toEqual([{ ruleId: 'r1', effect: 'require', outcome: 'failed', detail: 'missing scopes: s' }]);
  });
});

describe('rateLimitsFor', () => {
  const engine = engineOf(`
rules:
  - id: expensive
    match: { servers: [srv], tools: [render] }
    effect: allow
    rateLimit: [ { limit: 5, per: minute, key: "principal.claims.tenant" } ]
  - id: guests-slow
    when: "'guests' in principal.groups"
    effect: allow
    rateLimit: [ { limit: 10, per: hour } ]
servers:
  srv: { rateLimit: [ { limit: 60, per: minute }, { limit: 1000, per: hour } ] }
`);

  it('the server limits, keyed by principal and server', () => {
    const r = engine.rateLimitsFor(input());
    expect(r.limits).toEqual([
      { limit: 60, per: 'minute' },
      { limit: 1000, per: 'hour' },
    ]);
    expect(r.keys).toEqual(['servers.srv.rateLimit[0]|apikey:p/srv', 'servers.srv.rateLimit[1]|apikey:p/srv']);
    expect(r.ruleId).toBe('servers.srv.rateLimit');
  });

  it('plus those of matching rules, with their own keys', () => {
    const r = engine.rateLimitsFor(input({ tool: { name: 'render' }, principal: { claims: { tenant: 'acme' }, groups: ['guests'] } }));
    expect(r.sources).toEqual(['servers.srv.rateLimit[0]', 'servers.srv.rateLimit[1]', 'expensive.rateLimit[0]', 'guests-slow.rateLimit[0]']);
    expect(r.keys[2]).toBe('expensive.rateLimit[0]|acme');
    expect(r.keys[3]).toBe('guests-slow.rateLimit[0]|apikey:p/srv');
  });

  it('a key that fails to evaluate falls back to the default key', () => {
    const r = engine.rateLimitsFor(input({ tool: { name: 'render' } }));
    expect(r.keys[2]).toBe('expensive.rateLimit[0]|apikey:p/srv');
  });

  it('none for a server without limits', () => {
    expect(engine.rateLimitsFor(input({ server: { name: 'free', transport: 'http' } }))).toEqual({ limits: [], keys: [], sources: [] });
  });
});

it('ruleIds lists rules, shorthands and deciding settings', () => {
  const e = engineOf(`
rules: [ { id: a, effect: allow } ]
servers: { s: { mode: allowlist, readOnly: true, allowTools: [x], denyTools: [y], rateLimit: [ { limit: 1, per: day } ] } }
groups: { g: { readOnly: true } }
`);
  expect([...e.ruleIds].sort()).toEqual([
    'a',
    'groups.g.readOnly',
    'servers.s.allowTools',
    'servers.s.denyTools',
    'servers.s.mode',
    'servers.s.rateLimit',
    'servers.s.readOnly',
  ]);
});

describe('completions', () => {
  const e = engineOf(`
rules:
  - { id: no-p, match: { prompts: [secret] }, effect: deny }
  - { id: no-t, match: { resources: ["db://rows/*"] }, effect: deny }
  - { id: by-arg, match: { prompts: [argy] }, when: "args.x == 'y'", effect: deny }
`);
  const complete = (over: InputOverrides) => e.decide(input({ method: 'completion/complete', tool: undefined, args: {}, ...over }));

  it('are decided as the use of their ref: a prompt as prompts/get, a template as a read', () => {
    expect(complete({ prompt: { name: 'secret' } })).toMatchObject({ allowed: false, ruleId: 'no-p' });
    expect(complete({ resource: { uri: 'db://rows/{id}' } })).toMatchObject({ allowed: false, ruleId: 'no-t' });
    expect(complete({ prompt: { name: 'open' } }).allowed).toBe(true);
  });

  it('like a list entry: a deny that depends on arguments does not refuse them', () => {
    expect(complete({ prompt: { name: 'argy' } }).allowed).toBe(true);
  });
});
