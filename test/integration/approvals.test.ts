/**
 * Approvals end to end, with real SDK clients of both eras and a real
 * upstream (the kitchen-sink fixture over stdio): an `approve` rule makes the
 * call wait for a person's yes to exactly its arguments.
 *
 * - self, form elicitation: accept, decline, timeout (2025 related request;
 *   2026 input round);
 * - self, URL only: 2025 gets -32042 and its retry finds the single-use
 *   grant; 2026 gets a URL elicitation in the round and waits;
 * - self, no elicitation: APPROVAL_REQUIRED with the link;
 * - group approver through the console's JSON API while the caller waits; an
 *   approver cannot approve their own call;
 * - a grant covers exactly the approved arguments; remember: session.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { connectLegacyWithHeaders, connectStdio } from '../helpers/clients.js';
import { eventually, FIXTURES, nodeServer, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CLI } from '../helpers/processes.js';

const POLICY = `
rules:
  - id: echo-self
    match: { servers: [ks], tools: [echo] }
    effect: approve
    approvers: self
    timeout: 2s
    message: "'Echo ' + string(args.text) + '?'"
  - id: add-by-sre
    match: { servers: [ks], tools: [add] }
    effect: approve
    approvers: group:sre
    timeout: 10s
  - id: items-need-sre
    match: { servers: [ks], resources: ["fixture://items/*"] }
    effect: approve
    approvers: group:sre
    timeout: 10m
  - id: touch-remembered
    match: { servers: [ks], tools: [touch] }
    effect: approve
    approvers: self
    remember: session
`;

const KEYS = { alice: 'alice-key', sam: 'sam-key', sre2: 'sre2-key' };
let dir: string;
let gw: RunningGateway;
const opened: { close(): Promise<void> }[] = [];
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

async function legacy(key: string, elicitation: Record<string, unknown> | undefined): Promise<LegacyClient> {
  const client = await connectLegacyWithHeaders(gw.mcpUrl, { 'x-api-key': key }, elicitation ? { elicitation } : {});
  opened.push(client);
  return client;
}

async function modern(key: string, elicitation: Record<string, unknown>, answer: (params: Record<string, unknown>) => Promise<unknown>): Promise<Client> {
  const client = new Client({ name: 'modern', version: '1' }, { capabilities: { elicitation: elicitation as never }, versionNegotiation: { mode: 'auto' } });
  client.setRequestHandler('elicitation/create', async (request) => answer(request.params as Record<string, unknown>) as never);
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'x-api-key': key } } }));
  expect(client.getProtocolEra()).toBe('modern');
  opened.push(client);
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<{ code: number; data: Record<string, unknown>; message: string }> {
  const err = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: number; data: Record<string, unknown>; message: string } | undefined;
  expect(err, 'the call was expected to fail').toBeDefined();
  return err!;
}

/** What a person's browser does on the approval page: press Approve or Decline. */
async function pressOnPage(url: string, decision: 'grant' | 'decline'): Promise<Response> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin, 'sec-fetch-site': 'same-origin' },
    body: `decision=${decision}`,
  });
}

async function consoleSession(key: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${gw.url}/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: key }),
  });
  expect(res.status).toBe(200);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await res.json()) as { csrf: string }).csrf };
}

const approvalEvents = () => gw.audit.filter((r) => r.type === 'approval');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-approvals-'));
  writeFileSync(path.join(dir, 'approvals.yaml'), POLICY);
  gw = await startGateway({
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      policies: dir,
      auth: {
        apiKeys: [
          { id: 'alice', sha256: hashKey(KEYS.alice), groups: ['sre'], scopes: ['switchboard.viewer'] },
          { id: 'sam', sha256: hashKey(KEYS.sam), groups: ['sre'], scopes: ['switchboard.viewer'] },
          { id: 'sre2', sha256: hashKey(KEYS.sre2), groups: ['dev'], scopes: ['switchboard.viewer'] },
        ],
      },
      console: { enabled: true, signInsPerMinute: 1_000 },
    },
  });
});

afterAll(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the caller approves through a form elicitation', () => {
  it('2025: accepting forwards the call once, with exactly those arguments; the trail links request, decision and call', async () => {
    const client = await legacy(KEYS.alice, { form: {} });
    const asked: Record<string, unknown>[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params as Record<string, unknown>);
      return { action: 'accept', content: { approve: true } };
    });
    expect(textOf(await client.callTool({ name: 'ks__echo', arguments: { text: 'hi' } }))).toBe('hi');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.message).toMatch(/^Echo hi\?\n\nTool: ks__echo \(server ks\)\nArguments: \{\n {2}"text": "hi"\n\}$/);
    const record = gw.audit.filter((r) => r.type === 'audit' && r.name === 'ks__echo').at(-1)!;
    expect(record).toMatchObject({ outcome: 'ok', approval: { by: 'apikey:alice', channel: 'elicitation', id: expect.any(String) } });
    const events = approvalEvents().filter((e) => e.approvalId === (record.approval as { id: string }).id);
    expect(events.map((e) => e.event)).toEqual(['requested', 'granted']);
    expect(events[0]).toMatchObject({
      requestId: record.requestId,
      principal: 'apikey:alice',
      tool: 'echo',
      ruleId: 'echo-self',
      digest: expect.stringMatching(/^sha256:/),
    });
  });

  it('2025: declining is APPROVAL_DECLINED and nothing is forwarded', async () => {
    const client = await legacy(KEYS.alice, { form: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
    const err = await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'no' } }));
    expect(err.code).toBe(-32015);
    expect(err.data.code).toBe('APPROVAL_DECLINED');
    expect(gw.audit.filter((r) => r.type === 'audit' && r.name === 'ks__echo').at(-1)).toMatchObject({ outcome: 'denied', code: 'APPROVAL_DECLINED' });
  });

  it('2025: no answer within the rule timeout is APPROVAL_TIMEOUT', async () => {
    const client = await legacy(KEYS.alice, { form: {} });
    client.setRequestHandler(ElicitRequestSchema, () => new Promise(() => {}));
    const err = await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'late' } }));
    expect(err.data.code).toBe('APPROVAL_TIMEOUT');
    expect(approvalEvents().at(-1)).toMatchObject({ event: 'expired', ruleId: 'echo-self' });
  });

  it('2026: the question comes as an input round; accept and decline', async () => {
    let answer = { action: 'accept', content: { approve: true } } as unknown;
    const client = await modern(KEYS.alice, { form: {} }, async (params) => {
      expect(params.mode).toBe('form');
      return answer;
    });
    expect(textOf(await client.callTool({ name: 'ks__echo', arguments: { text: 'modern' } }))).toBe('modern');
    answer = { action: 'decline' };
    expect((await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'modern' } }))).code).toBe(-32015);
  });
});

describe('the caller approves on the approval page', () => {
  it('2025, URL elicitation: -32042 with the page; after Approve the retry goes through once; other arguments need their own yes', async () => {
    const client = await legacy(KEYS.alice, { url: {} });
    const first = await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'page' } }));
    expect(first.code).toBe(-32042);
    const elicitation = (first.data.elicitations as { mode: string; url: string }[])[0]!;
    expect(elicitation.mode).toBe('url');
    expect(new URL(elicitation.url).pathname).toMatch(/^\/approvals\/[\w-]{32}$/);
    const pageHtml = await (await fetch(elicitation.url)).text();
    expect(pageHtml).toContain('Echo page?');
    expect(pageHtml).toContain('&quot;text&quot;: &quot;page&quot;'.replace(/&quot;/g, '&#34;'));
    expect(await (await pressOnPage(elicitation.url, 'grant')).text()).toContain('data-outcome="granted"');
    // Changed arguments are not covered; the approved ones are, once.
    expect((await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'other' } }))).code).toBe(-32042);
    expect(textOf(await client.callTool({ name: 'ks__echo', arguments: { text: 'page' } }))).toBe('page');
    expect((await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'page' } }))).code).toBe(-32042);
    // The page is spent.
    expect((await fetch(elicitation.url)).status).toBe(404);
  });

  it('a client with no elicitation gets APPROVAL_REQUIRED with the link; a cross-site POST is refused', async () => {
    const client = await legacy(KEYS.alice, undefined);
    const err = await refusal(client.callTool({ name: 'ks__echo', arguments: { text: 'plain' } }));
    expect(err.code).toBe(-32014);
    expect(err.data).toMatchObject({ code: 'APPROVAL_REQUIRED', url: expect.stringContaining('/approvals/'), ruleId: 'echo-self' });
    const url = err.data.url as string;
    const forged = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'decision=grant',
    });
    expect(forged.status).toBe(403);
    await pressOnPage(url, 'grant');
    expect(textOf(await client.callTool({ name: 'ks__echo', arguments: { text: 'plain' } }))).toBe('plain');
  });

  it('2026, URL elicitation: the call waits in its round while the person approves on the page', async () => {
    const client = await modern(KEYS.alice, { url: {} }, async (params) => {
      expect(params.mode).toBe('url');
      void pressOnPage(params.url as string, 'grant');
      return { action: 'accept' };
    });
    expect(textOf(await client.callTool({ name: 'ks__echo', arguments: { text: 'waits' } }))).toBe('waits');
  });
});

describe('another person approves in the console', () => {
  it('a member of the group approves through the JSON API while the 2025 caller waits', async () => {
    const caller = await legacy(KEYS.sre2, { form: {} });
    const call = caller.callTool({ name: 'ks__add', arguments: { a: 2, b: 3 } });
    const approver = await consoleSession(KEYS.sam);
    const inbox = async () =>
      (
        (await (await fetch(`${gw.url}/console/api/approvals`, { headers: { cookie: approver.cookie } })).json()) as { approvals: Record<string, unknown>[] }
      ).approvals.filter((a) => a.exposed === 'ks__add');
    await expect.poll(async () => (await inbox()).length).toBe(1);
    const [pending] = await inbox();
    expect(pending).toMatchObject({ principal: 'apikey:sre2', exposed: 'ks__add', arguments: { a: 2, b: 3 }, approvers: ['group:sre'], mayDecide: true });
    const decided = await fetch(`${gw.url}/console/api/approvals/${pending!.id}`, {
      method: 'POST',
      headers: { cookie: approver.cookie, 'x-csrf-token': approver.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'grant' }),
    });
    expect(decided.status).toBe(200);
    expect(textOf(await call)).toBe('5');
    expect(approvalEvents().at(-1)).toMatchObject({ event: 'granted', by: 'apikey:sam', channel: 'console' });
    expect(await inbox()).toEqual([]);
  });

  it('an approver cannot approve their own call, nor can someone outside the group; another member declines', async () => {
    const caller = await legacy(KEYS.alice, { form: {} });
    // Refused in the end: the rejection is handled from the start.
    const call = refusal(caller.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } }));
    const self = await consoleSession(KEYS.alice);
    const outsider = await consoleSession(KEYS.sre2);
    const list = async (s: { cookie: string }) =>
      (
        (await (await fetch(`${gw.url}/console/api/approvals`, { headers: { cookie: s.cookie } })).json()) as {
          approvals: { id: string; exposed: string; mayDecide: boolean }[];
        }
      ).approvals.filter((a) => a.exposed === 'ks__add');
    await expect.poll(async () => (await list(self)).length).toBe(1);
    const [mine] = await list(self);
    expect(mine!.mayDecide).toBe(false);
    const post = (s: { cookie: string; csrf: string }, decision: string) =>
      fetch(`${gw.url}/console/api/approvals/${mine!.id}`, {
        method: 'POST',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ decision }),
      });
    const own = await post(self, 'grant');
    expect(own.status).toBe(403);
    expect(((await own.json()) as { error: string }).error).toMatch(/own call/);
    expect((await post(outsider, 'grant')).status).toBe(403);
    // Without the CSRF token, nothing.
    expect((await fetch(`${gw.url}/console/api/approvals/${mine!.id}`, { method: 'POST', headers: { cookie: self.cookie } })).status).toBe(403);
    const sam = await consoleSession(KEYS.sam);
    expect((await post(sam, 'decline')).status).toBe(200);
    expect((await post(sam, 'grant')).status).toBe(404);
    expect((await call).data).toMatchObject({ code: 'APPROVAL_DECLINED', by: 'apikey:sam' });
  });
});

describe('remember', () => {
  it('remember: session covers identical calls in the same session only', async () => {
    const client = await legacy(KEYS.alice, { form: {} });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked++;
      return { action: 'accept', content: { approve: true } };
    });
    await client.callTool({ name: 'ks__touch', arguments: {} });
    await client.callTool({ name: 'ks__touch', arguments: {} });
    expect(asked).toBe(1);
    expect(gw.audit.filter((r) => r.type === 'audit' && r.name === 'ks__touch').at(-1)).toMatchObject({ approval: { remembered: true } });
    const other = await legacy(KEYS.alice, { form: {} });
    let otherAsked = 0;
    other.setRequestHandler(ElicitRequestSchema, async () => {
      otherAsked++;
      return { action: 'accept', content: { approve: true } };
    });
    await other.callTool({ name: 'ks__touch', arguments: {} });
    expect(otherAsked).toBe(1);
  });
});

describe('a subscription the gateway makes for a listen stream', () => {
  it('is refused at once when it needs an approval: the stream is answered, nothing waits, no approval is opened', async () => {
    const before = (await gw.gateway.approvals.pending()).length;
    const client = new Client({ name: 'listener', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'x-api-key': KEYS.sre2 } } }));
    try {
      const started = Date.now();
      const subscription = await client.listen({ resourceSubscriptions: ['ks+fixture://items/9'] });
      // Well inside the rule's 10-minute timeout: nobody waited for an approver.
      expect(Date.now() - started).toBeLessThan(5_000);
      await subscription.close();
      expect((await gw.gateway.approvals.pending()).length).toBe(before);
      expect(gw.audit.filter((r) => r.type === 'audit' && r.method === 'resources/subscribe').at(-1)).toMatchObject({
        code: 'APPROVAL_REQUIRED',
        outcome: 'denied',
      });
    } finally {
      await client.close();
    }
  });
});

describe('--stdio, where the gateway serves no approval page', () => {
  it('a client with form elicitation approves in the call; one without gets APPROVAL_REQUIRED and no dead link', async () => {
    const config = path.join(dir, 'stdio.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) }, gateway: { policies: dir } }));
    const withForm = await connectStdio(
      { command: process.execPath, args: [CLI, '--stdio', '--config', config], cwd: ROOT, env: { PATH: process.env.PATH ?? '' } },
      { elicitation: { form: {} } },
    );
    const plain = await connectStdio({
      command: process.execPath,
      args: [CLI, '--stdio', '--config', config],
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    });
    try {
      withForm.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { approve: true } }));
      await eventually(
        () => withForm.client.listTools(),
        (r) => r.tools.some((t) => t.name === 'ks__echo'),
        20_000,
      );
      expect(textOf(await withForm.client.callTool({ name: 'ks__echo', arguments: { text: 'stdio' } }))).toBe('stdio');
      await eventually(
        () => plain.client.listTools(),
        (r) => r.tools.some((t) => t.name === 'ks__echo'),
        20_000,
      );
      const err = await refusal(plain.client.callTool({ name: 'ks__echo', arguments: { text: 'stdio' } }));
      expect(err.data).toMatchObject({ code: 'APPROVAL_REQUIRED', ruleId: 'echo-self' });
      expect(err.data.url).toBeUndefined();
      expect(err.message).toMatch(/serves no approval page/);
    } finally {
      await withForm.client.close();
      await plain.client.close();
    }
  });
});
