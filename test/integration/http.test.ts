/**
 * The HTTP front: both eras on /mcp, legacy HTTP+SSE, health endpoints, and
 * hostile or malformed input answered with the right status and JSON-RPC
 * error while other sessions keep working.
 */
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as LegacySseTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { connectLegacy, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
let bystander: LegacyClient;

const ACCEPT = 'application/json, text/event-stream';
const initialize = (id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(gw.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Opens a raw session and returns its id. */
async function openSession(): Promise<string> {
  const res = await post(initialize());
  expect(res.status).toBe(200);
  await res.text();
  const id = res.headers.get('mcp-session-id')!;
  const ack = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
  expect(ack.status).toBe(202);
  return id;
}

beforeAll(async () => {
  gw = await startGateway({
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: { maxBodyBytes: 64 * 1024 },
  });
  bystander = await connectLegacy(gw.mcpUrl);
});

afterAll(async () => {
  await bystander?.close();
  await gw?.close();
});

describe('health', () => {
  it('/healthz says alive and /readyz reports each upstream', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { upstreams: Record<string, { state: string; tools: number }> };
    expect(body.upstreams.ks).toMatchObject({ state: 'ready' });
    expect(body.upstreams.ks!.tools).toBeGreaterThan(5);
  });
});

describe('both protocol eras and the legacy SSE transport', () => {
  it('serves a 2026-07-28 client statelessly', async () => {
    const client = new Client({ name: 'modern', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      const result = await client.callTool({ name: 'ks__echo', arguments: { text: 'modern hello' } });
      expect(result.structuredContent).toEqual({ text: 'modern hello' });
    } finally {
      await client.close();
    }
  });

  it('serves a 2025-era client over GET /sse + POST /messages', async () => {
    const client = new LegacyClient({ name: 'sse', version: '1' });
    await client.connect(new LegacySseTransport(new URL(`${gw.url}/sse`)));
    try {
      const result = await client.callTool({ name: 'ks__echo', arguments: { text: 'over sse' } });
      expect(result.content).toEqual([{ type: 'text', text: 'over sse' }]);
    } finally {
      await client.close();
    }
  });
});

describe('hostile and malformed input', () => {
  it('rejects a foreign Origin with 403', async () => {
    const res = await post(initialize(), { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32600);
  });

  it('rejects a foreign Host with 403 (DNS rebinding)', async () => {
    // fetch may not set Host; node:http can.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(gw.mcpUrl, { method: 'POST', headers: { host: 'evil.example:8080', 'content-type': 'application/json', accept: ACCEPT } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify(initialize()));
    });
    expect(status).toBe(403);
  });

  it('accepts a loopback Origin', async () => {
    const res = await post(initialize(), { origin: 'http://localhost:3000' });
    expect(res.status).toBe(200);
    await res.text();
  });

  it('answers malformed JSON with 400 and -32700', async () => {
    const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('answers an oversized body with 413', async () => {
    const res = await post({ ...initialize(), padding: 'x'.repeat(100 * 1024) });
    expect(res.status).toBe(413);
  });

  it('answers an unknown session id with 404 and -32001', async () => {
    const res = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': 'no-such-session' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32001);
  });

  it('answers a request without a session with 400', async () => {
    const res = await fetch(gw.mcpUrl, { method: 'GET', headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(400);
  });

  it('answers an unknown method with -32601 inside a session', async () => {
    const id = await openSession();
    const res = await post({ jsonrpc: '2.0', id: 5, method: 'no/such/method' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
    expect(await res.text()).toContain('-32601');
  });

  it('forgets a session after DELETE', async () => {
    const id = await openSession();
    const del = await fetch(gw.mcpUrl, { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } });
    expect(del.status).toBe(200);
    const after = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
    expect(after.status).toBe(404);
  });

  it('keeps serving other sessions throughout', async () => {
    const result = await bystander.callTool({ name: 'ks__echo', arguments: { text: 'still here' } });
    expect(result.content).toEqual([{ type: 'text', text: 'still here' }]);
  });
});
