/**
 * The policy engine through real HTTP: API keys with different scopes see
 * different catalogs and get the documented errors; a rate limit trips and
 * recovers; a policy file edited mid-session changes the next decision (and
 * a broken edit changes nothing); every decision leaves an audit record.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const POLICY = `
rules:
  - id: no-fail
    description: The fail tool is off limits.
    match: { servers: [ks], tools: [fail] }
    effect: deny
  - id: add-needs-math
    match: { servers: [ks], tools: [add] }
    effect: require
    scopes: [math]
  - id: echo-limited
    match: { servers: [ks], tools: [echo] }
    effect: allow
    rateLimit: [ { limit: 2, per: second } ]
`;

let dir: string;
let gw: RunningGateway;
const KEYS = { alice: 'alice-secret-key', bob: 'bob-secret-key' };

async function connectAs(key: string | undefined): Promise<Client> {
  const client = new Client({ name: 'policy-test', version: '1' });
  const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers } }));
  return client;
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as McpError,
  );

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-policies-'));
  writeFileSync(path.join(dir, 'ks.yaml'), POLICY);
  gw = await startGateway({
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      policies: dir,
      auth: {
        apiKeys: [
          { id: 'alice', sha256: hashKey(KEYS.alice), scopes: ['math'], groups: [] },
          { id: 'bob', sha256: hashKey(KEYS.bob), scopes: [], groups: ['guests'] },
        ],
      },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authentication', () => {
  it('answers a missing or wrong key with 401 and a Bearer challenge', async () => {
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Bearer nope' }, { 'X-API-Key': 'nope' }];
    for (const headers of attempts) {
      const res = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
        }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('UNAUTHENTICATED');
    }
  });

  it('binds a session to the principal that opened it', async () => {
    const alice = await connectAs(KEYS.alice);
    try {
      const sessionId = (alice.transport as StreamableHTTPClientTransport).sessionId!;
      const res = await fetch(gw.mcpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
          'x-api-key': KEYS.bob,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
      expect(res.status).toBe(403);
    } finally {
      await alice.close();
    }
  });
});

describe('decisions', () => {
  let alice: Client;
  let bob: Client;

  beforeAll(async () => {
    alice = await connectAs(KEYS.alice);
    bob = await connectAs(KEYS.bob);
  });
  afterAll(async () => {
    await Promise.allSettled([alice.close(), bob.close()]);
  });

  it('shows each caller only what it may use', async () => {
    const aliceTools = (await alice.listTools()).tools.map((t) => t.name);
    const bobTools = (await bob.listTools()).tools.map((t) => t.name);
    expect(aliceTools).toContain('ks__add');
    expect(bobTools).not.toContain('ks__add');
    expect(aliceTools).not.toContain('ks__fail');
    expect(bobTools).not.toContain('ks__fail');
    expect(bobTools).toContain('ks__echo');
  });

  it('allows with the scope, and says which scope is missing without it', async () => {
    const ok = await alice.callTool({ name: 'ks__add', arguments: { a: 2, b: 3 } });
    expect(ok.content).toEqual([{ type: 'text', text: '5' }]);
    const error = await errorOf(bob.callTool({ name: 'ks__add', arguments: { a: 2, b: 3 } }));
    expect(error?.code).toBe(-32004);
    expect(error?.data).toMatchObject({ code: 'INSUFFICIENT_SCOPE', ruleId: 'add-needs-math', missingScopes: ['math'] });
  });

  it('denies by rule with the rule id and reason', async () => {
    const error = await errorOf(alice.callTool({ name: 'ks__fail', arguments: {} }));
    expect(error?.code).toBe(-32003);
    expect(error?.data).toMatchObject({ code: 'POLICY_DENIED', ruleId: 'no-fail', reason: expect.stringContaining('off limits') });
  });

  it('rate-limits per caller, says when to retry, and recovers', async () => {
    // The buckets run on the gateway's clock (Date.now, in this process): held still here, and moved on by hand
    // instead of waiting for the refill. Timers stay real, so the HTTP exchanges are untouched.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const echo = (c: Client) => c.callTool({ name: 'ks__echo', arguments: { text: 'x' } });
      await echo(alice);
      await echo(alice);
      const limited = await errorOf(echo(alice));
      expect(limited?.code).toBe(-32005);
      expect(limited?.data).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
      const retryAfterMs = (limited!.data as { retryAfterMs: number }).retryAfterMs;
      // 2 per second, both spent at the same instant: the next token is half a second away.
      expect(retryAfterMs).toBe(500);
      // Another caller has a bucket of its own.
      expect((await echo(bob)).content).toEqual([{ type: 'text', text: 'x' }]);
      // Not a moment early...
      vi.advanceTimersByTime(retryAfterMs - 1);
      expect((await errorOf(echo(alice)))?.data).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1 });
      // ...and refilled once retryAfterMs has passed.
      vi.advanceTimersByTime(1);
      expect((await echo(alice)).content).toEqual([{ type: 'text', text: 'x' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes an audit record for every decision, without arguments', () => {
    const denied = gw.audit.find((r) => r.ruleId === 'no-fail');
    expect(denied).toMatchObject({
      principal: 'apikey:alice',
      principalKind: 'apikey',
      decision: 'deny',
      outcome: 'denied',
      code: 'POLICY_DENIED',
      server: 'ks',
      name: 'ks__fail',
      original: 'fail',
    });
    const allowed = gw.audit.find((r) => r.principal === 'apikey:alice' && r.original === 'add' && r.outcome === 'ok');
    expect(allowed).toMatchObject({ decision: 'allow', method: 'tools/call' });
    expect(allowed).not.toHaveProperty('args');
    expect(JSON.stringify(gw.audit)).not.toContain(KEYS.alice);
  });
});

describe('hot reload', () => {
  it('applies an edited policy to the next call of a live session, and keeps the last good set on a broken edit', async () => {
    const bob = await connectAs(KEYS.bob);
    try {
      expect((await bob.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } }).catch((e: McpError) => e)) instanceof McpError).toBe(true);
      const listed = async () => (await bob.listTools()).tools.map((t) => t.name);
      expect(await listed()).not.toContain('ks__add');
      const before = gw.gateway.policy.generation;
      writeFileSync(path.join(dir, 'ks.yaml'), POLICY.replace('effect: require\n    scopes: [math]', 'effect: allow'));
      await eventually(
        () => gw.gateway.policy.generation,
        (g) => g > before,
      );
      // The session's list (kept briefly between pages) follows the new policy at once.
      expect(await listed()).toContain('ks__add');
      const sum = await bob.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } });
      expect(sum.content).toEqual([{ type: 'text', text: '2' }]);

      const good = gw.gateway.policy.generation;
      writeFileSync(path.join(dir, 'ks.yaml'), `${POLICY}\n  - id: broken\n    match: { servers: [ks] }\n    when: "principal.nope =="\n    effect: deny\n`);
      await eventually(() => gw.logs.some((l) => l.includes('policy reload refused')), Boolean);
      expect(gw.gateway.policy.generation).toBe(good);
      expect((await bob.callTool({ name: 'ks__add', arguments: { a: 2, b: 2 } })).content).toEqual([{ type: 'text', text: '4' }]);
    } finally {
      writeFileSync(path.join(dir, 'ks.yaml'), POLICY);
      await bob.close();
    }
  });
});

describe('hot reload of a Kubernetes ConfigMap mount', () => {
  // The kubelet's layout: files are symlinks through `..data`, which points at a
  // timestamped directory; an update writes a new directory and renames a new
  // `..data` symlink over the old one, atomically.
  it('applies the new policies when `..data` is swapped to a new directory', async () => {
    const mount = mkdtempSync(path.join(tmpdir(), 'switchboard-configmap-'));
    const publish = (version: string, policy: string) => {
      mkdirSync(path.join(mount, version));
      writeFileSync(path.join(mount, version, 'ks.yaml'), policy);
      symlinkSync(version, path.join(mount, '..data_tmp'));
      renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    };
    publish('..2026_11_23_01_00_00.1', POLICY);
    symlinkSync('..data/ks.yaml', path.join(mount, 'ks.yaml'));
    const k8s = await startGateway({
      mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
      gateway: { policies: mount, auth: { apiKeys: [{ id: 'bob', sha256: hashKey(KEYS.bob), scopes: [], groups: [] }] } },
    });
    const client = new Client({ name: 'k8s', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(k8s.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${KEYS.bob}` } } }));
    try {
      expect((await errorOf(client.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } })))?.data).toMatchObject({ code: 'INSUFFICIENT_SCOPE' });
      const before = k8s.gateway.policy.generation;
      publish('..2026_11_23_01_05_00.2', POLICY.replace('effect: require\n    scopes: [math]', 'effect: allow'));
      await eventually(
        () => k8s.gateway.policy.generation,
        (g) => g > before,
        5_000,
      );
      expect((await client.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } })).content).toEqual([{ type: 'text', text: '2' }]);
    } finally {
      await client.close();
      await k8s.close();
      rmSync(mount, { recursive: true, force: true });
    }
  });
});
