/**
 * The gateway in front of the published reference server over stdio, used by
 * the SDK's real v1 client over Streamable HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, EVERYTHING, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
let client: Client;

beforeAll(async () => {
  gw = await startGateway({ mcpServers: { everything: nodeServer(EVERYTHING, ['stdio']) } });
  client = await connectLegacy(gw.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await gw?.close();
});

describe('server-everything over stdio through the gateway', () => {
  it('lists its tools under the server prefix', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('everything__echo');
    expect(names).toContain('everything__get-sum');
    expect(names.every((n) => n.startsWith('everything__'))).toBe(true);
  });

  it('routes a call with the original name and passes the result through', async () => {
    const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'hi there' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: hi there' }]);
  });

  it('keeps structuredContent', async () => {
    const result = await client.request(
      { method: 'tools/call', params: { name: 'everything__get-structured-content', arguments: { location: 'New York' } } },
      CallToolResultSchema,
    );
    expect(result.structuredContent).toMatchObject({ temperature: expect.any(Number) });
  });

  it('answers an unknown tool with -32602 and the UNKNOWN_TOOL code', async () => {
    const error = await client.callTool({ name: 'everything__nope', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32602);
    expect((error as McpError).data).toMatchObject({ code: 'UNKNOWN_TOOL' });
  });

  it('reads a listed resource by its exposed URI', async () => {
    const { resources } = await client.listResources();
    const first = resources[0]!;
    expect(first.uri.startsWith('everything+demo://')).toBe(true);
    const read = await client.readResource({ uri: first.uri });
    expect(read.contents[0]?.uri).toBe(first.uri);
  });

  it('gets a prompt by its exposed name', async () => {
    const prompt = await client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Paris' } });
    expect(JSON.stringify(prompt.messages)).toContain('Paris');
  });
});
