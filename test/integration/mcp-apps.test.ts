/**
 * MCP Apps through the gateway: a tool whose `_meta` names a `ui://`
 * resource is listed with that URI namespaced like the server's other
 * resource URIs; reading it routes back to the server (both eras); policy
 * decides the UI resource like any resource.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, startGateway, type RunningGateway } from '../helpers/gateway.js';

const PANEL = 'ui://weather/panel.html';
const HTML = '<!doctype html><p>weather</p>';
let http: HttpServer;
let gw: RunningGateway;
let denied: RunningGateway;
let dir: string;

beforeAll(async () => {
  const handler = createMcpHandler(() => {
    const server = new McpServer(
      { name: 'apps', version: '1' },
      { capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] }, 'io.example/own-methods': {} } } },
    );
    server.registerTool(
      'forecast',
      { description: 'shows a forecast', inputSchema: z.object({}), _meta: { ui: { resourceUri: PANEL }, 'ui/resourceUri': PANEL } },
      async () => ({ content: [{ type: 'text', text: 'sunny' }] }),
    );
    server.registerResource('panel', PANEL, { mimeType: 'text/html;profile=mcp-app' }, async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/html;profile=mcp-app', text: HTML }],
    }));
    return server;
  });
  http = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-apps-'));
  writeFileSync(
    path.join(dir, 'ui.yaml'),
    'rules:\n  - id: no-weather-ui\n    match: { servers: [weather], resources: ["ui://weather/*"] }\n    effect: deny\n',
  );
  [gw, denied] = await Promise.all([
    startGateway({ mcpServers: { weather: { type: 'http', url } } }),
    startGateway({ mcpServers: { weather: { type: 'http', url } }, gateway: { policies: dir } }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([gw?.close(), denied?.close()]);
  await new Promise<void>((resolve) => http.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const EXPOSED = `weather+${PANEL}`;

describe('MCP Apps (ui:// resources)', () => {
  it('2026: the tool names the namespaced UI resource, which is listed and reads back from its server', async () => {
    const client = new Client({ name: 'host', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
    try {
      const tool = (await client.listTools()).tools.find((t) => t.name === 'weather__forecast')!;
      expect(tool._meta).toMatchObject({ ui: { resourceUri: EXPOSED }, 'ui/resourceUri': EXPOSED });
      expect((await client.listResources()).resources.map((r) => r.uri)).toContain(EXPOSED);
      const read = await client.readResource({ uri: (tool._meta as { ui: { resourceUri: string } }).ui.resourceUri });
      expect(read.contents[0]).toMatchObject({ uri: EXPOSED, text: HTML, mimeType: 'text/html;profile=mcp-app' });
    } finally {
      await client.close();
    }
  });

  it('the gateway declares the MCP Apps extension its upstream declares (both eras), and no extension with methods of its own', async () => {
    const modern = new Client({ name: 'host', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await modern.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl)));
    const legacy = await connectLegacy(gw.mcpUrl);
    try {
      for (const caps of [modern.getServerCapabilities(), legacy.getServerCapabilities()]) {
        const extensions = (caps as { extensions?: Record<string, unknown> } | undefined)?.extensions;
        expect(extensions).toEqual({ 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } });
      }
    } finally {
      await modern.close();
      await legacy.close();
    }
  });

  it('2025: the same through a legacy session', async () => {
    const client = await connectLegacy(gw.mcpUrl);
    try {
      const tool = (await client.listTools()).tools.find((t) => t.name === 'weather__forecast')!;
      expect((tool._meta as { ui: { resourceUri: string } }).ui.resourceUri).toBe(EXPOSED);
      const read = await client.readResource({ uri: EXPOSED });
      expect((read.contents[0] as { text: string }).text).toBe(HTML);
    } finally {
      await client.close();
    }
  });

  it('policy decides the UI resource like any resource: denied read, hidden from the list', async () => {
    const client = await connectLegacy(denied.mcpUrl);
    try {
      expect((await client.listResources()).resources.map((r) => r.uri)).not.toContain(EXPOSED);
      const err = (await client.readResource({ uri: EXPOSED }).catch((e: unknown) => e)) as { code: number; data: { code: string; ruleId: string } };
      expect(err.data).toMatchObject({ code: 'POLICY_DENIED', ruleId: 'no-weather-ui' });
    } finally {
      await client.close();
    }
  });
});
