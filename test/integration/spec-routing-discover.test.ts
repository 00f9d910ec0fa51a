/**
 * The 2026-07-28 revision at the gateway's HTTP edge, with real clients and
 * real upstreams: the SEP-2243 routing headers (`Mcp-Method`, `Mcp-Name`)
 * on the way in and on the way upstream, `server/discover` and protocol
 * versions (-32022), the order of the merged tool list, and the SEP-2549
 * cache hints (`ttlMs`, `cacheScope`) each era of client sees.
 *
 * The upstream whose requests are inspected is the header recorder
 * (test/fixtures/servers/header-recorder.mjs): a 2026-07-28 server over HTTP
 * that keeps the headers and body of every POST it receives.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  Client,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { hashKey } from '../../src/auth/api-keys.js';
import { connectLegacy, nodeServer, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { bodyMessages, RawSession, rawRequest, type WireMessage } from '../helpers/raw-mcp.js';

const MODERN = '2026-07-28';
const UNSUPPORTED = '2099-01-01';

interface RecordedRequest {
  headers: Record<string, string | string[] | undefined>;
  body: { method?: string; params?: { name?: string; uri?: string; arguments?: Record<string, unknown> } } | undefined;
}
interface HeaderRecorder {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}
interface RecorderModule {
  startHeaderRecorder(): Promise<HeaderRecorder>;
  RECORDER_CACHE_HINTS: Record<'toolsList' | 'resourcesList' | 'publicResource', { ttlMs: number; cacheScope: 'public' | 'private' }>;
}
interface HttpFixture {
  url: string;
  close(): Promise<void>;
}

const recorderModule = (): Promise<RecorderModule> => import(new URL('../fixtures/servers/header-recorder.mjs', import.meta.url).href);
const startKitchenSink = async (): Promise<HttpFixture> => {
  const { startHttpFixture } = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string }) => Promise<HttpFixture>;
  };
  return startHttpFixture({ mode: 'modern' });
};

/** The per-request `_meta` envelope of a 2026-07-28 request claiming `version`. */
function envelope(version = MODERN): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_META_KEY]: version,
    [CLIENT_INFO_META_KEY]: { name: 'raw-modern', version: '1' },
    [CLIENT_CAPABILITIES_META_KEY]: {},
  };
}

let nextId = 1;
/** One 2026-07-28 request as a raw POST: what the HTTP status and the one JSON-RPC answer were. */
async function modernPost(
  mcpUrl: string,
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string>,
  version = MODERN,
): Promise<{ status: number; id: number; answer: WireMessage }> {
  const id = nextId++;
  const res = await rawRequest(new URL(mcpUrl), {
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope(version) } }),
  });
  const answers = (bodyMessages(res) as WireMessage[]).filter((m) => m.method === undefined);
  expect(answers, res.text).toHaveLength(1);
  return { status: res.status, id, answer: answers[0]! };
}

/** The standard headers a conforming 2026-07-28 client sends for `method` (and `name`, where the method has one). */
function standard(method: string, name?: string, version = MODERN): Record<string, string> {
  return { 'mcp-protocol-version': version, 'mcp-method': method, ...(name === undefined ? {} : { 'mcp-name': name }) };
}

const resultOf = (answer: WireMessage) => answer.result as Record<string, unknown>;
const errorOf = (answer: WireMessage) => answer.error as { code: number; message: string; data?: Record<string, unknown> };

/** A 2026-07-28 SDK client of the gateway. */
async function modernClient(mcpUrl: string): Promise<Client> {
  const client = new Client({ name: 'modern', version: '1' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
  return client;
}

/** Asserts a SEP-2549 cache hint (both fields present and valid) and returns it. */
function expectCacheHint(result: Record<string, unknown>): { ttlMs: number; cacheScope: string } {
  expect(Number.isSafeInteger(result.ttlMs) && (result.ttlMs as number) >= 0, `ttlMs ${String(result.ttlMs)}`).toBe(true);
  expect(['public', 'private']).toContain(result.cacheScope);
  return { ttlMs: result.ttlMs as number, cacheScope: result.cacheScope as string };
}

describe('a gateway in front of a 2026-07-28 HTTP upstream', () => {
  let gw: RunningGateway;
  let recorder: HeaderRecorder;
  let kitchenSink: HttpFixture;
  let hints: RecorderModule['RECORDER_CACHE_HINTS'];

  beforeAll(async () => {
    const recorderFixture = await recorderModule();
    hints = recorderFixture.RECORDER_CACHE_HINTS;
    recorder = await recorderFixture.startHeaderRecorder();
    kitchenSink = await startKitchenSink();
    gw = await startGateway({ mcpServers: { ks: { type: 'http', url: kitchenSink.url }, rec: { type: 'http', url: recorder.url } } });
    expect(gw.gateway.upstreams.map((u) => [u.name, u.era])).toEqual([
      ['ks', 'modern'],
      ['rec', 'modern'],
    ]);
  });

  afterAll(async () => {
    await gw?.close();
    await recorder?.close();
    await kitchenSink?.close();
  });

  /** The recorded upstream requests whose body carries `marker` anywhere. */
  const upstreamRequestsWith = (marker: string) => recorder.requests.filter((r) => JSON.stringify(r.body).includes(marker));

  describe('routing headers (SEP-2243) on requests to the gateway', () => {
    it('answers an Mcp-Method header that disagrees with the body 400 / -32020, and forwards nothing', async () => {
      const marker = `method-mismatch-${Date.now()}`;
      const { status, id, answer } = await modernPost(
        gw.mcpUrl,
        'tools/call',
        { name: 'rec__echo', arguments: { text: marker } },
        standard('tools/list', 'rec__echo'),
      );
      expect(status).toBe(400);
      expect(answer.id).toBe(id);
      expect(errorOf(answer).code).toBe(-32020);
      expect(errorOf(answer).message).toMatch(/Mcp-Method/);
      expect(upstreamRequestsWith(marker)).toEqual([]);
    });

    it('answers an Mcp-Name header that disagrees with the body 400 / -32020, and forwards nothing', async () => {
      const marker = `name-mismatch-${Date.now()}`;
      const { status, answer } = await modernPost(
        gw.mcpUrl,
        'tools/call',
        { name: 'rec__echo', arguments: { text: marker } },
        standard('tools/call', 'rec__regional'),
      );
      expect(status).toBe(400);
      expect(errorOf(answer).code).toBe(-32020);
      expect(errorOf(answer).message).toMatch(/Mcp-Name/);
      expect(upstreamRequestsWith(marker)).toEqual([]);
    });

    it('answers a request without Mcp-Method, or a tools/call or resources/read without Mcp-Name, 400 / -32020', async () => {
      const marker = `missing-${Date.now()}`;
      const call = { name: 'rec__echo', arguments: { text: marker } };
      const attempts = [
        await modernPost(gw.mcpUrl, 'tools/call', call, { 'mcp-protocol-version': MODERN }),
        await modernPost(gw.mcpUrl, 'tools/call', call, standard('tools/call')),
        await modernPost(gw.mcpUrl, 'resources/read', { uri: 'rec+rec://static/plain' }, standard('resources/read')),
      ];
      for (const { status, answer } of attempts) {
        expect(status).toBe(400);
        expect(errorOf(answer).code).toBe(-32020);
        expect(errorOf(answer).message).toMatch(/required Mcp-(Method|Name) header is absent/);
      }
      expect(upstreamRequestsWith(marker)).toEqual([]);
    });

    it('serves a request that carries the headers its method requires (tools/list has no Mcp-Name)', async () => {
      const listed = await modernPost(gw.mcpUrl, 'tools/list', {}, standard('tools/list'));
      expect(listed.status).toBe(200);
      expect((resultOf(listed.answer).tools as { name: string }[]).map((t) => t.name)).toContain('rec__echo');
      const called = await modernPost(gw.mcpUrl, 'tools/call', { name: 'rec__echo', arguments: { text: 'hi' } }, standard('tools/call', 'rec__echo'));
      expect(called.status).toBe(200);
      expect(resultOf(called.answer).content).toEqual([{ type: 'text', text: 'hi' }]);
    });

    it('refuses a tools/call whose Mcp-Param-* header is absent or disagrees with the body (400 / -32020), forwarding nothing', async () => {
      const marker = `param-in-${Date.now()}`;
      const call = (headers: Record<string, string>) =>
        modernPost(
          gw.mcpUrl,
          'tools/call',
          { name: 'rec__regional', arguments: { region: 'eu', text: marker } },
          { ...standard('tools/call', 'rec__regional'), ...headers },
        );
      for (const headers of [{}, { 'mcp-param-region': 'us' }, { 'mcp-param-region': '=?base64?dXM=?=' }] as Record<string, string>[]) {
        const refused = await call(headers);
        expect(refused.status).toBe(400);
        expect(errorOf(refused.answer)).toMatchObject({ code: -32020, message: expect.stringMatching(/Mcp-Param-Region/) });
      }
      expect(upstreamRequestsWith(marker)).toEqual([]);
      // The same value, plain or base64-encoded, is served.
      for (const value of ['eu', `=?base64?${Buffer.from('eu').toString('base64')}?=`]) {
        const served = await call({ 'mcp-param-region': value });
        expect(served.status).toBe(200);
        expect(resultOf(served.answer).content).toEqual([{ type: 'text', text: `eu:${marker}` }]);
      }
    });

    it('a task-augmented tools/call runs as a plain call: the upstream gets no task, the client a result', async () => {
      const marker = `task-${Date.now()}`;
      const called = await modernPost(
        gw.mcpUrl,
        'tools/call',
        { name: 'rec__echo', arguments: { text: marker }, task: { ttl: 60_000 } },
        standard('tools/call', 'rec__echo'),
      );
      expect(resultOf(called.answer).content).toEqual([{ type: 'text', text: marker }]);
      const [seen] = upstreamRequestsWith(marker);
      expect(seen?.body?.params).not.toHaveProperty('task');
    });

    it("lists a tool's x-mcp-header declarations unchanged, so that clients can mirror them", async () => {
      const { answer } = await modernPost(gw.mcpUrl, 'tools/list', {}, standard('tools/list'));
      const regional = (resultOf(answer).tools as { name: string; inputSchema: { properties: Record<string, unknown> } }[]).find(
        (t) => t.name === 'rec__regional',
      );
      expect(regional?.inputSchema.properties.region).toEqual({ type: 'string', 'x-mcp-header': 'Region' });
    });
  });

  describe.each([
    ['2026-07-28 client', 'modern'],
    ['2025-11-25 client', 'legacy'],
  ] as const)('routing headers the upstream receives, for a %s', (_name, era) => {
    let call: (name: string, args: Record<string, unknown>) => Promise<unknown>;
    let read: (uri: string) => Promise<unknown>;
    let close: () => Promise<void>;

    beforeAll(async () => {
      const client = era === 'modern' ? await modernClient(gw.mcpUrl) : await connectLegacy(gw.mcpUrl);
      if (client instanceof Client) expect(client.getProtocolEra()).toBe('modern');
      call = (name, args) => client.callTool({ name, arguments: args });
      read = (uri) => client.readResource({ uri });
      close = () => client.close();
    });
    afterAll(async () => {
      await close?.();
    });

    it("tools/call: Mcp-Method tools/call and Mcp-Name the upstream's own tool name, not the exposed one", async () => {
      const marker = `upstream-call-${era}-${Date.now()}`;
      expect(await call('rec__echo', { text: marker })).toMatchObject({ content: [{ type: 'text', text: marker }] });
      const [seen, ...more] = upstreamRequestsWith(marker);
      expect(more).toEqual([]);
      expect(seen?.body?.params?.name).toBe('echo');
      expect(seen?.headers).toMatchObject({ 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-protocol-version': MODERN });
    });

    it('tools/call of a tool that declares x-mcp-header: the upstream gets Mcp-Param-* built from the arguments as forwarded', async () => {
      const marker = `param-${era}-${Date.now()}`;
      expect(await call('rec__regional', { region: 'eu-west', text: marker })).toMatchObject({ content: [{ type: 'text', text: `eu-west:${marker}` }] });
      const [seen, ...more] = upstreamRequestsWith(marker);
      expect(more).toEqual([]);
      expect(seen?.headers).toMatchObject({ 'mcp-name': 'regional', 'mcp-param-region': 'eu-west' });
      // A value that is not a plain visible-ASCII field value goes base64-encoded, as the spec says.
      const other = `param-utf8-${era}-${Date.now()}`;
      expect(await call('rec__regional', { region: ' Zürich', text: other })).toMatchObject({ content: [{ type: 'text', text: ` Zürich:${other}` }] });
      expect(upstreamRequestsWith(other)[0]?.headers['mcp-param-region']).toBe(`=?base64?${Buffer.from(' Zürich').toString('base64')}?=`);
    });

    it("resources/read: Mcp-Name the upstream's own URI, without the gateway's prefix", async () => {
      const before = recorder.requests.length;
      expect(await read('rec+rec://static/plain')).toMatchObject({ contents: [{ uri: 'rec+rec://static/plain', text: 'plain' }] });
      const reads = recorder.requests.slice(before).filter((r) => r.body?.method === 'resources/read');
      expect(reads).toHaveLength(1);
      expect(reads[0]!.headers).toMatchObject({ 'mcp-method': 'resources/read', 'mcp-name': 'rec://static/plain', 'mcp-protocol-version': MODERN });
    });
  });

  describe('server/discover and protocol versions', () => {
    it('answers server/discover with 2026-07-28, its capabilities, a cache hint and its own identity', async () => {
      const { status, answer } = await modernPost(gw.mcpUrl, 'server/discover', {}, standard('server/discover'));
      expect(status).toBe(200);
      const result = resultOf(answer);
      expect(result.supportedVersions).toEqual([MODERN]);
      expect(result.capabilities).toMatchObject({ tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } });
      expectCacheHint(result);
      expect((result._meta as Record<string, unknown>)[SERVER_INFO_META_KEY]).toMatchObject({ name: 'switchboard' });
    });

    it('lets a 2026-07-28 SDK client negotiate the modern era by server/discover', async () => {
      const client = await modernClient(gw.mcpUrl);
      try {
        expect(client.getProtocolEra()).toBe('modern');
        expect(client.getDiscoverResult()?.supportedVersions).toContain(MODERN);
        expect(client.getServerVersion()).toMatchObject({ name: 'switchboard' });
      } finally {
        await client.close();
      }
    });

    it.each(['tools/list', 'server/discover'])('answers a %s that claims an unsupported revision 400 / -32022, naming the supported ones', async (method) => {
      const { status, id, answer } = await modernPost(gw.mcpUrl, method, {}, standard(method, undefined, UNSUPPORTED), UNSUPPORTED);
      expect(status).toBe(400);
      expect(answer.id).toBe(id);
      expect(errorOf(answer).code).toBe(-32022);
      expect(errorOf(answer).data).toEqual({ supported: [MODERN], requested: UNSUPPORTED });
    });

    it('negotiates a 2025-era initialize naming an unknown version down to 2025-11-25, and refuses a later request naming one with 400', async () => {
      const res = await rawRequest(new URL(gw.mcpUrl), {
        headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: UNSUPPORTED, capabilities: {}, clientInfo: { name: 'raw-legacy', version: '1' } },
        }),
      });
      expect(res.status).toBe(200);
      expect((bodyMessages(res)[0] as WireMessage).result).toMatchObject({ protocolVersion: '2025-11-25' });
      const sessionId = res.headers['mcp-session-id'];
      expect(typeof sessionId).toBe('string');
      const later = await rawRequest(new URL(gw.mcpUrl), {
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          'mcp-session-id': sessionId as string,
          'mcp-protocol-version': UNSUPPORTED,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      expect(later.status).toBe(400);
      expect(later.text).toMatch(/Unsupported protocol version/);
    });
  });

  describe('cache hints (SEP-2549)', () => {
    it('gives a 2026-07-28 client a valid ttlMs and cacheScope on tools/list, resources/list and resources/read', async () => {
      for (const [method, params, name] of [
        ['tools/list', {}, undefined],
        ['resources/list', {}, undefined],
        ['resources/read', { uri: 'rec+rec://static/public' }, 'rec+rec://static/public'],
      ] as const) {
        const { status, answer } = await modernPost(gw.mcpUrl, method, params, standard(method, name));
        expect(status, method).toBe(200);
        expectCacheHint(resultOf(answer));
      }
    });

    it('makes a merged list no fresher and no more shared than its strictest upstream', async () => {
      // The kitchen sink states no hints of its own, so its lists say ttlMs 0, private.
      for (const method of ['tools/list', 'resources/list']) {
        const { answer } = await modernPost(gw.mcpUrl, method, {}, standard(method));
        expect(expectCacheHint(resultOf(answer)), method).toEqual({ ttlMs: 0, cacheScope: 'private' });
      }
    });

    it('makes a read no fresher and no more shared than the upstream said', async () => {
      const plain = await modernPost(gw.mcpUrl, 'resources/read', { uri: 'rec+rec://static/plain' }, standard('resources/read', 'rec+rec://static/plain'));
      expect(expectCacheHint(resultOf(plain.answer))).toEqual({ ttlMs: 0, cacheScope: 'private' });
      const pub = await modernPost(gw.mcpUrl, 'resources/read', { uri: 'rec+rec://static/public' }, standard('resources/read', 'rec+rec://static/public'));
      expect(expectCacheHint(resultOf(pub.answer)).ttlMs).toBeLessThanOrEqual(hints.publicResource.ttlMs);
    });

    it('gives a 2025-era client lists without hint fields', async () => {
      const session = new RawSession(gw.mcpUrl);
      try {
        await session.initialize();
        for (const method of ['tools/list', 'resources/list', 'resources/templates/list', 'prompts/list']) {
          const { result } = await session.request(method);
          expect(result, method).not.toHaveProperty('ttlMs');
          expect(result, method).not.toHaveProperty('cacheScope');
        }
      } finally {
        await session.close();
      }
    });
  });
});

describe('cache hints where a policy tells callers apart', () => {
  let gw: RunningGateway;
  let recorder: HeaderRecorder;
  let hints: RecorderModule['RECORDER_CACHE_HINTS'];
  let dir: string;
  const KEYS = { alice: 'alice-cache-key', bob: 'bob-cache-key' };
  const as = (key: string, headers: Record<string, string>) => ({ ...headers, authorization: `Bearer ${key}` });

  beforeAll(async () => {
    const recorderFixture = await recorderModule();
    hints = recorderFixture.RECORDER_CACHE_HINTS;
    recorder = await recorderFixture.startHeaderRecorder();
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-cache-hints-'));
    writeFileSync(
      path.join(dir, 'rec.yaml'),
      [
        'rules:',
        '  - id: guests-no-public',
        '    match: { servers: [rec], resources: ["rec://static/public"] }',
        `    when: "'guests' in principal.groups"`,
        '    effect: deny',
        '  - id: guests-no-echo',
        '    match: { servers: [rec], tools: [echo] }',
        `    when: "'guests' in principal.groups"`,
        '    effect: deny',
        '',
      ].join('\n'),
    );
    gw = await startGateway({
      mcpServers: { rec: { type: 'http', url: recorder.url } },
      gateway: {
        policies: dir,
        auth: {
          apiKeys: [
            { id: 'alice', sha256: hashKey(KEYS.alice), scopes: [], groups: [] },
            { id: 'bob', sha256: hashKey(KEYS.bob), scopes: [], groups: ['guests'] },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await recorder?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks a list that differs by caller private, and no longer-lived than the upstream said', async () => {
    const names = async (key: string) => {
      const { answer } = await modernPost(gw.mcpUrl, 'tools/list', {}, as(key, standard('tools/list')));
      const result = resultOf(answer);
      const hint = expectCacheHint(result);
      expect(hint.cacheScope).toBe('private');
      expect(hint.ttlMs).toBeLessThanOrEqual(hints.toolsList.ttlMs);
      return (result.tools as { name: string }[]).map((t) => t.name);
    };
    expect(await names(KEYS.alice)).toContain('rec__echo');
    expect(await names(KEYS.bob)).not.toContain('rec__echo');
    const { answer } = await modernPost(gw.mcpUrl, 'resources/list', {}, as(KEYS.alice, standard('resources/list')));
    const hint = expectCacheHint(resultOf(answer));
    expect(hint.cacheScope).toBe('private');
    expect(hint.ttlMs).toBeLessThanOrEqual(hints.resourcesList.ttlMs);
  });

  it('marks a read that a policy decides per caller private, even where the upstream said public', async () => {
    const uri = 'rec+rec://static/public';
    const alice = await modernPost(gw.mcpUrl, 'resources/read', { uri }, as(KEYS.alice, standard('resources/read', uri)));
    expect(resultOf(alice.answer).contents).toMatchObject([{ text: 'the same for everyone' }]);
    const hint = expectCacheHint(resultOf(alice.answer));
    expect(hint.cacheScope).toBe('private');
    expect(hint.ttlMs).toBeLessThanOrEqual(hints.publicResource.ttlMs);
    // The caller it differs for: bob may not read it at all.
    const bob = await modernPost(gw.mcpUrl, 'resources/read', { uri }, as(KEYS.bob, standard('resources/read', uri)));
    expect(errorOf(bob.answer).data).toMatchObject({ code: 'POLICY_DENIED', ruleId: 'guests-no-public' });
  });
});

describe('the order of the merged tool list', () => {
  const SLOW_START = path.join(ROOT, 'test/helpers/slow-start.mjs');
  /** Two kitchen-sink upstreams, `a` then `b` in the config; the one named `slow` comes up 800 ms after the other. */
  const config = (slow: 'a' | 'b') => ({
    mcpServers: {
      a: nodeServer(SLOW_START, [], { env: { SLOW_START_MS: slow === 'a' ? '800' : '0' } }),
      b: nodeServer(SLOW_START, [], { env: { SLOW_START_MS: slow === 'b' ? '800' : '0' } }),
    },
  });
  const toolNames = async (mcpUrl: string) => {
    const { answer } = await modernPost(mcpUrl, 'tools/list', {}, standard('tools/list'));
    return (resultOf(answer).tools as { name: string }[]).map((t) => t.name);
  };

  it('is the same on every call and across restarts, whichever upstream was ready first: config order', async () => {
    const runs: string[][] = [];
    for (const slow of ['a', 'b'] as const) {
      const gw = await startGateway(config(slow));
      try {
        const readyOrder = gw.logs
          .map((line) => JSON.parse(line) as { msg?: string; server?: string })
          .filter((l) => l.msg === 'upstream ready')
          .map((l) => l.server);
        expect(readyOrder).toEqual(slow === 'a' ? ['b', 'a'] : ['a', 'b']);
        runs.push(await toolNames(gw.mcpUrl));
        expect(await toolNames(gw.mcpUrl)).toEqual(runs.at(-1));
      } finally {
        await gw.close();
      }
    }
    const [first, second] = runs;
    expect(second).toEqual(first);
    const lastOfA = first!.findLastIndex((n) => n.startsWith('a__'));
    const firstOfB = first!.findIndex((n) => n.startsWith('b__'));
    expect(lastOfA).toBeGreaterThanOrEqual(0);
    expect(firstOfB).toBe(lastOfA + 1);
    expect(first!.map((n) => n.slice(3)).slice(0, firstOfB)).toEqual(first!.map((n) => n.slice(3)).slice(firstOfB));
  });
});
