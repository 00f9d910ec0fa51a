/**
 * Cache hints that tell the truth (SEP-2549) through the gateway: 2026-07-28
 * upstreams that state their own hints (SDK servers with `cacheHints`), a
 * 2025-era stdio upstream that states none, and real clients of both eras.
 * A list is public only if every contributor said so and no rule, profile or
 * per-caller server makes it depend on the caller; ttlMs is the shortest
 * contributor's, capped at the gateway's horizon; 2025 clients see no hints.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, type CacheHint } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_HORIZON_MS } from '../../src/session/cache-hints.js';
import { connectLegacy, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

type Hinted = { ttlMs?: number; cacheScope?: string };

/** A stateless 2026-07-28 upstream with one tool and one resource, stating `hint` for every cacheable result. */
async function hintedUpstream(name: string, hint: CacheHint): Promise<{ url: string; close(): Promise<void> }> {
  const methods = ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'] as const;
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name, version: '1' }, { cacheHints: Object.fromEntries(methods.map((m) => [m, hint])) });
    server.registerTool('look', { description: 'looks', inputSchema: z.object({}) }, async () => ({ content: [{ type: 'text', text: name }] }));
    server.registerResource('doc', `docs://${name}/readme`, { mimeType: 'text/plain' }, async (uri) => ({
      contents: [{ uri: uri.href, text: `${name} readme` }],
    }));
    return server;
  });
  const http: HttpServer = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

async function modernClient(url: string): Promise<Client> {
  const client = new Client({ name: 'hints', version: '1' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  expect(client.getProtocolEra()).toBe('modern');
  return client;
}

async function hintsOf(url: string): Promise<{ tools: Hinted; resources: Hinted; read: Hinted }> {
  const client = await modernClient(url);
  try {
    const tools = (await client.listTools()) as Hinted;
    const resources = (await client.listResources()) as Hinted & { resources: { uri: string }[] };
    const read = (await client.readResource({ uri: resources.resources[0]!.uri })) as Hinted;
    const pick = (r: Hinted) => ({ ttlMs: r.ttlMs, cacheScope: r.cacheScope });
    return { tools: pick(tools), resources: pick(resources), read: pick(read) };
  } finally {
    await client.close();
  }
}

const upstreams: { close(): Promise<void> }[] = [];
const gateways: RunningGateway[] = [];
let dir: string;
let slow: { url: string };
let fast: { url: string };
let forever: { url: string };

async function gateway(mcpServers: Record<string, unknown>, gatewaySettings: Record<string, unknown> = {}): Promise<RunningGateway> {
  const gw = await startGateway({ mcpServers, gateway: gatewaySettings });
  gateways.push(gw);
  return gw;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-hints-'));
  writeFileSync(
    path.join(dir, 'guests.yaml'),
    'rules:\n  - id: guests-no-look\n    match: { servers: [slow], tools: [look] }\n    when: "\'guests\' in principal.groups"\n    effect: deny\n',
  );
  [slow, fast, forever] = await Promise.all([
    hintedUpstream('slow', { ttlMs: 20_000, cacheScope: 'public' }),
    hintedUpstream('fast', { ttlMs: 5_000, cacheScope: 'public' }),
    hintedUpstream('forever', { ttlMs: 3_600_000, cacheScope: 'public' }),
  ]);
  upstreams.push(slow as never, fast as never, forever as never);
});

afterAll(async () => {
  await Promise.allSettled(gateways.map((g) => g.close()));
  await Promise.allSettled(upstreams.map((u) => u.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('cache hints through the gateway (2026-07-28 clients)', () => {
  it('an unfiltered merged list is public when every upstream says so, with the shortest ttlMs', async () => {
    const gw = await gateway({ slow: { type: 'http', url: slow.url }, fast: { type: 'http', url: fast.url } });
    const hints = await hintsOf(gw.mcpUrl);
    expect(hints.tools).toEqual({ ttlMs: 5_000, cacheScope: 'public' });
    expect(hints.resources).toEqual({ ttlMs: 5_000, cacheScope: 'public' });
    // A read is the one upstream's (whichever resource was listed first), within the horizon.
    expect(hints.read.cacheScope).toBe('public');
    expect([5_000, 20_000]).toContain(hints.read.ttlMs);
  });

  it('ttlMs never passes the gateway horizon', async () => {
    const gw = await gateway({ forever: { type: 'http', url: forever.url } });
    const hints = await hintsOf(gw.mcpUrl);
    expect(hints.tools).toEqual({ ttlMs: GATEWAY_HORIZON_MS, cacheScope: 'public' });
    expect(hints.read).toEqual({ ttlMs: GATEWAY_HORIZON_MS, cacheScope: 'public' });
  });

  it('a list the policy can filter per caller is private (the read of that server too), whoever asks', async () => {
    const gw = await gateway({ slow: { type: 'http', url: slow.url } }, { policies: dir });
    const hints = await hintsOf(gw.mcpUrl);
    expect(hints.tools).toEqual({ ttlMs: 20_000, cacheScope: 'private' });
    // The rule is about tools: resource lists of that server stay alike for everyone.
    expect(hints.resources).toEqual({ ttlMs: 20_000, cacheScope: 'public' });
  });

  it('a 2025-era upstream that states nothing makes the merged list private with ttlMs 0', async () => {
    const gw = await gateway({ slow: { type: 'http', url: slow.url }, ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) });
    const client = await modernClient(gw.mcpUrl);
    try {
      const tools = (await client.listTools()) as Hinted;
      expect({ ttlMs: tools.ttlMs, cacheScope: tools.cacheScope }).toEqual({ ttlMs: 0, cacheScope: 'private' });
    } finally {
      await client.close();
    }
  });

  it('a profile endpoint narrows the list: private', async () => {
    const gw = await gateway({ slow: { type: 'http', url: slow.url }, fast: { type: 'http', url: fast.url } }, { profiles: { one: { servers: ['slow'] } } });
    const hints = await hintsOf(`${gw.mcpUrl}/one`);
    expect(hints.tools).toEqual({ ttlMs: 20_000, cacheScope: 'private' });
  });
});

describe('2025-era clients', () => {
  it('see no hint fields on lists or reads, even from a 2026 upstream that states them', async () => {
    const gw = await gateway({ slow: { type: 'http', url: slow.url } });
    const client = await connectLegacy(gw.mcpUrl);
    try {
      const loose = z.looseObject({});
      const tools = (await client.request({ method: 'tools/list', params: {} }, loose)) as Record<string, unknown>;
      expect(tools.tools).toBeDefined();
      expect(tools).not.toHaveProperty('ttlMs');
      expect(tools).not.toHaveProperty('cacheScope');
      const resources = (await client.request({ method: 'resources/list', params: {} }, loose)) as { resources: { uri: string }[] };
      const read = (await client.request({ method: 'resources/read', params: { uri: resources.resources[0]!.uri } }, loose)) as Record<string, unknown>;
      expect(read.contents).toBeDefined();
      expect(read).not.toHaveProperty('ttlMs');
      expect(read).not.toHaveProperty('cacheScope');
    } finally {
      await client.close();
    }
  });
});
