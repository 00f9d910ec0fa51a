/**
 * The whole protocol through the gateway: an SDK fixture server over stdio and
 * server-everything over stdio, merged behind one Streamable HTTP endpoint and
 * used by the real v1 SDK client (the 2025-era client most deployments have).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type McpError,
  ResourceUpdatedNotificationSchema,
  ResultSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, EVERYTHING, FIXTURES, forwardedTo, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const STDIO_FIXTURE = path.join(FIXTURES, 'stdio.mjs');
let gw: RunningGateway;
let client: Client;

const text = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? '';

beforeAll(async () => {
  gw = await startGateway({
    mcpServers: {
      ks: nodeServer(STDIO_FIXTURE),
      everything: nodeServer(EVERYTHING, ['stdio']),
    },
  });
  client = await connectLegacy(gw.mcpUrl, { sampling: {}, elicitation: {}, roots: { listChanged: true } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: 'sampled by the client' },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));
});

afterAll(async () => {
  await client?.close();
  await gw?.close();
});

describe('merged catalog', () => {
  it('namespaces tools, prompts, resources and templates of every upstream', async () => {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['ks__echo', 'ks__progress', 'everything__echo', 'everything__get-sum']));
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(expect.arrayContaining(['ks__greet', 'everything__simple-prompt']));
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toContain('ks+fixture://static/hello');
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toContain('ks+fixture://items/{id}');
  });

  it('rejects a cursor it did not issue with -32602', async () => {
    const error = await client.listTools({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32602);
  });
});

describe('routing', () => {
  it('calls tools on both upstreams', async () => {
    expect(text(await client.callTool({ name: 'ks__echo', arguments: { text: 'one' } }))).toBe('one');
    expect(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'two' } }))).toBe('Echo: two');
  });

  it('passes results through verbatim, unknown fields and _meta included', async () => {
    const result = await client.request({ method: 'tools/call', params: { name: 'ks__meta', arguments: {} } }, ResultSchema);
    expect(result).toMatchObject({ extraField: 42, _meta: { 'fixture/x': 1 } });
  });

  it('passes isError results through as results', async () => {
    const result = await client.callTool({ name: 'ks__fail', arguments: {} });
    expect(result.isError).toBe(true);
  });

  it('reads a resource through a template', async () => {
    const read = await client.readResource({ uri: 'ks+fixture://items/42' });
    expect(read.contents[0]).toMatchObject({ uri: 'ks+fixture://items/42', text: 'item 42' });
  });

  it('answers an unknown resource with the resource-not-found error', async () => {
    const error = await client.readResource({ uri: 'nowhere://x' }).catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32602);
    expect((error as McpError).data).toMatchObject({ code: 'UNKNOWN_RESOURCE', uri: 'nowhere://x' });
  });

  it('gets a prompt and completes its argument', async () => {
    const prompt = await client.getPrompt({ name: 'ks__greet', arguments: { name: 'Ada' } });
    expect(JSON.stringify(prompt.messages)).toContain('Hello, Ada!');
    const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'ks__greet' }, argument: { name: 'name', value: 'a' } });
    expect(completion.completion.values).toEqual(['alice']);
  });
});

describe('progress and cancellation', () => {
  it('relays progress notifications under the client’s own token', async () => {
    const seen: number[] = [];
    const result = await client.callTool({ name: 'ks__progress', arguments: { steps: 3 } }, undefined, {
      onprogress: (p) => void seen.push(p.progress),
    });
    expect(text(result)).toBe('progress done');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('cancels an upstream call when the client aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const arrived = forwardedTo(gw, 'ks', (method, params) => method === 'tools/call' && params?.name === 'slow');
    const call = client.callTool({ name: 'ks__slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal });
    // Aborted once the call is in flight upstream, not after a guess at how long that takes.
    await arrived;
    controller.abort('changed my mind');
    await expect(call).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    // The upstream is still healthy afterwards.
    expect(text(await client.callTool({ name: 'ks__echo', arguments: { text: 'after' } }))).toBe('after');
  });
});

describe('server-to-client requests reach the session that caused them', () => {
  it('sampling', async () => {
    expect(text(await client.callTool({ name: 'ks__sample', arguments: { prompt: 'hi' } }))).toBe('sampled by the client');
  });

  it('elicitation', async () => {
    const result = JSON.parse(text(await client.callTool({ name: 'ks__elicit', arguments: { message: 'who?' } })));
    expect(result).toEqual({ action: 'accept', content: { name: 'Ada' } });
  });

  it('roots', async () => {
    const roots = JSON.parse(text(await client.callTool({ name: 'ks__roots', arguments: {} })));
    expect(roots).toEqual([{ uri: 'file:///work/project', name: 'project' }]);
  });

  it('a client without the capability gets a clear error, not a hang', async () => {
    const bare = await connectLegacy(gw.mcpUrl);
    try {
      const outcome = await bare.callTool({ name: 'ks__sample', arguments: { prompt: 'hi' } }).then(
        (r) => JSON.stringify(r),
        (e: unknown) => String(e),
      );
      expect(outcome).toMatch(/sampling/);
    } finally {
      await bare.close();
    }
  });
});

describe('notifications', () => {
  it('re-emits tools/list_changed when an upstream adds a tool', async () => {
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await client.callTool({ name: 'ks__add_tool', arguments: { name: 'fresh' } });
    await changed;
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('ks__fresh');
  });

  it('routes log messages back tagged with the upstream’s name', async () => {
    await client.setLoggingLevel('debug');
    const message = new Promise<{ logger?: string; data: unknown }>((resolve) =>
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => resolve(n.params)),
    );
    await client.callTool({ name: 'ks__log', arguments: { level: 'info', message: 'hello log' } });
    const params = await message;
    expect(params.logger).toMatch(/^ks/);
    expect(params.data).toBe('hello log');
  });

  it('delivers resources/updated only to subscribers, under the exposed URI', async () => {
    const other = await connectLegacy(gw.mcpUrl);
    let otherSaw = false;
    other.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void (otherSaw = true));
    try {
      const updated = new Promise<string>((resolve) => client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
      await client.subscribeResource({ uri: 'ks+fixture://static/hello' });
      await client.callTool({ name: 'ks__touch', arguments: { uri: 'fixture://static/hello' } });
      expect(await updated).toBe('ks+fixture://static/hello');
      await other.listTools(); // a round trip after the update: anything addressed to it would have arrived
      expect(otherSaw).toBe(false);
      await client.unsubscribeResource({ uri: 'ks+fixture://static/hello' });
    } finally {
      await other.close();
    }
  });
});
