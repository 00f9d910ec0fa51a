/**
 * The gateway as an OAuth resource server: RFC 9728 metadata, exact 401/403
 * challenges, JWTs and API keys side by side, and the client's token never
 * reaching an upstream, which gets its own credential instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { hashKey } from '../../src/auth/api-keys.js';
import { FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { makeKey, signToken, startJwksServer, type JwksServer, type TestKey } from '../helpers/jwks-server.js';

const ISSUER = 'https://issuer.example.com';
type HttpFixture = { url: string; headersSeen: Record<string, string>[]; close(): Promise<void> };

let gw: RunningGateway;
let jwks: JwksServer;
let key: TestKey;
let fixture: HttpFixture;
let policies: string;

const token = (claims: Record<string, unknown>) =>
  signToken(key, { iss: ISSUER, aud: gw.mcpUrl, sub: 'alice', ...claims }, typeof claims.exp === 'number' ? { exp: claims.exp } : {});
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
};
const post = (body: unknown, headers: Record<string, string>) =>
  fetch(gw.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'jwt-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { requestInit: { headers } }));
  return client;
}

beforeAll(async () => {
  key = await makeKey('k1');
  jwks = await startJwksServer([key.jwk]);
  const { startHttpFixture } = (await import(new URL('../fixtures/servers/http.mjs', import.meta.url).href)) as {
    startHttpFixture: (o: { mode: string }) => Promise<HttpFixture>;
  };
  fixture = await startHttpFixture({ mode: 'legacy' });
  policies = mkdtempSync(path.join(tmpdir(), 'switchboard-jwt-'));
  writeFileSync(path.join(policies, 'p.yaml'), 'rules:\n  - id: add-needs-math\n    match: { tools: [add] }\n    effect: require\n    scopes: [math]\n');
  process.env.REMOTE_TOKEN = 'upstream-own-token';
  gw = await startGateway({
    mcpServers: {
      ks: nodeServer(path.join(FIXTURES, 'stdio.mjs')),
      remote: { type: 'http', url: fixture.url, headers: { Authorization: 'Bearer ${REMOTE_TOKEN}' } },
    },
    gateway: {
      policies,
      servers: { remote: { identityHeaders: { 'X-Switchboard-User': 'id', 'X-Switchboard-Groups': 'groups' } } },
      auth: { apiKeys: [{ id: 'bot', sha256: hashKey('sk-1') }], jwt: { issuer: ISSUER, jwksUri: jwks.url, scopesSupported: ['mcp', 'math'] } },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await jwks?.close();
  await fixture?.close();
  rmSync(policies, { recursive: true, force: true });
});

describe('protected-resource metadata (RFC 9728)', () => {
  it('is served at the root and path-inserted URLs', async () => {
    for (const p of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(`${gw.url}${p}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        resource: gw.mcpUrl,
        authorization_servers: [ISSUER],
        scopes_supported: ['mcp', 'math'],
        bearer_methods_supported: ['header'],
      });
    }
  });
});

describe('401 challenges', () => {
  it('no credential: a challenge naming the metadata', async () => {
    const res = await post(initialize, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer scope="mcp math", resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`);
  });

  it.each([
    ['wrong audience', { aud: 'https://elsewhere.example/mcp' }, 'audience'],
    ['wrong issuer', { iss: 'https://evil.example' }, 'issuer'],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 3600 }, 'expired'],
  ])('%s: invalid_token with the reason in the error data', async (_name, claims, reason) => {
    const res = await post(initialize, { Authorization: `Bearer ${await token(claims)}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", scope="mcp math", resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(((await res.json()) as { error: { data: unknown } }).error.data).toEqual({ code: 'UNAUTHENTICATED', reason });
  });
});

describe('a valid JWT', () => {
  it('connects like an API key does, with its own identity and scopes', async () => {
    const jwtClient = await connect({ Authorization: `Bearer ${await token({ scope: 'mcp math' })}` });
    const keyClient = await connect({ 'X-API-Key': 'sk-1' });
    try {
      expect((await jwtClient.callTool({ name: 'ks__add', arguments: { a: 1, b: 2 } })).content).toEqual([{ type: 'text', text: '3' }]);
      expect((await keyClient.listTools()).tools.map((t) => t.name)).not.toContain('ks__add');
      expect(gw.audit.some((r) => r.principal === `jwt:${ISSUER}#alice` && r.principalKind === 'jwt' && r.original === 'add' && r.outcome === 'ok')).toBe(true);
    } finally {
      await Promise.allSettled([jwtClient.close(), keyClient.close()]);
    }
  });

  it('lacking a required scope gets 403 insufficient_scope with the scopes to ask for', async () => {
    const bearer = `Bearer ${await token({ scope: 'mcp' })}`;
    const client = await connect({ Authorization: bearer });
    try {
      const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const res = await post(
        { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'ks__add', arguments: { a: 1, b: 2 } } },
        { Authorization: bearer, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
      );
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer error="insufficient_scope", scope="mcp math", resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`,
      );
      expect((await res.json()) as { id: number; error: { data: unknown } }).toMatchObject({
        id: 9,
        error: { data: { code: 'INSUFFICIENT_SCOPE', ruleId: 'add-needs-math', missingScopes: ['math'] } },
      });
    } finally {
      await client.close();
    }
  });

  it("answers an open session's POST with a bad or missing credential 401 with the challenge, and another principal's 403", async () => {
    const bearer = `Bearer ${await token({ scope: 'mcp' })}`;
    const client = await connect({ Authorization: bearer });
    try {
      const session = { 'mcp-session-id': (client.transport as StreamableHTTPClientTransport).sessionId!, 'mcp-protocol-version': '2025-11-25' };
      const ping = { jsonrpc: '2.0', id: 7, method: 'ping' };
      const credentials: Record<string, string>[] = [{}, { Authorization: 'Bearer not-a-valid-token' }, { Authorization: 'Bearer sk-wrong' }];
      for (const credential of credentials) {
        const res = await post(ping, { ...credential, ...session });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`);
        expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('UNAUTHENTICATED');
      }
      // A valid credential of someone else: the session id is not a credential.
      const other = await post(ping, { Authorization: 'Bearer sk-1', ...session });
      expect(other.status).toBe(403);
      expect(((await other.json()) as { error: { code: number } }).error.code).toBe(-32600);
      // The owner still gets through.
      const own = await post(ping, { Authorization: bearer, ...session });
      expect(own.status).toBe(200);
      expect(await own.json()).toMatchObject({ id: 7, result: {} });
    } finally {
      await client.close();
    }
  });

  it('never reaches an upstream, which sees only its own credential', async () => {
    const clientToken = await token({ scope: 'mcp', groups: ['sales', 'eu'] });
    const client = await connect({ Authorization: `Bearer ${clientToken}` });
    try {
      await client.callTool({ name: 'remote__echo', arguments: { text: 'hi' } });
      const authorizations = fixture.headersSeen.map((h) => h.authorization);
      expect(authorizations.length).toBeGreaterThan(0);
      expect(authorizations.every((a) => a === 'Bearer upstream-own-token')).toBe(true);
      expect(JSON.stringify(fixture.headersSeen)).not.toContain(clientToken);
      // Who is calling travels as configured identity headers, never as the credential.
      const call = fixture.headersSeen.find((h) => h['x-switchboard-user'] === `jwt:${ISSUER}#alice`);
      expect(call).toMatchObject({ 'x-switchboard-groups': 'sales,eu' });
    } finally {
      await client.close();
    }
  });
});
