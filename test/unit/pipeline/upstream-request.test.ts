/**
 * The request as it reaches the upstream: gateway-owned parts rewritten
 * (name, URI, ref), arguments checked to be an object, and `_meta` reduced
 * to what an upstream may take from a client.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import type { CallTrace } from '../../../src/observability/trace.js';
import type { Target } from '../../../src/pipeline/context.js';
import { plainObject, stringParam, upstreamParams } from '../../../src/pipeline/upstream-request.js';
import { upstream } from './helpers.js';

const gh = upstream('github');
const toolTarget: Target = { upstream: gh, exposed: 'github__create_issue', original: 'create_issue', kind: 'tool' };
const promptTarget: Target = { upstream: gh, exposed: 'github__triage', original: 'triage', kind: 'prompt' };
const resourceTarget: Target = { upstream: gh, exposed: 'github+repo://octo/hello', original: 'repo://octo/hello', kind: 'resource' };

const trace = (traceparent: string): CallTrace => ({ traceparent, traceId: traceparent.split('-')[1]!, end: () => {} });

function refused(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}

describe('upstreamParams: names and URIs', () => {
  it('sends a tool call under the original name, arguments untouched', () => {
    const args = { title: 'bug', labels: ['a'], nested: { n: 1 } };
    const out = upstreamParams({ method: 'tools/call', params: { name: 'github__create_issue', arguments: args } }, toolTarget, []);
    expect(out).toEqual({ name: 'create_issue', arguments: args });
  });

  it('sends a prompt under its original name', () => {
    const out = upstreamParams({ method: 'prompts/get', params: { name: 'github__triage', arguments: { level: 'high' } } }, promptTarget, []);
    expect(out).toEqual({ name: 'triage', arguments: { level: 'high' } });
  });

  it.each(['resources/read', 'resources/subscribe', 'resources/unsubscribe'] as const)(
    '%s carries the canonical original URI, not the client spelling',
    (method) => {
      const out = upstreamParams({ method, params: { uri: 'GITHUB+REPO://octo/%68ello' } }, resourceTarget, []);
      expect(out).toEqual({ uri: 'repo://octo/hello' });
    },
  );

  it('rewrites a prompt completion ref to the original name, keeping the argument', () => {
    const params = { ref: { type: 'ref/prompt', name: 'github__triage' }, argument: { name: 'level', value: 'h' } };
    const out = upstreamParams({ method: 'completion/complete', params }, promptTarget, []);
    expect(out).toEqual({ ref: { type: 'ref/prompt', name: 'triage' }, argument: { name: 'level', value: 'h' } });
  });

  it('rewrites a resource completion ref to the original URI', () => {
    const target: Target = { upstream: gh, exposed: 'github+repo://{owner}/{name}', original: 'repo://{owner}/{name}', kind: 'resource' };
    const params = { ref: { type: 'ref/resource', uri: 'github+repo://{owner}/{name}' }, argument: { name: 'owner', value: 'oc' } };
    const out = upstreamParams({ method: 'completion/complete', params }, target, []);
    expect(out.ref).toEqual({ type: 'ref/resource', uri: 'repo://{owner}/{name}' });
  });

  it('does not modify the client params it was given', () => {
    const params = { name: 'github__create_issue', arguments: { a: 1 }, _meta: { progressToken: 7, secret: 'x' } };
    const copy = structuredClone(params);
    upstreamParams({ method: 'tools/call', params }, toolTarget, []);
    expect(params).toEqual(copy);
  });

  it('keeps other top-level params the gateway does not own, but not a task augmentation (no tasks are routed)', () => {
    const out = upstreamParams({ method: 'tools/call', params: { name: 'x', arguments: {}, task: { ttl: 10 }, extra: 1 } }, toolTarget, []);
    expect(out).toEqual({ name: 'create_issue', arguments: {}, extra: 1 });
  });
});

describe('upstreamParams: arguments must be an object', () => {
  it.each([
    ['a string', '{"a":1}', 'a string'],
    ['a number', 42, 'a number'],
    ['a boolean', true, 'a boolean'],
    ['null', null, 'null'],
    ['an array', [1, 2], 'an array'],
  ])('tools/call with arguments as %s is refused with -32602', (_label, value, got) => {
    const err = refused(() => upstreamParams({ method: 'tools/call', params: { name: 'x', arguments: value } }, toolTarget, []));
    expect(err.code).toBe('INVALID_PARAMS');
    expect(err.jsonRpcCode).toBe(-32602);
    expect(err.data).toEqual({ field: 'arguments' });
    expect(err.message).toBe(`params.arguments must be an object, not ${got}`);
  });

  it('prompts/get with array arguments is refused too', () => {
    const err = refused(() => upstreamParams({ method: 'prompts/get', params: { name: 'x', arguments: ['a'] } }, promptTarget, []));
    expect(err.code).toBe('INVALID_PARAMS');
  });

  it('absent arguments stay absent (not invented as {})', () => {
    const out = upstreamParams({ method: 'tools/call', params: { name: 'x' } }, toolTarget, []);
    expect(out).toEqual({ name: 'create_issue' });
    expect('arguments' in out).toBe(false);
  });

  it('an empty object is an object', () => {
    expect(upstreamParams({ method: 'tools/call', params: { name: 'x', arguments: {} } }, toolTarget, []).arguments).toEqual({});
  });
});

describe('upstreamParams: _meta', () => {
  const call = (meta: unknown, forwardMeta: string[] = [], traced?: CallTrace) =>
    upstreamParams({ method: 'tools/call', params: { name: 'x', arguments: {}, _meta: meta }, ...(traced ? { trace: traced } : {}) }, toolTarget, forwardMeta);

  it("keeps the protocol's own keys and trace context, drops everything else", () => {
    const out = call({
      'io.modelcontextprotocol/related-task': { taskId: 't' },
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=1',
      userId: 'admin',
      'x-tenant': 'other',
    });
    expect(out._meta).toEqual({
      'io.modelcontextprotocol/related-task': { taskId: 't' },
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=1',
    });
  });

  it('never forwards the client progress token, even if a server allows the key', () => {
    const out = call({ progressToken: 'p1' }, ['progressToken']);
    expect(out._meta).toBeUndefined();
    expect('_meta' in out).toBe(false);
  });

  it('forwards exact keys and ns/* namespaces the server allows', () => {
    const out = call({ 'x-tenant': 't1', 'acme/user': 'u', 'acme/deep/er': 1, acme: 'bare', 'acme-user': 'no', 'x-tenant2': 'no' }, ['acme/*', 'x-tenant']);
    expect(out._meta).toEqual({ 'x-tenant': 't1', 'acme/user': 'u', 'acme/deep/er': 1 });
  });

  it('matches allowed keys case-sensitively (another spelling is another key)', () => {
    const out = call({ 'X-Tenant': 't1', 'IO.MODELCONTEXTPROTOCOL/x': 1, 'ACME/user': 'u' }, ['acme/*', 'x-tenant']);
    expect(out._meta).toBeUndefined();
  });

  it.each([
    ['a string', 'hello'],
    ['an array', [{ traceparent: 'x' }]],
    ['null', null],
    ['a number', 3],
  ])('a _meta that is %s is dropped, not forwarded or refused', (_label, meta) => {
    const out = call(meta);
    expect('_meta' in out).toBe(false);
    expect(out.name).toBe('create_issue');
  });

  it("when traced, the gateway's span replaces the caller's traceparent", () => {
    const ours = '00-11111111111111111111111111111111-2222222222222222-01';
    const out = call({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'v=1' }, [], trace(ours));
    expect(out._meta).toEqual({ traceparent: ours, tracestate: 'v=1' });
  });

  it('when traced, a request without _meta gets one carrying the traceparent', () => {
    const ours = '00-11111111111111111111111111111111-2222222222222222-01';
    const out = upstreamParams({ method: 'resources/read', params: { uri: 'x' }, trace: trace(ours) }, resourceTarget, []);
    expect(out).toEqual({ uri: 'repo://octo/hello', _meta: { traceparent: ours } });
  });

  it('filters _meta on resource reads and completions too', () => {
    const read = upstreamParams({ method: 'resources/read', params: { uri: 'x', _meta: { userId: 'root', progressToken: 1 } } }, resourceTarget, []);
    expect(read).toEqual({ uri: 'repo://octo/hello' });
    const complete = upstreamParams(
      {
        method: 'completion/complete',
        params: { ref: { type: 'ref/prompt', name: 'github__triage' }, argument: { name: 'a', value: '' }, _meta: { userId: 'root' } },
      },
      promptTarget,
      [],
    );
    expect('_meta' in complete).toBe(false);
  });
});

describe('plainObject and stringParam', () => {
  it('plainObject returns the same object', () => {
    const value = { a: 1 };
    expect(plainObject(value, 'ref')).toBe(value);
  });

  it('plainObject names the field it refused', () => {
    const err = refused(() => plainObject('ref/prompt', 'ref'));
    expect(err.message).toBe('params.ref must be an object, not a string');
    expect(err.data).toEqual({ field: 'ref' });
  });

  it.each([undefined, 3, null, ['a'], { toString: () => 'x' }])('stringParam refuses %j', (value) => {
    const err = refused(() => stringParam(value, 'name'));
    expect(err.code).toBe('INVALID_PARAMS');
    expect(err.data).toEqual({ field: 'name' });
  });

  it('stringParam accepts the empty string (unknown later, not malformed)', () => {
    expect(stringParam('', 'name')).toBe('');
  });
});
