import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/policy/types.js';
import { engineOf, input, type InputOverrides } from './helpers.js';

type Row = [name: string, over: InputOverrides, expected: Partial<Decision>];

/** One table per concern: each row a request and the decision fields it must produce. */
function table(policy: string, rows: Row[], defaultEffect: 'allow' | 'deny' = 'allow') {
  const engine = engineOf(policy, defaultEffect);
  it.each(rows)('%s', (_name, over, expected) => {
    const decision = engine.decide(input(over));
    // Field by field, so `ruleId: undefined` means "no rule id".
    const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, decision[k as keyof Decision]]));
    expect(picked).toEqual(expected);
  });
}

const DENY = { allowed: false, code: 'POLICY_DENIED' } as const;
const ALLOW = { allowed: true } as const;

describe('ordering: deny, then require, then allow, then the default', () => {
  table(
    `
rules:
  - id: admins-anything
    match: { servers: [db] }
    when: "'admins' in principal.groups"
    effect: allow
  - id: no-drop
    match: { servers: [db], tools: [drop_table] }
    effect: deny
  - id: writes-need-scope
    match: { servers: [db], tools: ["insert_*", drop_table] }
    effect: require
    scopes: [db.write]
  - id: readers
    match: { servers: [db], tools: ["select_*"] }
    effect: allow
`,
    [
      [
        'a deny wins over an allow',
        { server: { name: 'db', transport: 'stdio' }, tool: { name: 'drop_table' }, principal: { groups: ['admins'], scopes: ['db.write'] } },
        { ...DENY, ruleId: 'no-drop' },
      ],
      [
        'a require fails before any allow',
        { server: { name: 'db', transport: 'stdio' }, tool: { name: 'insert_row' }, principal: { groups: ['admins'] } },
        { allowed: false, code: 'INSUFFICIENT_SCOPE', ruleId: 'writes-need-scope', missingScopes: ['db.write'] },
      ],
      [
        'a held require, then an allow',
        { server: { name: 'db', transport: 'stdio' }, tool: { name: 'insert_row' }, principal: { groups: ['admins'], scopes: ['db.write'] } },
        { ...ALLOW, ruleId: 'admins-anything' },
      ],
      [
        'a held require, no allow: the default (allow)',
        { server: { name: 'db', transport: 'stdio' }, tool: { name: 'insert_row' }, principal: { scopes: ['db.write'] } },
        { ...ALLOW, ruleId: undefined },
      ],
      ['an allow rule', { server: { name: 'db', transport: 'stdio' }, tool: { name: 'select_all' } }, { ...ALLOW, ruleId: 'readers' }],
      ['another server: only the default', { server: { name: 'web', transport: 'http' }, tool: { name: 'drop_table' } }, { ...ALLOW, ruleId: undefined }],
    ],
  );
});

describe('defaultEffect deny', () => {
  table(
    `
rules:
  - id: readers
    match: { servers: [db], tools: ["select_*"] }
    effect: allow
`,
    [
      ['allowed by a rule', { server: { name: 'db', transport: 'stdio' }, tool: { name: 'select_one' } }, { ...ALLOW, ruleId: 'readers' }],
      ['nothing allows it', { server: { name: 'db', transport: 'stdio' }, tool: { name: 'insert' } }, { ...DENY, ruleId: undefined }],
    ],
    'deny',
  );
});

describe('globs', () => {
  table(
    `
rules:
  - { id: star, match: { tools: ["get_*"] }, effect: deny }
  - { id: question, match: { tools: ["v?"] }, effect: deny }
  - { id: literal-dot, match: { tools: ["a.b"] }, effect: deny }
  - { id: server-glob, match: { servers: ["prod-*"], tools: [shutdown] }, effect: deny }
  - { id: uri-glob, match: { resources: ["file:///secret/*"] }, effect: deny }
`,
    [
      ['* matches a run', { tool: { name: 'get_env' } }, { ruleId: 'star', allowed: false }],
      ['* matches the empty run', { tool: { name: 'get_' } }, { ruleId: 'star', allowed: false }],
      ['globs are anchored', { tool: { name: 'forget_it' } }, ALLOW],
      ['? matches one character', { tool: { name: 'v1' } }, { ruleId: 'question', allowed: false }],
      ['? matches exactly one', { tool: { name: 'v12' } }, ALLOW],
      ['. is literal', { tool: { name: 'axb' } }, ALLOW],
      ['. matches itself', { tool: { name: 'a.b' } }, { ruleId: 'literal-dot', allowed: false }],
      ['server globs', { server: { name: 'prod-eu', transport: 'http' }, tool: { name: 'shutdown' } }, { ruleId: 'server-glob', allowed: false }],
      ['server globs miss', { server: { name: 'staging', transport: 'http' }, tool: { name: 'shutdown' } }, ALLOW],
      [
        '* spans slashes in URIs',
        { method: 'resources/read', tool: undefined, resource: { uri: 'file:///secret/a/b.txt' } },
        { ruleId: 'uri-glob', allowed: false },
      ],
    ],
  );
});

describe('methods and what a rule is about', () => {
  table(
    `
rules:
  - { id: no-resources, match: { servers: [locked], methods: ["resources/*"] }, effect: deny }
  - { id: tool-rule, match: { servers: [tools-only], tools: ["*"] }, effect: deny }
  - { id: prompt-rule, match: { servers: [prompts-only], prompts: [secret] }, effect: deny }
  - { id: whole-server, match: { servers: [closed] }, effect: deny }
  - { id: call-method, match: { servers: [calls], methods: [tools/call] }, effect: deny }
`,
    [
      [
        'a methods glob matches resources/read',
        { server: { name: 'locked', transport: 'stdio' }, method: 'resources/read', resource: { uri: 'x://a' } },
        { ruleId: 'no-resources', allowed: false },
      ],
      [
        'and resources/subscribe',
        { server: { name: 'locked', transport: 'stdio' }, method: 'resources/subscribe', resource: { uri: 'x://a' } },
        { ruleId: 'no-resources', allowed: false },
      ],
      ['but not tools/call', { server: { name: 'locked', transport: 'stdio' } }, ALLOW],
      ['a tools rule applies to tools/call', { server: { name: 'tools-only', transport: 'stdio' } }, { ruleId: 'tool-rule', allowed: false }],
      [
        'a tools rule does not apply to prompts/get',
        { server: { name: 'tools-only', transport: 'stdio' }, method: 'prompts/get', tool: undefined, prompt: { name: 'p' } },
        ALLOW,
      ],
      [
        'a tools rule does not apply to completion/complete',
        { server: { name: 'tools-only', transport: 'stdio' }, method: 'completion/complete', tool: undefined },
        ALLOW,
      ],
      [
        'a prompts rule applies to prompts/get',
        { server: { name: 'prompts-only', transport: 'stdio' }, method: 'prompts/get', tool: undefined, prompt: { name: 'secret' } },
        { ruleId: 'prompt-rule', allowed: false },
      ],
      [
        'a prompts rule, other prompt',
        { server: { name: 'prompts-only', transport: 'stdio' }, method: 'prompts/get', tool: undefined, prompt: { name: 'open' } },
        ALLOW,
      ],
      [
        'a rule naming no target applies to every method',
        { server: { name: 'closed', transport: 'stdio' }, method: 'completion/complete', tool: undefined },
        { ruleId: 'whole-server', allowed: false },
      ],
      ['a methods rule: other method', { server: { name: 'calls', transport: 'stdio' }, method: 'prompts/get', tool: undefined, prompt: { name: 'p' } }, ALLOW],
      ['a methods rule: its method', { server: { name: 'calls', transport: 'stdio' } }, { ruleId: 'call-method', allowed: false }],
    ],
  );
});

describe('require: scopes and conditions', () => {
  const policy = `
rules:
  - id: need-a
    match: { servers: [s] }
    effect: require
    scopes: [a]
  - id: need-b-and-c
    match: { servers: [s], tools: [both] }
    effect: require
    scopes: [b, c]
  - id: business-hours
    match: { servers: [s], tools: [timed] }
    effect: require
    condition: "request.time.getHours('UTC') >= 9 && request.time.getHours('UTC') < 17"
`;
  const s = { name: 's', transport: 'stdio' } as const;
  table(policy, [
    ['all scopes present', { server: s, tool: { name: 'both' }, principal: { scopes: ['a', 'b', 'c'] } }, { ...ALLOW }],
    [
      'missing scopes of several rules are reported together',
      { server: s, tool: { name: 'both' }, principal: { scopes: ['b'] } },
      { allowed: false, code: 'INSUFFICIENT_SCOPE', ruleId: 'need-a', missingScopes: ['a', 'c'] },
    ],
    ['a condition that holds', { server: s, tool: { name: 'timed' }, principal: { scopes: ['a'] } }, ALLOW],
    [
      'a failing condition is POLICY_DENIED',
      {
        server: s,
        tool: { name: 'timed' },
        principal: { scopes: ['a'] },
        request: { time: new Date('2026-01-01T20:00:00Z'), transport: 'stdio', sessionId: 's' },
      },
      { ...DENY, ruleId: 'business-hours' },
    ],
    [
      'a failing condition wins over missing scopes (a scope would not help)',
      { server: s, tool: { name: 'timed' }, request: { time: new Date('2026-01-01T20:00:00Z'), transport: 'stdio', sessionId: 's' } },
      { ...DENY, ruleId: 'business-hours', missingScopes: undefined },
    ],
  ]);
});

describe('server modes and shorthands', () => {
  table(
    `
rules:
  - { id: open-notes, match: { servers: [notes], tools: [read] }, effect: allow }
servers:
  notes: { mode: allowlist, allowTools: [list, "get_*"] }
  wiki: { mode: denylist, denyTools: [delete_page] }
  both: { allowTools: [ok], denyTools: ["*"] }
`,
    [
      [
        'allowlist: allowed by allowTools',
        { server: { name: 'notes', transport: 'stdio' }, tool: { name: 'get_note' } },
        { ...ALLOW, ruleId: 'servers.notes.allowTools' },
      ],
      ['allowlist: allowed by a rule', { server: { name: 'notes', transport: 'stdio' }, tool: { name: 'read' } }, { ...ALLOW, ruleId: 'open-notes' }],
      [
        'allowlist: anything else is denied',
        { server: { name: 'notes', transport: 'stdio' }, tool: { name: 'write' } },
        { ...DENY, ruleId: 'servers.notes.mode' },
      ],
      [
        'allowlist: resources too',
        { server: { name: 'notes', transport: 'stdio' }, method: 'resources/read', tool: undefined, resource: { uri: 'n://1' } },
        { ...DENY, ruleId: 'servers.notes.mode' },
      ],
      ['denylist: denyTools', { server: { name: 'wiki', transport: 'stdio' }, tool: { name: 'delete_page' } }, { ...DENY, ruleId: 'servers.wiki.denyTools' }],
      ['denylist: anything else is allowed', { server: { name: 'wiki', transport: 'stdio' }, tool: { name: 'edit_page' } }, { ...ALLOW, ruleId: undefined }],
      ['denyTools wins over allowTools', { server: { name: 'both', transport: 'stdio' }, tool: { name: 'ok' } }, { ...DENY, ruleId: 'servers.both.denyTools' }],
    ],
  );

  it('a server in denylist mode allows by default even when the gateway denies by default', () => {
    const engine = engineOf('servers: { wiki: { mode: denylist } }', 'deny');
    expect(engine.decide(input({ server: { name: 'wiki', transport: 'stdio' } })).allowed).toBe(true);
    expect(engine.decide(input({ server: { name: 'other', transport: 'stdio' } })).allowed).toBe(false);
  });
});
