/**
 * Proves the fixture MCP servers in test/fixtures/servers/ work, by talking to
 * them with real clients: the v2 `Client` (`@modelcontextprotocol/client`) and
 * the v1 `Client` (`@modelcontextprotocol/sdk`), over stdio and Streamable HTTP,
 * on the 2025 era (initialize) and the 2026-07-28 era.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioTransportV2 } from '@modelcontextprotocol/client/stdio';
import type { Transport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport as TransportV1 } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/v4';

// ---------------------------------------------------------------------------
// fixture locations and the in-process HTTP fixture's shape
// ---------------------------------------------------------------------------

const STDIO_FIXTURE = fileURLToPath(new URL('../fixtures/servers/stdio.mjs', import.meta.url));
const HTTP_FIXTURE = fileURLToPath(new URL('../fixtures/servers/http.mjs', import.meta.url));

/** Mirrors `HttpFixture` in test/fixtures/servers/http.mjs (a .mjs file has no typings under this tsconfig). */
interface HttpFixture {
  url: string;
  port: number;
  headersSeen: Record<string, string | string[] | undefined>[];
  sessionCount(): number;
  close(): Promise<void>;
}
type StartHttpFixture = (options?: {
  port?: number;
  host?: string;
  name?: string;
  mode?: 'sessionful' | 'modern';
  extraTools?: number;
}) => Promise<HttpFixture>;

async function loadStartHttpFixture(): Promise<StartHttpFixture> {
  const mod = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as { startHttpFixture: StartHttpFixture };
  return mod.startHttpFixture;
}

const BUILTIN_TOOLS = [
  'echo',
  'add',
  'slow',
  'hang',
  'progress',
  'sample',
  'elicit',
  'roots',
  'log',
  'add_tool',
  'fail',
  'throw_error',
  'meta',
  'exit',
  'headers',
  'touch',
  'request_meta',
];
const CLIENT_ROOTS = [
  { uri: 'file:///tmp/fixture-root-a', name: 'Root A' },
  { uri: 'file:///tmp/fixture-root-b', name: 'Root B' },
];
const BLOB_BASE64 = Buffer.from([0, 1, 2, 3, 250, 251, 252, 253, 254, 255]).toString('base64');
const CUSTOM_HEADER = 'x-fixture-test';
/** Upper bound for waiting on a notification; a guard against hanging, never a sleep. */
const EVENT_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------
// notification log: handlers push, tests await
// ---------------------------------------------------------------------------

type EventKind = 'log' | 'toolsChanged' | 'resourceUpdated' | 'sampling' | 'elicitation';

/** Records what the client's handlers saw and lets a test await the next matching entry. */
class EventLog {
  private readonly seen: { kind: EventKind; data: unknown }[] = [];
  private readonly waiters = new Set<{ kind: EventKind; match: (data: unknown) => boolean; resolve: (data: unknown) => void }>();

  push(kind: EventKind, data: unknown): void {
    this.seen.push({ kind, data });
    for (const waiter of this.waiters) {
      if (waiter.kind === kind && waiter.match(data)) {
        this.waiters.delete(waiter);
        waiter.resolve(data);
      }
    }
  }

  /** Resolves with the first entry of `kind` matching `match` - already recorded or still to come. */
  next<T = unknown>(kind: EventKind, match: (data: T) => boolean = () => true): Promise<T> {
    const hit = this.seen.find((entry) => entry.kind === kind && match(entry.data as T));
    if (hit) return Promise.resolve(hit.data as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        kind,
        match: (data: unknown) => match(data as T),
        resolve: (data: unknown) => {
          clearTimeout(timer);
          resolve(data as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${kind} event within ${EVENT_TIMEOUT_MS} ms; saw: ${JSON.stringify(this.seen)}`));
      }, EVENT_TIMEOUT_MS);
      this.waiters.add(waiter);
    });
  }
}

// ---------------------------------------------------------------------------
// one driver interface over the v1 and v2 clients
// ---------------------------------------------------------------------------

interface Block {
  type: string;
  text?: string;
}
interface ToolResult {
  content: Block[];
  isError?: boolean;
  structuredContent?: unknown;
}
interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number }) => void;
}

interface Driver {
  readonly label: string;
  readonly events: EventLog;
  listTools(): Promise<{ name: string; annotations?: { readOnlyHint?: boolean }; outputSchema?: unknown }[]>;
  listResources(): Promise<{ uri: string; mimeType?: string }[]>;
  listResourceTemplates(): Promise<{ uriTemplate: string }[]>;
  listPrompts(): Promise<{ name: string; arguments?: { name: string }[] }[]>;
  readResource(uri: string): Promise<{ uri: string; text?: string; blob?: string; mimeType?: string }[]>;
  getPrompt(name: string, args: Record<string, string>): Promise<{ role: string; content: Block }[]>;
  complete(prompt: string, argument: string, value: string): Promise<string[]>;
  callTool(name: string, args?: Record<string, unknown>, options?: CallOptions): Promise<ToolResult>;
  /** `tools/call` through the generic request path with a permissive result schema: nothing is stripped. */
  rawCallTool(name: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  subscribe(uri: string): Promise<void>;
  unsubscribe(uri: string): Promise<void>;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'fixtures-test', version: '1.0.0' };
const sampledText = (prompt: string) => `sampled: ${prompt}`;

function textOf(result: { content: Block[] }): string {
  return result.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('');
}

/** Connects a v2 `Client` with sampling/elicitation/roots handlers and notification recorders. */
async function connectV2(label: string, transport: TransportV2, mode: 'legacy' | 'auto' | { pin: string } = 'legacy') {
  const events = new EventLog();
  const client = new ClientV2(CLIENT_INFO, {
    capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
    versionNegotiation: { mode },
  });
  client.setRequestHandler('sampling/createMessage', async (request) => {
    events.push('sampling', request.params);
    const last = request.params.messages.at(-1)?.content;
    const prompt = last && !Array.isArray(last) && last.type === 'text' ? last.text : '?';
    return { model: 'fixture-model', role: 'assistant', content: { type: 'text', text: sampledText(prompt) } };
  });
  client.setRequestHandler('elicitation/create', async (request) => {
    events.push('elicitation', request.params);
    return { action: 'accept', content: { name: 'zed' } };
  });
  client.setRequestHandler('roots/list', async () => ({ roots: CLIENT_ROOTS }));
  client.setNotificationHandler('notifications/message', (notification) => events.push('log', notification.params));
  client.setNotificationHandler('notifications/tools/list_changed', () => events.push('toolsChanged', null));
  client.setNotificationHandler('notifications/resources/updated', (notification) => events.push('resourceUpdated', notification.params));
  await client.connect(transport);

  const driver: Driver & { client: ClientV2 } = {
    label,
    events,
    client,
    listTools: async () => (await client.listTools()).tools,
    listResources: async () => (await client.listResources()).resources,
    listResourceTemplates: async () => (await client.listResourceTemplates()).resourceTemplates,
    listPrompts: async () => (await client.listPrompts()).prompts,
    readResource: async (uri) => (await client.readResource({ uri })).contents,
    getPrompt: async (name, args) => (await client.getPrompt({ name, arguments: args })).messages,
    complete: async (prompt, argument, value) =>
      (await client.complete({ ref: { type: 'ref/prompt', name: prompt }, argument: { name: argument, value } })).completion.values,
    callTool: async (name, args = {}, options = {}) => client.callTool({ name, arguments: args }, options),
    rawCallTool: async (name, args = {}) => client.request({ method: 'tools/call', params: { name, arguments: args } }, z.looseObject({})),
    subscribe: async (uri) => {
      await client.subscribeResource({ uri });
    },
    unsubscribe: async (uri) => {
      await client.unsubscribeResource({ uri });
    },
    close: () => client.close(),
  };
  return driver;
}

/** Connects a v1 `Client` (SDK 1.x) with the same handlers. */
async function connectV1(label: string, transport: TransportV1) {
  const events = new EventLog();
  const client = new ClientV1(CLIENT_INFO, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    events.push('sampling', request.params);
    const last = request.params.messages.at(-1)?.content;
    const prompt = last && !Array.isArray(last) && last.type === 'text' ? last.text : '?';
    return { model: 'fixture-model', role: 'assistant', content: { type: 'text', text: sampledText(prompt) } };
  });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    events.push('elicitation', request.params);
    return { action: 'accept', content: { name: 'zed' } };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: CLIENT_ROOTS }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => events.push('log', notification.params));
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => events.push('toolsChanged', null));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => events.push('resourceUpdated', notification.params));
  await client.connect(transport);

  const driver: Driver & { client: ClientV1 } = {
    label,
    events,
    client,
    listTools: async () => (await client.listTools()).tools,
    listResources: async () => (await client.listResources()).resources,
    listResourceTemplates: async () => (await client.listResourceTemplates()).resourceTemplates,
    listPrompts: async () => (await client.listPrompts()).prompts,
    readResource: async (uri) => (await client.readResource({ uri })).contents as { uri: string; text?: string; blob?: string }[],
    getPrompt: async (name, args) => (await client.getPrompt({ name, arguments: args })).messages,
    complete: async (prompt, argument, value) =>
      (await client.complete({ ref: { type: 'ref/prompt', name: prompt }, argument: { name: argument, value } })).completion.values,
    callTool: async (name, args = {}, options = {}) => (await client.callTool({ name, arguments: args }, undefined, options)) as ToolResult,
    rawCallTool: async (name, args = {}) => client.request({ method: 'tools/call', params: { name, arguments: args } }, z.looseObject({})),
    subscribe: async (uri) => {
      await client.subscribeResource({ uri });
    },
    unsubscribe: async (uri) => {
      await client.unsubscribeResource({ uri });
    },
    close: () => client.close(),
  };
  return driver;
}

/** A stdio transport whose server stderr is captured instead of cluttering the test output. */
function stdioV2(args: string[] = []) {
  const transport = new StdioTransportV2({ command: process.execPath, args: [STDIO_FIXTURE, ...args], stderr: 'pipe' });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return { transport, stderr };
}

function stdioV1(args: string[] = []) {
  const transport = new StdioTransportV1({ command: process.execPath, args: [STDIO_FIXTURE, ...args], stderr: 'pipe' });
  transport.stderr?.on('data', () => {});
  return transport;
}

const httpHeaders = { [CUSTOM_HEADER]: 'yes' };

// ---------------------------------------------------------------------------
// the 2025-era catalogue, run against every (transport, client) pair
// ---------------------------------------------------------------------------

let nameCounter = 0;
const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${++nameCounter}`;

function legacyCatalogue(connect: () => Promise<Driver>, transportKind: 'stdio' | 'http') {
  let driver: Driver;
  beforeAll(async () => {
    driver = await connect();
  });
  afterAll(async () => {
    await driver?.close();
  });

  it('lists tools, resources, templates and prompts', async () => {
    const tools = await driver.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(BUILTIN_TOOLS));
    const echo = tools.find((tool) => tool.name === 'echo');
    expect(echo?.annotations?.readOnlyHint).toBe(true);
    expect(echo?.outputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });

    const resources = await driver.listResources();
    expect(resources.map((resource) => resource.uri).sort()).toEqual(['fixture://static/blob', 'fixture://static/hello']);
    expect(resources.find((resource) => resource.uri === 'fixture://static/hello')?.mimeType).toBe('text/plain');

    const templates = await driver.listResourceTemplates();
    expect(templates.map((template) => template.uriTemplate)).toEqual(['fixture://items/{id}']);

    const prompts = await driver.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual(['greet']);
    expect(prompts[0]?.arguments?.map((argument) => argument.name)).toEqual(['name']);
  });

  it('echo returns text and structuredContent; add sums', async () => {
    const echoed = await driver.callTool('echo', { text: 'ping' });
    expect(echoed.content).toEqual([{ type: 'text', text: 'ping' }]);
    expect(echoed.structuredContent).toEqual({ text: 'ping' });
    expect(textOf(await driver.callTool('add', { a: 2, b: 3 }))).toBe('5');
  });

  it('meta keeps an unknown top-level field and _meta on the raw result', async () => {
    const raw = await driver.rawCallTool('meta');
    expect(raw.extraField).toBe(42);
    expect(raw._meta).toEqual({ 'fixture/x': 1 });
    expect(raw.content).toEqual([{ type: 'text', text: 'meta' }]);
  });

  it('fail is a tool error, throw_error a JSON-RPC error', async () => {
    const failed = await driver.callTool('fail');
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toBe('this tool always fails');
    await expect(driver.callTool('throw_error')).rejects.toMatchObject({ code: -32603 });
  });

  it('progress sends one notification per step', async () => {
    const updates: { progress: number; total?: number }[] = [];
    const result = await driver.callTool('progress', { steps: 3 }, { onprogress: (update) => updates.push(update) });
    expect(textOf(result)).toBe('progress done');
    expect(updates.map(({ progress, total }) => ({ progress, total }))).toEqual([
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
      { progress: 3, total: 3 },
    ]);
  });

  it('slow is cancelled through an AbortSignal, and the server stops it', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = driver.callTool('slow', { ms: 20_000 }, { signal: controller.signal });
    const settled = call.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    // One full round trip behind the slow call: it has reached the server by now.
    expect(textOf(await driver.callTool('add', { a: 1, b: 1 }))).toBe('2');
    const reported = driver.events.next<{ data: { cancelled?: string; reason?: string } }>('log', (entry) => entry.data?.cancelled === 'slow');
    controller.abort(new Error('test cancelled slow'));
    expect(await settled).not.toBe('resolved');
    // The fixture reports the abort of its handler: notifications/cancelled reached the server.
    expect((await reported).data.reason).toContain('test cancelled slow');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The connection is still healthy after the cancellation.
    expect(textOf(await driver.callTool('slow', { ms: 1 }))).toBe('done');
  });

  it('hang never answers until cancelled', async () => {
    const controller = new AbortController();
    const call = driver.callTool('hang', {}, { signal: controller.signal }).then(
      () => 'resolved',
      () => 'rejected',
    );
    const reported = driver.events.next<{ data: { cancelled?: string } }>('log', (entry) => entry.data?.cancelled === 'hang');
    expect(textOf(await driver.callTool('add', { a: 1, b: 2 }))).toBe('3');
    controller.abort();
    expect(await call).toBe('rejected');
    await reported;
  });

  it('sample round-trips through the client sampling handler', async () => {
    const result = await driver.callTool('sample', { prompt: 'tell me a joke' });
    expect(textOf(result)).toBe(sampledText('tell me a joke'));
    const request = await driver.events.next<{ maxTokens: number }>('sampling');
    expect(request.maxTokens).toBe(100);
  });

  it('elicit round-trips through the client elicitation handler', async () => {
    const result = await driver.callTool('elicit', { message: 'What is your name?' });
    expect(JSON.parse(textOf(result))).toEqual({ action: 'accept', content: { name: 'zed' } });
    const request = await driver.events.next<{ message: string; requestedSchema: unknown }>('elicitation');
    expect(request.message).toBe('What is your name?');
    expect(request.requestedSchema).toMatchObject({ properties: { name: { type: 'string' } } });
  });

  it('roots round-trips through the client roots/list handler', async () => {
    expect(JSON.parse(textOf(await driver.callTool('roots')))).toEqual(CLIENT_ROOTS);
  });

  it('log sends a logging message notification', async () => {
    const message = uniqueName('log');
    const logged = driver.events.next<{ level: string; data: unknown }>('log', (entry) => entry.data === message);
    expect(textOf(await driver.callTool('log', { level: 'warning', message }))).toBe('logged');
    expect((await logged).level).toBe('warning');
  });

  it('add_tool registers a tool and emits tools/list_changed', async () => {
    const name = uniqueName('dyn');
    const changed = driver.events.next('toolsChanged');
    expect(textOf(await driver.callTool('add_tool', { name }))).toBe('added');
    await changed;
    expect((await driver.listTools()).map((tool) => tool.name)).toContain(name);
    expect(textOf(await driver.callTool(name))).toBe(`${name} called`);
  });

  it('reads static resources and the template', async () => {
    expect(await driver.readResource('fixture://static/hello')).toEqual([
      { uri: 'fixture://static/hello', mimeType: 'text/plain', text: 'hello from fixture' },
    ]);
    const [blob] = await driver.readResource('fixture://static/blob');
    expect(blob?.blob).toBe(BLOB_BASE64);
    expect(await driver.readResource('fixture://items/42')).toEqual([{ uri: 'fixture://items/42', mimeType: 'text/plain', text: 'item 42' }]);
  });

  it('gets the greet prompt and completes its argument', async () => {
    expect(await driver.getPrompt('greet', { name: 'bob' })).toEqual([{ role: 'user', content: { type: 'text', text: 'Hello, bob!' } }]);
    expect(await driver.complete('greet', 'name', 'c')).toEqual(['carol']);
    expect(await driver.complete('greet', 'name', '')).toEqual(['alice', 'bob', 'carol']);
  });

  it('subscribe + touch delivers resources/updated; unsubscribe stops it', async () => {
    const uri = 'fixture://items/7';
    await driver.subscribe(uri);
    const updated = driver.events.next<{ uri: string }>('resourceUpdated', (params) => params.uri === uri);
    expect(textOf(await driver.callTool('touch', { uri }))).toBe('touched');
    expect(await updated).toEqual({ uri });
    await driver.unsubscribe(uri);
    expect(textOf(await driver.callTool('touch', { uri }))).toBe('touched (no subscribers)');
  });

  it(`headers reports the ${transportKind} request headers`, async () => {
    const headers = JSON.parse(textOf(await driver.callTool('headers'))) as Record<string, string>;
    if (transportKind === 'stdio') expect(headers).toEqual({});
    else expect(headers[CUSTOM_HEADER]).toBe('yes');
  });
}

// ---------------------------------------------------------------------------
// stdio
// ---------------------------------------------------------------------------

describe('stdio fixture', () => {
  describe('v2 client, 2025 era', () => {
    legacyCatalogue(async () => connectV2('stdio v2', stdioV2().transport), 'stdio');
  });

  describe('v1 client', () => {
    legacyCatalogue(async () => connectV1('stdio v1', stdioV1()), 'stdio');
  });

  it('honours --name and --extra-tools', async () => {
    const driver = await connectV2('stdio flags', stdioV2(['--name', 'renamed', '--extra-tools', '3']).transport);
    try {
      expect(driver.client.getServerVersion()?.name).toBe('renamed');
      expect(driver.client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
      const names = (await driver.listTools()).map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['tool_0', 'tool_1', 'tool_2']));
      expect(names).not.toContain('tool_3');
      expect(names).toHaveLength(BUILTIN_TOOLS.length + 3);
      expect(textOf(await driver.callTool('tool_2'))).toBe('tool_2');
    } finally {
      await driver.close();
    }
  });

  it('serves a 2026-07-28 client (auto negotiation)', async () => {
    const driver = await connectV2('stdio modern', stdioV2().transport, 'auto');
    try {
      expect(driver.client.getProtocolEra()).toBe('modern');
      expect(driver.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const echoed = await driver.callTool('echo', { text: 'modern ping' });
      expect(echoed.structuredContent).toEqual({ text: 'modern ping' });
      // Server-to-client requests become input_required rounds on this era.
      expect(textOf(await driver.callTool('sample', { prompt: 'modern' }))).toBe(sampledText('modern'));
      const raw = await driver.rawCallTool('meta');
      expect(raw.extraField).toBe(42);
      expect(raw._meta).toMatchObject({ 'fixture/x': 1 });
    } finally {
      await driver.close();
    }
  });

  it('exit ends the server process mid-call', async () => {
    const { transport } = stdioV2();
    const driver = await connectV2('stdio exit', transport);
    const closed = new Promise<void>((resolve) => {
      driver.client.onclose = () => resolve();
    });
    try {
      await expect(driver.callTool('exit', { code: 3 })).rejects.toThrow();
      await closed;
    } finally {
      await driver.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Streamable HTTP (in process)
// ---------------------------------------------------------------------------

describe('http fixture, sessionful mode', () => {
  let fixture: HttpFixture;
  beforeAll(async () => {
    fixture = await (await loadStartHttpFixture())({ mode: 'sessionful' });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  describe('v2 client, 2025 era', () => {
    legacyCatalogue(async () => connectV2('http v2', new HttpTransportV2(new URL(fixture.url), { requestInit: { headers: httpHeaders } })), 'http');
  });

  describe('v1 client', () => {
    legacyCatalogue(async () => connectV1('http v1', new HttpTransportV1(new URL(fixture.url), { requestInit: { headers: httpHeaders } })), 'http');
  });

  it('records the headers of every POST', async () => {
    expect(fixture.url).toBe(`http://127.0.0.1:${fixture.port}/mcp`);
    const before = fixture.headersSeen.length;
    const driver = await connectV2('http headers', new HttpTransportV2(new URL(fixture.url), { requestInit: { headers: { [CUSTOM_HEADER]: 'own' } } }));
    try {
      await driver.callTool('echo', { text: 'headers' });
      const mine = fixture.headersSeen.slice(before).filter((headers) => headers[CUSTOM_HEADER] === 'own');
      // initialize, notifications/initialized, tools/call (other suites' POSTs may interleave)
      expect(mine.length).toBeGreaterThanOrEqual(3);
      expect(mine[0]?.['mcp-session-id']).toBeUndefined();
      expect(mine.at(-1)?.['mcp-session-id']).toEqual(expect.any(String));
    } finally {
      await driver.close();
    }
  });

  it('answers 404 for an unknown session id', async () => {
    const response = await fetch(fixture.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'no-such-session',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: -32001 } });
  });

  it('delivers touch on one session to the subscribers of another', async () => {
    const subscriber = await connectV2('http subscriber', new HttpTransportV2(new URL(fixture.url)));
    const toucher = await connectV1('http toucher', new HttpTransportV1(new URL(fixture.url)));
    try {
      const uri = 'fixture://static/hello';
      await subscriber.subscribe(uri);
      const updated = subscriber.events.next<{ uri: string }>('resourceUpdated', (params) => params.uri === uri);
      expect(textOf(await toucher.callTool('touch', { uri }))).toBe('touched');
      expect(await updated).toEqual({ uri });
    } finally {
      await Promise.all([subscriber.close(), toucher.close()]);
    }
  });

  it('keeps one session per 2025-era client and routes 2026-07-28 requests to the strict handler', async () => {
    const before = fixture.sessionCount();
    const driver = await connectV2('http modern', new HttpTransportV2(new URL(fixture.url)), 'auto');
    try {
      expect(driver.client.getProtocolEra()).toBe('modern');
      const echoed = await driver.callTool('echo', { text: 'modern over http' });
      expect(echoed.structuredContent).toEqual({ text: 'modern over http' });
      expect(fixture.sessionCount()).toBe(before); // no 2025 session was created
    } finally {
      await driver.close();
    }
  });
});

describe('http fixture, modern mode', () => {
  let fixture: HttpFixture;
  beforeAll(async () => {
    fixture = await (await loadStartHttpFixture())({ mode: 'modern', name: 'modern-sink' });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('serves a pinned 2026-07-28 client, including subscriptions/listen', async () => {
    const driver = await connectV2('http pinned', new HttpTransportV2(new URL(fixture.url)), { pin: '2026-07-28' });
    try {
      expect(driver.client.getProtocolEra()).toBe('modern');
      expect(driver.client.getServerVersion()?.name).toBe('modern-sink');
      const echoed = await driver.callTool('echo', { text: 'pinned' });
      expect(echoed.structuredContent).toEqual({ text: 'pinned' });

      const uri = 'fixture://static/hello';
      const subscription = await driver.client.listen({ toolsListChanged: true, resourceSubscriptions: [uri] });
      try {
        expect(subscription.honoredFilter).toEqual({ toolsListChanged: true, resourceSubscriptions: [uri] });
        const updated = driver.events.next<{ uri: string }>('resourceUpdated', (params) => params.uri === uri);
        await driver.callTool('touch', { uri });
        // On a listen stream the params also carry `_meta['io.modelcontextprotocol/subscriptionId']`.
        expect(await updated).toMatchObject({ uri });

        const name = uniqueName('modern_dyn');
        const changed = driver.events.next('toolsChanged');
        expect(textOf(await driver.callTool('add_tool', { name }))).toBe('added');
        await changed;
        // Per-request instances: the added tool survives because the fixture shares it.
        expect(textOf(await driver.callTool(name))).toBe(`${name} called`);
      } finally {
        await subscription.close();
      }
    } finally {
      await driver.close();
    }
  });

  it('serves 2025-era clients statelessly; server-to-client requests fail fast', async () => {
    const driver = await connectV2('http stateless', new HttpTransportV2(new URL(fixture.url)));
    try {
      expect(driver.client.getProtocolEra()).toBe('legacy');
      expect((await driver.callTool('echo', { text: 'stateless' })).structuredContent).toEqual({ text: 'stateless' });
      const sampled = await driver.callTool('sample', { prompt: 'x' });
      expect(sampled.isError).toBe(true);
      expect(fixture.sessionCount()).toBe(0);
    } finally {
      await driver.close();
    }
  });
});

// ---------------------------------------------------------------------------
// http.mjs as a script
// ---------------------------------------------------------------------------

describe('http fixture as a script', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('prints LISTENING <url>, serves, and stops on SIGTERM', async () => {
    const proc = spawn(process.execPath, [HTTP_FIXTURE, '--port', '0', '--mode', 'sessionful', '--name', 'scripted'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stderr.resume();
    const exited = once(proc, 'exit');
    const lines = createInterface({ input: proc.stdout });
    const [firstLine] = (await once(lines, 'line')) as [string];
    const match = /^LISTENING (http:\/\/127\.0\.0\.1:\d+\/mcp)$/.exec(firstLine);
    expect(match, firstLine).not.toBeNull();

    const driver = await connectV2('http script', new HttpTransportV2(new URL(match![1]!)));
    try {
      expect(driver.client.getServerVersion()?.name).toBe('scripted');
      expect(textOf(await driver.callTool('add', { a: 20, b: 22 }))).toBe('42');
    } finally {
      await driver.close();
    }
    proc.kill('SIGTERM');
    const [code] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(code).toBe(0);
  });
});
