/**
 * Hostile upstreams and clients that stop reading, against the in-process
 * gateway with real clients (test/fixtures/servers/hostile.mjs upstream):
 *
 * - (a) 40 MB of stderr without a newline: the gateway holds a capped piece
 *   of the line, counts the cut, and serves other clients meanwhile;
 * - (c) 2,000 tools/list_changed in a burst: a couple of re-lists, not 2,000;
 * - (b) a client that never reads its call's stream while the upstream pours
 *   log messages into it: logs are dropped, the stream is closed once the
 *   bound is passed, the call is cancelled upstream, and the same session's
 *   other requests and other clients keep being served; the same for the
 *   HTTP+SSE session stream and a 2026-07-28 response (progress coalesced).
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioUpstreamTransport } from '../../src/upstream/transport/stdio.js';
import { MAX_STDERR_LINE_CHARS } from '../../src/upstream/transport/stderr-lines.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const HOSTILE = path.join(FIXTURES, 'hostile.mjs');

interface Stats {
  toolsListCalls: number;
  logsSent: number;
  progressSent: number;
  cancelled: number;
}

let gw: RunningGateway;
let client: Client;
let other: Client;

beforeAll(async () => {
  gw = await startGateway({ mcpServers: { hostile: nodeServer(HOSTILE), calm: nodeServer(HOSTILE, ['--name', 'calm']) } });
  [client, other] = await Promise.all([connectLegacy(gw.mcpUrl), connectLegacy(gw.mcpUrl)]);
});

afterAll(async () => {
  await Promise.allSettled([client?.close(), other?.close()]);
  await gw?.close();
});

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  textOf(await c.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }));
const stats = async (server = 'hostile'): Promise<Stats> => JSON.parse(await call(other, `${server}__stats`)) as Stats;

/** The stdio transport of an upstream's shared connection (its bounded stderr state is public). */
function stdioOf(name: string): StdioUpstreamTransport {
  const upstream = gw.gateway.upstreams.find((u) => u.name === name)!;
  // The wire's own transport, under the layers the client speaks through (transport/connect.ts).
  return (upstream as unknown as { connection: { connected: { base: StdioUpstreamTransport } } }).connection.connected.base;
}

/** Sum of one counter's samples whose labels include `labels`. */
async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Calls `calm__echo` from the other client until `done` settles; how many answered. */
async function servedMeanwhile(done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let answered = 0;
  while (!finished) {
    expect(await call(other, 'calm__echo', { text: `n${answered}` })).toBe(`n${answered}`);
    answered++;
  }
  return answered;
}

describe('(a) an upstream flooding stderr', () => {
  it('holds a capped piece of a 40 MB line without a newline, counts the cut, and keeps serving others', async () => {
    const before = await counter('switchboard_upstream_stderr_truncated_total', { server: 'hostile' });
    const flood = call(client, 'hostile__stderr_flood', { megabytes: 40, separator: 'none' });
    const answered = await servedMeanwhile(flood);
    expect(await flood).toBe(`flooded ${40 * 1024 * 1024}`);
    expect(answered).toBeGreaterThan(0);
    const state = stdioOf('hostile').stderrState;
    expect(state.partialChars).toBeLessThanOrEqual(MAX_STDERR_LINE_CHARS);
    expect(state.truncatedLines).toBeGreaterThanOrEqual(1);
    expect(await counter('switchboard_upstream_stderr_truncated_total', { server: 'hostile' })).toBe(before + 1);
  }, 90_000);

  it('takes \\r as a line end: a progress bar leaves nothing pending and its last redraw in the tail', async () => {
    expect(await call(client, 'hostile__stderr_flood', { megabytes: 2, separator: 'cr' })).toBe(`flooded ${2 * 1024 * 1024}`);
    // The chunk that ends the flood may still be on its way through the pipe when the answer arrives.
    const transport = await eventually(
      () => stdioOf('hostile'),
      (t) => t.stderrState.partialChars < 100,
    );
    expect(transport.recentStderr.split('\n').at(-1)).toMatch(/^downloading layer \d+: #*$/);
  });
});

describe('(c) a burst of list_changed', () => {
  it('re-lists a couple of times for 2,000 tools/list_changed, not 2,000', async () => {
    const upstream = gw.gateway.upstreams.find((u) => u.name === 'hostile')!;
    let refreshed = 0;
    const onLists = () => void refreshed++;
    upstream.on('lists', onLists);
    const before = (await stats()).toolsListCalls;
    expect(await call(client, 'hostile__list_changed_burst', { count: 2_000 })).toBe('sent 2000');
    // Settled: a refresh happened, and two readings in a row agree (the one queued behind it has run too).
    let last = -1;
    const settled = await eventually(
      async () => {
        const seen = last;
        last = (await stats()).toolsListCalls - before;
        return { seen, now: last };
      },
      ({ seen, now }) => now >= 1 && now === seen && refreshed === now,
    );
    upstream.off('lists', onLists);
    console.log(`[buffers] 2,000 list_changed → ${settled.now} re-lists`);
    // One in flight and one queued at a time, each 25 ms after it was asked for: 1-2 for a burst the gateway reads in
    // well under 50 ms, one more on a machine slow enough to take longer.
    expect(settled.now).toBeLessThanOrEqual(3);
    expect(gw.gateway.catalog.resolveTool('hostile__stats')).toBeDefined();
  });
});

/** A POST whose response is never read: its body backs up into the gateway. */
function unreadPost(url: string, headers: Record<string, string>, body: unknown): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'POST', headers, agent: false },
      (res) => {
        res.pause();
        res.on('error', () => {}); // the gateway resets the stream it gives up on
        resolve(res);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Once the gateway gave up on it, a reader that resumes learns the stream was cut short (reset, not ended). */
function outcomeWhenRead(res: http.IncomingMessage): Promise<'end' | 'cut'> {
  return new Promise((resolve) => {
    res.once('end', () => resolve('end'));
    res.once('error', () => resolve('cut'));
    res.once('aborted', () => resolve('cut'));
    res.resume();
  });
}

const ACCEPT = 'application/json, text/event-stream';
const VERSION = '2025-11-25';
const rpc = (id: number, method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method, params });
const flood = (id: number, tool: string, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
  rpc(id, 'tools/call', { name: tool, arguments: args, ...(meta && { _meta: meta }) });

describe('(b) a client that stops reading its stream', () => {
  it('Streamable HTTP: the call stream is closed past the bound, the call is cancelled upstream, the session and others go on', async () => {
    const closedBefore = await counter('switchboard_stream_closed_slow_total');
    const droppedBefore = await counter('switchboard_stream_dropped_messages_total', { kind: 'log' });
    const cancelledBefore = (await stats()).cancelled;
    // A session of its own, opened by hand.
    const init = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { accept: ACCEPT, 'content-type': 'application/json' },
      body: JSON.stringify(rpc(0, 'initialize', { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'slow', version: '1' } })),
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const headers = { accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': session, 'mcp-protocol-version': VERSION };
    expect((await fetch(gw.mcpUrl, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status).toBe(
      202,
    );

    // 20,000 logs of 4 KiB (80 MiB) into a stream nobody reads.
    const res = await unreadPost(gw.mcpUrl, headers, flood(1, 'hostile__log_flood', { count: 20_000, bytes: 4_096 }));
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    await eventually(
      () => counter('switchboard_stream_closed_slow_total'),
      (n) => n === closedBefore + 1,
      30_000,
    );
    expect(await counter('switchboard_stream_dropped_messages_total', { kind: 'log' })).toBeGreaterThan(droppedBefore);
    expect(await outcomeWhenRead(res)).toBe('cut');

    // The call ended upstream long before its 20,000 logs: it was cancelled.
    const after = await eventually(
      () => stats(),
      (s) => s.cancelled === cancelledBefore + 1,
      15_000,
    );
    expect(after.logsSent).toBeLessThan(20_000);
    // The same session's next request, and another client, are served.
    const next = await fetch(gw.mcpUrl, { method: 'POST', headers, body: JSON.stringify(flood(2, 'calm__echo', { text: 'same session' })) });
    expect(next.status).toBe(200);
    expect(JSON.stringify(await next.json())).toContain('same session');
    expect(await call(other, 'calm__echo', { text: 'other client' })).toBe('other client');
  }, 60_000);

  it('HTTP+SSE (2024-11-05): the session stream is closed past the bound, and the session with it', async () => {
    const closedBefore = await counter('switchboard_stream_closed_slow_total');
    const sse = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${gw.url}/sse`, { headers: { accept: 'text/event-stream' }, agent: false }, resolve).on('error', reject);
    });
    sse.on('error', () => {});
    // Read up to the endpoint event (the session id), then never again.
    const endpoint = await new Promise<string>((resolve) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const match = /event: endpoint\ndata: (\S+)\n\n/.exec(text);
        if (!match) return;
        sse.off('data', onData);
        sse.pause();
        resolve(match[1]!);
      };
      sse.on('data', onData);
    });
    const messages = new URL(endpoint, gw.url).href;
    const sessionId = new URL(messages).searchParams.get('sessionId')!;
    const post = (body: unknown) => fetch(messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(rpc(0, 'initialize', { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'slow-sse', version: '1' } }))).status).toBe(
      202,
    );
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    expect((await post(flood(1, 'hostile__log_flood', { count: 20_000, bytes: 4_096 }))).status).toBe(202);

    await eventually(
      () => counter('switchboard_stream_closed_slow_total'),
      (n) => n === closedBefore + 1,
      30_000,
    );
    await eventually(
      () => gw.gateway.hub.sessions.get(sessionId),
      (s) => s === undefined,
    );
    expect(await outcomeWhenRead(sse)).toBe('cut');
    expect(await call(other, 'calm__echo', { text: 'still served' })).toBe('still served');
  }, 60_000);

  it('2026-07-28: progress is coalesced, the response is closed past the bound, and the call is cancelled upstream', async () => {
    const closedBefore = await counter('switchboard_stream_closed_slow_total');
    const coalescedBefore = await counter('switchboard_stream_dropped_messages_total', { kind: 'progress' });
    const cancelledBefore = (await stats()).cancelled;
    const tool = 'hostile__progress_flood';
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'slow-modern', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const headers = { accept: ACCEPT, 'content-type': 'application/json', 'mcp-method': 'tools/call', 'mcp-name': tool, 'mcp-protocol-version': '2026-07-28' };
    const res = await unreadPost(gw.mcpUrl, headers, flood(1, tool, { count: 20_000, bytes: 4_096 }, { ...envelope, progressToken: 'p1' }));
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    await eventually(
      () => counter('switchboard_stream_closed_slow_total'),
      (n) => n === closedBefore + 1,
      30_000,
    );
    expect(await counter('switchboard_stream_dropped_messages_total', { kind: 'progress' })).toBeGreaterThan(coalescedBefore);
    expect(await outcomeWhenRead(res)).toBe('cut');
    const after = await eventually(
      () => stats(),
      (s) => s.cancelled === cancelledBefore + 1,
      15_000,
    );
    expect(after.progressSent).toBeLessThan(20_000);
    expect(await call(other, 'calm__echo', { text: 'served' })).toBe('served');
  }, 60_000);
});
