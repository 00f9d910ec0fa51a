/**
 * Who a caller is, end to end with a real gateway, real SDK clients and a
 * real JWKS issuer. Principal ids are namespaced by credential kind, so a JWT
 * whose `sub` equals an API key's id is someone else: its own rate-limit
 * bucket, no use of the key's session, none of the key's stored upstream
 * credentials, its own audit trail. And each request of an open session is
 * decided as the caller its own credential says it is now: a reload that
 * takes a group away, or a token with fewer scopes, counts from the next
 * request on; a reload that removes the key ends its sessions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { FileCredentialStore } from '../../src/credentials/store/file.js';
import { startHttpFixture, type HttpFixture } from '../helpers/clients.js';
import { eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { makeKey, signToken, startJwksServer, type JwksServer, type TestKey } from '../helpers/jwks-server.js';

const ISSUER = 'https://issuer.example.com';
const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' };
const CREDENTIALS_KEY = 'identity-test-credentials-key-0123456789';
// `add` needs the ops group (API keys) or the math scope (JWTs); `echo` is allowed once a minute per bucket.
const POLICY = `rules:
  - id: add-for-ops-or-math
    match: { servers: [ks], tools: [add] }
    effect: require
    condition: "'ops' in principal.groups || 'math' in principal.scopes"
  - id: echo-once-a-minute
    match: { servers: [ks], tools: [echo] }
    effect: allow
    rateLimit: [ { limit: 1, per: minute } ]
`;
const ADD = { name: 'ks__add', arguments: { a: 1, b: 2 } };
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

let dir: string;
let configFile: string;
let jwks: JwksServer;
let key: TestKey;
let gw: RunningGateway;
const opened: Client[] = [];

type KeySpec = { id: keyof typeof KEYS; groups: string[] };

function configOf(keys: KeySpec[], issuer = ISSUER): Record<string, unknown> {
  return {
    mcpServers: { ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')) },
    gateway: {
      policies: path.join(dir, 'policies'),
      auth: {
        apiKeys: keys.map((k) => ({ id: k.id, sha256: hashKey(KEYS[k.id]), scopes: [], groups: k.groups })),
        jwt: { issuer, jwksUri: jwks.url },
      },
    },
  };
}

/** Rewrites the config file and applies it (as the file watcher or SIGHUP would). */
async function reload(config: Record<string, unknown>): Promise<void> {
  writeFileSync(configFile, JSON.stringify(config));
  expect(await gw.gateway.configRuntime.reload('test')).toBe(true);
}

const token = (sub: string, scope: string) => signToken(key, { iss: ISSUER, aud: gw.mcpUrl, sub, scope });

/**
 * A v1 client whose credential headers can be changed between requests
 * (`credential.headers`), with the id of the session it opened (read off the
 * gateway: the SSE client does not expose it).
 */
async function connect(url: string, headers: Record<string, string>, transport: 'http' | 'sse' = 'http', on: RunningGateway = gw) {
  const credential = { headers };
  const withCredential = (input: string | URL, init?: RequestInit) => {
    const merged = new Headers(init?.headers);
    for (const [name, value] of Object.entries(credential.headers)) merged.set(name, value);
    return fetch(input, { ...init, headers: merged });
  };
  const client = new Client({ name: 'identity-test', version: '1' });
  const t =
    transport === 'http'
      ? new StreamableHTTPClientTransport(new URL(url), { fetch: withCredential })
      : new SSEClientTransport(new URL(url), { fetch: withCredential });
  const before = new Set(on.gateway.hub.sessions.all().map((session) => session.info.id));
  await client.connect(t);
  opened.push(client);
  const sessionId = on.gateway.hub.sessions.all().find((session) => !before.has(session.info.id))!.info.id;
  return { client, credential, sessionId: () => sessionId };
}

/** The `data.code` a call was refused with. */
async function refusal(call: Promise<unknown>): Promise<string | undefined> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return ((err as McpError).data as { code?: string } | undefined)?.code;
}

/** Whether the gateway still holds the session (it ends with the credential that opened it). */
const isOpen = (id: string) => gw.gateway.hub.sessions.all().some((session) => session.info.id === id);

/** A raw POST to an open session with the given credential. */
const postToSession = (sessionId: string, headers: Record<string, string>, body: unknown = { jsonrpc: '2.0', id: 7, method: 'ping' }) =>
  fetch(gw.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
      ...headers,
    },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  key = await makeKey('k1');
  jwks = await startJwksServer([key.jwk]);
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-identity-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(path.join(dir, 'policies', 'p.yaml'), POLICY);
  configFile = path.join(dir, 'switchboard.json');
  const config = configOf([
    { id: 'alice', groups: ['ops'] },
    { id: 'bob', groups: [] },
  ]);
  writeFileSync(configFile, JSON.stringify(config));
  gw = await startGateway(config, { file: configFile });
});

afterAll(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  await gw?.close();
  await jwks?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a JWT whose sub is an API key id is another principal', () => {
  it('has its own rate-limit bucket: the key using up its limit does not refuse the JWT caller', async () => {
    const byKey = await connect(gw.mcpUrl, { 'x-api-key': KEYS.alice });
    const byJwt = await connect(gw.mcpUrl, { authorization: `Bearer ${await token('alice', 'mcp')}` });
    expect(textOf(await byKey.client.callTool({ name: 'ks__echo', arguments: { text: 'key' } }))).toBe('key');
    expect(await refusal(byKey.client.callTool({ name: 'ks__echo', arguments: { text: 'key again' } }))).toBe('RATE_LIMITED');
    expect(textOf(await byJwt.client.callTool({ name: 'ks__echo', arguments: { text: 'jwt' } }))).toBe('jwt');
  });

  it("cannot use the key's session (403), nor the key the JWT's", async () => {
    const byKey = await connect(gw.mcpUrl, { 'x-api-key': KEYS.alice });
    const jwt = `Bearer ${await token('alice', 'mcp')}`;
    const byJwt = await connect(gw.mcpUrl, { authorization: jwt });
    const intoKeys = await postToSession(byKey.sessionId(), { authorization: jwt });
    expect(intoKeys.status).toBe(403);
    expect(((await intoKeys.json()) as { error: { code: number } }).error.code).toBe(-32600);
    const intoJwts = await postToSession(byJwt.sessionId(), { 'x-api-key': KEYS.alice });
    expect(intoJwts.status).toBe(403);
    // Each still uses its own.
    expect((await postToSession(byKey.sessionId(), { 'x-api-key': KEYS.alice })).status).toBe(200);
    expect((await postToSession(byJwt.sessionId(), { authorization: jwt })).status).toBe(200);
  });

  it('is audited under its own namespaced id and kind', async () => {
    const byKey = await connect(gw.mcpUrl, { 'x-api-key': KEYS.alice });
    const byJwt = await connect(gw.mcpUrl, { authorization: `Bearer ${await token('alice', 'mcp math')}` });
    await byKey.client.callTool(ADD);
    await byJwt.client.callTool(ADD);
    const adds = gw.audit.filter((r) => r.original === 'add' && r.outcome === 'ok');
    expect(adds.find((r) => r.session === byKey.sessionId())).toMatchObject({ principal: 'apikey:alice', principalKind: 'apikey' });
    expect(adds.find((r) => r.session === byJwt.sessionId())).toMatchObject({ principal: `jwt:${ISSUER}#alice`, principalKind: 'jwt' });
  });
});

describe('each request of a session is decided with its own credential', () => {
  it("after a reload that removes a key's group, the next call on the same open session is decided without it (Streamable HTTP and SSE)", async () => {
    const overHttp = await connect(gw.mcpUrl, { 'x-api-key': KEYS.alice });
    const overSse = await connect(`${gw.url}/sse`, { 'x-api-key': KEYS.alice }, 'sse');
    for (const { client } of [overHttp, overSse]) expect(textOf(await client.callTool(ADD))).toBe('3');
    await reload(
      configOf([
        { id: 'alice', groups: [] },
        { id: 'bob', groups: [] },
      ]),
    );
    try {
      for (const { client } of [overHttp, overSse]) expect(await refusal(client.callTool(ADD))).toBe('POLICY_DENIED');
      // Both sessions are still open: only the decision changed.
      for (const { client } of [overHttp, overSse]) expect(await client.ping()).toEqual({});
    } finally {
      await reload(
        configOf([
          { id: 'alice', groups: ['ops'] },
          { id: 'bob', groups: [] },
        ]),
      );
    }
    for (const { client } of [overHttp, overSse]) expect(textOf(await client.callTool(ADD))).toBe('3');
  });

  it('a token with fewer scopes, on the same session, is decided with the fewer scopes', async () => {
    const caller = await connect(gw.mcpUrl, { authorization: `Bearer ${await token('carol', 'mcp math')}` });
    expect(textOf(await caller.client.callTool(ADD))).toBe('3');
    expect((await caller.client.listTools()).tools.map((t) => t.name)).toContain('ks__add');
    caller.credential.headers = { authorization: `Bearer ${await token('carol', 'mcp')}` };
    expect(await refusal(caller.client.callTool(ADD))).toBe('POLICY_DENIED');
    expect((await caller.client.listTools()).tools.map((t) => t.name)).not.toContain('ks__add');
  });

  it('a reload that removes a key ends the sessions opened with it, and its next request is 401; other keys keep theirs', async () => {
    const bobs = [await connect(gw.mcpUrl, { 'x-api-key': KEYS.bob }), await connect(`${gw.url}/sse`, { 'x-api-key': KEYS.bob }, 'sse')];
    const alices = await connect(gw.mcpUrl, { 'x-api-key': KEYS.alice });
    for (const bob of bobs) expect(isOpen(bob.sessionId())).toBe(true);
    await reload(configOf([{ id: 'alice', groups: ['ops'] }]));
    for (const bob of bobs) expect(isOpen(bob.sessionId())).toBe(false);
    const res = await postToSession(bobs[0]!.sessionId(), { 'x-api-key': KEYS.bob });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('UNAUTHENTICATED');
    expect(isOpen(alices.sessionId())).toBe(true);
    expect(textOf(await alices.client.callTool(ADD))).toBe('3');
  });

  it('a reload that changes the JWT issuer ends the sessions opened with JWTs, not those of API keys', async () => {
    const byJwt = await connect(gw.mcpUrl, { authorization: `Bearer ${await token('dave', 'mcp')}` });
    const byKey = await connect(gw.mcpUrl, { 'x-api-key': KEYS.alice });
    await reload(configOf([{ id: 'alice', groups: ['ops'] }], 'https://other-issuer.example.com'));
    expect(isOpen(byJwt.sessionId())).toBe(false);
    expect(isOpen(byKey.sessionId())).toBe(true);
    expect(textOf(await byKey.client.callTool(ADD))).toBe('3');
  });
});

describe('stored upstream credentials', () => {
  let upstream: HttpFixture;
  let users: RunningGateway;
  const storeFile = () => path.join(dir, 'credentials.json');

  beforeAll(async () => {
    upstream = await startHttpFixture({ mode: 'sessionful' });
    users = await startGateway({
      mcpServers: { crm: { type: 'http', url: upstream.url } },
      gateway: {
        servers: { crm: { credentials: 'user-oauth', userOAuth: { clientId: 'switchboard' } } },
        credentials: { key: CREDENTIALS_KEY, store: { type: 'file', path: storeFile() } },
        auth: { apiKeys: [{ id: 'alice', sha256: hashKey(KEYS.alice) }], jwt: { issuer: ISSUER, jwksUri: jwks.url } },
      },
    });
  });
  afterAll(async () => {
    await users?.close();
    await upstream?.close();
  });

  it("are not the JWT caller's when its sub equals the key's id", async () => {
    const byKey = await connect(users.mcpUrl, { 'x-api-key': KEYS.alice }, 'http', users);
    expect(await refusal(byKey.client.callTool({ name: 'crm__headers', arguments: {} }))).toBe('SIGN_IN_REQUIRED');
    // The key connects its upstream account: stored under whatever id the gateway gave the key's caller.
    const keyPrincipal = users.audit.find((r) => r.session === byKey.sessionId())!.principal as string;
    const store = new FileCredentialStore(storeFile(), CREDENTIALS_KEY);
    await store.put({
      principal: keyPrincipal,
      server: 'crm',
      accessToken: 'AT-of-the-key',
      tokenType: 'Bearer',
      obtainedAt: Date.now(),
      expiresAt: Date.now() + 3_600_000,
    });
    await store.close();
    const headers = await eventually(
      () => byKey.client.callTool({ name: 'crm__headers', arguments: {} }).then(textOf, () => ''),
      (text) => text !== '',
    );
    expect(JSON.parse(headers)).toMatchObject({ authorization: 'Bearer AT-of-the-key' });
    // A JWT whose sub is the key's id is asked to connect its own account instead.
    const jwt = signToken(key, { iss: ISSUER, aud: users.mcpUrl, sub: 'alice', scope: 'mcp' });
    const byJwt = await connect(users.mcpUrl, { authorization: `Bearer ${await jwt}` }, 'http', users);
    expect(await refusal(byJwt.client.callTool({ name: 'crm__headers', arguments: {} }))).toBe('SIGN_IN_REQUIRED');
  });
});
