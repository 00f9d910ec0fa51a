/**
 * The lean POST path as a layer around the SDK's Streamable HTTP transport:
 *
 * - the SDK still has every unpublished member the layer relies on, and
 *   they still behave as relied upon (if an SDK release renames one, the
 *   layer quietly sends everything the SDK's way: this fails instead);
 * - on a real Streamable HTTP upstream, the client speaks through the layers
 *   in their stated order, the calls go the lean way (counted), the
 *   handshake the SDK's, and the SDK transport is never patched;
 * - a lean stream's `retry` interval sets the delay of its resumption.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { parseConfig } from '../../../../src/config/load.js';
import { UpstreamCaches } from '../../../../src/upstream/caches.js';
import { connectUpstream, disconnectUpstream, type ConnectedClient } from '../../../../src/upstream/transport/connect.js';
import { DirectRequests } from '../../../../src/upstream/transport/direct-requests.js';
import { layersOf } from '../../../../src/upstream/transport/layer.js';
import { LeanHttpTransport, SDK_PRIVATE_MEMBERS, leanHttpTransport, sdkSupportsLean } from '../../../../src/upstream/transport/lean-http.js';
import { NotificationOrder } from '../../../../src/upstream/transport/notification-order.js';
import { StreamEndGuard } from '../../../../src/upstream/transport/stream-end.js';
import { startHttpFixtureInProcess, type InProcessHttpFixture } from '../../../helpers/stress.js';

describe('the SDK members the lean path relies on', () => {
  it.each(SDK_PRIVATE_MEMBERS)('StreamableHTTPClientTransport still has %s', (member) => {
    expect(typeof (StreamableHTTPClientTransport.prototype as unknown as Record<string, unknown>)[member]).toBe('function');
  });

  it('are all there, so the lean path is switched on', () => {
    expect(sdkSupportsLean(new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp')))).toBe(true);
  });

  it('_scheduleReconnection(options, attempt) resumes through the public reconnectionScheduler with a GET and Last-Event-ID', async () => {
    const requests: { method?: string; lastEventId: string | null }[] = [];
    const scheduled: { delay: number; attempt: number }[] = [];
    let reconnect: (() => void) | undefined;
    const sdk = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'), {
      fetch: async (_url, init) => {
        requests.push({ method: init?.method, lastEventId: new Headers(init?.headers).get('last-event-id') });
        return new Response('data: \n\n', { status: 200, headers: { 'content-type': 'text/event-stream' } });
      },
      reconnectionScheduler: (run, delay, attempt) => {
        scheduled.push({ delay, attempt });
        reconnect = run;
      },
    });
    await sdk.start();
    const internals = sdk as unknown as { _scheduleReconnection(options: Record<string, unknown>, attempt: number): void };
    internals._scheduleReconnection({ resumptionToken: 'event-7' }, 0);
    expect(scheduled).toEqual([{ delay: expect.any(Number), attempt: 0 }]);
    reconnect!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(requests).toEqual([{ method: 'GET', lastEventId: 'event-7' }]);
    // Past its retries it ends the request's stream: what lets the StreamEndGuard fail the call at once.
    let ended = false;
    internals._scheduleReconnection({ resumptionToken: 'event-8', onRequestStreamEnd: () => (ended = true) }, 99);
    expect(ended).toBe(true);
    await sdk.close();
  });
});

describe('a real Streamable HTTP upstream (the kitchen-sink fixture, 2025-era sessions only)', () => {
  let fixture: InProcessHttpFixture;
  let connected: ConnectedClient;

  beforeAll(async () => {
    // 2025-era only: the gateway's 2026-07-28 probe is refused, and calls go as plain 2025-era POSTs (the lean path's kind).
    fixture = await startHttpFixtureInProcess('legacy');
    const config = parseConfig({ mcpServers: { ks: { type: 'http', url: fixture.url } } }, '<inline>').servers[0]!;
    const makeClient = (negotiate: boolean) => new Client({ name: 'test', version: '1' }, { versionNegotiation: negotiate ? { mode: 'auto' } : undefined });
    connected = await connectUpstream({ config, makeClient, timeoutMs: 10_000, caches: new UpstreamCaches() });
  });

  afterAll(async () => {
    if (connected) await disconnectUpstream(connected);
    await fixture?.close();
  });

  it('puts the client on the layers in their stated order, around the SDK transport it never patches', () => {
    const layers = layersOf(connected.transport);
    expect(layers.map((t) => t.constructor)).toEqual([DirectRequests, NotificationOrder, StreamEndGuard, LeanHttpTransport, StreamableHTTPClientTransport]);
    expect(connected.direct).toBe(layers[0]);
    expect(connected.base).toBe(layers.at(-1));
    for (const member of ['send', 'close', 'start']) expect(Object.hasOwn(connected.base, member)).toBe(false);
  });

  it('sends the calls the lean way, and left the handshake to the SDK', async () => {
    const lean = layersOf(connected.transport).find((t): t is LeanHttpTransport => t instanceof LeanHttpTransport)!;
    const handshake = { ...lean.sent };
    expect(handshake.lean).toBe(0);
    expect(handshake.sdk).toBeGreaterThanOrEqual(1);
    const result = await connected.client.callTool({ name: 'echo', arguments: { text: 'through the lean path' } });
    expect(result.structuredContent).toEqual({ text: 'through the lean path' });
    await connected.client.listTools();
    expect(lean.sent.lean).toBe(handshake.lean + 2);
    expect(lean.sent.sdk).toBe(handshake.sdk);
  });
});

describe('a lean stream that ends unanswered after an event id', () => {
  let server: http.Server;
  let url: URL;
  const gets: { at: number; lastEventId?: string }[] = [];
  let postedAt = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.method === 'GET') {
        gets.push({ at: Date.now(), lastEventId: req.headers['last-event-id'] as string | undefined });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.end(`id: e2\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { resumed: true } })}\n\n`);
      }
      postedAt = Date.now();
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('id: e1\nretry: 40\ndata: \n\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is resumed by the SDK after the server’s retry interval (not the SDK’s own first delay of a second)', async () => {
    const caches = new UpstreamCaches();
    const lean = leanHttpTransport({ url, headers: {}, identityHeaders: {}, keepAlive: caches.keepAlive }, { fetch: caches.keepAlive.fetch });
    const received: JSONRPCMessage[] = [];
    lean.onmessage = (message) => void received.push(message);
    await lean.start();
    lean.engage();
    await lean.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(lean.sent).toEqual({ lean: 1, sdk: 0 });
    expect(received).toEqual([{ jsonrpc: '2.0', id: 1, result: { resumed: true } }]);
    expect(gets).toHaveLength(1);
    expect(gets[0]!.lastEventId).toBe('e1');
    expect(gets[0]!.at - postedAt).toBeGreaterThanOrEqual(30);
    expect(gets[0]!.at - postedAt).toBeLessThan(800);
    await lean.close();
    caches.close();
  });
});
