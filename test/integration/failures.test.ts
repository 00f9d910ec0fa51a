/**
 * Upstreams that crash, hang or never start: the caller gets a prompt, clear
 * JSON-RPC error, the other upstreams keep serving, a crashed upstream comes
 * back, and shutdown leaves no process behind.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');

/** Process ids in a process group (empty once the group is gone). */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=']).toString();
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([pid, group]) => group === pgid && pid !== undefined)
    .map(([pid]) => pid!);
}

describe('an upstream that crashes mid-call', () => {
  let gw: RunningGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startGateway({
      mcpServers: { crashy: nodeServer(STDIO_FIXTURE), steady: nodeServer(STDIO_FIXTURE, ['--name', 'steady']) },
    });
    client = await connectLegacy(gw.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
  });

  it('fails the call in flight with UPSTREAM_UNAVAILABLE, keeps the others, and comes back', async () => {
    const toolsChanged = () => new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    const vanished = toolsChanged();
    const started = Date.now();
    const error = await client.callTool({ name: 'crashy__exit', arguments: { code: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', server: 'crashy' });
    expect(Date.now() - started).toBeLessThan(5_000);

    // The other upstream never noticed.
    const steady = await client.callTool({ name: 'steady__echo', arguments: { text: 'fine' } });
    expect(steady.content).toEqual([{ type: 'text', text: 'fine' }]);

    // Its tools leave the catalog with a list_changed, and come back with another.
    await vanished;
    const back = toolsChanged();
    await back;
    await eventually(
      async () => (await client.listTools()).tools.map((t) => t.name),
      (names) => names.includes('crashy__echo'),
    );
    const again = await client.callTool({ name: 'crashy__echo', arguments: { text: 'revived' } });
    expect(again.content).toEqual([{ type: 'text', text: 'revived' }]);
    expect(gw.gateway.upstreams.find((u) => u.name === 'crashy')!.restarts).toBe(1);
  });
});

describe('an upstream that hangs', () => {
  let gw: RunningGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startGateway({
      mcpServers: { slowpoke: nodeServer(STDIO_FIXTURE) },
      gateway: { servers: { slowpoke: { timeoutMs: 400 } } },
    });
    client = await connectLegacy(gw.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
  });

  it('times the call out with UPSTREAM_TIMEOUT', async () => {
    const error = await client.callTool({ name: 'slowpoke__hang', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32001);
    expect((error as McpError).data).toMatchObject({ code: 'UPSTREAM_TIMEOUT', server: 'slowpoke' });
  });
});

describe('an upstream that cannot start', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway({
      mcpServers: {
        broken: { command: path.join(FIXTURES, 'does-not-exist') },
        fine: nodeServer(STDIO_FIXTURE),
      },
    });
  });
  afterAll(async () => gw?.close());

  it('is reported in /readyz while the others serve', async () => {
    const body = (await (await fetch(`${gw.url}/readyz`)).json()) as { upstreams: Record<string, { state: string; error?: string }> };
    expect(body.upstreams.broken!.state).not.toBe('ready');
    // A class, never the message: it can quote the child's stderr (see the stderr-tail test in governance).
    expect(body.upstreams.broken!.error).toBe('spawn-failed');
    expect(gw.gateway.upstreams.find((u) => u.name === 'broken')!.lastError).toMatch(/ENOENT|does-not-exist/);
    expect(body.upstreams.fine!.state).toBe('ready');
    const client = await connectLegacy(gw.mcpUrl);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('fine__echo');
      expect(names.some((n) => n.startsWith('broken__'))).toBe(false);
      // A call to a server that is down says so, rather than "unknown tool".
      const error = await client.callTool({ name: 'broken__anything', arguments: {} }).catch((e: unknown) => e);
      expect((error as McpError).data).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', server: 'broken' });
    } finally {
      await client.close();
    }
  });
});

describe('shutdown', () => {
  it('kills every stdio child, grandchildren of a shell wrapper included', async () => {
    const gw = await startGateway({
      mcpServers: { wrapped: { command: '/bin/sh', args: ['-c', `"${process.execPath}" "${STDIO_FIXTURE}"`] } },
    });
    const upstream = gw.gateway.upstreams[0]!;
    expect(upstream.state).toBe('ready');
    const pgid = upstream.pid!;
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(1);
    await gw.close();
    await eventually(
      () => groupMembers(pgid),
      (members) => members.length === 0,
    );
  });
});

describe('graceful shutdown', () => {
  it('lets calls in flight finish within drainMs, and refuses to wait longer', async () => {
    const gw = await startGateway({ mcpServers: { ks: nodeServer(STDIO_FIXTURE) }, gateway: { drainMs: 1_500 } });
    const client = await connectLegacy(gw.mcpUrl);
    let slowStarted!: () => void;
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    const finishing = client.callTool({ name: 'ks__progress', arguments: { steps: 20 } }, undefined, { onprogress: () => slowStarted() });
    const hanging = client.callTool({ name: 'ks__hang', arguments: {} }).then(
      () => 'answered',
      () => 'failed',
    );
    await started;
    const t0 = Date.now();
    await gw.close();
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect((await finishing).content).toEqual([{ type: 'text', text: 'progress done' }]);
    // The call that would never end is failed, not left hanging.
    expect(await hanging).toBe('failed');
    await client.close().catch(() => {});
  });
});

describe('idle sessions', () => {
  it('expire and release their resources; the client then gets 404', async () => {
    const gw = await startGateway({ mcpServers: { ks: nodeServer(STDIO_FIXTURE) }, gateway: { sessionIdleMs: 1_000 } });
    try {
      const client = await connectLegacy(gw.mcpUrl);
      const sessionId = (client.transport as { sessionId?: string }).sessionId!;
      expect(gw.gateway.hub.sessions.size).toBe(1);
      await eventually(
        () => gw.gateway.hub.sessions.size,
        (n) => n === 0,
        8_000,
      );
      const res = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
      await client.close().catch(() => {});
    } finally {
      await gw.close();
    }
  });
});
