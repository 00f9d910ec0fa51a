/**
 * forward, the terminal stage, against a fake pool and connection: it sends
 * ctx.forwarded exactly, relays progress under the client's own token, and
 * rewrites URIs in results to their exposed form.
 */
import type { Result } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import type { CallContext, RoutedMethod } from '../../../src/pipeline/context.js';
import { forward } from '../../../src/pipeline/forward.js';
import { resolveRoute } from '../../../src/pipeline/resolve-route.js';
import type { ConnectionPool } from '../../../src/upstream/pool.js';
import type { CallOrigin, RequestOptions } from '../../../src/upstream/server.js';
import { context, fleet, principal } from './helpers.js';

const { catalog, github, fs } = fleet();
github.capabilities = { tools: {}, prompts: {}, resources: {}, completions: {} };
fs.capabilities = { tools: {}, resources: {} };

interface Sent {
  method: string;
  params: Record<string, unknown> | undefined;
  options: RequestOptions;
}

/** A pool whose every connection records what it is sent and answers `answer` (or fails with it). */
function fakePool(answer: Result | Error = { content: [] }) {
  const sent: Sent[] = [];
  const acquired: unknown[][] = [];
  const connection = {
    async request(method: string, params: Record<string, unknown> | undefined, options: RequestOptions = {}) {
      sent.push({ method, params, options });
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  const pool = {
    acquire(...args: unknown[]) {
      acquired.push(args);
      return connection;
    },
  } as unknown as ConnectionPool;
  return { pool, sent, acquired, connection };
}

function resolved(method: RoutedMethod, params: Record<string, unknown>, over: Partial<CallContext> = {}): CallContext {
  const ctx = context(method, params, over);
  resolveRoute(catalog).run(ctx);
  return ctx;
}

describe('forward: what is sent', () => {
  it('sends ctx.forwarded, not the client params, with the signal, origin, log level and caller', async () => {
    const { pool, sent, acquired, connection } = fakePool();
    const caller = principal({ id: 'apikey:bob', groups: ['eng'], scopes: ['s1'] });
    const ctx = resolved(
      'tools/call',
      { name: 'github__create_issue', arguments: { title: 't' }, _meta: { userId: 'root' } },
      { principal: caller, logLevel: 'debug' },
    );
    ctx.forwarded = { ...ctx.forwarded, arguments: { title: 'exactly this' } };
    await forward(pool).run(ctx);
    expect(acquired).toEqual([[github, ctx.session, 'apikey:bob']]);
    expect(ctx.connection).toBe(connection);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.method).toBe('tools/call');
    expect(sent[0]!.params).toBe(ctx.forwarded);
    expect(sent[0]!.params).toEqual({ name: 'create_issue', arguments: { title: 'exactly this' } });
    expect(sent[0]!.options).toMatchObject({
      signal: ctx.signal,
      origin: ctx.origin,
      logLevel: 'debug',
      caller: { id: 'apikey:bob', groups: ['eng'], scopes: ['s1'], traceparent: undefined },
    });
    expect(sent[0]!.options.onprogress).toBeUndefined();
  });

  it('hands the span to the upstream as the parent when traced', async () => {
    const { pool, sent } = fakePool();
    const traceparent = '00-11111111111111111111111111111111-2222222222222222-01';
    const ctx = resolved('tools/call', { name: 'read_file' }, { trace: { traceparent, traceId: '1'.repeat(32), end: () => {} } });
    await forward(pool).run(ctx);
    expect(sent[0]!.options.caller?.traceparent).toBe(traceparent);
  });

  it('answers a completion itself, with no suggestions, when the server has no completions', async () => {
    const { pool, sent, acquired } = fakePool();
    const tpl = resolved('completion/complete', { ref: { type: 'ref/resource', uri: 'file:///{path}' }, argument: { name: 'path', value: '' } });
    await expect(forward(pool).run(tpl)).resolves.toEqual({ completion: { values: [], hasMore: false } });
    expect(acquired).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('sends a completion to a server that has completions', async () => {
    const { pool, sent } = fakePool({ completion: { values: ['a'], hasMore: false } });
    const ctx = resolved('completion/complete', { ref: { type: 'ref/prompt', name: 'github__triage' }, argument: { name: 'x', value: '' } });
    await expect(forward(pool).run(ctx)).resolves.toEqual({ completion: { values: ['a'], hasMore: false } });
    expect(sent[0]!.params).toMatchObject({ ref: { type: 'ref/prompt', name: 'triage' } });
  });

  it('notes how long the upstream took, on success and on failure', async () => {
    const ok = resolved('tools/call', { name: 'read_file' });
    await forward(fakePool().pool).run(ok);
    expect(ok.upstreamMs).toBeGreaterThanOrEqual(0);
    const failed = resolved('tools/call', { name: 'read_file' });
    const boom = new Error('upstream broke');
    await expect(forward(fakePool(boom).pool).run(failed)).rejects.toBe(boom);
    expect(failed.upstreamMs).toBeGreaterThanOrEqual(0);
  });
});

describe('forward: progress', () => {
  it("relays the upstream's progress under the client's own token", async () => {
    const notified: unknown[] = [];
    const origin: CallOrigin = {
      sessionId: 'sess-1',
      clientCapabilities: {},
      send: () => Promise.reject(new Error('unexpected')),
      notify: async (n) => void notified.push(n),
    };
    const { pool, sent } = fakePool();
    const ctx = resolved('tools/call', { name: 'read_file', _meta: { progressToken: 'client-tok' } }, { origin, progressToken: 'client-tok' });
    await forward(pool).run(ctx);
    // The client's token never went upstream; the SDK uses its own and maps back through onprogress.
    expect(JSON.stringify(sent[0]!.params)).not.toContain('client-tok');
    sent[0]!.options.onprogress!({ progress: 1, total: 2, message: 'half' });
    await Promise.resolve();
    expect(notified).toEqual([{ method: 'notifications/progress', params: { progress: 1, total: 2, message: 'half', progressToken: 'client-tok' } }]);
  });

  it('a failing progress notification does not fail the call', async () => {
    const origin: CallOrigin = {
      sessionId: 's',
      clientCapabilities: {},
      send: () => Promise.reject(new Error('x')),
      notify: () => Promise.reject(new Error('client gone')),
    };
    const { pool, sent } = fakePool({ content: [{ type: 'text', text: 'done' }] });
    const ctx = resolved('tools/call', { name: 'read_file' }, { origin, progressToken: 0 });
    await expect(forward(pool).run(ctx)).resolves.toEqual({ content: [{ type: 'text', text: 'done' }] });
    expect(() => sent[0]!.options.onprogress!({ progress: 1 })).not.toThrow();
  });
});

describe('forward: URIs in results are exposed', () => {
  it('prefixes the URIs of read contents', async () => {
    const { pool } = fakePool({
      contents: [
        { uri: 'repo://octo/hello', text: 'hi' },
        { uri: 'repo://octo/b', blob: 'AA==' },
      ],
    });
    const result = await forward(pool).run(resolved('resources/read', { uri: 'github+repo://octo/hello' }));
    expect(result).toEqual({
      contents: [
        { uri: 'github+repo://octo/hello', text: 'hi' },
        { uri: 'github+repo://octo/b', blob: 'AA==' },
      ],
    });
  });

  it('prefixes resource links and embedded resources in a tool result, and leaves other content alone', async () => {
    const { pool } = fakePool({
      content: [
        { type: 'text', text: 'see', uri: 'repo://not-a-link' },
        { type: 'resource_link', uri: 'repo://octo/a', name: 'a' },
        { type: 'resource', resource: { uri: 'repo://octo/b', text: 'b' } },
        { type: 'image', data: 'AA==', mimeType: 'image/png' },
      ],
      structuredContent: { uri: 'repo://untouched' },
    });
    const result = await forward(pool).run(resolved('tools/call', { name: 'github__list_issues' }));
    expect(result).toEqual({
      content: [
        { type: 'text', text: 'see', uri: 'repo://not-a-link' },
        { type: 'resource_link', uri: 'github+repo://octo/a', name: 'a' },
        { type: 'resource', resource: { uri: 'github+repo://octo/b', text: 'b' } },
        { type: 'image', data: 'AA==', mimeType: 'image/png' },
      ],
      structuredContent: { uri: 'repo://untouched' },
    });
  });

  it('prefixes a resource embedded in a prompt message', async () => {
    const { pool } = fakePool({
      messages: [
        { role: 'user', content: { type: 'resource', resource: { uri: 'repo://octo/c', text: 'c' } } },
        { role: 'assistant', content: { type: 'text', text: 'ok' } },
      ],
    });
    const result = (await forward(pool).run(resolved('prompts/get', { name: 'github__triage' }))) as { messages: { content: unknown }[] };
    expect(result.messages.map((m) => m.content)).toEqual([
      { type: 'resource', resource: { uri: 'github+repo://octo/c', text: 'c' } },
      { type: 'text', text: 'ok' },
    ]);
  });

  it('an unprefixed server result is passed through as it came', async () => {
    const answer = { contents: [{ uri: 'file:///etc/hosts', text: '' }] };
    const result = await forward(fakePool(answer).pool).run(resolved('resources/read', { uri: 'file:///etc/hosts' }));
    expect(result).toBe(answer);
  });

  it('tolerates results of unexpected shapes without throwing', async () => {
    const odd = { content: 'not an array', contents: null, messages: [null, 'x', { content: 'y' }] } as unknown as Result;
    await expect(forward(fakePool(odd).pool).run(resolved('tools/call', { name: 'github__list_issues' }))).resolves.toEqual(odd);
    const prompt = await forward(fakePool(odd).pool).run(resolved('prompts/get', { name: 'github__triage' }));
    expect((prompt as { messages: unknown[] }).messages).toEqual([null, 'x', { content: 'y' }]);
  });
});
