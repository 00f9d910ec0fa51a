/**
 * gateway.limits through real HTTP with API keys: a key at its session cap
 * trades its oldest idle session for a new one (the old one's next request
 * gets 404) and is refused with 429 + Retry-After + TOO_MANY_SESSIONS when
 * every session has a call in flight; other keys are unaffected; GET /sse
 * and profile endpoints count against the same caps; at the gateway's cap
 * only the heaviest holder gives way, else 503. Oversized clientInfo is
 * trimmed. With isolation "session", one key's idle sessions cannot hold
 * every child at maxProcesses.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as LegacySseTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const ACCEPT = 'application/json, text/event-stream';
const VERSION = { 'mcp-protocol-version': '2025-11-25' };
const KEYS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'] as const;
type Key = (typeof KEYS)[number];
const secret = (key: Key) => `${key}-secret-key`;
const auth = (key: Key) => ({ authorization: `Bearer ${secret(key)}` });
const apiKeys = KEYS.map((id) => ({ id, sha256: hashKey(secret(id)), scopes: [], groups: [] }));
const STDIO = nodeServer(path.join(FIXTURES, 'stdio.mjs'));

interface RpcError {
  error: { code: number; data: { code: string; reason?: string } };
}

function initialize(url: string, key: Key, clientInfo: Record<string, unknown> = { name: 'raw', version: '1' }): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...auth(key) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo } }),
  });
}

/** Opens a raw Streamable HTTP session and returns its id. */
async function openSession(url: string, key: Key): Promise<string> {
  const res = await initialize(url, key);
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get('mcp-session-id')!;
}

/** A session's tools/list, for its HTTP status. */
async function listStatus(url: string, key: Key, session: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-session-id': session, ...VERSION, ...auth(key) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  await res.text();
  return res.status;
}

/** A refusal: its status, Retry-After and JSON-RPC error (none when it was not refused: an SSE stream is not read). */
async function refusalOf(res: Response): Promise<{ status: number; retryAfter: string | null; error?: RpcError['error'] }> {
  if (res.ok) await res.body?.cancel();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), error: res.ok ? undefined : ((await res.json()) as RpcError).error };
}

/** A raw GET /sse session: its id, and a promise that settles when the gateway ends its stream. */
async function openSse(base: string, key: Key): Promise<{ id: string; ended: Promise<void>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream', ...auth(key) }, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/sessionId=[^\s&]+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error('SSE stream ended before its endpoint event');
    text += decoder.decode(value, { stream: true });
  }
  const ended = (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return { id: /sessionId=([^\s&]+)/.exec(text)![1]!, ended, close: () => controller.abort() };
}

/** A v1 client of `key` (Streamable HTTP or SSE) with a tools/call in flight until the returned stop is called. */
async function busyClient(url: string, key: Key, transport: 'http' | 'sse' = 'http'): Promise<{ client: LegacyClient; stop(): Promise<void> }> {
  const client = new LegacyClient({ name: 'busy', version: '1' });
  const requestInit = { headers: auth(key) };
  await client.connect(transport === 'http' ? new LegacyHttpTransport(new URL(url), { requestInit }) : new LegacySseTransport(new URL(url), { requestInit }));
  const controller = new AbortController();
  let started!: () => void;
  const inFlight = new Promise<void>((resolve) => (started = resolve));
  // The first progress notification proves the call is in flight at the gateway.
  const call = client
    .callTool({ name: 'ks__progress', arguments: { steps: 1000 } }, undefined, { signal: controller.signal, onprogress: () => started() })
    .catch(() => {});
  await inFlight;
  return {
    client,
    stop: async () => {
      controller.abort();
      await call;
      await client.close();
    },
  };
}

/** How many sessions the principal that holds session `id` has open (read without touching the session). */
function sessionsOfHolder(gw: RunningGateway, id: string): number {
  const registry = gw.gateway.hub.sessions;
  const holder = registry.all().find((s) => s.info.id === id)?.principal.id;
  return holder === undefined ? 0 : registry.countOf(holder);
}

async function metric(gw: RunningGateway, name: string, reason: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('gateway.limits.maxSessionsPerPrincipal', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway({
      mcpServers: { ks: STDIO },
      gateway: { auth: { apiKeys }, limits: { maxSessionsPerPrincipal: 2 }, profiles: { p: { servers: ['ks'] } } },
    });
  });
  afterAll(async () => gw?.close());

  it("closes the key's oldest idle session for a new one; that session's next request gets 404", async () => {
    const before = await metric(gw, 'switchboard_sessions_evicted_total', 'principal');
    const first = await openSession(gw.mcpUrl, 'alice');
    const second = await openSession(gw.mcpUrl, 'alice');
    const third = await openSession(gw.mcpUrl, 'alice');
    expect(await listStatus(gw.mcpUrl, 'alice', first)).toBe(404);
    expect(await listStatus(gw.mcpUrl, 'alice', second)).toBe(200);
    expect(await listStatus(gw.mcpUrl, 'alice', third)).toBe(200);
    expect(sessionsOfHolder(gw, third)).toBe(2);
    expect(await metric(gw, 'switchboard_sessions_evicted_total', 'principal')).toBe(before + 1);
  });

  it('refuses with 429, Retry-After and TOO_MANY_SESSIONS when every session of the key is busy; another key is unaffected', async () => {
    const busy = [await busyClient(gw.mcpUrl, 'bob'), await busyClient(gw.mcpUrl, 'bob')];
    try {
      const before = await metric(gw, 'switchboard_sessions_refused_total', 'principal');
      const open = gw.gateway.hub.sessions.size;
      const refused = await refusalOf(await initialize(gw.mcpUrl, 'bob'));
      expect(refused).toMatchObject({ status: 429, retryAfter: '5', error: { code: -32007, data: { code: 'TOO_MANY_SESSIONS', reason: 'principal' } } });
      expect(await metric(gw, 'switchboard_sessions_refused_total', 'principal')).toBe(before + 1);
      const other = await openSession(gw.mcpUrl, 'carol');
      expect(await listStatus(gw.mcpUrl, 'carol', other)).toBe(200);
      // Nobody lost a session for the refused one; carol's is the only new one.
      expect(gw.gateway.hub.sessions.size).toBe(open + 1);
      expect(sessionsOfHolder(gw, (busy[0]!.client.transport as LegacyHttpTransport).sessionId!)).toBe(2);
    } finally {
      await Promise.all(busy.map((b) => b.stop()));
    }
  });

  it('counts sessions of every endpoint together: a profile session displaces the oldest on /mcp', async () => {
    const main = await openSession(gw.mcpUrl, 'dave');
    const profileUrl = `${gw.url}/mcp/p`;
    const onProfile = await openSession(profileUrl, 'dave');
    const again = await openSession(profileUrl, 'dave');
    expect(await listStatus(gw.mcpUrl, 'dave', main)).toBe(404);
    expect(await listStatus(profileUrl, 'dave', onProfile)).toBe(200);
    expect(await listStatus(profileUrl, 'dave', again)).toBe(200);
  });

  it('GET /sse obeys the same cap: it displaces the oldest idle session', async () => {
    const sse = await openSse(gw.url, 'erin');
    const http = await openSession(gw.mcpUrl, 'erin');
    const newer = await openSse(gw.url, 'erin');
    try {
      // The displaced SSE session's POSTs are unknown, and its stream ends.
      const post = await fetch(`${gw.url}/messages?sessionId=${sse.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth('erin') },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      expect(post.status).toBe(404);
      await sse.ended;
      expect(await listStatus(gw.mcpUrl, 'erin', http)).toBe(200);
    } finally {
      newer.close();
    }
  });

  it('GET /sse is refused with 429, Retry-After and TOO_MANY_SESSIONS when every session of the key is busy', async () => {
    const busy = [await busyClient(`${gw.url}/sse`, 'frank', 'sse'), await busyClient(`${gw.url}/sse`, 'frank', 'sse')];
    try {
      const open = gw.gateway.hub.sessions.size;
      const refused = await refusalOf(await fetch(`${gw.url}/sse`, { headers: { accept: 'text/event-stream', ...auth('frank') } }));
      expect(refused).toMatchObject({ status: 429, retryAfter: '5', error: { code: -32007, data: { code: 'TOO_MANY_SESSIONS', reason: 'principal' } } });
      expect(gw.gateway.hub.sessions.size).toBe(open);
    } finally {
      await Promise.all(busy.map((b) => b.stop()));
    }
  });
});

describe('gateway.limits.maxSessions', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway({ mcpServers: { ks: STDIO }, gateway: { auth: { apiKeys }, limits: { maxSessions: 3, maxSessionsPerPrincipal: 3 } } });
  });
  afterAll(async () => gw?.close());

  it('takes an idle session only from a holder with at least two more than the caller, else refuses with 503', async () => {
    const [a1, a2, a3] = [await openSession(gw.mcpUrl, 'alice'), await openSession(gw.mcpUrl, 'alice'), await openSession(gw.mcpUrl, 'alice')];
    // Full. bob holds none and alice three: alice's oldest gives way.
    const b1 = await openSession(gw.mcpUrl, 'bob');
    expect(await listStatus(gw.mcpUrl, 'alice', a1)).toBe(404);
    // alice two, bob one: carol (none) takes alice's next oldest.
    const c1 = await openSession(gw.mcpUrl, 'carol');
    expect(await listStatus(gw.mcpUrl, 'alice', a2)).toBe(404);
    expect(await metric(gw, 'switchboard_sessions_evicted_total', 'gateway')).toBe(2);

    // One each: nobody holds two more than dave, so dave is refused and nobody loses a session.
    const refused = await refusalOf(await initialize(gw.mcpUrl, 'dave'));
    expect(refused).toMatchObject({ status: 503, retryAfter: '5', error: { code: -32007, data: { code: 'TOO_MANY_SESSIONS', reason: 'gateway' } } });
    expect(await metric(gw, 'switchboard_sessions_refused_total', 'gateway')).toBe(1);
    for (const [key, id] of [
      ['alice', a3],
      ['bob', b1],
      ['carol', c1],
    ] as const)
      expect(await listStatus(gw.mcpUrl, key, id)).toBe(200);

    // A caller may always trade its own idle session.
    const a4 = await openSession(gw.mcpUrl, 'alice');
    expect(await listStatus(gw.mcpUrl, 'alice', a3)).toBe(404);
    expect(await listStatus(gw.mcpUrl, 'alice', a4)).toBe(200);
  });
});

describe('clientInfo', () => {
  let gw: RunningGateway;
  const padded = (name: string) => ({
    name,
    version: '1.0.0',
    title: 'Padded',
    description: 'x'.repeat(2048),
    websiteUrl: `https://example.com/${'y'.repeat(2048)}`,
  });
  const stored = (name: string) =>
    gw.gateway.hub.sessions
      .all()
      .map((s) => s.server.getClientVersion())
      .find((info) => info?.name === name);

  beforeAll(async () => {
    gw = await startGateway({ mcpServers: { ks: STDIO }, gateway: { auth: { apiKeys } } });
  });
  afterAll(async () => gw?.close());

  it('keeps at most 1 KiB of an oversized clientInfo (name, version, title), and the session works', async () => {
    const client = new LegacyClient(padded('padded-http'));
    await client.connect(new LegacyHttpTransport(new URL(gw.mcpUrl), { requestInit: { headers: auth('alice') } }));
    try {
      expect(stored('padded-http')).toEqual({ name: 'padded-http', version: '1.0.0', title: 'Padded' });
      expect((await client.callTool({ name: 'ks__echo', arguments: { text: 'hi' } })).content).toEqual([{ type: 'text', text: 'hi' }]);
    } finally {
      await client.close();
    }
  });

  it('bounds it the same over GET /sse + POST /messages', async () => {
    const client = new LegacyClient(padded('padded-sse'));
    await client.connect(new LegacySseTransport(new URL(`${gw.url}/sse`), { requestInit: { headers: auth('bob') } }));
    try {
      expect(stored('padded-sse')).toEqual({ name: 'padded-sse', version: '1.0.0', title: 'Padded' });
    } finally {
      await client.close();
    }
  });
});

describe('isolation "session" at maxProcesses', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway({ mcpServers: { ks: STDIO }, gateway: { auth: { apiKeys }, servers: { ks: { isolation: 'session', maxProcesses: 2 } } } });
  });
  afterAll(async () => gw?.close());

  const connect = async (key: Key, capabilities = {}) => {
    const client = new LegacyClient({ name: key, version: '1' }, { capabilities });
    await client.connect(new LegacyHttpTransport(new URL(gw.mcpUrl), { requestInit: { headers: auth(key) } }));
    return client;
  };
  const echo = (client: LegacyClient) =>
    client.callTool({ name: 'ks__echo', arguments: { text: 'x' } }).then(
      (r) => (r.content as { text: string }[])[0]?.text,
      (e: unknown) => (e as { data?: unknown }).data,
    );
  const idOf = (client: LegacyClient) => (client.transport as LegacyHttpTransport).sessionId!;
  const reclaims = () => gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reclaimedSession !== undefined);
  const sessionConnections = async () => ((await (await fetch(`${gw.url}/readyz`)).json()) as { sessionConnections: number }).sessionConnections;

  it('gives another key a child by stopping the least recently used idle one of the key holding both; the session that lost it gets a new one, or UPSTREAM_UNAVAILABLE while none can be had', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sampling!: () => void;
    const asked = new Promise<void>((resolve) => (sampling = resolve));
    const a1 = await connect('alice');
    const a2 = await connect('alice', { sampling: {} });
    a2.setRequestHandler(CreateMessageRequestSchema, async () => {
      sampling();
      await held;
      return { role: 'assistant', model: 'm', content: { type: 'text', text: 'sampled' } };
    });
    const b1 = await connect('bob');
    try {
      // alice's two idle sessions hold both children; a1's is the least recently used.
      expect(await echo(a1)).toBe('x');
      expect(await echo(a2)).toBe('x');
      expect(await sessionConnections()).toBe(2);

      expect(await echo(b1)).toBe('x');
      expect(reclaims().map((l) => [l.reclaimedSession, l.forSession])).toEqual([[idOf(a1), idOf(b1)]]);
      expect(await sessionConnections()).toBe(2);

      // a2 busy (its child asks a2's client to sample, held): a1 can take neither a2's nor bob's child.
      const call = a2.callTool({ name: 'ks__sample', arguments: { prompt: 'p' } });
      await asked;
      expect(await echo(a1)).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'maxProcesses' });

      // Once a2's call is answered it is idle, and a1 trades alice's own child.
      release();
      expect((await call).content).toEqual([{ type: 'text', text: 'sampled' }]);
      expect(await echo(a1)).toBe('x');
      expect(reclaims().map((l) => l.reclaimedSession)).toEqual([idOf(a1), idOf(a2)]);
      expect(await echo(b1)).toBe('x');
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/^switchboard_upstream_processes_reclaimed_total\{server="ks"\} 2$/m);
    } finally {
      release();
      await Promise.allSettled([a1.close(), a2.close(), b1.close()]);
    }
  });
});
