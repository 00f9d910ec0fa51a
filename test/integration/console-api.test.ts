/**
 * The console's JSON API on a real gateway with a real upstream: sign-in with
 * an API key for a session cookie, roles, CSRF on writes, the security
 * headers, and a denied call arriving on the live decision stream.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
let dir: string;
let configFile: string;

const CONFIG = {
  mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
  gateway: {
    policies: 'deny-policies',
    // Every test signs in from 127.0.0.1; the limit itself is tested on a gateway of its own.
    console: { enabled: true, signInsPerMinute: 1_000 },
    auth: {
      apiKeys: [
        { id: 'ops', sha256: hashKey('ops-key'), scopes: ['switchboard.admin'] },
        { id: 'view', sha256: hashKey('view-key'), scopes: ['switchboard.viewer'] },
        { id: 'agent', sha256: hashKey('agent-key') },
      ],
    },
  },
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-console-'));
  mkdirSync(path.join(dir, 'deny-policies'));
  writeFileSync(path.join(dir, 'deny-policies', 'deny.yaml'), 'rules:\n  - id: no-echo\n    match: { servers: [ks], tools: [echo] }\n    effect: deny\n');
  configFile = path.join(dir, 'switchboard.json');
  writeFileSync(configFile, JSON.stringify(CONFIG));
  gw = await startGateway(CONFIG, { file: configFile });
});

afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function overview(cookie: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gw.url}/console/api/overview`, { headers: { cookie } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function signIn(apiKey: string): Promise<{ status: number; body: Record<string, unknown>; cookie?: string; setCookie?: string }> {
  const res = await fetch(`${gw.url}/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  const setCookie = res.headers.get('set-cookie') ?? undefined;
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, setCookie, cookie: setCookie?.split(';')[0] };
}

describe('console sign-in and roles', () => {
  it('an unknown key is 401; a key without a console role is 403; both are audited or refused without a cookie', async () => {
    const unknown = await signIn('nope');
    expect(unknown.status).toBe(401);
    expect(unknown.setCookie).toBeUndefined();
    const agent = await signIn('agent-key');
    expect(agent.status).toBe(403);
    expect(agent.setCookie).toBeUndefined();
    expect(gw.audit.some((r) => r.type === 'console' && r.action === 'sign-in-refused' && r.principal === 'apikey:agent')).toBe(true);
  });

  it('a viewer key gets an HttpOnly, SameSite=Strict cookie scoped to the console, a role and a CSRF token', async () => {
    const view = await signIn('view-key');
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ principal: 'apikey:view', role: 'viewer', csrf: expect.any(String) });
    expect(view.setCookie).toMatch(/^sb_console=[\w-]{40,}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=3600$/);
    const again = await signIn('view-key');
    expect(again.cookie).not.toBe(view.cookie);
  });

  it('reads need the cookie; the overview lists the upstreams', async () => {
    expect((await fetch(`${gw.url}/console/api/overview`)).status).toBe(401);
    const { cookie } = await signIn('ops-key');
    const res = await fetch(`${gw.url}/console/api/overview`, { headers: { cookie: cookie! } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { upstreams: { name: string; state: string; since: string }[] };
    expect(body.upstreams).toEqual([expect.objectContaining({ name: 'ks', state: 'ready', since: expect.any(String) })]);
    const catalog = (await (await fetch(`${gw.url}/console/api/catalog`, { headers: { cookie: cookie! } })).json()) as { entries: { exposed: string }[] };
    expect(catalog.entries.map((e) => e.exposed)).toContain('ks__add');
  });

  it('the overview charts calls per ten seconds and says calls/s, per server and overall', async () => {
    const { cookie } = await signIn('view-key');
    const client = new Client({ name: 'rates', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'x-api-key': 'agent-key' } } }));
    const before = (await overview(cookie!)) as { rates: { buckets: { calls: number; denied: number }[] } };
    const sum = (buckets: { calls: number; denied: number }[], key: 'calls' | 'denied') => buckets.reduce((n, b) => n + b[key], 0);
    await client.callTool({ name: 'ks__add', arguments: { a: 1, b: 2 } });
    await client.callTool({ name: 'ks__echo', arguments: { text: 'no' } }).catch(() => undefined);
    await client.close();
    const after = (await overview(cookie!)) as {
      rates: { bucketSeconds: number; perSecond: number; buckets: { t: number; calls: number; denied: number }[] };
      calls: Record<string, { perSecond: number }>;
    };
    expect(after.rates.bucketSeconds).toBe(10);
    expect(after.rates.buckets).toHaveLength(30);
    expect(sum(after.rates.buckets, 'calls') - sum(before.rates.buckets, 'calls')).toBe(2);
    expect(sum(after.rates.buckets, 'denied') - sum(before.rates.buckets, 'denied')).toBe(1);
    expect(after.rates.perSecond).toBeGreaterThan(0);
    expect(after.calls.ks!.perSecond).toBeGreaterThan(0);
  });

  it('the overview shows the configuration reloads: a refused one (issues counted, never quoted) until one is applied', async () => {
    const { cookie } = await signIn('view-key');
    expect(((await overview(cookie!)) as { config: unknown }).config).toEqual({ generation: 0 });
    writeFileSync(configFile, JSON.stringify({ ...CONFIG, gateway: { ...CONFIG.gateway, listen: { port: 'secret-looking-value' } } }));
    expect(await gw.gateway.configRuntime.reload('test')).toBe(false);
    const refused = (await overview(cookie!)) as { config: { generation: number; refused?: { since: string; issues: number } } };
    expect(refused.config.generation).toBe(0);
    expect(refused.config.refused).toEqual({ since: expect.any(String), issues: expect.any(Number) });
    expect(refused.config.refused!.issues).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(refused)).not.toContain('secret-looking-value');
    // /readyz says the same.
    expect(((await (await fetch(`${gw.url}/readyz`)).json()) as { config: unknown }).config).toEqual(refused.config);

    writeFileSync(configFile, JSON.stringify(CONFIG));
    expect(await gw.gateway.configRuntime.reload('test')).toBe(true);
    const applied = (await overview(cookie!)) as { config: { generation: number; reloadedAt?: string; refused?: unknown } };
    expect(applied.config).toEqual({ generation: 1, reloadedAt: expect.any(String) });
  });

  it('every answer forbids framing and carries a strict CSP', async () => {
    const res = await fetch(`${gw.url}/console/api/session`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('sign-out needs the CSRF token, then the session is gone', async () => {
    const { cookie, body } = await signIn('ops-key');
    const without = await fetch(`${gw.url}/console/api/session`, { method: 'DELETE', headers: { cookie: cookie! } });
    expect(without.status).toBe(403);
    const wrong = await fetch(`${gw.url}/console/api/session`, { method: 'DELETE', headers: { cookie: cookie!, 'x-csrf-token': 'x' } });
    expect(wrong.status).toBe(403);
    const out = await fetch(`${gw.url}/console/api/session`, { method: 'DELETE', headers: { cookie: cookie!, 'x-csrf-token': body.csrf as string } });
    expect(out.status).toBe(204);
    expect((await fetch(`${gw.url}/console/api/session`, { headers: { cookie: cookie! } })).status).toBe(401);
  });

  it('a foreign Origin is refused before the console sees the request', async () => {
    const res = await fetch(`${gw.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ apiKey: 'ops-key' }),
    });
    expect(res.status).toBe(403);
  });
});

describe('the live decision stream', () => {
  it('a denied call arrives as a record, filtered by effect', async () => {
    const { cookie } = await signIn('view-key');
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/console/api/decisions?effect=deny`, { headers: { cookie: cookie! }, signal: abort.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'X-API-Key': 'agent-key' } } }));
    await client.callTool({ name: 'ks__add', arguments: { a: 1, b: 2 } });
    await expect(client.callTool({ name: 'ks__echo', arguments: { text: 'x' } })).rejects.toThrow();
    let text = '';
    while (!text.includes('event: record')) text += decoder.decode((await reader.read()).value);
    abort.abort();
    await client.close();
    const record = JSON.parse(/data: (.*)\n/.exec(text.slice(text.indexOf('event: record')))![1]!) as Record<string, unknown>;
    expect(record).toMatchObject({ type: 'audit', principal: 'apikey:agent', name: 'ks__echo', decision: 'deny', ruleId: 'no-echo' });
    // The allowed add was filtered out.
    expect(text).not.toContain('ks__add');
  });
});

describe('the policy playground and linked accounts', () => {
  it('decides a composed request and replays recent decisions under a candidate, applying nothing', async () => {
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'X-API-Key': 'agent-key' } } }));
    await client.callTool({ name: 'ks__add', arguments: { a: 2, b: 2 } });
    await client.close();
    const { cookie, body } = await signIn('ops-key');
    const candidate = 'rules:\n  - id: no-add\n    match: { servers: [ks], tools: [add] }\n    effect: deny\n';
    const res = await fetch(`${gw.url}/console/api/playground`, {
      method: 'POST',
      headers: { cookie: cookie!, 'x-csrf-token': body.csrf as string, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: candidate, request: { principal: { id: 'apikey:agent' }, server: 'ks', tool: 'add', args: { a: 1, b: 1 } } }),
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as {
      decision: { current: { allowed: boolean }; candidate: { allowed: boolean; ruleId?: string } };
      recent: { counts: { newlyDenied: number } };
    };
    expect(result.decision.current.allowed).toBe(true);
    expect(result.decision.candidate).toMatchObject({ allowed: false, ruleId: 'no-add' });
    expect(result.recent.counts.newlyDenied).toBeGreaterThanOrEqual(1);
    // Nothing was applied: the same call still goes through.
    const again = new Client({ name: 'agent', version: '1' });
    await again.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'X-API-Key': 'agent-key' } } }));
    await expect(again.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } })).resolves.toBeDefined();
    await again.close();
  });

  it('a candidate that does not load is a 400 naming the problem; without the CSRF token a 403', async () => {
    const { cookie, body } = await signIn('ops-key');
    const bad = await fetch(`${gw.url}/console/api/playground`, {
      method: 'POST',
      headers: { cookie: cookie!, 'x-csrf-token': body.csrf as string, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: 'rules:\n  - id: x\n    effect: maybe\n' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('effect');
    const noCsrf = await fetch(`${gw.url}/console/api/playground`, {
      method: 'POST',
      headers: { cookie: cookie!, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noCsrf.status).toBe(403);
  });

  it('a viewer may list accounts but not revoke', async () => {
    const { cookie, body } = await signIn('view-key');
    const list = await fetch(`${gw.url}/console/api/accounts`, { headers: { cookie: cookie! } });
    expect(await list.json()).toEqual({ enabled: false, accounts: [] });
    const revoke = await fetch(`${gw.url}/console/api/accounts`, {
      method: 'DELETE',
      headers: { cookie: cookie!, 'x-csrf-token': body.csrf as string, 'content-type': 'application/json' },
      body: JSON.stringify({ principal: 'apikey:agent', server: 'ks' }),
    });
    expect(revoke.status).toBe(403);
  });
});

describe('the catalog for a principal', () => {
  it('says which entries a principal sees and which rule decides, as its own lists are filtered', async () => {
    const { cookie } = await signIn('view-key');
    const res = await fetch(`${gw.url}/console/api/catalog?principal=apikey:agent`, { headers: { cookie: cookie! } });
    const body = (await res.json()) as { principal: string; entries: { exposed: string; visible: boolean; ruleId?: string; trace: unknown[] }[] };
    expect(body.principal).toBe('apikey:agent');
    const echo = body.entries.find((e) => e.exposed === 'ks__echo')!;
    expect(echo).toMatchObject({ visible: false, ruleId: 'no-echo' });
    expect(echo.trace.length).toBeGreaterThan(0);
    expect(body.entries.find((e) => e.exposed === 'ks__add')).toMatchObject({ visible: true });
  });

  it('pasted JWT claims are a 400 on a gateway that accepts no JWTs', async () => {
    const { cookie } = await signIn('view-key');
    const res = await fetch(`${gw.url}/console/api/catalog?claims=${encodeURIComponent('{"sub":"alice"}')}`, { headers: { cookie: cookie! } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/gateway.auth.jwt is not set/);
  });

  it('a principal id that is not namespaced is a 400 naming the problem', async () => {
    const { cookie } = await signIn('view-key');
    const res = await fetch(`${gw.url}/console/api/catalog?principal=nobody`, { headers: { cookie: cookie! } });
    expect(res.status).toBe(400);
  });
});

describe('a live stream lasts as long as its sign-in', () => {
  it('ends at the next record after sign-out', async () => {
    const { cookie, body } = await signIn('view-key');
    const res = await fetch(`${gw.url}/console/api/decisions`, { headers: { cookie: cookie! } });
    const reader = res.body!.getReader();
    await reader.read(); // the opening comment
    const out = await fetch(`${gw.url}/console/api/session`, { method: 'DELETE', headers: { cookie: cookie!, 'x-csrf-token': body.csrf as string } });
    expect(out.status).toBe(204);
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'X-API-Key': 'agent-key' } } }));
    await client.callTool({ name: 'ks__add', arguments: { a: 1, b: 1 } });
    await client.close();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).not.toContain('event: record');
  });

  it('an unsigned-in page learns whether it may offer the IdP sign-in', async () => {
    const res = await fetch(`${gw.url}/console/api/session`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ oidc: false });
  });
});

describe('sign-in attempts per address', () => {
  let limited: RunningGateway;
  beforeAll(async () => {
    limited = await startGateway({
      ...CONFIG,
      gateway: { ...CONFIG.gateway, policies: path.join(dir, 'deny-policies'), console: { enabled: true, signInsPerMinute: 3 } },
    });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('after the allowed attempts an address gets 429 with Retry-After, whatever the key, and the refusal is audited once', async () => {
    const attempt = (apiKey: string) =>
      fetch(`${limited.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) });
    {
      expect((await attempt('guess-1')).status).toBe(401);
      expect((await attempt('guess-2')).status).toBe(401);
      expect((await attempt('ops-key')).status).toBe(200);
      for (const key of ['guess-3', 'ops-key']) {
        const refused = await attempt(key);
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(refused.headers.get('set-cookie')).toBeNull();
        expect(((await refused.json()) as { error: string }).error).toMatch(/too many sign-in attempts/);
      }
      const throttled = limited.audit.filter((r) => r.action === 'sign-in-throttled');
      expect(throttled).toHaveLength(1);
      expect(throttled[0]).toMatchObject({ type: 'console', address: expect.stringMatching(/127\.0\.0\.1/) });
    }
  });
});
