/**
 * SessionHttpTransport on its own, under a real SDK McpServer and a real
 * node:http server: a call still silent after the keep-alive interval is
 * switched from a pending JSON answer to an SSE stream that carries comments
 * and then the answer; a quick call stays JSON; closing the session ends a
 * call's stream.
 */
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/server';
import { SessionHttpTransport } from '../../../src/http/session-transport.js';

const ACCEPT = 'application/json, text/event-stream';
let server: Server;
let url: string;
let transport: SessionHttpTransport;
let session: string;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text ? JSON.parse(text) : undefined));
  });
}

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body: JSON.stringify(body) });

const inSession = () => ({ 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' });
const call = (id: number, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

beforeAll(async () => {
  const mcp = new McpServer({ name: 'unit', version: '1.0.0' }, { capabilities: { tools: {} } });
  mcp.registerTool('wait', { description: 'answers after ms', inputSchema: z.object({ ms: z.number() }) }, async ({ ms }) => {
    await sleep(ms);
    return { content: [{ type: 'text', text: `waited ${ms}` }] };
  });
  transport = new SessionHttpTransport({ newSessionId: () => 'unit-session', onSessionInitialized: () => {}, keepAliveMs: 50 });
  await mcp.connect(transport);
  server = http.createServer((req, res) => {
    void readJson(req).then((body) => transport.handleRequest(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'unit', version: '1' } },
  });
  expect(init.headers.get('content-type')).toMatch(/^application\/json/);
  session = init.headers.get('mcp-session-id')!;
  expect(session).toBe('unit-session');
  await init.json();
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, inSession())).status).toBe(202);
});

afterAll(async () => {
  await transport.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('SessionHttpTransport', () => {
  it('answers a quick call as application/json', async () => {
    const res = await post(call(1, 'wait', { ms: 0 }), inSession());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'waited 0' }] } });
  });

  it('switches a call silent past the keep-alive interval to SSE: comments first, then the answer', async () => {
    const res = await post(call(2, 'wait', { ms: 300 }), inSession());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('mcp-session-id')).toBe('unit-session');
    const text = await res.text();
    const keepAlives = text.split('\n').filter((line) => line === ': keepalive').length;
    expect(keepAlives).toBeGreaterThanOrEqual(2);
    const answer = text.indexOf('data: ');
    expect(answer).toBeGreaterThan(text.indexOf(': keepalive'));
    expect(JSON.parse(text.slice(answer + 6).split('\n')[0]!)).toMatchObject({ id: 2, result: { content: [{ text: 'waited 300' }] } });
  });

  it('ends the stream of a call in flight when the session closes', async () => {
    // The headers arrive once the silent call has been switched to SSE: from then on it is in flight on a stream.
    const res = await post(call(3, 'wait', { ms: 5_000 }), inSession());
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const started = Date.now();
    await transport.close();
    const text = await res.text();
    expect(text).not.toContain('data: ');
    expect(Date.now() - started).toBeLessThan(1_000);
    // Closed: a later request is told the session is gone.
    const after = await post(call(4, 'wait', { ms: 0 }), inSession());
    expect(after.status).toBe(404);
    expect(await after.json()).toMatchObject({ error: { code: -32001 } });
  });
});
