/**
 * The decision input is the forwarded request: a resource URI is decided on
 * and forwarded in canonical form, a completion is decided as the use of its
 * ref, a deny whose condition errors denies, arguments of another shape are
 * refused, and a client's `_meta` reaches an upstream only where allowed.
 * Real reference server (server-everything) and the kitchen-sink fixture
 * over stdio; the v1 SDK client over HTTP, and `switchboard --stdio`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { connectStdio, type StdioConnection } from '../helpers/clients.js';
import { connectLegacy, eventually, EVERYTHING, FIXTURES, nodeServer, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CLI } from '../helpers/processes.js';

const POLICY = `
rules:
  - id: no-architecture
    match: { servers: [everything], resources: ["demo://resource/static/document/architecture.md"] }
    effect: deny
  - id: no-structure-by-prefix
    match: { servers: [everything], methods: [resources/read] }
    when: "resource.uri.startsWith('demo://resource/static/document/struct')"
    effect: deny
  - id: no-completable-prompt
    match: { servers: [everything], prompts: [completable-prompt] }
    effect: deny
  - id: no-dynamic-text
    match: { servers: [everything], resources: ["demo://resource/dynamic/text/*"] }
    effect: deny
  - id: no-etc
    match: { servers: [everything], tools: [echo] }
    when: "has(args.message) && args.message.startsWith('/etc')"
    effect: deny
`;

const Loose = z.looseObject({});
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as McpError,
  );
const codeOf = (e: McpError | undefined) => (e?.data as { code?: string } | undefined)?.code;

let dir: string;
let gw: RunningGateway;
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-governance-'));
  writeFileSync(path.join(dir, 'governance.yaml'), POLICY);
  const config = {
    mcpServers: {
      everything: nodeServer(EVERYTHING, ['stdio']),
      ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')),
    },
    gateway: {
      policies: dir,
      servers: { ks: { forwardMeta: ['acme.example/allowed', 'acme.example/ns/*'] } },
      profiles: { dyn: { servers: ['everything'], resources: ['everything+demo://resource/dynamic/*'] } },
    },
  };
  writeFileSync(path.join(dir, 'switchboard.json'), JSON.stringify(config));
  gw = await startGateway(config);
  client = await connectLegacy(gw.mcpUrl);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

const read = (c: Client, uri: string) => c.readResource({ uri });

describe('resource URIs are decided on and forwarded in canonical form', () => {
  const spellings = [
    'everything+demo://resource/static/document/./architecture.md',
    'everything+demo://resource/static/document/x/../architecture.md',
    'everything+demo://resource/static/%2e%2e/static/document/architecture.md',
    'everything+demo://resource/static/document/%2E/architecture.md',
    'everything+DEMO://resource/static/document/architecture.md',
    'EVERYTHING+demo://RESOURCE/static/document/architecture.md',
    'everything+demo://resource/static/document/%61rchitecture.md',
  ];

  it('the plain spelling is denied by the deny rule', async () => {
    expect(codeOf(await errorOf(read(client, 'everything+demo://resource/static/document/architecture.md')))).toBe('POLICY_DENIED');
  });

  it.each(spellings)('denies %s as the same resource', async (uri) => {
    const err = await errorOf(read(client, uri));
    expect(codeOf(err)).toBe('POLICY_DENIED');
    expect((err!.data as { ruleId?: string }).ruleId).toBe('no-architecture');
  });

  it('a CEL prefix condition sees the canonical URI', async () => {
    for (const uri of ['everything+demo://resource/static/document/structure.md', 'everything+demo://resource/static/x/../document/structure.md']) {
      expect(codeOf(await errorOf(read(client, uri)))).toBe('POLICY_DENIED');
    }
  });

  it('forwards the canonical form: an allowed resource in another spelling reads, under its canonical exposed URI', async () => {
    const result = await read(client, 'everything+demo://resource/static/document/x/../features.md');
    expect(result.contents[0]?.uri).toBe('everything+demo://resource/static/document/features.md');
  });

  it('the audit record names the canonical URI', async () => {
    await errorOf(read(client, 'everything+demo://resource/static/document/./architecture.md'));
    const last = gw.audit.filter((r) => r.method === 'resources/read').at(-1);
    expect(last).toMatchObject({
      name: 'everything+demo://resource/static/document/architecture.md',
      original: 'demo://resource/static/document/architecture.md',
      decision: 'deny',
    });
  });

  it('refuses a URI that keeps a dot segment or does not parse (-32602)', async () => {
    for (const uri of ['everything+urn:a/../b', 'everything+demo://[bad']) {
      const err = await errorOf(read(client, uri));
      expect(err?.code).toBe(-32602);
      expect(codeOf(err)).toBe('INVALID_PARAMS');
    }
  });

  it("a profile's resource glob does not reach past a .. segment", async () => {
    const profile = await connectLegacy(`${gw.url}/mcp/dyn`);
    try {
      const ok = await read(profile, 'everything+demo://resource/dynamic/blob/1');
      expect(ok.contents.length).toBe(1);
      for (const uri of [
        'everything+demo://resource/dynamic/../static/document/features.md',
        'everything+demo://resource/dynamic/%2e%2e/static/document/features.md',
      ]) {
        expect(codeOf(await errorOf(read(profile, uri)))).toBe('UNKNOWN_RESOURCE');
      }
    } finally {
      await profile.close();
    }
  });
});

describe('URIs inside tool results', () => {
  it('resource links carry the server prefix, and read back through the gateway', async () => {
    const result = (await client.callTool({ name: 'everything__get-resource-links', arguments: { count: 2 } })) as {
      content: { type: string; uri?: string }[];
    };
    const links = result.content.filter((c) => c.type === 'resource_link');
    expect(links.length).toBe(2);
    for (const link of links) expect(link.uri).toMatch(/^everything\+demo:\/\//);
    const blob = links.find((l) => l.uri!.includes('/blob/'))!;
    const back = await read(client, blob.uri!);
    expect(back.contents[0]?.uri).toBe(blob.uri);
  });

  it('embedded resources carry the server prefix', async () => {
    const result = (await client.callTool({ name: 'everything__get-resource-reference', arguments: { resourceType: 'Text', resourceId: 2 } })) as {
      content: { type: string; resource?: { uri: string } }[];
    };
    const embedded = result.content.find((c) => c.type === 'resource');
    expect(embedded?.resource?.uri).toMatch(/^everything\+demo:\/\/resource\/dynamic\/text\/2$/);
  });
});

describe('completion/complete is decided as the use of its ref', () => {
  const completePrompt = (c: Client, name: string) =>
    c.request({ method: 'completion/complete', params: { ref: { type: 'ref/prompt', name }, argument: { name: 'department', value: 'E' } } }, Loose);
  const completeTemplate = (c: Client, uri: string) =>
    c.request({ method: 'completion/complete', params: { ref: { type: 'ref/resource', uri }, argument: { name: 'resourceId', value: '1' } } }, Loose);

  it('a denied prompt gives no completions (HTTP)', async () => {
    expect(codeOf(await errorOf(completePrompt(client, 'everything__completable-prompt')))).toBe('POLICY_DENIED');
  });

  it('a denied template gives no completions, an allowed one does (HTTP)', async () => {
    expect(codeOf(await errorOf(completeTemplate(client, 'everything+demo://resource/dynamic/text/{resourceId}')))).toBe('POLICY_DENIED');
    const allowed = (await completeTemplate(client, 'everything+demo://resource/dynamic/blob/{resourceId}')) as { completion: { values: string[] } };
    expect(allowed.completion.values.length).toBeGreaterThan(0);
  });

  it('a completion outside a profile is as unknown as the prompt', async () => {
    const profile = await connectLegacy(`${gw.url}/mcp/dyn`);
    try {
      expect(codeOf(await errorOf(completePrompt(profile, 'ks__greet')))).toBe('UNKNOWN_PROMPT');
    } finally {
      await profile.close();
    }
  });

  it('a denied prompt gives no completions over --stdio either', async () => {
    const conn: StdioConnection = await connectStdio({
      command: process.execPath,
      args: [CLI, '--stdio', '--config', path.join(dir, 'switchboard.json')],
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    });
    try {
      await eventually(
        () => conn.client.listPrompts(),
        (r) => r.prompts.some((p) => p.name === 'everything__args-prompt'),
        20_000,
      );
      expect(codeOf(await errorOf(completePrompt(conn.client, 'everything__completable-prompt')))).toBe('POLICY_DENIED');
    } finally {
      await conn.client.close();
    }
  });
});

describe('a condition that cannot be evaluated fails closed', () => {
  it('a deny over args.message.startsWith denies an array, and a string as before', async () => {
    const err = await errorOf(client.callTool({ name: 'everything__echo', arguments: { message: ['/etc/passwd'] } }));
    expect(codeOf(err)).toBe('POLICY_DENIED');
    expect((err!.data as { ruleId?: string }).ruleId).toBe('no-etc');
    expect(codeOf(await errorOf(client.callTool({ name: 'everything__echo', arguments: { message: '/etc/passwd' } })))).toBe('POLICY_DENIED');
    const ok = (await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } })) as { content: { text: string }[] };
    expect(ok.content[0]?.text).toContain('hello');
  });

  it('the audit record and the metrics carry the condition error', async () => {
    await errorOf(client.callTool({ name: 'everything__echo', arguments: { message: 42 } }));
    const last = gw.audit.filter((r) => r.method === 'tools/call').at(-1);
    expect(last).toMatchObject({ decision: 'deny', ruleId: 'no-etc' });
    expect((last!.conditionErrors as { ruleId: string }[])[0]?.ruleId).toBe('no-etc');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_policy_condition_errors_total\{rule="no-etc"\} [1-9]/);
  });

  it.each([[['x']], ['text'], [null], [7]])('refuses arguments that are not an object (%j) with -32602', async (args) => {
    const err = await errorOf(client.request({ method: 'tools/call', params: { name: 'everything__echo', arguments: args } }, Loose));
    expect(err?.code).toBe(-32602);
    expect(codeOf(err)).toBe('INVALID_PARAMS');
  });

  it('refuses a name that is not a string with -32602', async () => {
    const err = await errorOf(client.request({ method: 'tools/call', params: { name: { x: 1 }, arguments: {} } }, Loose));
    expect(err?.code).toBe(-32602);
  });
});

describe("a client's _meta", () => {
  it("reaches the upstream only with the protocol's own keys, trace context and what forwardMeta allows", async () => {
    const result = (await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'ks__request_meta',
          arguments: {},
          _meta: {
            'io.modelcontextprotocol/related-task': { taskId: 't' },
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            'acme.example/allowed': 'yes',
            'acme.example/ns/tenant': 't1',
            'acme.example/other': 'spoofed',
            tenant: 'admin',
            userId: 'root',
          },
        },
      },
      Loose,
    )) as { content: { text: string }[] };
    const seen = JSON.parse(result.content[0]!.text) as { _meta: Record<string, unknown> };
    expect(seen._meta).toMatchObject({
      'acme.example/allowed': 'yes',
      'acme.example/ns/tenant': 't1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(seen._meta['io.modelcontextprotocol/related-task']).toEqual({ taskId: 't' });
    for (const key of ['acme.example/other', 'tenant', 'userId']) expect(seen._meta).not.toHaveProperty(key);
  });
});
