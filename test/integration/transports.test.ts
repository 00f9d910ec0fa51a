/**
 * The transport matrix (design §2, §4): every upstream wire the gateway
 * speaks — server-everything over Streamable HTTP and over HTTP+SSE (named,
 * and reached through the 4xx fallback), the kitchen-sink fixture over
 * sessionful and 2026-07-28 Streamable HTTP, and over stdio — crossed with
 * every downstream wire a client uses — the v1 client over Streamable HTTP
 * and over HTTP+SSE, the v2 client in the 2026-07-28 era, and the gateway
 * itself spawned over stdio. Also: the client's credentials never reach an
 * upstream, while the upstream's own configured credentials do (§7).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  connectLegacySse,
  connectLegacyWithHeaders,
  connectStdio,
  mark,
  progressOf,
  startHttpFixture,
  tap,
  type HttpFixture,
  type StdioConnection,
  type Tap,
} from '../helpers/clients.js';
import { connectLegacy, EVERYTHING, FIXTURES, nodeServer, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CLI, startEverything, type Everything } from '../helpers/processes.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
const CLIENT_SECRET = 'Bearer client-secret';
const UPSTREAM_TOKEN = 'Bearer upstream-token';

type Wire = 'streamable-http' | 'sse' | 'stdio';

interface UpstreamCase {
  /** Server name = prefix. */
  name: string;
  what: string;
  wire: Wire;
  /** Tools that must be listed under the prefix. */
  tools: string[];
  call: { tool: string; args: Record<string, unknown>; text: string };
  /** The kitchen-sink's `progress` tool is there. */
  progress: boolean;
}

const everythingCase = (name: string, what: string, wire: Wire): UpstreamCase => ({
  name,
  what,
  wire,
  tools: ['echo', 'get-sum', 'trigger-long-running-operation'],
  call: { tool: 'echo', args: { message: `hi ${name}` }, text: `Echo: hi ${name}` },
  progress: false,
});
const kitchenSinkCase = (name: string, what: string, wire: Wire): UpstreamCase => ({
  name,
  what,
  wire,
  tools: ['echo', 'add', 'progress', 'headers'],
  call: { tool: 'add', args: { a: 2, b: 40 }, text: '42' },
  progress: true,
});

const UPSTREAMS: UpstreamCase[] = [
  everythingCase('evh', 'server-everything, Streamable HTTP', 'streamable-http'),
  everythingCase('evs', 'server-everything, HTTP+SSE (type "sse")', 'sse'),
  everythingCase('evf', 'server-everything, HTTP+SSE reached by the 4xx fallback (type "http")', 'sse'),
  everythingCase('evio', 'server-everything, stdio', 'stdio'),
  kitchenSinkCase('kss', 'kitchen-sink, sessionful Streamable HTTP', 'streamable-http'),
  kitchenSinkCase('ksm', 'kitchen-sink, 2026-07-28 Streamable HTTP', 'streamable-http'),
  kitchenSinkCase('ksa', 'kitchen-sink, sessionful Streamable HTTP with its own Authorization', 'streamable-http'),
  kitchenSinkCase('ksio', 'kitchen-sink, stdio', 'stdio'),
];

let everythingHttp: Everything;
let everythingSse: Everything;
let sessionful: HttpFixture;
let modern: HttpFixture;
let authed: HttpFixture;
let gw: RunningGateway;
let tmp: string;
let configFile: string;

/** The same upstreams for the in-process gateway and the one spawned over stdio. */
function mcpServers(): Record<string, unknown> {
  return {
    evh: { type: 'http', url: `${everythingHttp.base}/mcp` },
    evs: { type: 'sse', url: `${everythingSse.base}/sse` },
    evf: { type: 'http', url: `${everythingSse.base}/sse` },
    evio: nodeServer(EVERYTHING, ['stdio']),
    kss: { type: 'http', url: sessionful.url },
    ksm: { type: 'http', url: modern.url },
    ksa: { type: 'http', url: authed.url, headers: { Authorization: UPSTREAM_TOKEN } },
    ksio: nodeServer(STDIO_FIXTURE),
  };
}

beforeAll(async () => {
  // Assigned one by one, so that afterAll stops whatever did start if another failed.
  const started = await Promise.allSettled([
    startEverything('streamableHttp').then((e) => (everythingHttp = e)),
    startEverything('sse').then((e) => (everythingSse = e)),
    startHttpFixture({ mode: 'sessionful' }).then((f) => (sessionful = f)),
    startHttpFixture({ mode: 'modern' }).then((f) => (modern = f)),
    startHttpFixture({ mode: 'sessionful' }).then((f) => (authed = f)),
  ]);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  gw = await startGateway({
    mcpServers: mcpServers(),
    // The client's token is a valid credential for the gateway itself (the
    // passthrough case §7 forbids), while anonymous clients are still served.
    gateway: { auth: { required: false, apiKeys: [{ id: 'test-client', sha256: createHash('sha256').update('client-secret').digest('hex') }] } },
  });
  tmp = mkdtempSync(path.join(tmpdir(), 'switchboard-transports-'));
  configFile = path.join(tmp, 'switchboard.json');
  writeFileSync(configFile, JSON.stringify({ mcpServers: mcpServers(), gateway: { logLevel: 'debug' } }, null, 2));
});

afterAll(async () => {
  await gw?.close();
  await Promise.allSettled([everythingHttp?.stop(), everythingSse?.stop(), sessionful?.close(), modern?.close(), authed?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const textOf = (result: unknown): string => ((result as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? '').join('');

describe('upstream wires', () => {
  it.each(UPSTREAMS)('$name ($what) is ready on the $wire wire', ({ name, wire }) => {
    const upstream = gw.gateway.upstreams.find((u) => u.name === name);
    expect(upstream, name).toBeDefined();
    expect({ state: upstream!.state, wire: upstream!.wire, error: upstream!.lastError }).toMatchObject({ state: 'ready', wire });
  });

  it('/readyz reports every upstream ready with its wire', async () => {
    const body = (await (await fetch(`${gw.url}/readyz`)).json()) as { upstreams: Record<string, { state: string; wire?: string }> };
    for (const { name, wire } of UPSTREAMS) expect(body.upstreams[name], name).toMatchObject({ state: 'ready', wire });
  });

  it('negotiates the 2026-07-28 era with the kitchen-sink HTTP upstreams (both postures serve it)', () => {
    // The sessionful posture routes 2026-07-28 requests to its stateless leg, so a
    // negotiating gateway speaks the modern era to both; server-everything (v1 SDK)
    // only speaks 2025 and is covered by evh/evs/evf above.
    const versions = (fixture: HttpFixture) => new Set(fixture.headersSeen.map((h) => h['mcp-protocol-version']).filter(Boolean));
    expect([...versions(modern)]).toContain('2026-07-28');
    expect([...versions(sessionful)]).toContain('2026-07-28');
  });
});

/** What every downstream client has to do, whatever its SDK and wire. */
interface Driver {
  /** Every message the client's transport sent and received. */
  wire: Tap;
  tools(): Promise<string[]>;
  call(name: string, args: Record<string, unknown>, onprogress?: (p: { progress: number; total?: number }) => void): Promise<unknown>;
  close(): Promise<void>;
}

function legacyDriver(client: LegacyClient): Driver {
  return {
    wire: tap(client.transport),
    tools: async () => (await client.listTools()).tools.map((t) => t.name),
    call: (name, args, onprogress) => client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress } : undefined),
    close: () => client.close(),
  };
}

function modernDriver(client: ModernClient): Driver {
  return {
    wire: tap(client.transport),
    async tools() {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined);
        names.push(...page.tools.map((t) => t.name));
        cursor = page.nextCursor;
      } while (cursor);
      return names;
    },
    call: (name, args, onprogress) => client.callTool({ name, arguments: args }, onprogress ? { onprogress } : undefined),
    close: () => client.close(),
  };
}

const ALL_EXPOSED = UPSTREAMS.flatMap((u) => u.tools.map((t) => `${u.name}__${t}`));

/**
 * Waits until the stdio gateway lists every upstream's tools: it starts
 * serving before its upstreams are connected and announces each one with
 * notifications/tools/list_changed.
 */
async function untilAllListed(client: LegacyClient, timeoutMs = 15_000): Promise<string[]> {
  let changed: () => void = () => {};
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const next = new Promise<void>((resolve) => (changed = resolve));
    const names = (await client.listTools()).tools.map((t) => t.name);
    if (ALL_EXPOSED.every((n) => names.includes(n))) return names;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`stdio gateway never listed ${ALL_EXPOSED.filter((n) => !names.includes(n)).join(', ')}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([next, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
  }
}

interface DownstreamCase {
  name: string;
  connect(): Promise<{ driver: Driver; check?: () => void }>;
}

const DOWNSTREAMS: DownstreamCase[] = [
  {
    name: 'v1 client over Streamable HTTP',
    async connect() {
      return { driver: legacyDriver(await connectLegacy(gw.mcpUrl)) };
    },
  },
  {
    name: 'v1 client over HTTP+SSE (/sse)',
    async connect() {
      return { driver: legacyDriver(await connectLegacySse(`${gw.url}/sse`)) };
    },
  },
  {
    name: 'v2 client, 2026-07-28 era',
    async connect() {
      const client = new ModernClient({ name: 'modern-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
      await client.connect(new ModernHttpTransport(new URL(gw.mcpUrl)));
      expect(client.getProtocolEra()).toBe('modern');
      return { driver: modernDriver(client) };
    },
  },
  {
    name: 'v1 client over stdio to `switchboard --stdio`',
    async connect() {
      const conn: StdioConnection = await connectStdio({
        command: process.execPath,
        args: [CLI, '--stdio', '--config', configFile],
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
      });
      try {
        await untilAllListed(conn.client);
      } catch (err) {
        await conn.client.close();
        throw new Error(`${(err as Error).message}; gateway stderr: ${conn.stderr().slice(-2_000)}`);
      }
      return {
        driver: legacyDriver(conn.client),
        check() {
          // Nothing but JSON-RPC reached the child's stdout: no line failed to parse…
          expect(conn.recorder.errors.map(String)).toEqual([]);
          // The v1 client handles a notification a microtask after a response that shares its read, so under
          // load it may report a progress notification "for an unknown token" although the wire order was right
          // (checked on the wire by the progress test above): that client-side race is not malformed traffic.
          const clientRace = /progress notification for an unknown token/;
          expect(conn.clientErrors.map(String).filter((e) => !clientRace.test(e))).toEqual([]);
          // …and every message received is JSON-RPC 2.0.
          expect(conn.recorder.received.length).toBeGreaterThan(0);
          for (const message of conn.recorder.received) expect(message).toMatchObject({ jsonrpc: '2.0' });
          // The logs went to stderr instead (JSON lines).
          expect(conn.stderr()).toMatch(/"msg":"upstream ready"/);
        },
      };
    },
  },
];

describe.each(DOWNSTREAMS)('$name', ({ connect }) => {
  let driver: Driver;
  let check: (() => void) | undefined;

  beforeAll(async () => {
    ({ driver, check } = await connect());
  });
  afterAll(async () => {
    await driver?.close();
  });

  it('lists every upstream’s tools under its prefix, and nothing unprefixed', async () => {
    const names = await driver.tools();
    for (const u of UPSTREAMS) for (const t of u.tools) expect(names).toContain(`${u.name}__${t}`);
    const prefixes = new Set(UPSTREAMS.map((u) => u.name));
    expect(names.filter((n) => !prefixes.has(n.split('__')[0]!))).toEqual([]);
  });

  it.each(UPSTREAMS)('routes a call to $name ($wire)', async ({ name, call }) => {
    const result = await driver.call(`${name}__${call.tool}`, call.args);
    expect(textOf(result)).toBe(call.text);
  });

  it.each(UPSTREAMS.filter((u) => u.progress))('relays progress from $name ($wire) under the client’s token', async ({ name }) => {
    const since = mark(driver.wire);
    const result = await driver.call(`${name}__progress`, { steps: 3 }, () => {});
    expect(textOf(result)).toBe('progress done');
    // Checked on the wire: the SDK client itself may drop a notification that shares a read with the response.
    const { token, progress, responded } = progressOf(driver.wire, `${name}__progress`, since);
    expect(token).toBeDefined();
    expect(responded).toBe(true);
    expect(progress.map((p) => p.params!.progress)).toEqual([1, 2, 3]);
    expect(progress.map((p) => p.params!.total)).toEqual([3, 3, 3]);
  });

  it('saw only well-formed protocol traffic', () => {
    check?.();
  });
});

describe('progress is relayed losslessly', () => {
  let driver: Driver;
  beforeAll(async () => {
    driver = legacyDriver(await connectLegacy(gw.mcpUrl));
  });
  afterAll(async () => {
    await driver?.close();
  });

  // server-everything sends its last progress notification immediately before
  // its result, so the two usually arrive at the gateway in one read. Both were
  // sent before the result, so both must reach the client before the response.
  // Several runs, because whether they share a read depends on timing.
  const RUNS = 10;
  it.each(UPSTREAMS.filter((u) => u.name.startsWith('ev')))(
    'every progress notification $name ($wire) sent before its result reaches the client before the response',
    async ({ name }) => {
      const tool = `${name}__trigger-long-running-operation`;
      const runs: number[][] = [];
      for (let i = 0; i < RUNS; i++) {
        const since = mark(driver.wire);
        const result = await driver.call(tool, { duration: 0.06, steps: 2 }, () => {});
        expect(textOf(result)).toMatch(/Long running operation completed/);
        runs.push(progressOf(driver.wire, tool, since).progress.map((p) => p.params!.progress as number));
      }
      expect(runs).toEqual(Array.from({ length: RUNS }, () => [1, 2]));
    },
  );
});

describe('credentials (design §7)', () => {
  /** The `headers` tool of each kitchen-sink HTTP upstream, called through the gateway with the client's own Authorization. */
  async function headersSeenThrough(client: Driver): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const name of ['kss', 'ksm', 'ksa']) out[name] = JSON.parse(textOf(await client.call(`${name}__headers`, {}))) as Record<string, string>;
    return out;
  }

  const postsWith = (fixture: HttpFixture, needle: string) => fixture.headersSeen.filter((h) => Object.values(h).some((v) => String(v).includes(needle)));

  it('never forwards the v1 client’s Authorization header; sends the upstream’s own', async () => {
    const before = { kss: sessionful.headersSeen.length, ksm: modern.headersSeen.length, ksa: authed.headersSeen.length };
    const client = legacyDriver(await connectLegacyWithHeaders(gw.mcpUrl, { Authorization: CLIENT_SECRET }));
    try {
      const seen = await headersSeenThrough(client);
      // The headers tool saw the call's own HTTP request (not an empty stdio answer).
      expect(seen.kss!['content-type']).toBeDefined();
      expect(seen.kss!.authorization).toBeUndefined();
      expect(seen.ksm!.authorization).toBeUndefined();
      expect(seen.ksa!.authorization).toBe(UPSTREAM_TOKEN);
      expect(JSON.stringify(seen)).not.toContain('client-secret');
    } finally {
      await client.close();
    }
    // Every POST the fixtures received (this test's and all before it).
    for (const fixture of [sessionful, modern, authed]) expect(postsWith(fixture, 'client-secret')).toEqual([]);
    expect(sessionful.headersSeen.filter((h) => h.authorization !== undefined)).toEqual([]);
    expect(modern.headersSeen.filter((h) => h.authorization !== undefined)).toEqual([]);
    // The upstream with its own credential got it on every request, this test's included.
    expect(authed.headersSeen.length).toBeGreaterThan(before.ksa);
    expect(authed.headersSeen.filter((h) => h.authorization !== UPSTREAM_TOKEN)).toEqual([]);
    expect(sessionful.headersSeen.length).toBeGreaterThan(before.kss);
    expect(modern.headersSeen.length).toBeGreaterThan(before.ksm);
  });

  it('never forwards the v2 (2026-07-28) client’s Authorization header either', async () => {
    const client = new ModernClient({ name: 'modern-auth', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new ModernHttpTransport(new URL(gw.mcpUrl), { requestInit: { headers: { Authorization: CLIENT_SECRET } } }));
    try {
      const seen = await headersSeenThrough(modernDriver(client));
      expect(seen.kss!.authorization).toBeUndefined();
      expect(seen.ksm!.authorization).toBeUndefined();
      expect(seen.ksa!.authorization).toBe(UPSTREAM_TOKEN);
    } finally {
      await client.close();
    }
    for (const fixture of [sessionful, modern, authed]) expect(postsWith(fixture, 'client-secret')).toEqual([]);
  });
});
