/**
 * Era bridging: clients and upstreams of both protocol eras, in every
 * combination, for the input round trips (sampling, elicitation, roots),
 * which the two eras carry differently: server-to-client requests
 * (2025-11-25) versus input_required results retried by the client
 * (2026-07-28).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

type HttpFixture = { url: string; close(): Promise<void> };
let gw: RunningGateway;
let fixture: HttpFixture;
const ROOTS = [{ uri: 'file:///work/project', name: 'project' }];
const text = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? '';

/** A 2026-07-28 client that answers input requests through its ordinary handlers. */
async function modernClient(): Promise<Client> {
  const client = new Client(
    { name: 'modern', version: '1' },
    { capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} }, versionNegotiation: { mode: 'auto' } },
  );
  client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'sampled by modern' } }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler('roots/list', async () => ({ roots: ROOTS }));
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
  expect(client.getProtocolEra()).toBe('modern');
  return client;
}

async function legacyClient(): Promise<LegacyClient> {
  const client = await connectLegacy(gw.mcpUrl, { sampling: {}, elicitation: {}, roots: {} });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'sampled by legacy' } }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: ROOTS }));
  return client;
}

beforeAll(async () => {
  const { startHttpFixture } = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string }) => Promise<HttpFixture>;
  };
  fixture = await startHttpFixture({ mode: 'sessionful' });
  gw = await startGateway({
    mcpServers: {
      old: nodeServer(path.join(FIXTURES, 'stdio.mjs')), // stdio upstreams are spoken to in the 2025 era
      new: { type: 'http', url: fixture.url }, // negotiates 2026-07-28
    },
  });
  expect(gw.gateway.upstreams.find((u) => u.name === 'old')!.era).toBe('legacy');
  expect(gw.gateway.upstreams.find((u) => u.name === 'new')!.era).toBe('modern');
});

afterAll(async () => {
  await gw?.close();
  await fixture?.close();
});

describe.each([
  ['2026-07-28 client', modernClient, 'sampled by modern'],
  ['2025-11-25 client', legacyClient, 'sampled by legacy'],
] as const)('%s', (_name, connect, sampled) => {
  let client: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await client?.close();
  });

  describe.each(['old', 'new'])('with the %s-era upstream', (server) => {
    it('sampling', async () => {
      expect(text(await client.callTool({ name: `${server}__sample`, arguments: { prompt: 'hi' } }))).toBe(sampled);
    });
    it('elicitation', async () => {
      expect(JSON.parse(text(await client.callTool({ name: `${server}__elicit`, arguments: { message: 'who?' } })))).toEqual({
        action: 'accept',
        content: { name: 'Ada' },
      });
    });
    it('roots', async () => {
      expect(JSON.parse(text(await client.callTool({ name: `${server}__roots`, arguments: {} })))).toEqual(ROOTS);
    });
    it('a plain call, a resource read and a prompt', async () => {
      expect(text(await client.callTool({ name: `${server}__echo`, arguments: { text: 'x' } }))).toBe('x');
      const read = await client.readResource({ uri: `${server}+fixture://items/7` });
      expect(read.contents[0]).toMatchObject({ text: 'item 7' });
      const prompt = await client.getPrompt({ name: `${server}__greet`, arguments: { name: 'Bo' } });
      expect(JSON.stringify(prompt.messages)).toContain('Hello, Bo!');
    });
  });
});

describe('a 2026-07-28 client that cannot answer', () => {
  it('gets a clear error, not a hang', async () => {
    const client = new Client({ name: 'bare', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
    try {
      for (const server of ['old', 'new']) {
        const outcome = await client.callTool({ name: `${server}__sample`, arguments: { prompt: 'hi' } }).then(
          (r) => JSON.stringify(r),
          (e: unknown) => String(e),
        );
        expect(outcome).toMatch(/sampling/);
      }
    } finally {
      await client.close();
    }
  });
});

describe('a 2026-07-28 client listening for resource updates', () => {
  it.each(['old', 'new'])('has the gateway subscribe the %s-era upstream for it, and unsubscribe when the stream closes', async (server) => {
    const client = new Client({ name: 'listener', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
    const uri = `${server}+fixture://items/7`;
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    try {
      const subscription = await client.listen({ resourceSubscriptions: [uri] });
      expect(subscription.honoredFilter.resourceSubscriptions).toEqual([uri]);
      // "touched", not "touched (no subscribers)": the upstream itself holds a subscription now
      // (a 2026-07-28 upstream says "touched" either way; its update arriving at all is the proof).
      expect(text(await client.callTool({ name: `${server}__touch`, arguments: { uri: 'fixture://items/7' } }))).toBe('touched');
      await eventually(
        () => updates,
        (u) => u.includes(uri),
        5_000,
      );
      await subscription.close();
      if (server === 'old') {
        await eventually(
          async () => text(await client.callTool({ name: `${server}__touch`, arguments: { uri: 'fixture://items/7' } })),
          (t) => t === 'touched (no subscribers)',
          5_000,
        );
      }
    } finally {
      await client.close();
    }
  });
});
