/**
 * Audit replay (src/policy/replay.ts) over hand-written records: what
 * changes under a candidate policy set, and what cannot be decided again
 * because the record does not hold what a candidate rule reads.
 */
import { describe, expect, it } from 'vitest';
import { canonicalHash } from '../../../src/infra/canonical.js';
import { parsePolicyText } from '../../../src/policy/load.js';
import { AuditReplay, type ReplayReport, type ReplayServer } from '../../../src/policy/replay.js';

const SERVERS = new Map<string, ReplayServer>([
  ['ks', { transport: 'stdio' }],
  ['web', { transport: 'http' }],
]);

/** A recorded tools/call of ks/echo by apikey:alice (group dev), allowed with no rule, unless overridden. */
function rec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'audit',
    time: '2026-03-01T10:00:00.000Z',
    requestId: 'r1',
    principal: 'apikey:alice',
    principalKind: 'apikey',
    groups: ['dev'],
    scopes: [],
    session: 's1',
    transport: 'http',
    method: 'tools/call',
    server: 'ks',
    name: 'ks__echo',
    original: 'echo',
    annotations: {},
    decision: 'allow',
    reason: 'no policy rule denies this',
    outcome: 'ok',
    latencyMs: 1,
    policyVersion: 'sha256:00',
    writer: 'w@2026-03-01T00:00:00.000Z',
    seq: 1,
    prev: null,
    hash: `sha256:${'0'.repeat(64)}`,
    ...over,
  };
}

function replay(policy: string, lines: (Record<string, unknown> | string)[], defaultEffect: 'allow' | 'deny' = 'allow', servers = SERVERS): ReplayReport {
  const r = new AuditReplay({ set: parsePolicyText(policy, 'candidate.yaml'), defaultEffect, servers });
  lines.forEach((line, i) => r.line('audit.log', i + 1, typeof line === 'string' ? line : JSON.stringify(line)));
  return r.report();
}

const reasons = (report: ReplayReport) => Object.fromEntries(report.notReEvaluable.map((g) => [g.reason, g.count]));

describe('audit replay: what changes', () => {
  it('finds a request a stricter candidate denies, grouped by rule, principal and tool, with examples', () => {
    const policy = `
rules:
  - id: echo-admins-only
    match: { servers: [ks], tools: [echo] }
    when: "!('admins' in principal.groups)"
    effect: deny
`;
    const report = replay(policy, [
      rec({ requestId: 'a1' }),
      rec({ requestId: 'a2' }),
      rec({ requestId: 'b1', principal: 'apikey:bob', groups: ['admins'] }),
      rec({ requestId: 'c1', original: 'add', name: 'ks__add' }),
      rec({ requestId: 'a3' }),
      rec({ requestId: 'a4' }),
    ]);
    expect(report.counts).toMatchObject({ records: 6, reDecided: 6, unchanged: 2, newlyDenied: 4, newlyAllowed: 0, notReEvaluable: 0, skipped: 0 });
    const d = report.newlyDenied;
    expect(d.byRule).toEqual([{ rule: 'echo-admins-only', originalRule: '(default)', count: 4, examples: expect.any(Array) }]);
    // Up to three examples per group, in the order met.
    expect(d.byRule[0]!.examples.map((e) => e.requestId)).toEqual(['a1', 'a2', 'a3']);
    expect(d.byRule[0]!.examples[0]).toEqual({
      time: '2026-03-01T10:00:00.000Z',
      principal: 'apikey:alice',
      server: 'ks',
      tool: 'echo',
      method: 'tools/call',
      requestId: 'a1',
      detail: 'denied by policy rule "echo-admins-only"',
    });
    expect(d.byPrincipal.map((g) => [g.principal, g.count])).toEqual([['apikey:alice', 4]]);
    expect(d.byTool.map((g) => [g.server, g.tool, g.count])).toEqual([['ks', 'echo', 4]]);
  });

  it('finds a request a looser candidate allows, with the rule that had denied it', () => {
    const denied = rec({ decision: 'deny', code: 'POLICY_DENIED', ruleId: 'no-echo', outcome: 'denied' });
    const report = replay('rules: []', [
      denied,
      rec({ original: 'add', decision: 'deny', code: 'INSUFFICIENT_SCOPE', ruleId: 'add-needs-math', outcome: 'denied' }),
    ]);
    expect(report.counts).toMatchObject({ reDecided: 2, newlyAllowed: 2, newlyDenied: 0 });
    expect(report.newlyAllowed.byRule.map((g) => [g.rule, g.originalRule, g.count])).toEqual([
      ['(default)', 'no-echo', 1],
      ['(default)', 'add-needs-math', 1],
    ]);
    expect(report.newlyAllowed.byTool.map((g) => g.tool)).toEqual(['echo', 'add']);
  });

  it('counts an unchanged decision, and one the same but decided by another rule', () => {
    const policy = `
rules:
  - id: echo-ok
    match: { tools: [echo] }
    effect: allow
`;
    const report = replay(
      policy,
      [rec({ ruleId: 'echo-ok' }), rec({ ruleId: 'old-echo-rule' }), rec({ decision: 'deny', code: 'POLICY_DENIED', original: 'add', outcome: 'denied' })],
      'deny',
    );
    expect(report.counts).toMatchObject({ reDecided: 3, unchanged: 3, ruleChanged: 1, newlyAllowed: 0, newlyDenied: 0 });
  });

  it('decides with the recorded scopes, profile, transport and annotations, and the server transport from the configuration', () => {
    const policy = `
rules:
  - id: web-needs-scope
    match: { servers: [web] }
    effect: require
    scopes: [web]
  - id: web-ok
    match: { servers: [web] }
    effect: allow
  - id: ks-profile
    match: { servers: [ks] }
    when: "request.profile == 'ops' && server.transport == 'stdio' && request.transport == 'http' && tool.annotations.readOnlyHint == true"
    effect: allow
`;
    const report = replay(
      policy,
      [
        rec({ server: 'web', scopes: ['web'] }),
        rec({ server: 'web', requestId: 'no-scope' }),
        rec({ profile: 'ops', annotations: { readOnlyHint: true }, decision: 'deny', code: 'POLICY_DENIED', outcome: 'denied' }),
        rec({ profile: 'dev', annotations: { readOnlyHint: true }, requestId: 'wrong-profile' }),
      ],
      'deny',
    );
    expect(report.newlyDenied.byRule.map((g) => [g.rule, g.examples.map((e) => e.requestId)])).toEqual([
      ['web-needs-scope', ['no-scope']],
      ['(default)', ['wrong-profile']],
    ]);
    expect(report.newlyAllowed.byRule.map((g) => g.rule)).toEqual(['ks-profile']);
  });

  it('counts a rate-limited request as allowed by policy, naming the allow rule from its trace', () => {
    const policy = `
rules:
  - id: no-echo
    match: { tools: [echo] }
    effect: deny
`;
    const limited = rec({ decision: 'deny', code: 'RATE_LIMITED', ruleId: 'echo-limited.rateLimit', rules: ['echo-limited'], outcome: 'denied' });
    const report = replay(policy, [limited]);
    expect(report.counts).toMatchObject({ reDecided: 1, rateLimited: 1, newlyDenied: 1 });
    expect(report.newlyDenied.byRule[0]).toMatchObject({ rule: 'no-echo', originalRule: 'echo-limited' });
    expect(report.notes.join(' ')).toMatch(/rate limits are not replayed/);
    expect(replay('rules: []', [limited]).counts).toMatchObject({ unchanged: 1, newlyAllowed: 0 });
  });
});

describe('audit replay: what it cannot decide again', () => {
  const ARGS_RULE = `
rules:
  - id: big-add
    match: { tools: [add] }
    when: "args.a > 100"
    effect: deny
`;

  it('does not re-decide a call whose arguments were not recorded when a rule that could apply reads args', () => {
    const digestOnly = rec({ original: 'add', argsDigest: canonicalHash({ a: 1000, b: 1 }) });
    const report = replay(ARGS_RULE, [digestOnly, rec({ argsDigest: canonicalHash({ text: 'hi' }) })]);
    // The echo call is decided: no rule that reads args can apply to it.
    expect(report.counts).toMatchObject({ reDecided: 1, unchanged: 1, notReEvaluable: 1 });
    expect(report.notReEvaluable).toEqual([
      {
        reason: 'args-not-recorded',
        label: 'arguments not recorded',
        count: 1,
        examples: [expect.objectContaining({ tool: 'add', detail: expect.stringContaining('rule "big-add" reads args') })],
      },
    ]);
  });

  it('decides on recorded arguments, and on none when the call had none (no digest)', () => {
    const report = replay(ARGS_RULE, [
      rec({ original: 'add', args: { a: 1000, b: 1 }, argsDigest: canonicalHash({ a: 1000, b: 1 }) }),
      rec({ original: 'add' }),
    ]);
    expect(report.counts).toMatchObject({ reDecided: 2, newlyDenied: 2, notReEvaluable: 0 });
    // No arguments: `args.a` is missing, so the deny cannot be evaluated and fails closed, as it would have live.
    expect(report.newlyDenied.byRule[0]!.examples.map((e) => e.detail)).toEqual([
      'denied by policy rule "big-add"',
      expect.stringMatching(/^policy rule "big-add" could not be evaluated on this request, so it denies \(.+\)$/),
    ]);
  });

  it('does not re-decide a call whose recorded arguments are redacted when a rule reads args', () => {
    const policy = `
rules:
  - id: no-etc
    match: { tools: [read] }
    when: "args.path.startsWith('/etc')"
    effect: deny
`;
    const sent = { path: '/etc/passwd', token: 'secret' };
    const redacted = rec({ original: 'read', args: { path: '/etc/passwd', token: '[redacted]' }, argsDigest: canonicalHash(sent) });
    // Sent as "[redacted]" by the caller: the digest of what was recorded matches, so nothing was hidden.
    const literal = rec({
      original: 'read',
      args: { path: '/etc/x', token: '[redacted]' },
      argsDigest: canonicalHash({ path: '/etc/x', token: '[redacted]' }),
    });
    const report = replay(policy, [redacted, literal]);
    expect(reasons(report)).toEqual({ 'args-redacted': 1 });
    expect(report.notReEvaluable[0]!.label).toBe('arguments redacted');
    expect(report.counts).toMatchObject({ reDecided: 1, newlyDenied: 1 });
    // Redacted arguments do not matter where no rule reads args.
    expect(replay('rules: []', [redacted]).counts).toMatchObject({ reDecided: 1, unchanged: 1 });
  });

  it("does not re-decide a JWT caller's request when a rule that could apply reads principal.claims", () => {
    const policy = `
rules:
  - id: staff-only
    match: { servers: [ks] }
    when: "!(principal.claims.auth == 'api-key' || principal.claims.email.endsWith('@example.com'))"
    effect: deny
`;
    const jwt = rec({ principal: 'jwt:https://idp.example#u1', principalKind: 'jwt' });
    const report = replay(policy, [jwt, rec()]);
    expect(reasons(report)).toEqual({ 'claims-not-recorded': 1 });
    // An API key's claims are fixed ({ auth: 'api-key' }) and known: its request is decided.
    expect(report.counts).toMatchObject({ reDecided: 1, unchanged: 1 });
    // A rule on another server cannot apply, so it does not stand in the way.
    expect(replay(policy.replace('servers: [ks]', 'servers: [web]'), [jwt]).counts).toMatchObject({ reDecided: 1, unchanged: 1 });
  });

  it('does not re-decide a request to a server the configuration does not have', () => {
    const report = replay('rules: []', [rec({ server: 'gone' })]);
    expect(report.notReEvaluable).toEqual([
      {
        reason: 'server-not-in-config',
        label: expect.stringMatching(/not in the configuration/),
        count: 1,
        examples: [expect.objectContaining({ server: 'gone' })],
      },
    ]);
  });

  it('skips requests policy never decided, by why and by code', () => {
    const report = replay('rules: []', [
      rec({ decision: 'none', code: 'UNKNOWN_TOOL', outcome: 'error', server: undefined, original: undefined }),
      rec({ decision: 'none', code: 'UNKNOWN_TOOL', outcome: 'error' }),
      rec({ decision: 'none', code: 'INVALID_ARGUMENTS', outcome: 'error' }),
      rec({ decision: 'deny', code: 'TOOL_QUARANTINED', outcome: 'denied' }),
    ]);
    expect(report.counts).toMatchObject({ records: 4, skipped: 4, reDecided: 0 });
    expect(report.skipped).toEqual([
      { reason: 'refused-before-policy', label: expect.stringMatching(/decision "none"/), count: 3, codes: { UNKNOWN_TOOL: 2, INVALID_ARGUMENTS: 1 } },
      { reason: 'quarantined', label: expect.stringMatching(/quarantined/), count: 1, codes: { TOOL_QUARANTINED: 1 } },
    ]);
  });

  it('does not re-decide a record without groups and scopes, or a call without annotations', () => {
    const report = replay('rules: []', [rec({ groups: undefined }), rec({ annotations: undefined })]);
    expect(reasons(report)).toEqual({ 'record-incomplete': 2 });
    expect(report.notReEvaluable[0]!.examples.map((e) => e.detail)).toEqual([expect.stringMatching(/no groups or scopes/), 'no tool annotations']);
  });

  it("decides a completion as its ref's use, and refuses when the ref kind is unknown and matters", () => {
    const policy = `
rules:
  - id: no-greet
    match: { prompts: [greet] }
    effect: deny
`;
    const completion = rec({ method: 'completion/complete', name: 'ks__greet', original: 'greet', annotations: undefined });
    expect(reasons(replay(policy, [completion]))).toEqual({ 'completion-ref-unknown': 1 });
    const told = new Map<string, ReplayServer>([['ks', { transport: 'stdio', refKind: () => 'prompt' }]]);
    expect(replay(policy, [completion], 'allow', told).counts).toMatchObject({ reDecided: 1, newlyDenied: 1 });
    // Where both kinds decide alike, the kind does not matter.
    expect(replay('rules: []', [completion]).counts).toMatchObject({ reDecided: 1, unchanged: 1 });
  });

  it('is not held back by shadow rules, which never decide', () => {
    const policy = `
rules:
  - id: watch-big-add
    mode: shadow
    match: { tools: [add] }
    when: "args.a > 100"
    effect: deny
`;
    const report = replay(policy, [rec({ original: 'add', argsDigest: canonicalHash({ a: 1000 }) })]);
    expect(report.counts).toMatchObject({ reDecided: 1, unchanged: 1, notReEvaluable: 0 });
    expect(report.notes.join(' ')).toMatch(/1 shadow rule\(s\) \(mode: shadow\) of the candidate set are not enforced/);
  });
});

describe('audit replay: lines', () => {
  it('counts malformed lines and other record types without stopping, and says what the writer dropped', () => {
    const report = replay('rules: []', [
      { type: 'audit-start', time: 't', version: '1' },
      'not json',
      '[1]',
      '',
      rec({ method: undefined }),
      rec({ decision: 'maybe' }),
      { type: 'audit-gap', time: 't', dropped: 4, reason: 'behind' },
      rec(),
    ]);
    expect(report.counts).toMatchObject({ lines: 7, records: 1, otherLines: 2, malformed: 4, reDecided: 1, droppedByWriter: 4 });
    expect(report.malformedLines.map((m) => [m.line, m.reason])).toEqual([
      [2, 'not JSON'],
      [3, 'not a JSON object'],
      [5, expect.stringMatching(/^an audit record with method: /)],
      [6, expect.stringMatching(/^an audit record with decision: /)],
    ]);
    expect(report.notes.join(' ')).toMatch(/4 record\(s\) were dropped/);
  });
});
