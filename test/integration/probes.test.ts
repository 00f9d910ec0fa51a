/**
 * What the gateway publishes about its upstreams, and to whom: /readyz
 * carries state only (never a crashed child's stderr, which often holds
 * configuration or tokens), and on a loopback bind the probes check Host and
 * Origin like /mcp does, so a DNS-rebinding page cannot read them. A Host
 * header that is not a host gets 400 on every path.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ACCEPT, PROTOCOL_VERSION, rawRequest } from '../helpers/raw-mcp.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const SECRET = 'GITHUB_TOKEN=ghp_s3cr3tv4lu3';
// Prints a secret to stderr and dies before it speaks MCP: its tail used to end up in /readyz.
const CRASHER = ['-e', `process.stderr.write(${JSON.stringify(`${SECRET}\nfatal: bad config\n`)}); process.exit(3)`];

let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway({
    mcpServers: {
      crasher: { command: process.execPath, args: CRASHER },
      ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')),
    },
  });
});

afterAll(async () => gw?.close());

describe('/readyz', () => {
  it('says an upstream is down and what kind of failure, never its stderr', async () => {
    const body = await eventually(
      async () => (await (await fetch(`${gw.url}/readyz`)).json()) as { upstreams: Record<string, { state: string; error?: string }> },
      (b) => b.upstreams.crasher?.error !== undefined,
    );
    expect(body.upstreams.crasher!.state).toBe('down');
    expect(body.upstreams.crasher!.error).toMatch(/^[a-z-]+$/);
    expect(JSON.stringify(body)).not.toContain('s3cr3t');
    // The operator still has the details, in the gateway's own state (logged and shown by `switchboard catalog`).
    expect(gw.gateway.upstreams.find((u) => u.name === 'crasher')!.lastError).toContain('s3cr3t');
  });

  it("a client calling the down server is told it is unavailable, without the child's stderr", async () => {
    const client = await connectLegacy(gw.mcpUrl);
    try {
      const err = await client.callTool({ name: 'crasher__anything', arguments: {} }).then(
        () => undefined,
        (e: unknown) => e as McpError,
      );
      expect((err!.data as { code?: string }).code).toBe('UPSTREAM_UNAVAILABLE');
      expect(JSON.stringify({ message: err?.message, data: err?.data })).not.toContain('s3cr3t');
    } finally {
      await client.close();
    }
  });
});

describe('probes on a loopback bind', () => {
  const get = (pathname: string, headers: Record<string, string>) => rawRequest(new URL(pathname, gw.url), { method: 'GET', headers });

  it.each(['/readyz', '/healthz', '/metrics'])('%s refuses a foreign Host (DNS rebinding) and serves loopback', async (pathname) => {
    expect((await get(pathname, { host: 'rebind.attacker.example' })).status).toBe(403);
    expect((await get(pathname, { host: `127.0.0.1:${new URL(gw.url).port}`, origin: 'http://rebind.attacker.example' })).status).toBe(403);
    expect((await get(pathname, { host: `localhost:${new URL(gw.url).port}` })).status).toBe(200);
  });
});

describe('a Host header that is not a host', () => {
  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });

  it.each(['localhost:abc', 'localhost:1@evil.com', 'local host', 'localhost:99999999'])('%s gets 400, not 500', async (host) => {
    for (const pathname of ['/mcp', '/readyz', '/sse']) {
      const res = await rawRequest(new URL(pathname, gw.url), {
        method: pathname === '/mcp' ? 'POST' : 'GET',
        headers: { host, 'content-type': 'application/json', accept: ACCEPT },
        body: pathname === '/mcp' ? initialize : undefined,
      });
      expect(res.status, `${pathname} with Host ${host}`).toBe(400);
    }
  });

  it("a session's POST (the fast path) with such a Host gets 400 as well", async () => {
    const port = new URL(gw.url).port;
    const opened = await rawRequest(new URL('/mcp', gw.url), {
      headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', accept: ACCEPT },
      body: initialize,
    });
    const session = opened.headers['mcp-session-id'] as string;
    expect(session).toBeTruthy();
    const res = await rawRequest(new URL('/mcp', gw.url), {
      headers: {
        host: `localhost:1@evil.com`,
        'content-type': 'application/json',
        accept: ACCEPT,
        'mcp-session-id': session,
        'mcp-protocol-version': PROTOCOL_VERSION,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    });
    expect(res.status).toBe(400);
  });
});
