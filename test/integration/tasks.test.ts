/**
 * The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28) through
 * the gateway, against an upstream that implements it at the message level
 * (test/fixtures/servers/tasks-upstream.mjs): a task-augmented tools/call
 * gets a handle bound to its creator, tasks/get, tasks/update and
 * tasks/cancel route back by it, and nothing about a task crosses to
 * another principal, another spelling of the handle, or a 2025-era client.
 */
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  Client,
  PROTOCOL_VERSION_META_KEY,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { nodeServer, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { bodyMessages, rawRequest, type WireMessage } from '../helpers/raw-mcp.js';

const MODERN = '2026-07-28';
const TASKS = 'io.modelcontextprotocol/tasks';
const KEYS = { alice: 'alice-tasks-key', bob: 'bob-tasks-key' };

interface TasksUpstream {
  url: string;
  requests: { headers: Record<string, string | string[] | undefined>; body: { method?: string; params?: Record<string, unknown> } }[];
  tasks: Map<string, { status: string }>;
  finish(taskId: string, text: string): void;
  close(): Promise<void>;
}

let upstream: TasksUpstream;
let gw: RunningGateway;
let dir: string;
let nextId = 1;

/** One 2026-07-28 request from `key`'s holder, as a conforming client sends it; the one answer. */
async function post(
  key: string,
  method: string,
  params: Record<string, unknown>,
  options: { tasks?: boolean; name?: string; path?: string } = {},
): Promise<WireMessage> {
  const capabilities = options.tasks === false ? {} : { extensions: { [TASKS]: {} } };
  const name = options.name ?? (typeof params.taskId === 'string' ? params.taskId : typeof params.name === 'string' ? params.name : undefined);
  const res = await rawRequest(new URL(options.path ?? gw.mcpUrl), {
    headers: {
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name === undefined ? {} : { 'mcp-name': name }),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: nextId++,
      method,
      params: {
        ...params,
        _meta: { [PROTOCOL_VERSION_META_KEY]: MODERN, [CLIENT_INFO_META_KEY]: { name: 'raw', version: '1' }, [CLIENT_CAPABILITIES_META_KEY]: capabilities },
      },
    }),
  });
  const answers = (bodyMessages(res) as WireMessage[]).filter((m) => m.method === undefined);
  expect(answers, res.text).toHaveLength(1);
  return answers[0]!;
}

const result = (answer: WireMessage) => {
  expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
  return answer.result as Record<string, unknown>;
};
const error = (answer: WireMessage) => answer.error as { code: number; message: string };
const upstreamSaw = (method: string) => upstream.requests.filter((r) => r.body.method === method);

async function createTask(key: string, tool: string, args: Record<string, unknown> = {}): Promise<string> {
  const created = result(await post(key, 'tools/call', { name: `jobs__${tool}`, arguments: args }));
  expect(created.resultType).toBe('task');
  return created.taskId as string;
}

beforeAll(async () => {
  const fixture = (await import(new URL('../fixtures/servers/tasks-upstream.mjs', import.meta.url).href)) as { startTasksUpstream(): Promise<TasksUpstream> };
  upstream = await fixture.startTasksUpstream();
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-tasks-'));
  writeFileSync(
    path.join(dir, 'tasks.yaml'),
    [
      'rules:',
      '  - id: no-needs-task-for-bob',
      '    match: { servers: [jobs], tools: [needs_task] }',
      '    when: "principal.id == \'apikey:bob\'"',
      '    effect: deny',
      '',
    ].join('\n'),
  );
  gw = await startGateway({
    mcpServers: { jobs: { type: 'http', url: upstream.url }, ks: nodeServer(path.join(ROOT, 'test/fixtures/servers/stdio.mjs')) },
    gateway: {
      policies: dir,
      profiles: { 'ks-only': { servers: ['ks'] } },
      auth: {
        apiKeys: [
          { id: 'alice', sha256: hashKey(KEYS.alice), scopes: [], groups: [] },
          { id: 'bob', sha256: hashKey(KEYS.bob), scopes: [], groups: [] },
        ],
      },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  upstream.requests.length = 0;
});

describe('capabilities', () => {
  it('a 2026-07-28 client is told the gateway routes tasks; a 2025-era client is not', async () => {
    const modern = new Client({ name: 'modern', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await modern.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } } }));
    expect(modern.getProtocolEra()).toBe('modern');
    expect(modern.getServerCapabilities()?.extensions?.[TASKS]).toEqual({});
    await modern.close();

    const legacy = new LegacyClient({ name: 'legacy', version: '1' });
    await legacy.connect(new LegacyTransport(new URL(gw.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } } }));
    const capabilities = legacy.getServerCapabilities() as { extensions?: Record<string, unknown> } | undefined;
    expect(capabilities?.extensions?.[TASKS]).toBeUndefined();
    // The 2025-era client's call runs as a plain one: the upstream is not told the gateway takes tasks.
    const plain = (await legacy.callTool({ name: 'jobs__slow_job', arguments: { label: 'legacy' } })) as { content: { text: string }[] };
    expect(plain.content[0]!.text).toBe('done legacy');
    await legacy.close();
  });
});

describe('a task-augmented call', () => {
  it('comes back as a handle, not the upstream id, and polls to the result', async () => {
    const handle = await createTask(KEYS.alice, 'slow_job', { label: 'report' });
    const [upstreamId] = [...upstream.tasks.keys()].slice(-1);
    expect(handle).not.toBe(upstreamId);
    expect(handle.startsWith('sbt1.jobs.')).toBe(true);
    // The gateway declared the extension upstream in its own envelope.
    const call = upstreamSaw('tools/call').at(-1)!;
    const meta = call.body.params!._meta as Record<string, { extensions?: Record<string, unknown>; name?: string }>;
    expect(meta[CLIENT_CAPABILITIES_META_KEY]!.extensions![TASKS]).toEqual({});
    expect(meta[CLIENT_INFO_META_KEY]!.name).toBe('switchboard');

    const working = result(await post(KEYS.alice, 'tasks/get', { taskId: handle }));
    expect(working).toMatchObject({ taskId: handle, status: 'working' });
    const get = upstreamSaw('tasks/get').at(-1)!;
    expect(get.body.params!.taskId).toBe(upstreamId);
    // The routing header names the upstream's task, as the extension asks of a client.
    expect(get.headers['mcp-name']).toBe(upstreamId);

    upstream.finish(upstreamId!, 'report ready');
    const completed = result(await post(KEYS.alice, 'tasks/get', { taskId: handle }));
    expect(completed).toMatchObject({ taskId: handle, status: 'completed', result: { content: [{ type: 'text', text: 'report ready' }] } });
  });

  it('asks for input through tasks/get and takes it through tasks/update; result URIs are the exposed ones', async () => {
    const handle = await createTask(KEYS.alice, 'ask_name');
    const waiting = result(await post(KEYS.alice, 'tasks/get', { taskId: handle }));
    expect(waiting.status).toBe('input_required');
    expect((waiting.inputRequests as Record<string, { method: string }>)['name-1']!.method).toBe('elicitation/create');

    const ack = result(
      await post(KEYS.alice, 'tasks/update', { taskId: handle, inputResponses: { 'name-1': { action: 'accept', content: { name: 'Luca' } } } }),
    );
    expect(ack.resultType).toBe('complete');
    const update = upstreamSaw('tasks/update').at(-1)!;
    expect(update.body.params!.inputResponses).toEqual({ 'name-1': { action: 'accept', content: { name: 'Luca' } } });

    const done = result(await post(KEYS.alice, 'tasks/get', { taskId: handle }));
    expect(done.status).toBe('completed');
    const content = (done.result as { content: { type: string; text?: string; uri?: string }[] }).content;
    expect(content[0]!.text).toBe('Hello Luca');
    expect(content[1]!.uri).not.toBe('greeting://Luca');
    expect(content[1]!.uri).toContain('jobs');
  });

  it('is cancelled through tasks/cancel', async () => {
    const handle = await createTask(KEYS.alice, 'slow_job', { label: 'to-cancel' });
    expect(result(await post(KEYS.alice, 'tasks/cancel', { taskId: handle })).resultType).toBe('complete');
    expect(result(await post(KEYS.alice, 'tasks/get', { taskId: handle })).status).toBe('cancelled');
  });

  it('runs as a plain call for a 2026-07-28 request that did not declare the extension, and the upstream is not told otherwise', async () => {
    const plain = result(await post(KEYS.alice, 'tools/call', { name: 'jobs__slow_job', arguments: { label: 'plain' } }, { tasks: false }));
    expect(plain.resultType).toBe('complete');
    expect((plain.content as { text: string }[])[0]!.text).toBe('done plain');
    const meta = upstreamSaw('tools/call').at(-1)!.body.params!._meta as Record<string, { extensions?: Record<string, unknown> }>;
    expect(meta[CLIENT_CAPABILITIES_META_KEY]?.extensions?.[TASKS]).toBeUndefined();
    // A tool that runs only as a task says which capability is missing.
    const refused = error(await post(KEYS.alice, 'tools/call', { name: 'jobs__needs_task', arguments: {} }, { tasks: false }));
    expect(refused.code).toBe(-32021);
  });

  it('is decided by the policy like any call: a denied tool creates no task', async () => {
    const denied = error(await post(KEYS.bob, 'tools/call', { name: 'jobs__needs_task', arguments: {} }));
    expect(denied.message).toMatch(/denied|not allowed|policy/i);
    expect(upstreamSaw('tools/call')).toHaveLength(0);
  });
});

describe('evidence', () => {
  it('records created, updated (keys, not values) and refused tasks, and counts polls without recording them', async () => {
    const before = gw.audit.length;
    const handle = await createTask(KEYS.alice, 'ask_name');
    const upstreamId = [...upstream.tasks.keys()].at(-1)!;
    await post(KEYS.alice, 'tasks/get', { taskId: handle });
    await post(KEYS.alice, 'tasks/update', { taskId: handle, inputResponses: { 'name-1': { action: 'accept', content: { name: 'Secret Name' } } } });
    await post(KEYS.bob, 'tasks/cancel', { taskId: handle });
    const events = gw.audit.slice(before).filter((r) => r.type === 'task');
    expect(events.map((e) => e.event)).toEqual(['created', 'updated', 'refused']);
    const call = gw.audit.slice(before).find((r) => r.type === 'audit' && r.method === 'tools/call')!;
    expect(events[0]).toMatchObject({ principal: 'apikey:alice', server: 'jobs', upstreamTaskId: upstreamId, requestId: call.requestId });
    expect(events[1]).toMatchObject({ principal: 'apikey:alice', inputKeys: ['name-1'] });
    expect(JSON.stringify(events)).not.toContain('Secret Name');
    expect(events[2]).toMatchObject({ principal: 'apikey:bob', method: 'tasks/cancel' });
    expect(events[2]).not.toHaveProperty('upstreamTaskId');
    const scrape = await (await fetch(`${gw.url}/metrics`)).text();
    expect(scrape).toMatch(/switchboard_tasks_total\{server="jobs",event="polled"\} [1-9]/);
    expect(scrape).toMatch(/switchboard_tasks_total\{server="",event="refused"\} [1-9]/);
  });
});

describe('a task belongs to whoever created it', () => {
  it('another principal cannot get, update or cancel it, and nothing reaches the upstream', async () => {
    const handle = await createTask(KEYS.alice, 'ask_name');
    upstream.requests.length = 0;
    for (const [method, params] of [
      ['tasks/get', { taskId: handle }],
      ['tasks/update', { taskId: handle, inputResponses: { 'name-1': { action: 'accept', content: { name: 'Mallory' } } } }],
      ['tasks/cancel', { taskId: handle }],
    ] as const) {
      const refused = error(await post(KEYS.bob, method, params));
      expect(refused.code, method).toBe(-32602);
      expect(refused.message).toMatch(/unknown task/);
    }
    expect(upstream.requests).toHaveLength(0);
    expect(result(await post(KEYS.alice, 'tasks/get', { taskId: handle })).status).toBe('input_required');
  });

  it('only opens through an endpoint whose view includes its server', async () => {
    const handle = await createTask(KEYS.alice, 'slow_job', { label: 'profile' });
    upstream.requests.length = 0;
    const refused = error(await post(KEYS.alice, 'tasks/get', { taskId: handle }, { path: `${gw.mcpUrl}/ks-only` }));
    expect(refused.code).toBe(-32602);
    expect(upstream.requests).toHaveLength(0);
    expect(result(await post(KEYS.alice, 'tasks/get', { taskId: handle })).status).toBe('working');
  });

  it('another spelling of the handle, or a made-up one, is an unknown task', async () => {
    const handle = await createTask(KEYS.alice, 'slow_job', { label: 'spelling' });
    const [version, server, id, mac] = handle.split('.') as [string, string, string, string];
    const upstreamId = Buffer.from(id, 'base64url').toString('utf8');
    const variants = [
      `${version}.${server}.${id}.${mac.slice(0, -2)}AA`,
      `${version}.other.${id}.${mac}`,
      `${version}.${server}.${Buffer.from(`${upstreamId}x`).toString('base64url')}.${mac}`,
      `${version}.${server}.${id}=.${mac}`,
      upstreamId,
      `${handle}.`,
      '',
    ];
    upstream.requests.length = 0;
    for (const taskId of variants) {
      const refused = error(await post(KEYS.alice, 'tasks/get', { taskId }, { name: taskId || 'x' }));
      expect([-32602, -32020], taskId).toContain(refused.code);
    }
    expect(error(await post(KEYS.alice, 'tasks/get', { taskId: 42 }, { name: '42' })).code).toBeLessThan(0);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a 2025-era session has no tasks methods', async () => {
    const legacy = new LegacyClient({ name: 'legacy', version: '1' });
    await legacy.connect(new LegacyTransport(new URL(gw.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } } }));
    const handle = await createTask(KEYS.alice, 'slow_job', { label: 'legacy-get' });
    const { z } = await import('zod');
    await expect(legacy.request({ method: 'tasks/get', params: { taskId: handle } } as never, z.object({}).loose() as never)).rejects.toMatchObject({
      code: -32601,
    });
    await legacy.close();
  });
});
