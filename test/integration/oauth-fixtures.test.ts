/**
 * The fixtures for per-user upstream credentials, proven with real clients
 * only: the oidc-provider authorization server (test/fixtures/oauth/authorization-server.mjs)
 * and the bearer-protected MCP upstream (test/fixtures/servers/bearer-upstream.mjs),
 * driven by the MCP SDK's client-side OAuth functions and its Client.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Client,
  discoverOAuthServerInfo,
  exchangeAuthorization,
  extractWWWAuthenticateParams,
  refreshAuthorization,
  registerClient,
  startAuthorization,
  StreamableHTTPClientTransport,
  type AuthorizationServerMetadata,
  type OAuthClientInformationMixed,
  type OAuthTokens,
} from '@modelcontextprotocol/client';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ACCESS_TOKEN_TYPE,
  authorizeAs,
  startAuthorizationServer,
  TOKEN_EXCHANGE_GRANT,
  type AuthorizationServer,
} from '../fixtures/oauth/authorization-server.mjs';
import { ADMIN_TOOL, BEARER_UPSTREAM_TOOLS, itemsFor, startBearerUpstream, type BearerUpstream } from '../fixtures/servers/bearer-upstream.mjs';

let as: AuthorizationServer;
let up: BearerUpstream;
let metadata: AuthorizationServerMetadata;
/** A real callback listener (the part a gateway would own): records every query it gets. */
let callback: { server: Server; url: string; hits: URLSearchParams[] };
const clients: Client[] = [];

const text = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? '';

beforeAll(async () => {
  as = await startAuthorizationServer({ users: { alice: { email: 'alice@example.com' }, bob: {}, carol: {} } });
  up = await startBearerUpstream({ issuer: as.issuer, jwksUri: as.jwksUri });
  const hits: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    hits.push(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  callback = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, hits };
  const info = await discoverOAuthServerInfo(up.url);
  metadata = info.authorizationServerMetadata!;
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await up?.close();
  await as?.close();
  if (callback) {
    callback.server.closeAllConnections();
    await new Promise((resolve) => callback.server.close(resolve));
  }
});

/** Authorization code + PKCE for `user`, with the SDK's functions; the fixture plays the browser. */
async function login(user: string, clientInformation: OAuthClientInformationMixed, redirectUrl = callback.url): Promise<OAuthTokens> {
  const state = `state-${user}-${Math.random().toString(36).slice(2)}`;
  const { authorizationUrl, codeVerifier } = await startAuthorization(as.issuer, {
    metadata,
    clientInformation,
    redirectUrl,
    scope: 'mcp offline_access',
    state,
    resource: up.resource,
  });
  const back = new URL(await authorizeAs(authorizationUrl, user));
  expect(`${back.origin}${back.pathname}`).toBe(redirectUrl);
  expect(back.searchParams.get('state')).toBe(state);
  return exchangeAuthorization(as.issuer, {
    metadata,
    clientInformation,
    authorizationCode: back.searchParams.get('code')!,
    iss: back.searchParams.get('iss') ?? undefined,
    codeVerifier,
    redirectUri: redirectUrl,
    resource: up.resource,
  });
}

/** An SDK client to the upstream with a fixed bearer token (2025-era unless `modern`). */
async function connect(token: string, modern = false): Promise<Client> {
  const client = new Client({ name: 'oauth-fixtures', version: '1.0.0' }, modern ? { versionNegotiation: { mode: 'auto' } } : {});
  await client.connect(new StreamableHTTPClientTransport(new URL(up.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

/** A raw JSON-RPC POST to the upstream (for status codes and headers). */
function post(headers: Record<string, string>, body: unknown = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }): Promise<Response> {
  return fetch(up.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

function exchange(form: Record<string, string>, secret = as.clients.exchange.clientSecret): Promise<Response> {
  const basic = Buffer.from(`${encodeURIComponent(as.clients.exchange.clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  return fetch(as.endpoints.token, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

describe('discovery', () => {
  it('leads from the upstream 401 through RFC 9728 metadata to the RFC 8414 metadata of the AS', async () => {
    const denied = await post({});
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${up.resourceMetadataUrl}"`);
    const { resourceMetadataUrl, error } = extractWWWAuthenticateParams(denied);
    expect(resourceMetadataUrl?.href).toBe(up.resourceMetadataUrl);
    expect(error).toBeUndefined();

    const info = await discoverOAuthServerInfo(up.url, { resourceMetadataUrl });
    expect(info.resourceMetadata?.resource).toBe(up.resource);
    expect(info.resourceMetadata?.authorization_servers).toEqual([as.issuer]);
    expect(new URL(info.authorizationServerUrl).href).toBe(new URL(as.issuer).href);
    const md = info.authorizationServerMetadata!;
    expect(md.issuer).toBe(as.issuer);
    expect(md.token_endpoint).toBe(as.endpoints.token);
    expect(md.authorization_endpoint).toBe(as.endpoints.authorization);
    expect(md.registration_endpoint).toBe(as.endpoints.registration);
    expect(md).toMatchObject({ revocation_endpoint: as.endpoints.revocation });
    expect(md.code_challenge_methods_supported).toContain('S256');
    expect(md.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT]));

    // The RFC 8414 path and OpenID discovery serve one document; the root PRM form is served too.
    const rfc8414 = await (await fetch(as.metadataUrl)).json();
    const oidc = await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json();
    expect(rfc8414).toEqual(oidc);
    const root = await (await fetch(`${up.origin}/.well-known/oauth-protected-resource`)).json();
    expect(root).toEqual(info.resourceMetadata);
  });
});

describe('authorization code + PKCE, per user', () => {
  let alice: OAuthTokens;
  let bob: OAuthTokens;
  let bobClient: OAuthClientInformationMixed;

  beforeAll(async () => {
    // alice through the pre-registered public client, bob through a dynamically registered one.
    alice = await login('alice', { client_id: as.clients.public.clientId });
    bobClient = await registerClient(as.issuer, {
      metadata,
      clientMetadata: {
        client_name: 'dcr-test',
        redirect_uris: [callback.url],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      scope: 'mcp offline_access',
    });
    bob = await login('bob', bobClient);
  });

  it('registers clients dynamically', () => {
    expect(bobClient.client_id).toBeTruthy();
    expect(bobClient.client_id).not.toBe(as.clients.public.clientId);
    expect(as.requests.some((r) => r.route === 'registration' && r.status === 201)).toBe(true);
  });

  it('issues JWT access tokens for the resource, with the user as sub, and refresh tokens', () => {
    for (const [user, tokens, clientId] of [
      ['alice', alice, as.clients.public.clientId],
      ['bob', bob, bobClient.client_id],
    ] as const) {
      const claims = decodeJwt(tokens.access_token);
      expect(claims).toMatchObject({ iss: as.issuer, aud: up.resource, sub: user, client_id: clientId, scope: 'mcp' });
      expect(tokens.token_type).toMatch(/^bearer$/i);
      expect(tokens.refresh_token).toBeTruthy();
    }
    expect(as.logins.filter((l) => l.step === 'consent').map((l) => l.user)).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('gives each user their own identity, items and catalog at the upstream', async () => {
    const [a, b] = await Promise.all([connect(alice.access_token), connect(bob.access_token)]);
    expect(text(await a.callTool({ name: 'whoami', arguments: {} }))).toBe('alice');
    expect(text(await b.callTool({ name: 'whoami', arguments: {} }))).toBe('bob');
    expect(JSON.parse(text(await b.callTool({ name: 'list_user_items', arguments: {} })))).toEqual({ owner: 'bob', items: itemsFor('bob') });

    const aTools = (await a.listTools()).tools.map((t) => t.name);
    const bTools = (await b.listTools()).tools.map((t) => t.name);
    expect(aTools.sort()).toEqual([...BEARER_UPSTREAM_TOOLS, ADMIN_TOOL].sort());
    expect(bTools.sort()).toEqual([...BEARER_UPSTREAM_TOOLS].sort());

    const info = JSON.parse(text(await a.callTool({ name: 'token_info', arguments: {} })));
    expect(info).toMatchObject({ sub: 'alice', aud: up.resource, iss: as.issuer, client_id: as.clients.public.clientId, scope: 'mcp' });
    expect(JSON.stringify(info)).not.toContain(alice.access_token);
    expect(up.seenTokens).toContain(alice.access_token);
    expect(up.seenAuthorizationHeaders).toContain(`Bearer ${bob.access_token}`);
    expect(
      up
        .sessions()
        .map((s) => s.sub)
        .sort(),
    ).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('serves 2026-07-28 clients per request with the same per-user catalogs', async () => {
    const a = await connect(alice.access_token, true);
    const b = await connect(bob.access_token, true);
    expect(a.getProtocolEra()).toBe('modern');
    expect(text(await a.callTool({ name: 'whoami', arguments: {} }))).toBe('alice');
    expect(text(await b.callTool({ name: 'whoami', arguments: {} }))).toBe('bob');
    expect((await a.listTools()).tools.map((t) => t.name)).toContain(ADMIN_TOOL);
    expect((await b.listTools()).tools.map((t) => t.name)).not.toContain(ADMIN_TOOL);
  });

  it("refuses one user's token on another user's session", async () => {
    const opened = await post({ authorization: `Bearer ${alice.access_token}` }, INIT);
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id')!;
    await opened.body?.cancel();
    const before = up.sessionMismatches();
    const hijack = await post({ authorization: `Bearer ${bob.access_token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    expect(hijack.status).toBe(403);
    expect(up.sessionMismatches()).toBe(before + 1);
  });

  it('follows to the callback when asked to', async () => {
    const { authorizationUrl } = await startAuthorization(as.issuer, {
      metadata,
      clientInformation: { client_id: as.clients.public.clientId },
      redirectUrl: callback.url,
      scope: 'mcp',
      state: 'follow-me',
      resource: up.resource,
    });
    const followed = await authorizeAs(authorizationUrl, 'carol', { follow: true });
    expect(followed.status).toBe(200);
    expect(followed.body).toBe('signed in');
    expect(callback.hits.at(-1)?.get('state')).toBe('follow-me');
    expect(callback.hits.at(-1)?.get('code')).toBeTruthy();

    const denied = new URL(await authorizeAs(authorizationUrl, 'carol', { deny: true }));
    expect(denied.searchParams.get('error')).toBe('access_denied');
    const unknown = new URL(await authorizeAs(authorizationUrl, 'mallory'));
    expect(unknown.searchParams.get('error')).toBe('access_denied');
  });

  it('revokes refresh tokens', async () => {
    const tokens = await login('carol', { client_id: as.clients.public.clientId });
    const revoked = await fetch(as.endpoints.revocation, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: 'refresh_token', client_id: as.clients.public.clientId }),
    });
    expect(revoked.status).toBe(200);
    await expect(
      refreshAuthorization(as.issuer, {
        metadata,
        clientInformation: { client_id: as.clients.public.clientId },
        refreshToken: tokens.refresh_token!,
        resource: up.resource,
      }),
    ).rejects.toThrow(/invalid_grant|grant request is invalid/i);
  });
});

describe('expiry and refresh', () => {
  it('rejects an expired token with 401, and a refreshed one works on the same session', async () => {
    as.settings.accessTokenTtlS = 3;
    let tokens: OAuthTokens;
    try {
      tokens = await login('bob', { client_id: as.clients.public.clientId });
    } finally {
      as.settings.accessTokenTtlS = 300;
    }
    const exp = decodeJwt(tokens.access_token).exp!;
    expect(exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3);

    // The token travels through a fetch wrapper, so the session can outlive it.
    let current = tokens.access_token;
    const client = new Client({ name: 'refresher', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(up.url), {
      fetch: (url, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${current}`);
        return fetch(url, { ...init, headers });
      },
    });
    await client.connect(transport);
    clients.push(client);
    expect(text(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob');

    // Past the token's expiry without waiting for it: the authorization server and the upstream run in this
    // process and read Date, so the clock is moved on for both (timers stay real).
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(exp * 1000 + 100);
      const expired = await post({ authorization: `Bearer ${tokens.access_token}` });
      expect(expired.status).toBe(401);
      expect(extractWWWAuthenticateParams(expired).error).toBe('invalid_token');
      await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow();

      const refreshes = as.tokenRequestCount('refresh_token', 200);
      const refreshed = await refreshAuthorization(as.issuer, {
        metadata,
        clientInformation: { client_id: as.clients.public.clientId },
        refreshToken: tokens.refresh_token!,
        resource: up.resource,
      });
      expect(as.tokenRequestCount('refresh_token', 200)).toBe(refreshes + 1);
      expect(refreshed.access_token).not.toBe(tokens.access_token);
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token); // rotated for public clients
      expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: 'bob', aud: up.resource });
      current = refreshed.access_token;
      expect(text(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob');
      expect(up.sessions().filter((s) => s.id === transport.sessionId)).toEqual([{ id: transport.sessionId, sub: 'bob' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a missing, foreign-audience or foreign-signed token with 401', async () => {
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(extractWWWAuthenticateParams(missing).error).toBeUndefined();

    const otherAudience = await as.mintAccessToken({ sub: 'alice', audience: 'http://127.0.0.1:1/elsewhere' });
    const stale = await as.mintAccessToken({ sub: 'alice', audience: up.resource, expiresInS: -60 });
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ client_id: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'forged', typ: 'at+jwt' })
      .setIssuer(as.issuer)
      .setAudience(up.resource)
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(privateKey);
    for (const token of [otherAudience, stale, forged]) {
      const res = await post({ authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${up.resourceMetadataUrl}"`);
      expect(extractWWWAuthenticateParams(res).error).toBe('invalid_token');
    }
    const valid = await as.mintAccessToken({ sub: 'alice', audience: up.resource });
    expect((await post({ authorization: `Bearer ${valid}` }, INIT)).status).toBe(200);
  });
});

describe('RFC 8693 token exchange', () => {
  it("swaps an organisation token for an upstream token with the subject's sub and the client as actor", async () => {
    const subjectToken = await as.signSubjectToken('carol', { email: 'carol@example.com' });
    const res = await exchange({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: up.resource,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: 300, scope: 'mcp' });
    const token = String(body.access_token);
    expect(decodeJwt(token)).toMatchObject({
      iss: as.issuer,
      aud: up.resource,
      sub: 'carol',
      act: { sub: as.clients.exchange.clientId },
    });
    expect(as.exchanges.at(-1)).toMatchObject({ ok: true, subjectToken, sub: 'carol', audience: up.resource, subjectIssuer: as.orgIssuer });

    const client = await connect(token);
    expect(text(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('carol');
    const info = JSON.parse(text(await client.callTool({ name: 'token_info', arguments: {} })));
    expect(info.act).toEqual({ sub: as.clients.exchange.clientId });
    // The token the "gateway" received from its client never reached the upstream.
    expect(up.seenTokens).not.toContain(subjectToken);
    expect(up.seenAuthorizationHeaders.some((h) => h.includes(subjectToken))).toBe(false);
  });

  it('also accepts its own tokens issued to another audience (the gateway), via `audience`', async () => {
    const gatewayToken = await as.mintAccessToken({ sub: 'alice', audience: 'http://127.0.0.1:1/gateway' });
    const res = await exchange({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: gatewayToken, subject_token_type: ACCESS_TOKEN_TYPE, audience: up.resource });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({ sub: 'alice', aud: up.resource, act: { sub: as.clients.exchange.clientId } });

    // `audience` and `resource` naming the same target, with requested_token_type, as a gateway may send them.
    const both = await exchange({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: gatewayToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: up.resource,
      resource: up.resource,
      scope: 'mcp',
    });
    expect(both.status).toBe(200);
    const two = await exchange({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: gatewayToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: up.resource,
      resource: 'http://127.0.0.1:1/other',
    });
    expect(two.status).toBe(400);
    expect(((await two.json()) as { error: string }).error).toBe('invalid_target');
  });

  it('refuses a bad client secret, an untrusted subject token and a missing resource', async () => {
    const subjectToken = await as.signSubjectToken('carol');
    const form = { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, resource: up.resource };
    expect((await exchange(form, 'wrong-secret')).status).toBe(401);

    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const untrusted = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'x' })
      .setIssuer('https://idp.untrusted.example')
      .setSubject('carol')
      .setExpirationTime('5m')
      .sign(privateKey);
    const refused = await exchange({ ...form, subject_token: untrusted });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
    expect(as.exchanges.at(-1)).toMatchObject({ ok: false, subjectIssuer: 'https://idp.untrusted.example' });

    const { resource: _resource, ...noResource } = form;
    const noTarget = await exchange(noResource);
    expect(noTarget.status).toBe(400);
    expect(((await noTarget.json()) as { error: string }).error).toBe('invalid_target');

    // A trusted external issuer (e.g. the gateway's own identity provider) is accepted once configured.
    const other = await startAuthorizationServer({
      trustedSubjectIssuers: [{ issuer: 'https://idp.untrusted.example', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'x', alg: 'ES256' }] } }],
    });
    try {
      const basic = Buffer.from(`${other.clients.exchange.clientId}:${other.clients.exchange.clientSecret}`).toString('base64');
      const ok = await fetch(other.endpoints.token, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...form, subject_token: untrusted }),
      });
      expect(ok.status).toBe(200);
      expect(other.tokenRequestCount(TOKEN_EXCHANGE_GRANT, 200)).toBe(1);
    } finally {
      await other.close();
    }
  });
});
