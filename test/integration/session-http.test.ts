/**
 * The gateway's own HTTP plumbing for 2025-era Streamable HTTP, on real wires:
 *
 * - downstream (src/downstream/session-transport.ts): the server side of a
 *   session at POST/GET/DELETE /mcp, checked byte by byte with raw fetch
 *   (status codes, JSON-RPC error bodies, JSON vs SSE answers, the standalone
 *   stream, id reuse) and with the real v1 and v2 SDK clients;
 * - upstream (src/upstream/lean-post.ts): the node:http POST path to an
 *   established Streamable HTTP upstream, against SDK servers built here
 *   (JSON answers, SSE answers resumed with GET + Last-Event-ID) and against
 *   hand-written HTTP fronts that answer 500, end a stream unanswered, or
 *   frame their SSE answers in unusual but valid ways.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/v4';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { McpServer, type EventStore, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { tap } from '../helpers/clients.js';
import { connectLegacy, FIXTURES, forwardedTo, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const PV = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';

/** A JSON-RPC message as it crosses the wire, loosely typed. */
interface Msg {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, any>;
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: any };
}

const textOf = (result: unknown): string => ((result as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? '').join('');

// ---------------------------------------------------------------------------
// SSE on the test side

interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/** Splits a complete text/event-stream body into events (LF or CRLF). */
function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const event: SseEvent = { data: '' };
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event.event = value;
      else if (field === 'id') event.id = value;
    }
    if (data.length === 0) continue;
    event.data = data.join('\n');
    events.push(event);
  }
  return events;
}

/** Reads an SSE response body message by message, as it arrives. */
function sseReader(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  return {
    /** The next JSON-RPC message on the stream; undefined once it ended. */
    async next(timeoutMs = 5_000): Promise<Msg | undefined> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.search(/\r?\n\r?\n/);
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          const [event] = parseSse(`${block}\n\n`);
          if (event) return JSON.parse(event.data) as Msg;
          continue;
        }
        if (done) return undefined;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms; buffered: ${JSON.stringify(buffer)}`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([reader.read(), new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left)))]).finally(
          () => clearTimeout(timer),
        );
        if (chunk === 'timeout') continue;
        if (chunk.done) done = true;
        else buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/** Every JSON-RPC message of a whole answer, JSON or SSE. */
async function messagesOf(res: Response): Promise<Msg[]> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (type.startsWith('application/json')) {
    const value = JSON.parse(text) as Msg | Msg[];
    return Array.isArray(value) ? value : [value];
  }
  if (type.startsWith('text/event-stream')) return parseSse(text).map((e) => JSON.parse(e.data) as Msg);
  throw new Error(`unexpected content type ${type}: ${text.slice(0, 200)}`);
}

// ---------------------------------------------------------------------------
// Part A + B: the gateway's downstream session transport

describe('downstream: 2025-era Streamable HTTP sessions (session-transport.ts)', () => {
  let gw: RunningGateway;

  const initialize = (id: string | number = 1, capabilities: Record<string, unknown> = {}) => ({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: PV, capabilities, clientInfo: { name: 'raw', version: '1' } },
  });

  function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  const sessionHeaders = (id: string): Record<string, string> => ({ 'mcp-session-id': id, 'mcp-protocol-version': PV });

  /** A POST of an open session. */
  const rpc = (session: string, body: unknown, headers: Record<string, string> = {}) => post(body, { ...sessionHeaders(session), ...headers });

  /** Opens a raw session (initialize + initialized) and returns its id. */
  async function openSession(capabilities: Record<string, unknown> = {}): Promise<string> {
    const res = await post(initialize(1, capabilities));
    expect(res.status).toBe(200);
    const [answer] = await messagesOf(res);
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: PV } });
    const id = res.headers.get('mcp-session-id');
    expect(id).toBeTruthy();
    const ack = await rpc(id!, { jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(ack.status).toBe(202);
    return id!;
  }

  /** Asserts the exact JSON-RPC error body the transport answers refusals with. */
  async function expectRpcError(res: Response, status: number, code: number): Promise<string> {
    if (res.status !== status || !(res.headers.get('content-type') ?? '').startsWith('application/json')) {
      // Not the refusal expected (maybe a stream that would never end): fail now, without reading on.
      await res.body?.cancel().catch(() => {});
      expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: expect.stringMatching(/^application\/json/) });
    }
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
    expect(Object.keys(body).sort()).toEqual(['error', 'id', 'jsonrpc']);
    expect(body.jsonrpc).toBe('2.0');
    expect(body.id).toBeNull();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(0);
    return body.error.message;
  }

  const call = (id: string | number, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
  });

  const openGet = (session: string, extra: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(gw.mcpUrl, { method: 'GET', headers: { accept: 'text/event-stream', ...sessionHeaders(session), ...extra }, signal });

  /** Resolves once the gateway has sent ks a `slow` call of `ms` (set up before the call). */
  const slowForwarded = (ms: number) =>
    forwardedTo(
      gw,
      'ks',
      (method, params) => method === 'tools/call' && params?.name === 'slow' && (params.arguments as { ms?: unknown } | undefined)?.ms === ms,
    );

  beforeAll(async () => {
    gw = await startGateway({ mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  describe('refusals (status + JSON-RPC error body) and request ids', () => {
    let session: string;
    beforeAll(async () => {
      session = await openSession();
    });

    it('answers 406 when Accept lacks text/event-stream or application/json', async () => {
      const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
      await expectRpcError(await rpc(session, list, { accept: 'application/json' }), 406, -32000);
      await expectRpcError(await rpc(session, list, { accept: 'text/event-stream' }), 406, -32000);
      // The session is untouched by the refusals.
      const ok = await rpc(session, list);
      expect(ok.status).toBe(200);
      expect((await messagesOf(ok))[0]).toMatchObject({ id: 1, result: { tools: expect.any(Array) } });
    });

    it('answers 415 for a body that is not sent as JSON', async () => {
      const res = await rpc(session, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { 'content-type': 'text/plain' });
      await expectRpcError(res, 415, -32000);
    });

    it('answers 400 (-32600) for a batch of more than 100 messages, and accepts exactly 100', async () => {
      const cancel = (i: number) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: `nothing-${i}`, reason: 'test' } });
      const tooMany = Array.from({ length: 101 }, (_, i) => cancel(i));
      await expectRpcError(await rpc(session, tooMany), 400, -32600);
      const hundred = await rpc(session, tooMany.slice(0, 100));
      expect(hundred.status).toBe(202);
      expect(await hundred.text()).toBe('');
    });

    it.each([
      ['an object that is not JSON-RPC', { hello: 'world' }],
      ['a message with neither method nor result', { jsonrpc: '2.0', id: 3 }],
      ['the wrong jsonrpc version', { jsonrpc: '1.0', id: 3, method: 'ping' }],
      ['a batch with one bad message', [{ jsonrpc: '2.0', id: 3, method: 'ping' }, { nope: true }]],
      ['a JSON string', 'just a string'],
    ])('answers 400 (-32600, JSON-RPC 2.0\'s "not a valid Request object") for a body that is JSON but not JSON-RPC: %s', async (_what, body) => {
      const res = await rpc(session, JSON.stringify(body));
      await expectRpcError(res, 400, -32600);
    });

    it('refuses a second initialize on an existing session with 400 (-32600)', async () => {
      await expectRpcError(await rpc(session, initialize(9)), 400, -32600);
      // The session still works.
      const ping = await rpc(session, { jsonrpc: '2.0', id: 'ping-after-init', method: 'ping' });
      expect((await messagesOf(ping))[0]).toMatchObject({ id: 'ping-after-init', result: {} });
    });

    it('refuses an unsupported mcp-protocol-version header with 400 on POST, GET and DELETE', async () => {
      const bad = { 'mcp-protocol-version': '1999-01-01' };
      const message = await expectRpcError(await rpc(session, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, bad), 400, -32000);
      expect(message).toMatch(/protocol version/i);
      await expectRpcError(await openGet(session, bad), 400, -32000);
      await expectRpcError(await fetch(gw.mcpUrl, { method: 'DELETE', headers: { ...sessionHeaders(session), ...bad } }), 400, -32000);
      // The refused DELETE did not end the session.
      const ok = await rpc(session, { jsonrpc: '2.0', id: 5, method: 'ping' });
      expect(ok.status).toBe(200);
      await ok.text();
    });

    it('refuses a request id still in flight on the session with 400 (-32600), and frees it once answered', async () => {
      const arrived = slowForwarded(1_000);
      const slow = rpc(session, call(42, 'ks__slow', { ms: 1_000 }));
      await arrived;
      await expectRpcError(await rpc(session, { jsonrpc: '2.0', id: 42, method: 'ping' }), 400, -32600);
      // Another id is fine meanwhile.
      const other = await rpc(session, { jsonrpc: '2.0', id: 43, method: 'ping' });
      expect((await messagesOf(other))[0]).toMatchObject({ id: 43, result: {} });
      const first = await slow;
      expect(first.status).toBe(200);
      const [answer] = await messagesOf(first);
      expect(answer).toMatchObject({ id: 42 });
      expect(textOf(answer!.result)).toBe('done');
      // Answered: the id may be used again.
      const again = await rpc(session, { jsonrpc: '2.0', id: 42, method: 'ping' });
      expect((await messagesOf(again))[0]).toMatchObject({ id: 42, result: {} });
    });

    it('forgets a call the client cancelled and left: its id is no longer held as in flight', async () => {
      // The SDK server never answers a cancelled request, so nothing will ever be sent for it.
      const leave = new AbortController();
      const arrived = slowForwarded(10_000);
      const inFlight = fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT, ...sessionHeaders(session) },
        body: JSON.stringify(call('cancel-me-too', 'ks__slow', { ms: 10_000 })),
        signal: leave.signal,
      }).catch(() => undefined);
      await arrived;
      const cancel = await rpc(session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'cancel-me-too', reason: 'user gave up' } });
      expect(cancel.status).toBe(202);
      leave.abort();
      await inFlight;
      // Cancelled and its HTTP exchange gone: the session must not keep it (or refuse its id) for the rest of its life.
      // (The SDK server never answers a cancelled request, so waiting for an answer would hold it forever.)
      // The gateway lets go of the id when it sees the HTTP exchange close, which nothing tells the client: poll for it.
      await vi.waitFor(
        async () => {
          const again = await rpc(session, { jsonrpc: '2.0', id: 'cancel-me-too', method: 'ping' });
          expect({ status: again.status, text: await again.text() }).toMatchObject({ status: 200 });
        },
        { timeout: 2_000, interval: 100 },
      );
    });

    it('ends the POST of a call the client cancelled but did not leave, at once and without an answer', async () => {
      const started = Date.now();
      const arrived = slowForwarded(10_000);
      const pending = rpc(session, call('cancel-and-stay', 'ks__slow', { ms: 10_000 }));
      await arrived;
      const cancel = await rpc(session, {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 'cancel-and-stay', reason: 'changed my mind' },
      });
      expect(cancel.status).toBe(202);
      const res = await Promise.race([pending, sleep(3_000).then(() => undefined)]);
      expect(res, 'the cancelled call’s POST was still open 3 s after the cancellation').toBeDefined();
      expect(res!.status).toBe(200);
      const body = await Promise.race([res!.text(), sleep(3_000).then(() => 'STILL OPEN')]);
      expect(body).not.toBe('STILL OPEN');
      expect(body).not.toContain('"result"');
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('refuses two requests with the same id in one batch with 400 (-32600)', async () => {
      const res = await rpc(session, [
        { jsonrpc: '2.0', id: 'twin', method: 'ping' },
        { jsonrpc: '2.0', id: 'twin', method: 'ping' },
      ]);
      await expectRpcError(res, 400, -32600);
    });

    it('answers GET without text/event-stream in Accept with 406', async () => {
      await expectRpcError(await openGet(session, { accept: 'application/json' }), 406, -32000);
    });

    it('opens a fresh stream for a GET with Last-Event-ID (nothing is stored to replay; the reconnecting client keeps its notifications)', async () => {
      const leave = new AbortController();
      const res = await openGet(session, { 'last-event-id': 'some-event' }, leave.signal);
      try {
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      } finally {
        leave.abort();
      }
    });
  });

  describe('answers', () => {
    let session: string;
    beforeAll(async () => {
      session = await openSession();
    });

    it('answers a notification-only POST with 202 and no body', async () => {
      const res = await rpc(session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'nothing', reason: 'test' } });
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('');
    });

    it.each([
      ['a string id', 'call-α'],
      ['a numeric id', 7],
    ])('answers a plain tools/call with 200 application/json carrying the session id (%s)', async (_what, id) => {
      // Multi-byte text: the JSON answer's content-length must count bytes, not characters.
      const res = await rpc(session, call(id, 'ks__echo', { text: 'hello json ✓ 日本 🎉' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('mcp-session-id')).toBe(session);
      const body = JSON.parse(await res.text()) as Msg;
      expect(body).toEqual({ jsonrpc: '2.0', id, result: expect.objectContaining({ structuredContent: { text: 'hello json ✓ 日本 🎉' } }) });
      expect(textOf(body.result)).toBe('hello json ✓ 日本 🎉');
    });

    it('serves what the fast path leaves to express the same way: a gzip body, a body with a charset, a path with a trailing slash', async () => {
      const body = JSON.stringify(call('gz-1', 'ks__echo', { text: 'compressed' }));
      const gz = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', accept: ACCEPT, ...sessionHeaders(session) },
        body: gzipSync(body),
      });
      expect(gz.status).toBe(200);
      expect(textOf(((await messagesOf(gz))[0] as Msg).result)).toBe('compressed');
      const latin = await rpc(session, call('cs-1', 'ks__echo', { text: 'charset' }), { 'content-type': 'application/json; charset=utf-8' });
      expect(textOf(((await messagesOf(latin))[0] as Msg).result)).toBe('charset');
      const slash = await fetch(`${gw.mcpUrl}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT, ...sessionHeaders(session) },
        body: JSON.stringify(call('sl-1', 'ks__echo', { text: 'slash' })),
      });
      expect(textOf(((await messagesOf(slash))[0] as Msg).result)).toBe('slash');
      // A body too large for the fast path's own read: 413, as express answers it.
      const huge = await rpc(session, call('big-1', 'ks__echo', { text: 'x'.repeat(5 * 1024 * 1024) }));
      expect(huge.status).toBe(413);
      expect(await huge.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 }, id: null });
      // Not JSON: 400 -32700, as express answers it.
      const broken = await rpc(session, '{"jsonrpc": "2.0", "id": ');
      expect(broken.status).toBe(400);
      expect(await broken.json()).toMatchObject({ error: { code: -32700 }, id: null });
    });

    it('answers a tools/call whose tool sends progress as text/event-stream: the progress first, then the result', async () => {
      const res = await rpc(session, call('p-1', 'ks__progress', { steps: 3 }, { progressToken: 'tok-raw' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('mcp-session-id')).toBe(session);
      const events = parseSse(await res.text());
      for (const e of events) expect(e.event ?? 'message').toBe('message');
      const messages = events.map((e) => JSON.parse(e.data) as Msg);
      const progress = messages.filter((m) => m.method === 'notifications/progress');
      expect(progress.map((m) => m.params!.progress)).toEqual([1, 2, 3]);
      expect(progress.map((m) => m.params!.progressToken)).toEqual(['tok-raw', 'tok-raw', 'tok-raw']);
      // The result is the last message, after every progress notification.
      expect(messages.at(-1)).toMatchObject({ jsonrpc: '2.0', id: 'p-1' });
      expect(textOf(messages.at(-1)!.result)).toBe('progress done');
      expect(messages).toHaveLength(4);
    });

    it('answers the same progress tool as application/json when the client asked for no progress', async () => {
      const res = await rpc(session, call('p-2', 'ks__progress', { steps: 2 }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const [answer] = await messagesOf(res);
      expect(answer).toMatchObject({ id: 'p-2' });
      expect(textOf(answer!.result)).toBe('progress done');
    });

    it('answers a tools/call whose tool logs as text/event-stream: the log message first, then the result', async () => {
      const res = await rpc(session, call('log-1', 'ks__log', { level: 'warning', message: 'a log line' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const messages = await messagesOf(res);
      expect(messages.map((m) => m.method ?? `answer:${String(m.id)}`)).toEqual(['notifications/message', 'answer:log-1']);
      expect(messages[0]!.params).toMatchObject({ level: 'warning', data: 'a log line' });
      expect(textOf(messages[1]!.result)).toBe('logged');
    });

    it('answers a batch of two requests with both responses', async () => {
      const res = await rpc(session, [call('b-1', 'ks__echo', { text: 'first' }), call('b-2', 'ks__add', { a: 2, b: 40 })]);
      expect(res.status).toBe(200);
      expect(res.headers.get('mcp-session-id')).toBe(session);
      const messages = await messagesOf(res);
      expect(messages).toHaveLength(2);
      const byId = new Map(messages.map((m) => [m.id, m]));
      expect(textOf(byId.get('b-1')!.result)).toBe('first');
      expect(textOf(byId.get('b-2')!.result)).toBe('42');
    });

    it('answers a batch whose first call sends progress on one SSE stream carrying both responses', async () => {
      const res = await rpc(session, [
        call('bp-1', 'ks__progress', { steps: 2 }, { progressToken: 'tok-batch' }),
        call('bp-2', 'ks__echo', { text: 'second' }),
      ]);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const messages = await messagesOf(res);
      const progress = messages.filter((m) => m.method === 'notifications/progress');
      expect(progress.map((m) => [m.params!.progressToken, m.params!.progress])).toEqual([
        ['tok-batch', 1],
        ['tok-batch', 2],
      ]);
      const answers = new Map(messages.filter((m) => m.method === undefined).map((m) => [m.id, m]));
      expect([...answers.keys()].sort()).toEqual(['bp-1', 'bp-2']);
      expect(textOf(answers.get('bp-1')!.result)).toBe('progress done');
      expect(textOf(answers.get('bp-2')!.result)).toBe('second');
      // The progress came before its call's answer.
      const at = (m: Msg | undefined) => messages.indexOf(m!);
      expect(Math.max(...progress.map(at))).toBeLessThan(at(answers.get('bp-1')));
    });

    it('answers a batch of a request and a notification with the one response', async () => {
      const res = await rpc(session, [
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'nothing', reason: 'test' } },
        { jsonrpc: '2.0', id: 'b-3', method: 'ping' },
      ]);
      expect(res.status).toBe(200);
      expect(await messagesOf(res)).toEqual([{ jsonrpc: '2.0', id: 'b-3', result: {} }]);
    });

    it('carries a server-to-client request on the call’s SSE stream and takes its answer in another POST', async () => {
      const sampler = await openSession({ sampling: {} });
      const res = await rpc(sampler, call('s-1', 'ks__sample', { prompt: 'say hi' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const stream = sseReader(res);
      try {
        const request = await stream.next();
        expect(request).toMatchObject({ jsonrpc: '2.0', method: 'sampling/createMessage', id: expect.anything() });
        expect(JSON.stringify(request!.params)).toContain('say hi');
        const reply = await rpc(sampler, {
          jsonrpc: '2.0',
          id: request!.id,
          result: { role: 'assistant', content: { type: 'text', text: 'hi there' }, model: 'test-model' },
        });
        expect(reply.status).toBe(202);
        const answer = await stream.next();
        expect(answer).toMatchObject({ jsonrpc: '2.0', id: 's-1' });
        expect(textOf(answer!.result)).toBe('hi there');
        expect(await stream.next()).toBeUndefined();
      } finally {
        await stream.cancel();
      }
    });

    it('opens one standalone SSE stream per session with GET (a second concurrent GET gets 409) and sends list changes on it', async () => {
      const first = new AbortController();
      const stream = await openGet(session, {}, first.signal);
      try {
        expect(stream.status).toBe(200);
        expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(stream.headers.get('mcp-session-id')).toBe(session);
        await expectRpcError(await openGet(session), 409, -32000);

        // Unsolicited messages (no related request) travel on it.
        const reader = sseReader(stream);
        const added = await rpc(session, call('add-1', 'ks__add_tool', { name: `added_${randomUUID().slice(0, 8)}` }));
        expect(textOf((await messagesOf(added))[0]!.result)).toBe('added');
        let note: Msg | undefined;
        do note = await reader.next();
        while (note && note.method !== 'notifications/tools/list_changed');
        expect(note).toMatchObject({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      } finally {
        first.abort();
      }
      // Once the first stream is gone, the session may open another (the gateway sees it close; nothing tells the client: poll).
      const status = await vi.waitFor(
        async () => {
          const next = new AbortController();
          const again = await openGet(session, {}, next.signal);
          if (again.status === 200) {
            next.abort();
            return 200;
          }
          await again.text();
          // Anything but 409 ("still open") ends the wait, and fails below.
          if (again.status !== 409) return again.status;
          throw new Error('the closed GET stream still counts as open');
        },
        { timeout: 5_000, interval: 50 },
      );
      expect(status).toBe(200);
    });

    it('ends the session on DELETE: later POST, GET and DELETE with that id get 404 (-32001)', async () => {
      const doomed = await openSession();
      const standalone = await openGet(doomed);
      expect(standalone.status).toBe(200);
      const standaloneReader = sseReader(standalone);
      const arrived = slowForwarded(10_000);
      const inFlight = rpc(doomed, call('doomed-slow', 'ks__slow', { ms: 10_000 }));
      await arrived;
      const started = Date.now();
      const del = await fetch(gw.mcpUrl, { method: 'DELETE', headers: sessionHeaders(doomed) });
      expect(del.status).toBe(200);
      await del.text();
      // The session's open streams end with it: the standalone stream, and the POST still waiting for its answer.
      let last: Msg | undefined;
      do last = await standaloneReader.next(3_000);
      while (last?.method?.startsWith('notifications/'));
      expect(last).toBeUndefined();
      const cut = await inFlight;
      expect(cut.status).toBe(200);
      expect((await cut.text()).includes('"result"')).toBe(false);
      expect(Date.now() - started).toBeLessThan(3_000);
      await expectRpcError(await rpc(doomed, { jsonrpc: '2.0', id: 1, method: 'ping' }), 404, -32001);
      await expectRpcError(await openGet(doomed), 404, -32001);
      await expectRpcError(await fetch(gw.mcpUrl, { method: 'DELETE', headers: sessionHeaders(doomed) }), 404, -32001);
      // Other sessions are unaffected.
      const ok = await rpc(session, { jsonrpc: '2.0', id: 'still', method: 'ping' });
      expect((await messagesOf(ok))[0]).toMatchObject({ id: 'still', result: {} });
    });

    it('answers a method other than GET, POST and DELETE with 405', async () => {
      const res = await fetch(gw.mcpUrl, { method: 'PUT', headers: { 'content-type': 'application/json', ...sessionHeaders(session) }, body: '{}' });
      expect(res.status).toBe(405);
      await res.text();
    });
  });

  describe('real SDK clients', () => {
    it('the v1 SDK client lists tools, calls a plain tool and a tool with progress', async () => {
      const client: LegacyClient = await connectLegacy(gw.mcpUrl);
      try {
        expect(client.transport?.sessionId).toBeTruthy();
        const names = (await client.listTools()).tools.map((t) => t.name);
        expect(names).toEqual(expect.arrayContaining(['ks__echo', 'ks__add', 'ks__progress']));
        const plain = await client.callTool({ name: 'ks__add', arguments: { a: 20, b: 22 } });
        expect(textOf(plain)).toBe('42');
        const progress: { progress: number; total?: number }[] = [];
        const result = await client.callTool({ name: 'ks__progress', arguments: { steps: 3 } }, undefined, {
          onprogress: (p) => void progress.push({ progress: p.progress, total: p.total }),
        });
        expect(textOf(result)).toBe('progress done');
        expect(progress).toEqual([
          { progress: 1, total: 3 },
          { progress: 2, total: 3 },
          { progress: 3, total: 3 },
        ]);
      } finally {
        await client.close();
      }
    });

    it('the v2 SDK client (2025 era) lists tools, calls a plain tool and a tool with progress, and many calls at once', async () => {
      const client = new V2Client({ name: 'v2-legacy-era', version: '1.0.0' });
      const transport = new V2HttpTransport(new URL(gw.mcpUrl));
      await client.connect(transport);
      try {
        expect(client.getProtocolEra()).toBe('legacy');
        expect(transport.sessionId).toBeTruthy();
        const wire = tap(client.transport);
        const names = (await client.listTools()).tools.map((t) => t.name);
        expect(names).toEqual(expect.arrayContaining(['ks__echo', 'ks__add', 'ks__progress']));
        const plain = await client.callTool({ name: 'ks__echo', arguments: { text: 'v2 says hi' } });
        expect(textOf(plain)).toBe('v2 says hi');
        const progress: number[] = [];
        const result = await client.callTool({ name: 'ks__progress', arguments: { steps: 3 } }, { onprogress: (p) => void progress.push(p.progress) });
        expect(textOf(result)).toBe('progress done');
        expect(progress).toEqual([1, 2, 3]);
        // Concurrent calls on one session each get their own answer.
        const texts = Array.from({ length: 12 }, (_, i) => `concurrent ${i}`);
        const answers = await Promise.all(texts.map((text) => client.callTool({ name: 'ks__echo', arguments: { text } })));
        expect(answers.map(textOf)).toEqual(texts);
        expect(wire.received.every((m) => m.jsonrpc === '2.0')).toBe(true);
      } finally {
        await client.close();
      }
    });
  });
});

// ---------------------------------------------------------------------------
// Part C: the lean POST path to Streamable HTTP upstreams

/** An in-memory EventStore (per the SDK's interface): ordered, with stream lookup. */
class MemoryEventStore implements EventStore {
  private seq = 0;
  readonly events: { id: string; streamId: string; message: JSONRPCMessage }[] = [];

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}.${++this.seq}`;
    this.events.push({ id, streamId, message });
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.find((e) => e.id === eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const at = this.events.findIndex((e) => e.id === lastEventId);
    if (at === -1) throw new Error(`unknown event id ${lastEventId}`);
    const { streamId } = this.events[at]!;
    for (const e of this.events.slice(at + 1)) if (e.streamId === streamId) await send(e.id, e.message);
    return streamId;
  }
}

interface Exchange {
  method: string;
  path?: string;
  rpc?: string;
  headers: IncomingMessage['headers'];
  status?: number;
  contentType?: string;
}

interface HttpThing {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

/** A header's value among writeHead's arguments (an object, or a flat or paired array of raw headers). */
function headerIn(args: unknown[], name: string): string | undefined {
  for (const arg of args) {
    if (Array.isArray(arg)) {
      const flat = arg.flat() as unknown[];
      for (let i = 0; i + 1 < flat.length; i += 2) if (String(flat[i]).toLowerCase() === name) return String(flat[i + 1]);
    } else if (arg && typeof arg === 'object') {
      for (const [key, value] of Object.entries(arg)) if (key.toLowerCase() === name) return String(value);
    }
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.once('end', () => resolve(text));
    req.once('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

async function stop(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/**
 * A sessionful 2025-era MCP server built with the v2 SDK on
 * NodeStreamableHTTPServerTransport (one transport + McpServer per session),
 * like the `legacy` mode of test/fixtures/servers/http.mjs.
 */
async function startSdkUpstream(options: {
  name: string;
  tools: (server: McpServer) => void;
  enableJsonResponse?: boolean;
  eventStore?: () => EventStore;
  retryInterval?: number;
}): Promise<HttpThing> {
  const sessions = new Map<string, NodeStreamableHTTPServerTransport>();
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const text = req.method === 'POST' ? await readBody(req) : '';
      const body = text ? (JSON.parse(text) as Msg) : undefined;
      const exchange: Exchange = { method: req.method ?? '', rpc: body?.method, headers: req.headers };
      exchanges.push(exchange);
      // The SDK's node adapter passes its headers to writeHead (not setHeader): read them there.
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = ((...args: unknown[]) => {
        exchange.status = args[0] as number;
        exchange.contentType = headerIn(args.slice(1), 'content-type');
        return writeHead(...args);
      }) as ServerResponse['writeHead'];
      const sid = req.headers['mcp-session-id'];
      if (typeof sid === 'string') {
        const transport = sessions.get(sid);
        if (!transport)
          return void res
            .writeHead(404, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return transport.handleRequest(req, res, body);
      }
      if (req.method === 'POST' && body?.method === 'initialize') {
        const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, transport),
          enableJsonResponse: options.enableJsonResponse,
          eventStore: options.eventStore?.(),
          retryInterval: options.retryInterval,
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        const mcp = new McpServer({ name: options.name, version: '1.0.0' }, { capabilities: { tools: {} } });
        options.tools(mcp);
        await mcp.connect(transport);
        return transport.handleRequest(req, res, body);
      }
      // A 2025-era-only server: the gateway's 2026-07-28 probe gets 400 and falls back to initialize.
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: Session ID required' }, id: null }));
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  const url = await listen(server);
  return {
    url,
    exchanges,
    async close() {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      sessions.clear();
      await stop(server);
    },
  };
}

interface InterceptedCall {
  /** The request's path on the front. */
  path: string;
  id: string | number;
  name: string;
  args: Record<string, any>;
  progressToken?: string | number;
}

/**
 * A plain node:http front: every tools/call the `intercept` function claims
 * is answered by it (raw bytes); everything else is proxied to `target`.
 */
async function startFront(
  target: string,
  intercept: (call: InterceptedCall, res: ServerResponse) => boolean | Promise<boolean>,
  interceptGet: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): Promise<HttpThing & { calls: InterceptedCall[] }> {
  const exchanges: Exchange[] = [];
  const calls: InterceptedCall[] = [];
  const outgoing = new Set<http.ClientRequest>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const text = req.method === 'POST' ? await readBody(req) : '';
      let body: Msg | undefined;
      try {
        body = text ? (JSON.parse(text) as Msg) : undefined;
      } catch {
        body = undefined;
      }
      exchanges.push({ method: req.method ?? '', path: new URL(req.url ?? '/', 'http://front').pathname, rpc: body?.method, headers: req.headers });
      if (req.method === 'GET' && interceptGet(req, res)) return;
      if (body && !Array.isArray(body) && body.method === 'tools/call' && body.id !== undefined && body.id !== null) {
        const intercepted: InterceptedCall = {
          path: new URL(req.url ?? '/', 'http://front').pathname,
          id: body.id,
          name: String(body.params?.name),
          args: (body.params?.arguments ?? {}) as Record<string, any>,
          progressToken: body.params?._meta?.progressToken,
        };
        // Recorded before it is answered: the answer may reach the test before the front's handler returns.
        calls.push(intercepted);
        if (await intercept(intercepted, res)) return;
        calls.pop();
      }
      const up = http.request(target, { method: req.method, headers: { ...req.headers, host: new URL(target).host }, agent: false }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      outgoing.add(up);
      up.once('close', () => outgoing.delete(up));
      up.once('error', () => res.destroy());
      res.once('close', () => up.destroy());
      up.end(text);
    })().catch(() => res.destroy());
  });
  const url = await listen(server);
  return {
    url,
    exchanges,
    calls,
    async close() {
      for (const up of outgoing) up.destroy();
      await stop(server);
    },
  };
}

/** Writes `bytes` in pieces cut at `cuts` (byte offsets), a few ms apart, so they reach the reader as separate TCP reads. */
async function writeInPieces(res: ServerResponse, bytes: Buffer, cuts: number[]): Promise<void> {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let from = 0;
  for (const at of [...points, bytes.length]) {
    res.write(bytes.subarray(from, at));
    from = at;
    await sleep(3);
  }
}

const UNICODE = 'framed ✓ é 日本 🎉';
/** The SSE framings the `framed` front answers with (see its switch). */
const VARIANTS = ['crlf', 'cr', 'extras', 'bom'];

describe('upstream: the lean POST path (transport/lean-http.ts)', () => {
  let jsonUp: HttpThing;
  let resumable: HttpThing;
  let resumeStore: MemoryEventStore[];
  let closeSeen: boolean[];
  /** Tags of `resume__wait_for_cancel` calls whose request the upstream saw cancelled. */
  let cancelled: string[];
  /** Resolvers of `resume__wait_for_cancel` calls by tag, called when the call reaches the upstream's tool. */
  let waitingFor: Map<string, () => void>;
  let faultyBack: HttpThing;
  let faulty: HttpThing & { calls: InterceptedCall[] };
  let framedBack: HttpThing;
  let framed: HttpThing & { calls: InterceptedCall[] };
  let gw: RunningGateway;
  let client: LegacyClient;

  beforeAll(async () => {
    resumeStore = [];
    closeSeen = [];
    cancelled = [];
    waitingFor = new Map();
    const started = await Promise.allSettled([
      startSdkUpstream({
        name: 'json-upstream',
        enableJsonResponse: true,
        tools: (s) => {
          s.registerTool('add', { description: 'a + b', inputSchema: z.object({ a: z.number(), b: z.number() }) }, async ({ a, b }) => ({
            content: [{ type: 'text', text: String(a + b) }],
          }));
          s.registerTool('echo', { description: 'echo', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
            content: [{ type: 'text', text }],
            structuredContent: { text },
          }));
          s.registerTool('fail', { description: 'isError result' }, async () => ({ content: [{ type: 'text', text: 'nope' }], isError: true }));
        },
      }).then((u) => (jsonUp = u)),
      startSdkUpstream({
        name: 'resumable-upstream',
        retryInterval: 50,
        eventStore: () => {
          const store = new MemoryEventStore();
          resumeStore.push(store);
          return store;
        },
        tools: (s) => {
          s.registerTool(
            'drop_and_answer',
            {
              description: 'Close my own SSE stream, send progress while disconnected, answer after delayMs',
              inputSchema: z.object({ delayMs: z.number(), tag: z.string() }),
            },
            async ({ delayMs, tag }, ctx) => {
              const closeSSE = ctx.http?.closeSSE;
              closeSeen.push(typeof closeSSE === 'function');
              closeSSE?.();
              const progressToken = ctx.mcpReq._meta?.progressToken;
              if (progressToken !== undefined) {
                await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 1, message: 'while away' } });
              }
              await sleep(delayMs);
              return { content: [{ type: 'text', text: `resumed ${tag}` }] };
            },
          );
          s.registerTool('plain', { description: 'plain' }, async () => ({ content: [{ type: 'text', text: 'plain sse' }] }));
          s.registerTool('echo', { description: 'echo', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
            content: [{ type: 'text', text }],
          }));
          s.registerTool('sample', { description: 'Ask the client to sample', inputSchema: z.object({ prompt: z.string() }) }, async ({ prompt }, ctx) => {
            const sampled = await ctx.mcpReq.requestSampling(
              { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 20 },
              { signal: ctx.mcpReq.signal },
            );
            const blocks = Array.isArray(sampled.content) ? sampled.content : [sampled.content];
            return { content: [{ type: 'text', text: `sampled: ${blocks.map((b) => (b.type === 'text' ? b.text : b.type)).join('')}` }] };
          });
          s.registerTool(
            'wait_for_cancel',
            { description: 'Wait up to 5 s for the request to be cancelled', inputSchema: z.object({ tag: z.string() }) },
            async ({ tag }, ctx) => {
              const signal = ctx.mcpReq.signal;
              waitingFor.get(tag)?.();
              await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, 5_000);
                signal.addEventListener('abort', () => {
                  clearTimeout(timer);
                  cancelled.push(tag);
                  resolve();
                });
              });
              return { content: [{ type: 'text', text: 'not cancelled' }] };
            },
          );
        },
      }).then((u) => (resumable = u)),
      startSdkUpstream({
        name: 'faulty-back',
        tools: (s) => {
          s.registerTool('ok', { description: 'fine', inputSchema: z.object({ n: z.number() }) }, async ({ n }) => ({
            content: [{ type: 'text', text: `ok ${n}` }],
          }));
          s.registerTool('moved', { description: 'reached through a redirect' }, async () => ({
            content: [{ type: 'text', text: 'reached after the redirect' }],
          }));
          for (const name of ['boom500', 'vanish', 'cut', 'locked', 'ghost', 'hugeSse', 'hugeJson']) {
            s.registerTool(name, { description: `answered by the front (${name})` }, async () => ({
              content: [{ type: 'text', text: 'the SDK server should never see this' }],
            }));
          }
        },
      }).then((u) => (faultyBack = u)),
      startSdkUpstream({
        name: 'framed-back',
        tools: (s) => {
          s.registerTool('framed', { description: 'answered by the front', inputSchema: z.object({ variant: z.string() }) }, async () => ({
            content: [{ type: 'text', text: 'the SDK server should never see this' }],
          }));
          s.registerTool('plain', { description: 'plain' }, async () => ({ content: [{ type: 'text', text: 'plain via proxy' }] }));
        },
      }).then((u) => (framedBack = u)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;

    faulty = await startFront(
      faultyBack.url,
      async (call, res) => {
        switch (call.name) {
          case 'boom500':
            res.writeHead(500, { 'content-type': 'text/plain' }).end('internal kaboom');
            return true;
          case 'vanish':
            // An SSE answer that ends cleanly, without the answer and without any event id.
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
            res.write(': working on it\n\n');
            await sleep(20);
            res.end();
            return true;
          case 'moved':
            // A redirect (same origin) is not run by the upstream: the SDK's own path follows it.
            if (call.path !== '/mcp') return false;
            res.writeHead(307, { location: '/mcp-moved' }).end();
            return true;
          case 'locked':
            res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
            return true;
          case 'hugeSse':
          case 'hugeJson': {
            // An answer past the gateway's 10 MiB message limit, sent until the gateway hangs up.
            const filler = 'x'.repeat(1024 * 1024);
            const sse = call.name === 'hugeSse';
            res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json' });
            res.on('error', () => {});
            res.write(
              sse
                ? `event: message\ndata: {"jsonrpc":"2.0","id":${JSON.stringify(call.id)},"result":{"content":[{"type":"text","text":"`
                : `{"jsonrpc":"2.0","id":${JSON.stringify(call.id)},"result":{"content":[{"type":"text","text":"`,
            );
            for (let i = 0; i < 12 && !res.destroyed; i++) {
              if (!res.write(filler)) await new Promise((resume) => res.once('drain', resume).once('close', resume));
            }
            if (!res.destroyed) res.end(sse ? '"}]}}\n\n' : '"}]}}');
            return true;
          }
          case 'ghost':
            // A resumable-looking stream (an event id, retry 30 ms) that ends unanswered, from a server that cannot resume it.
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.write(`id: ghost-${String(call.id)}\nretry: 30\ndata: \n\n`);
            await sleep(20);
            res.end();
            return true;
          case 'cut':
            // An SSE answer cut off mid-event (the connection is reset), no event id.
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.write('event: message\ndata: {"jsonrpc":"2.0","id":');
            await sleep(20);
            res.socket?.destroy();
            return true;
          default:
            return false;
        }
      },
      (req, res) => {
        const last = req.headers['last-event-id'];
        if (typeof last !== 'string' || !last.startsWith('ghost-')) return false;
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Invalid event ID format' }, id: null }));
        return true;
      },
    );

    framed = await startFront(framedBack.url, async (call, res) => {
      if (call.name !== 'framed') return false;
      const result = JSON.stringify({
        jsonrpc: '2.0',
        id: call.id,
        result: { content: [{ type: 'text', text: `${UNICODE} (${String(call.args.variant)})` }] },
      });
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      // Cut between JSON members (never inside a string): the data lines are joined with LF, which is JSON whitespace.
      const split = (json: string, parts: number) => {
        const at = [json.indexOf(',"id":'), json.indexOf(',"result":')].slice(0, parts - 1);
        return [0, ...at].map((from, i, all) => json.slice(from, all[i + 1] ?? json.length));
      };
      let text: string;
      switch (call.args.variant) {
        case 'crlf': {
          // CRLF line ends, a comment, an empty event, `event: message`, data over several lines (one with no space after the colon).
          const [a, b, c] = split(result, 3);
          text = `: a comment line\r\n\r\n\r\nevent: message\r\ndata: ${a}\r\ndata:${b}\r\ndata: ${c}\r\n\r\n`;
          break;
        }
        case 'cr': {
          // Bare CR line ends (the third form the format allows), then a LF-terminated comment.
          const [a, b] = split(result, 2);
          text = `: cr comment\revent: message\rdata: ${a}\rdata: ${b}\r\r: trailing comment\n`;
          break;
        }
        case 'extras': {
          // A progress notification first, an event of another type (ignored), a retry field, then the answer.
          const progress = JSON.stringify({
            jsonrpc: '2.0',
            method: 'notifications/progress',
            params: { progressToken: call.progressToken, progress: 1, total: 2 },
          });
          text =
            `retry: 5000\n: keepalive\n\nevent: message\ndata: ${progress}\n\n` +
            `event: ping\ndata: this is not json and not a message\n\n` +
            `event: message\ndata: ${result}\n\n`;
          break;
        }
        case 'bom': {
          // A UTF-8 byte order mark before the first field (the format allows one; decoders strip it).
          text = `\uFEFFdata: ${result}\n\n`;
          break;
        }
        default:
          throw new Error(`unknown variant ${String(call.args.variant)}`);
      }
      const bytes = Buffer.from(text, 'utf8');
      // Cut between every CR and LF, inside multi-byte characters, inside field names, and every 23 bytes.
      const cuts: number[] = [];
      for (let i = 1; i < bytes.length; i++) if (bytes[i - 1] === 0x0d && bytes[i] === 0x0a) cuts.push(i);
      for (const ch of ['\uFEFF', '✓', '日', '🎉']) {
        const at = bytes.indexOf(Buffer.from(ch, 'utf8'));
        if (at !== -1) cuts.push(at + 1, at + 2);
      }
      for (let at = bytes.indexOf('data'); at !== -1; at = bytes.indexOf('data', at + 1)) cuts.push(at + 2);
      for (let i = 23; i < bytes.length; i += 23) cuts.push(i);
      await writeInPieces(res, bytes, cuts);
      res.end();
      return true;
    });

    gw = await startGateway({
      mcpServers: {
        jsonup: { type: 'http', url: jsonUp.url, headers: { 'X-Static-Header': 'static-value' } },
        resume: { type: 'http', url: resumable.url },
        faulty: { type: 'http', url: faulty.url },
        framed: { type: 'http', url: framed.url },
      },
      gateway: { requestTimeoutMs: 15_000, servers: { jsonup: { identityHeaders: { 'X-Caller-Id': 'id' } } } },
    });
    client = await connectLegacy(gw.mcpUrl);
  });

  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await Promise.allSettled([jsonUp?.close(), resumable?.close(), faulty?.close(), faultyBack?.close(), framed?.close(), framedBack?.close()]);
  });

  it('has every upstream ready on the Streamable HTTP wire', () => {
    for (const name of ['jsonup', 'resume', 'faulty', 'framed']) {
      const upstream = gw.gateway.upstreams.find((u) => u.name === name);
      expect({ name, state: upstream?.state, wire: upstream?.wire, error: upstream?.lastError }).toMatchObject({
        name,
        state: 'ready',
        wire: 'streamable-http',
      });
    }
  });

  describe('an upstream answering JSON (enableJsonResponse)', () => {
    it('returns the right results, one call at a time and many at once', async () => {
      const before = jsonUp.exchanges.length;
      expect(textOf(await client.callTool({ name: 'jsonup__add', arguments: { a: 1, b: 2 } }))).toBe('3');
      const echoed = await client.callTool({ name: 'jsonup__echo', arguments: { text: UNICODE } });
      expect(textOf(echoed)).toBe(UNICODE);
      expect(echoed.structuredContent).toEqual({ text: UNICODE });
      const failed = await client.callTool({ name: 'jsonup__fail', arguments: {} });
      expect(failed.isError).toBe(true);
      expect(textOf(failed)).toBe('nope');
      const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'jsonup__add', arguments: { a: i, b: 1000 } })));
      expect(sums.map(textOf)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1000)));
      // They really went as POSTs answered with application/json.
      const calls = jsonUp.exchanges.slice(before).filter((e) => e.rpc === 'tools/call');
      expect(calls).toHaveLength(23);
      for (const e of calls) expect({ status: e.status, type: e.contentType }).toEqual({ status: 200, type: expect.stringMatching(/^application\/json/) });
      // Each carried the session's headers, the configured static header and the caller's identity header.
      for (const e of calls) {
        expect(e.headers).toMatchObject({
          'mcp-session-id': expect.any(String),
          'mcp-protocol-version': expect.any(String),
          'x-static-header': 'static-value',
          'x-caller-id': 'anonymous',
          'content-type': 'application/json',
        });
        expect(e.headers.accept).toMatch(/application\/json/);
        expect(e.headers.accept).toMatch(/text\/event-stream/);
      }
    });

    it('carries a large multi-byte answer intact, as JSON and as SSE', async () => {
      const big = `${'日本語 ✓ 🎉 '.repeat(12_000)}end`;
      expect(textOf(await client.callTool({ name: 'jsonup__echo', arguments: { text: big } }))).toBe(big);
      expect(textOf(await client.callTool({ name: 'resume__echo', arguments: { text: big } }))).toBe(big);
    });
  });

  describe('an upstream that closes its SSE stream mid-call (event store, retry 50 ms)', () => {
    it.each([
      ['answers after the gateway has resumed', 300],
      ['answers before the gateway resumes (the answer is replayed)', 0],
    ])('the call still returns its result: %s', async (_what, delayMs) => {
      const tag = randomUUID().slice(0, 8);
      const before = resumable.exchanges.length;
      const progress: number[] = [];
      const started = Date.now();
      const result = await client.callTool({ name: 'resume__drop_and_answer', arguments: { delayMs, tag } }, undefined, {
        onprogress: (p) => void progress.push(p.progress),
      });
      expect(textOf(result)).toBe(`resumed ${tag}`);
      expect(Date.now() - started).toBeLessThan(5_000);
      // The tool really had a stream to close…
      expect(closeSeen.at(-1)).toBe(true);
      // …and the gateway came back for the rest with GET + Last-Event-ID (an id the upstream's store handed out).
      const resumes = resumable.exchanges.slice(before).filter((e) => e.method === 'GET' && e.headers['last-event-id']);
      expect(resumes.length).toBeGreaterThanOrEqual(1);
      const ids = new Set(resumeStore.flatMap((s) => s.events.map((e) => e.id)));
      for (const r of resumes) expect(ids.has(String(r.headers['last-event-id']))).toBe(true);
      // The progress sent while the stream was down was replayed and relayed.
      expect(progress).toEqual([1]);
    });

    it('keeps serving ordinary SSE calls on the same upstream', async () => {
      expect(textOf(await client.callTool({ name: 'resume__plain', arguments: {} }))).toBe('plain sse');
    });

    it('carries an upstream’s sampling request to the client and its answer back (a response POSTed on the lean path)', async () => {
      const sampler = await connectLegacy(gw.mcpUrl, { sampling: {} });
      try {
        const asked: string[] = [];
        sampler.setRequestHandler(CreateMessageRequestSchema, async (request) => {
          const content = request.params.messages[0]?.content;
          asked.push(content && 'text' in content ? String(content.text) : '?');
          return { role: 'assistant', content: { type: 'text', text: 'a sampled reply' }, model: 'test-model' };
        });
        const before = resumable.exchanges.length;
        const result = await sampler.callTool({ name: 'resume__sample', arguments: { prompt: 'please sample' } });
        expect(textOf(result)).toBe('sampled: a sampled reply');
        expect(asked).toEqual(['please sample']);
        // The answer to the upstream's request went up as a POST of a response, accepted with 202.
        const answers = resumable.exchanges.slice(before).filter((e) => e.method === 'POST' && e.rpc === undefined);
        expect(answers.map((e) => e.status)).toContain(202);
      } finally {
        await sampler.close();
      }
    });

    it('passes a client’s cancellation of a call in flight on to the upstream', async () => {
      const tag = randomUUID().slice(0, 8);
      const abort = new AbortController();
      const arrived = new Promise<void>((resolve) => waitingFor.set(tag, resolve));
      const pending = client.callTool({ name: 'resume__wait_for_cancel', arguments: { tag } }, undefined, { signal: abort.signal });
      await arrived;
      abort.abort('test cancels');
      await expect(pending).rejects.toThrow();
      // The cancellation travels on as a notification of its own: poll for the tool to have seen it.
      await vi.waitFor(() => expect(cancelled).toContain(tag), { timeout: 3_000, interval: 20 });
      expect(textOf(await client.callTool({ name: 'resume__plain', arguments: {} }))).toBe('plain sse');
    });
  });

  describe('an upstream whose answer is not a plain success', () => {
    const expectPromptFailure = async (name: string) => {
      const started = Date.now();
      const error = await client.callTool({ name, arguments: {} }).then(
        (result) => new Error(`expected a JSON-RPC error, got ${JSON.stringify(result)}`),
        (e: unknown) => e,
      );
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(-32010);
      expect((error as McpError).data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', server: 'faulty' });
      // At once, not at the 15 s request timeout (reading 10 MiB first takes seconds on a loaded 2-core machine).
      expect(elapsed).toBeLessThan(10_000);
      return error as McpError;
    };

    it('fails a call answered with HTTP 500 at once, and keeps serving other calls', async () => {
      const error = await expectPromptFailure('faulty__boom500');
      expect(error.message).toMatch(/kaboom|500/);
      expect(faulty.calls.some((c) => c.name === 'boom500')).toBe(true);
      // Same connection, next call: fine; and one in flight beside another 500.
      expect(textOf(await client.callTool({ name: 'faulty__ok', arguments: { n: 1 } }))).toBe('ok 1');
      const [boom, ok] = await Promise.allSettled([
        client.callTool({ name: 'faulty__boom500', arguments: {} }),
        client.callTool({ name: 'faulty__ok', arguments: { n: 2 } }),
      ]);
      expect(boom.status).toBe('rejected');
      expect(ok.status === 'fulfilled' && textOf(ok.value)).toBe('ok 2');
    });

    it('fails a call whose SSE stream ends without the answer and without event ids at once', async () => {
      await expectPromptFailure('faulty__vanish');
      expect(textOf(await client.callTool({ name: 'faulty__ok', arguments: { n: 3 } }))).toBe('ok 3');
    });

    it('fails a call whose SSE stream is cut off mid-event at once', async () => {
      await expectPromptFailure('faulty__cut');
      expect(textOf(await client.callTool({ name: 'faulty__ok', arguments: { n: 4 } }))).toBe('ok 4');
    });

    it.each(['hugeSse', 'hugeJson'])('fails a call whose answer is larger than 10 MiB (%s) at once, and keeps serving', async (name) => {
      await expectPromptFailure(`faulty__${name}`);
      expect(textOf(await client.callTool({ name: 'faulty__ok', arguments: { n: 7 } }))).toBe('ok 7');
    });

    it('hands a 307 answer back to the SDK transport, which follows it (same origin) to the result', async () => {
      const before = faulty.calls.length;
      const result = await client.callTool({ name: 'faulty__moved', arguments: {} });
      expect(textOf(result)).toBe('reached after the redirect');
      expect(faulty.calls.slice(before).filter((c) => c.name === 'moved').length).toBeGreaterThanOrEqual(1);
      expect(faulty.exchanges.some((e) => e.rpc === 'tools/call' && e.path === '/mcp-moved')).toBe(true);
    });

    it('hands a 401 answer back to the SDK transport: without sign-in the call fails at once, and the connection keeps serving', async () => {
      const started = Date.now();
      const error = await client.callTool({ name: 'faulty__locked', arguments: {} }).then(
        (result) => new Error(`expected a JSON-RPC error, got ${JSON.stringify(result)}`),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).data).toMatchObject({ server: 'faulty' });
      expect(Date.now() - started).toBeLessThan(3_000);
      // Handed back, not just failed: the SDK's own send asked again.
      expect(faulty.calls.filter((c) => c.name === 'locked').length).toBeGreaterThanOrEqual(2);
      expect(textOf(await client.callTool({ name: 'faulty__ok', arguments: { n: 5 } }))).toBe('ok 5');
    });

    it('fails a call whose stream ends unanswered after an event id, when resuming it is refused, within the bounded retries', async () => {
      const before = faulty.exchanges.length;
      const started = Date.now();
      const error = await client.callTool({ name: 'faulty__ghost', arguments: {} }).then(
        (result) => new Error(`expected a JSON-RPC error, got ${JSON.stringify(result)}`),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', server: 'faulty' });
      expect(Date.now() - started).toBeLessThan(5_000);
      // It did try to resume, with the id the stream gave.
      const resumes = faulty.exchanges.slice(before).filter((e) => e.method === 'GET' && String(e.headers['last-event-id']).startsWith('ghost-'));
      expect(resumes.length).toBeGreaterThanOrEqual(1);
      expect(textOf(await client.callTool({ name: 'faulty__ok', arguments: { n: 6 } }))).toBe('ok 6');
    });

    it('never let the intercepted calls reach the SDK server behind the front', () => {
      const reached = faultyBack.exchanges.filter((e) => e.rpc === 'tools/call').length;
      const ok = faulty.exchanges.filter((e) => e.rpc === 'tools/call').length - faulty.calls.length;
      expect(reached).toBe(ok);
    });
  });

  describe('an upstream with unusual but valid SSE framing, in many TCP writes', () => {
    it.each(VARIANTS)('returns the right result (%s)', async (variant) => {
      const before = framed.calls.length;
      const progress: number[] = [];
      const started = Date.now();
      const result = await client.callTool({ name: 'framed__framed', arguments: { variant } }, undefined, {
        onprogress: (p) => void progress.push(p.progress),
      });
      expect(textOf(result)).toBe(`${UNICODE} (${variant})`);
      expect(Date.now() - started).toBeLessThan(5_000);
      const intercepted = framed.calls.slice(before).filter((c) => c.args.variant === variant);
      expect(intercepted).toHaveLength(1);
      if (variant === 'extras') {
        expect(intercepted[0]!.progressToken).toBeDefined();
        expect(progress).toEqual([1]);
      }
    });

    it('(reference) the SDK’s own client transport, talking to the same front directly, reads every one of these framings', async () => {
      const direct = new V2Client({ name: 'direct-reference', version: '1.0.0' });
      await direct.connect(new V2HttpTransport(new URL(framed.url)));
      try {
        for (const variant of VARIANTS) {
          const result = await direct.callTool({ name: 'framed', arguments: { variant } });
          expect(textOf(result), variant).toBe(`${UNICODE} (${variant})`);
        }
      } finally {
        await direct.close();
      }
    });

    it('still proxies the other calls to the SDK server behind the front', async () => {
      expect(textOf(await client.callTool({ name: 'framed__plain', arguments: {} }))).toBe('plain via proxy');
    });
  });
});
