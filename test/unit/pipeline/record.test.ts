/**
 * record: one audit record per request, allowed, refused or failed; the
 * arguments (as forwarded) only with audit.includeArgs.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError, unknownTool } from '../../../src/core/errors.js';
import { canonicalHash } from '../../../src/infra/canonical.js';
import { createAuditSink, type AuditRecord } from '../../../src/observability/audit.js';
import { createLogger, silentLogger, type Logger } from '../../../src/observability/log.js';
import { authorize } from '../../../src/pipeline/authorize.js';
import type { CallContext, RoutedMethod } from '../../../src/pipeline/context.js';
import { record } from '../../../src/pipeline/record.js';
import { resolveRoute } from '../../../src/pipeline/resolve-route.js';
import { engineOf } from '../policy/helpers.js';
import { context, fleet, principal, session } from './helpers.js';

const { catalog } = fleet();

/** Runs record over `ctx` with an audit sink that keeps its records. */
function audited(ctx: CallContext, includeArgs: boolean, log: Logger = silentLogger): AuditRecord {
  const lines: string[] = [];
  const settings = { file: '-', includeArgs, redact: [], checkpointEvery: 1000, checkpointMs: 60_000 };
  const sink = createAuditSink(settings, { write: (line) => void lines.push(line), replica: 'test', version: '0' });
  record(log, sink, () => 'sha256:policy').run(ctx);
  // The chain opens with its audit-start line; the request's record follows.
  expect(lines).toHaveLength(2);
  expect(lines[1]!.endsWith('\n')).toBe(true);
  const { type, writer: _writer, seq, prev: _prev, hash: _hash, ...rest } = JSON.parse(lines[1]!) as AuditRecord & Record<string, unknown>;
  expect(type).toBe('audit');
  expect(seq).toBe(1);
  return rest as AuditRecord;
}

/** A context taken through resolve-route and authorize (the policy may refuse: the error lands in ctx.error, as the runner does). */
function through(method: RoutedMethod, params: Record<string, unknown>, policy = 'rules: []', over: Partial<CallContext> = {}): CallContext {
  const ctx = context(method, params, { requestId: 'req-1', ...over });
  try {
    resolveRoute(catalog).run(ctx);
    authorize(() => engineOf(policy)).run(ctx);
  } catch (err) {
    ctx.error = err;
  }
  return ctx;
}

describe('record: arguments', () => {
  it('holds no args without includeArgs', () => {
    const entry = audited(through('tools/call', { name: 'github__create_issue', arguments: { title: 'secret plan' } }), false);
    expect('args' in entry).toBe(false);
    expect(JSON.stringify(entry)).not.toContain('secret plan');
  });

  it('holds the forwarded arguments with includeArgs', () => {
    expect(audited(through('tools/call', { name: 'github__create_issue', arguments: { title: 'bug', n: 2 } }), true).args).toEqual({ title: 'bug', n: 2 });
  });

  it('records the arguments as forwarded, not the raw params', () => {
    const ctx = through('tools/call', { name: 'github__create_issue', arguments: { title: 'raw' } });
    ctx.forwarded = { ...ctx.forwarded, arguments: { title: 'forwarded' } };
    expect(audited(ctx, true).args).toEqual({ title: 'forwarded' });
  });

  it('never records _meta (e.g. a progress token or tenant hint) even with includeArgs', () => {
    const entry = audited(through('tools/call', { name: 'github__list_issues', arguments: {}, _meta: { 'x-tenant': 'acme', progressToken: 'tok-123' } }), true);
    expect(JSON.stringify(entry)).not.toMatch(/acme|tok-123/);
  });

  it('a call refused for malformed arguments records no args even with includeArgs', () => {
    const ctx = through('tools/call', { name: 'github__create_issue', arguments: 'DROP TABLE' });
    expect((ctx.error as GatewayError).code).toBe('INVALID_PARAMS');
    const entry = audited(ctx, true);
    expect(entry.args).toBeUndefined();
    expect(JSON.stringify(entry)).not.toContain('DROP TABLE');
  });
});

describe('record: outcome and decision', () => {
  it('an allowed call that succeeded', () => {
    const ctx = through(
      'tools/call',
      { name: 'github__create_issue', arguments: {} },
      'rules: [ { id: ok, match: { tools: [create_issue] }, effect: allow } ]',
    );
    ctx.result = { content: [] };
    const entry = audited(ctx, false);
    expect(entry).toMatchObject({
      requestId: 'req-1',
      principal: 'apikey:alice',
      principalKind: 'apikey',
      session: 'sess-1',
      transport: 'streamable-http',
      method: 'tools/call',
      server: 'github',
      name: 'github__create_issue',
      original: 'create_issue',
      decision: 'allow',
      ruleId: 'ok',
      outcome: 'ok',
    });
    expect(entry.code).toBeUndefined();
    expect(entry.error).toBeUndefined();
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
  });

  it('a policy denial is decision deny, outcome denied, with the rule and no error text', () => {
    const entry = audited(
      through('tools/call', { name: 'github__create_issue' }, 'rules: [ { id: no, match: { tools: [create_issue] }, effect: deny } ]'),
      false,
    );
    expect(entry).toMatchObject({ decision: 'deny', outcome: 'denied', code: 'POLICY_DENIED', ruleId: 'no' });
    expect(entry.error).toBeUndefined();
  });

  it('a missing scope is a deny too', () => {
    const entry = audited(
      through('tools/call', { name: 'github__create_issue' }, 'rules: [ { id: w, match: { tools: [create_issue] }, effect: require, scopes: [write] } ]'),
      false,
    );
    expect(entry).toMatchObject({ decision: 'deny', outcome: 'denied', code: 'INSUFFICIENT_SCOPE', ruleId: 'w' });
  });

  it('a rate limit after an allow is recorded as a deny with the limit rule and reason', () => {
    const ctx = through('tools/call', { name: 'read_file' });
    ctx.error = new GatewayError('RATE_LIMITED', 'limited', { ruleId: 'servers.fs.rateLimit', reason: '1 per second', retryAfterMs: 5 });
    expect(audited(ctx, false)).toMatchObject({
      decision: 'deny',
      outcome: 'denied',
      code: 'RATE_LIMITED',
      ruleId: 'servers.fs.rateLimit',
      reason: '1 per second',
    });
  });

  it('an unknown name never reached policy: decision none, outcome error, no server', () => {
    const ctx = through('tools/call', { name: 'github__nope' });
    expect(ctx.error).toEqual(unknownTool('github__nope'));
    const entry = audited(ctx, true);
    expect(entry).toMatchObject({ decision: 'none', outcome: 'error', code: 'UNKNOWN_TOOL', error: 'Unknown tool: github__nope' });
    expect(entry.server).toBeUndefined();
    expect(entry.name).toBeUndefined();
  });

  it("an upstream's own error: allowed, outcome error, the message and no code", () => {
    const ctx = through('tools/call', { name: 'read_file' });
    ctx.error = new Error('ENOENT: no such file');
    expect(audited(ctx, false)).toMatchObject({ decision: 'allow', outcome: 'error', error: 'ENOENT: no such file' });
    const thrownString = through('tools/call', { name: 'read_file' });
    thrownString.error = 'plain string';
    expect(audited(thrownString, false).error).toBe('plain string');
  });

  it('records the canonical URI a read was decided on', () => {
    expect(audited(through('resources/read', { uri: 'GITHUB+REPO://OCTO/%68ello' }), false)).toMatchObject({
      name: 'github+repo://octo/hello',
      original: 'repo://octo/hello',
      server: 'github',
    });
  });

  it('conditions that could not be evaluated are listed', () => {
    const ctx = through(
      'tools/call',
      { name: 'github__create_issue', arguments: {} },
      `rules: [ { id: broken, match: { tools: [create_issue] }, when: "args.missing.deeper == 1", effect: deny } ]`,
    );
    const entry = audited(ctx, false);
    expect(entry.conditionErrors).toEqual([{ ruleId: 'broken', error: expect.any(String) }]);
    expect(entry.decision).toBe('deny');
  });
});

describe('record: who and how', () => {
  it('profile, trace id and the caller credential (kind and upstream subject, never a token)', () => {
    const ctx = through('tools/call', { name: 'read_file' }, 'rules: []', {
      session: session({ profile: 'sales', transport: 'sse' }),
      principal: principal({ id: 'jwt:https://idp#bob', kind: 'jwt', subject: 'bob' }),
      trace: { traceparent: '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01', traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', end: () => {} },
      credential: { kind: 'user-oauth', subject: 'bob@upstream' },
    });
    expect(audited(ctx, false)).toMatchObject({
      profile: 'sales',
      transport: 'sse',
      principal: 'jwt:https://idp#bob',
      principalKind: 'jwt',
      traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      credential: 'user-oauth',
      upstreamSubject: 'bob@upstream',
    });
  });

  it('leaves optional fields out when they do not apply', () => {
    const entry = audited(through('tools/call', { name: 'read_file' }), false);
    for (const key of ['profile', 'traceId', 'credential', 'upstreamSubject', 'conditionErrors', 'args']) expect(key in entry, key).toBe(false);
  });

  it('latency counts from startedAt', () => {
    const ctx = through('tools/call', { name: 'read_file' }, 'rules: []', { startedAt: performance.now() - 250 });
    const { latencyMs } = audited(ctx, false);
    expect(latencyMs).toBeGreaterThanOrEqual(250);
    expect(latencyMs).toBeLessThan(60_000);
  });

  it('writes a debug log line only when the log level is debug', () => {
    const lines: string[] = [];
    const debug = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const info = createLogger({ level: 'info', write: (l) => lines.push(l) });
    audited(through('tools/call', { name: 'read_file' }), false, info);
    expect(lines).toEqual([]);
    audited(through('tools/call', { name: 'read_file', arguments: { secret: 'hunter2' } }), true, debug);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'debug', msg: 'request', method: 'tools/call', server: 'fs', name: 'read_file', outcome: 'ok' });
    expect(lines[0]).not.toContain('hunter2');
  });
});

describe('record: the chained line', () => {
  /** The raw line, and its JSON without hash: what the chain hashed. */
  function line(ctx: CallContext, includeArgs: boolean): { text: string; body: Record<string, unknown>; hash: string } {
    const lines: string[] = [];
    const settings = { file: '-', includeArgs, redact: ['token'], checkpointEvery: 1000, checkpointMs: 60_000 };
    record(silentLogger, createAuditSink(settings, { write: (l) => void lines.push(l), replica: 'test', version: '0' }), () => 'sha256:policy').run(ctx);
    const { hash, ...body } = JSON.parse(lines[1]!) as Record<string, unknown>;
    return { text: lines[1]!, body, hash: hash as string };
  }

  it('is built in canonical order: its hash is the JCS hash of the line without "hash", with outside objects in any key order', () => {
    const ctx = through(
      'tools/call',
      { name: 'github__create_issue', arguments: { z: 1, a: { y: [{ b: 2, a: 1 }], x: 'é' }, token: 's3cret' } },
      'rules: [ { id: ok, match: { tools: [create_issue] }, effect: allow } ]',
    );
    for (const includeArgs of [false, true]) {
      const { body, hash } = line(ctx, includeArgs);
      expect(hash).toBe(canonicalHash(body));
      expect(body).toMatchObject({ seq: 1, writer: expect.stringMatching(/^test@/), prev: expect.stringMatching(/^sha256:/) });
    }
  });

  it('holds the digest of the arguments as forwarded always, and the values only with includeArgs, redacted', () => {
    const args = { path: '/srv/a', token: 's3cret' };
    const ctx = through('tools/call', { name: 'github__create_issue', arguments: args });
    const without = line(ctx, false).body;
    expect(without.argsDigest).toBe(canonicalHash(args));
    expect(without.args).toBeUndefined();
    const withArgs = line(ctx, true).body;
    expect(withArgs.args).toEqual({ path: '/srv/a', token: '[redacted]' });
    expect(withArgs.argsDigest).toBe(canonicalHash(args));
  });

  it('holds the decision input a replay needs: groups, scopes, annotations, the rules and the policy version', () => {
    const ctx = through('tools/call', { name: 'github__list_issues', arguments: {} }, 'rules: [ { id: ok, match: { tools: ["list_*"] }, effect: allow } ]', {
      principal: principal({ groups: ['eng'], scopes: ['repo'] }),
    });
    expect(line(ctx, false).body).toMatchObject({
      groups: ['eng'],
      scopes: ['repo'],
      annotations: { readOnlyHint: true },
      rules: ['ok'],
      policyVersion: 'sha256:policy',
    });
  });
});
