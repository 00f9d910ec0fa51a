/**
 * Profiles: curated endpoints over one gateway. Each sees its own part of the
 * catalog, cannot call outside it, hears only of changes that concern it, is
 * visible to policy as request.profile, and a plugin's .mcp.json can be one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const STDIO = path.join(FIXTURES, 'stdio.mjs');
let gw: RunningGateway;
let dir: string;

const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-profiles-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(
    path.join(dir, 'policies/p.yaml'),
    'rules:\n  - id: data-no-add\n    match: { tools: [add] }\n    when: "request.profile == \'data\'"\n    effect: deny\n',
  );
  mkdirSync(path.join(dir, 'plugins/hr'), { recursive: true });
  writeFileSync(path.join(dir, 'plugins/hr/.mcp.json'), JSON.stringify({ mcpServers: { hr: { command: process.execPath, args: [STDIO, '--name', 'hr'] } } }));
  const file = path.join(dir, 'switchboard.json');
  const config = {
    mcpServers: {
      crm: nodeServer(STDIO, ['--name', 'crm']),
      slack: nodeServer(STDIO, ['--name', 'slack']),
      warehouse: nodeServer(STDIO, ['--name', 'warehouse']),
    },
    gateway: {
      policies: path.join(dir, 'policies'),
      profiles: {
        sales: { servers: ['crm', 'slack'], tools: ['crm__*', 'slack__echo'] },
        data: { servers: ['warehouse'], description: 'the data team' },
        hr: { include: './plugins/hr/.mcp.json' },
      },
    },
  };
  writeFileSync(file, JSON.stringify(config));
  gw = await startGateway(config, { file });
});

afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connectTo(profilePath: string): Promise<Client> {
  return connectLegacy(`${gw.url}${profilePath}`);
}

describe('profiles', () => {
  it('each endpoint sees its own catalog', async () => {
    const all = await connectTo('/mcp');
    const sales = await connectTo('/mcp/sales');
    const data = await connectTo('/mcp/data');
    try {
      const allNames = await names(all);
      expect(allNames).toEqual(expect.arrayContaining(['crm__echo', 'slack__echo', 'warehouse__echo', 'hr__echo']));
      const salesNames = await names(sales);
      expect(salesNames).toContain('crm__add');
      expect(salesNames).toContain('slack__echo');
      expect(salesNames).not.toContain('slack__add');
      expect(salesNames.some((n) => n.startsWith('warehouse__') || n.startsWith('hr__'))).toBe(false);
      expect((await names(data)).every((n) => n.startsWith('warehouse__'))).toBe(true);
    } finally {
      await Promise.allSettled([all.close(), sales.close(), data.close()]);
    }
  });

  it("cannot call another profile's tools: the spec's unknown-tool error", async () => {
    const sales = await connectTo('/mcp/sales');
    try {
      const error = await sales.callTool({ name: 'warehouse__echo', arguments: { text: 'x' } }).catch((e: unknown) => e);
      expect((error as McpError).code).toBe(-32602);
      expect((error as McpError).data).toMatchObject({ code: 'UNKNOWN_TOOL' });
      const hidden = await sales.callTool({ name: 'slack__add', arguments: { a: 1, b: 2 } }).catch((e: unknown) => e);
      expect((hidden as McpError).data).toMatchObject({ code: 'UNKNOWN_TOOL' });
      expect((await sales.callTool({ name: 'crm__echo', arguments: { text: 'ok' } })).content).toEqual([{ type: 'text', text: 'ok' }]);
    } finally {
      await sales.close();
    }
  });

  it('a session belongs to the endpoint it was opened on', async () => {
    const sales = await connectTo('/mcp/sales');
    try {
      const sessionId = (sales.transport as StreamableHTTPClientTransport).sessionId!;
      const res = await fetch(`${gw.url}/mcp/data`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(404);
    } finally {
      await sales.close();
    }
  });

  it('is visible to policy as request.profile, and in audit records', async () => {
    const data = await connectTo('/mcp/data');
    const all = await connectTo('/mcp');
    try {
      const error = await data.callTool({ name: 'warehouse__add', arguments: { a: 1, b: 1 } }).catch((e: unknown) => e);
      expect((error as McpError).data).toMatchObject({ code: 'POLICY_DENIED', ruleId: 'data-no-add' });
      expect((await all.callTool({ name: 'warehouse__add', arguments: { a: 1, b: 1 } })).content).toEqual([{ type: 'text', text: '2' }]);
      expect(gw.audit.find((r) => r.ruleId === 'data-no-add')).toMatchObject({ profile: 'data', decision: 'deny' });
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/switchboard_requests_total\{server="warehouse",method="tools\/call",outcome="POLICY_DENIED",profile="data"\} 1/);
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { profiles: { name: string; path: string }[] };
      expect(ready.profiles).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'data', path: '/mcp/data' })]));
    } finally {
      await Promise.allSettled([data.close(), all.close()]);
    }
  });

  it('a list_changed reaches only the endpoints whose servers changed', async () => {
    const sales = await connectTo('/mcp/sales');
    const data = await connectTo('/mcp/data');
    const all = await connectTo('/mcp');
    let salesHeard = false;
    sales.setNotificationHandler(ToolListChangedNotificationSchema, () => void (salesHeard = true));
    const dataHeard = new Promise<void>((resolve) => data.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    const allHeard = new Promise<void>((resolve) => all.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    try {
      await data.callTool({ name: 'warehouse__add_tool', arguments: { name: 'fresh' } });
      await Promise.all([dataHeard, allHeard]);
      await names(sales); // a round trip after the flush: anything addressed to sales has arrived
      expect(salesHeard).toBe(false);
      expect(await names(data)).toContain('warehouse__fresh');
    } finally {
      await Promise.allSettled([sales.close(), data.close(), all.close()]);
    }
  });

  it('serves legacy SSE clients at /sse/<name>', async () => {
    const client = new Client({ name: 'sse', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${gw.url}/sse/sales`)));
    try {
      const list = await names(client);
      expect(list).toContain('crm__echo');
      expect(list.some((n) => n.startsWith('warehouse__'))).toBe(false);
    } finally {
      await client.close();
    }
  });

  it("mounts a plugin's .mcp.json as a working profile", async () => {
    const hr = await connectTo('/mcp/hr');
    try {
      expect((await names(hr)).every((n) => n.startsWith('hr__'))).toBe(true);
      expect((await hr.callTool({ name: 'hr__echo', arguments: { text: 'from the plugin' } })).content).toEqual([{ type: 'text', text: 'from the plugin' }]);
    } finally {
      await hr.close();
    }
  });
});

describe('switchboard catalog --profile', () => {
  it("shows a profile's view, and fails with the fix when the profile matches no tool", async () => {
    const { execFile } = await import('node:child_process');
    const { ROOT } = await import('../helpers/gateway.js');
    const file = path.join(dir, 'catalog.json');
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: { ks: nodeServer(STDIO) },
        gateway: { policies: path.join(dir, 'none'), profiles: { good: { servers: ['ks'], tools: ['ks__e*'] }, typo: { servers: ['ks'], tools: ['kz__*'] } } },
      }),
    );
    const run = (profile: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.join(ROOT, 'bin/switchboard.js'), 'catalog', '--config', file, '--profile', profile, '--json'],
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const good = await run('good');
    expect(good.code).toBe(0);
    const items = (JSON.parse(good.stdout) as { items: { exposed: string }[] }).items.map((i) => i.exposed);
    expect(items).toContain('ks__echo');
    expect(items).not.toContain('ks__add');
    const typo = await run('typo');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/matches no tool[\s\S]*fix:/);
  });
});
