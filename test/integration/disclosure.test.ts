/**
 * Progressive disclosure over a large catalog (50 upstreams): under
 * `disclosure: "search"` the tool list is find_tools + call_tool + pinned
 * tools, far smaller than the full list; find_tools finds by meaning, within
 * policy; call_tool and a direct call give identical results and audit
 * records.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, startGateway, type RunningGateway } from '../helpers/gateway.js';

type HttpFixture = { url: string; close(): Promise<void> };
const UPSTREAMS = 50;
let gw: RunningGateway;
let fixtures: HttpFixture[] = [];
let dir: string;

beforeAll(async () => {
  const { startHttpFixture } = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string; extraTools: number; name: string }) => Promise<HttpFixture>;
  };
  fixtures = await Promise.all(Array.from({ length: UPSTREAMS }, (_, i) => startHttpFixture({ mode: 'modern', extraTools: 20, name: `s${i}` })));
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-disclosure-'));
  writeFileSync(path.join(dir, 'p.yaml'), 'rules:\n  - id: no-fail-anywhere\n    match: { tools: [fail] }\n    effect: deny\n');
  const mcpServers = Object.fromEntries(fixtures.map((f, i) => [`s${i}`, { type: 'http', url: f.url }]));
  gw = await startGateway({
    mcpServers,
    gateway: {
      policies: dir,
      profiles: { search: { servers: Object.keys(mcpServers), disclosure: 'search', pinned: ['s0__echo'] } },
    },
  });
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.allSettled(fixtures.map((f) => f.close()));
  rmSync(dir, { recursive: true, force: true });
});

const bytesOfToolsList = async (client: Client) => {
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ResultSchema);
    bytes += JSON.stringify(page).length;
    cursor = (page as { nextCursor?: string }).nextCursor;
  } while (cursor);
  return bytes;
};

describe('disclosure: "search" over 50 upstreams', () => {
  let full: Client;
  let search: Client;

  beforeAll(async () => {
    full = await connectLegacy(gw.mcpUrl);
    search = await connectLegacy(`${gw.url}/mcp/search`);
  });
  afterAll(async () => {
    await Promise.allSettled([full.close(), search.close()]);
  });

  it('lists find_tools, call_tool and the pinned tools: at least 20x smaller', async () => {
    const names = (await search.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(['find_tools', 'call_tool', 's0__echo']);
    const fullBytes = await bytesOfToolsList(full);
    const searchBytes = await bytesOfToolsList(search);
    console.log(`tools/list: full ${fullBytes} bytes, search ${searchBytes} bytes (${(fullBytes / searchBytes).toFixed(1)}x)`);
    expect(fullBytes / searchBytes).toBeGreaterThanOrEqual(20);
  });

  it('find_tools ranks by meaning and returns names, descriptions and input schemas', async () => {
    const result = await search.callTool({ name: 'find_tools', arguments: { query: 'add two numbers together', limit: 3 } });
    const found = (result.structuredContent as { tools: { name: string; description?: string; inputSchema: unknown }[] }).tools;
    expect(found).toHaveLength(3);
    expect(found.every((t) => /__add$/.test(t.name))).toBe(true);
    expect(found[0]).toMatchObject({ description: expect.any(String), inputSchema: expect.objectContaining({ type: 'object' }) });
  });

  it('never offers a tool the caller may not use', async () => {
    const result = await search.callTool({ name: 'find_tools', arguments: { query: 'fail with an error result', limit: 10 } });
    const found = (result.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(found.some((n) => n.endsWith('__fail'))).toBe(false);
  });

  it('call_tool and a direct call produce identical results and audit records', async () => {
    const before = gw.audit.length;
    const viaCallTool = await search.callTool({ name: 'call_tool', arguments: { name: 's7__echo', arguments: { text: 'same' } } });
    const direct = await full.callTool({ name: 's7__echo', arguments: { text: 'same' } });
    expect(viaCallTool).toEqual(direct);
    // Besides when, where and how long, only their places in the hash chain differ.
    const [a, b] = gw.audit
      .slice(before)
      .map(({ time: _t, latencyMs: _l, session: _s, profile: _p, requestId: _r, seq: _q, prev: _v, hash: _h, ...rest }) => rest);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ name: 's7__echo', original: 'echo', decision: 'allow', outcome: 'ok' });
  });

  it('call_tool refuses inner arguments that are not an object, like a direct call (-32602)', async () => {
    for (const inner of [['x'], 'text', null]) {
      const error = await search.callTool({ name: 'call_tool', arguments: { name: 's7__echo', arguments: inner } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: -32602, data: { code: 'INVALID_PARAMS' } });
    }
  });

  it('call_tool goes through policy like a direct call', async () => {
    const error = await search.callTool({ name: 'call_tool', arguments: { name: 's3__fail', arguments: {} } }).catch((e: unknown) => e);
    expect((error as { data?: unknown }).data).toMatchObject({ code: 'POLICY_DENIED', ruleId: 'no-fail-anywhere' });
  });
});
