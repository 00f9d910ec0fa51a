/**
 * The upstream connection model (design §4): stdio shared by default with
 * server-to-client requests attributed to the one session in flight, a
 * child per session on request, and one upstream session per downstream
 * session for 2025-era HTTP upstreams.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
const text = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? '';

/** A client whose sampling handler answers with its own name. */
async function samplingClient(url: string, name: string): Promise<Client> {
  const client = await connectLegacy(url, { sampling: {} });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    model: 'm',
    content: { type: 'text', text: `answer from ${name}` },
  }));
  return client;
}

describe('a shared stdio upstream', () => {
  let gw: RunningGateway;
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    gw = await startGateway({ mcpServers: { ks: nodeServer(STDIO_FIXTURE) } });
    a = await samplingClient(gw.mcpUrl, 'a');
    b = await samplingClient(gw.mcpUrl, 'b');
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await gw?.close();
  });

  it('routes sampling to the one session in flight', async () => {
    expect(text(await a.callTool({ name: 'ks__sample', arguments: { prompt: 'x' } }))).toBe('answer from a');
    expect(text(await b.callTool({ name: 'ks__sample', arguments: { prompt: 'x' } }))).toBe('answer from b');
  });

  it('refuses a request it cannot attribute, naming the fix, instead of guessing', async () => {
    let firstProgress!: () => void;
    const inFlight = new Promise<void>((resolve) => (firstProgress = resolve));
    const busy = a.callTool({ name: 'ks__progress', arguments: { steps: 40 } }, undefined, { onprogress: () => firstProgress() });
    await inFlight;
    const outcome = await b.callTool({ name: 'ks__sample', arguments: { prompt: 'x' } }).then(
      (r) => JSON.stringify(r),
      (e: unknown) => String(e),
    );
    expect(outcome).toMatch(/isolation/);
    expect(text(await busy)).toBe('progress done');
  });
});

describe('isolation: "session" on a stdio upstream', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway({
      mcpServers: { ks: nodeServer(STDIO_FIXTURE) },
      gateway: { servers: { ks: { isolation: 'session', maxProcesses: 2 } } },
    });
  });
  afterAll(async () => gw?.close());

  it('gives each session its own child, so concurrent sampling is exact', async () => {
    const a = await samplingClient(gw.mcpUrl, 'a');
    const b = await samplingClient(gw.mcpUrl, 'b');
    try {
      const [ra, rb] = await Promise.all([
        a.callTool({ name: 'ks__sample', arguments: { prompt: 'x' } }),
        b.callTool({ name: 'ks__sample', arguments: { prompt: 'x' } }),
      ]);
      expect(text(ra)).toBe('answer from a');
      expect(text(rb)).toBe('answer from b');
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { sessionConnections: number };
      expect(ready.sessionConnections).toBe(2);

      // maxProcesses bounds the children: a third session of the same principal takes an idle one's child
      // instead of starting a third (session-limits.test.ts has the refusal when none is idle).
      const c = await connectLegacy(gw.mcpUrl);
      try {
        expect(text(await c.callTool({ name: 'ks__echo', arguments: { text: 'x' } }))).toBe('x');
        const after = (await (await fetch(`${gw.url}/readyz`)).json()) as { sessionConnections: number };
        expect(after.sessionConnections).toBe(2);
      } finally {
        await (c.transport as StreamableHTTPClientTransport).terminateSession();
        await c.close();
      }
    } finally {
      await (a.transport as StreamableHTTPClientTransport).terminateSession();
      await Promise.allSettled([a.close(), b.close()]);
    }
    // The ended session's child is released.
    await eventually(
      async () => ((await (await fetch(`${gw.url}/readyz`)).json()) as { sessionConnections: number }).sessionConnections,
      (n) => n <= 1,
    );
  });
});

type HttpFixture = { url: string; sessionCount(): number; close(): Promise<void> };
async function httpFixture(mode: 'legacy' | 'sessionful'): Promise<HttpFixture> {
  const { startHttpFixture } = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string }) => Promise<HttpFixture>;
  };
  return startHttpFixture({ mode });
}

describe('a 2026-07-28 HTTP upstream', () => {
  let gw: RunningGateway;
  let fixture: HttpFixture;

  beforeAll(async () => {
    fixture = await httpFixture('sessionful');
    gw = await startGateway({ mcpServers: { remote: { type: 'http', url: fixture.url } } });
  });
  afterAll(async () => {
    await gw?.close();
    await fixture?.close();
  });

  it('is shared, and its input requests still reach exactly the session whose call asked', async () => {
    expect(gw.gateway.upstreams[0]!.era).toBe('modern');
    const a = await samplingClient(gw.mcpUrl, 'a');
    const b = await samplingClient(gw.mcpUrl, 'b');
    try {
      const [ra, rb] = await Promise.all([
        a.callTool({ name: 'remote__sample', arguments: { prompt: 'x' } }),
        b.callTool({ name: 'remote__sample', arguments: { prompt: 'x' } }),
      ]);
      expect(text(ra)).toBe('answer from a');
      expect(text(rb)).toBe('answer from b');
      expect(fixture.sessionCount()).toBe(0);
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });
});

describe('a 2025-era HTTP upstream', () => {
  let gw: RunningGateway;
  let fixture: HttpFixture;

  beforeAll(async () => {
    fixture = await httpFixture('legacy');
    gw = await startGateway({ mcpServers: { remote: { type: 'http', url: fixture.url } } });
  });
  afterAll(async () => {
    await gw?.close();
    await fixture?.close();
  });

  it('gets one upstream session per downstream session, closed with it', async () => {
    expect(gw.gateway.upstreams[0]!.era).toBe('legacy');
    const before = fixture.sessionCount();
    const a = await samplingClient(gw.mcpUrl, 'a');
    const b = await samplingClient(gw.mcpUrl, 'b');
    const [ra, rb] = await Promise.all([
      a.callTool({ name: 'remote__sample', arguments: { prompt: 'x' } }),
      b.callTool({ name: 'remote__sample', arguments: { prompt: 'x' } }),
    ]);
    expect(text(ra)).toBe('answer from a');
    expect(text(rb)).toBe('answer from b');
    expect(fixture.sessionCount()).toBe(before + 2);
    await (a.transport as StreamableHTTPClientTransport).terminateSession();
    await (b.transport as StreamableHTTPClientTransport).terminateSession();
    await Promise.allSettled([a.close(), b.close()]);
    await eventually(
      () => fixture.sessionCount(),
      (n) => n === before,
    );
  });
});
