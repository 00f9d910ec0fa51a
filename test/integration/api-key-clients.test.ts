/**
 * A gateway with API keys and no OAuth, met by clients that try OAuth on any
 * 401 (mcp-remote does, with the v1 SDK's auth flow): there is no metadata to
 * find, and the paths they fall back to say so and name the header to send,
 * so the client's error tells its user what to do.
 */
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { nodeServer, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';

const KEY = 'sk-api-key-clients';
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway({
    mcpServers: { ks: nodeServer(path.join(ROOT, 'test/fixtures/servers/stdio.mjs')) },
    gateway: { auth: { apiKeys: [{ id: 'bot', sha256: hashKey(KEY) }] } },
  });
});

afterAll(async () => {
  await gw?.close();
});

/** An OAuth client as mcp-remote builds one: nothing stored yet, dynamic registration next. */
function oauthAttempt(): OAuthClientProvider & { redirected: boolean } {
  return {
    redirected: false,
    get redirectUrl() {
      return 'http://127.0.0.1:1/oauth/callback';
    },
    get clientMetadata() {
      return { redirect_uris: ['http://127.0.0.1:1/oauth/callback'], client_name: 'probe', token_endpoint_auth_method: 'none' };
    },
    clientInformation: () => undefined,
    saveClientInformation: () => {},
    tokens: () => undefined,
    saveTokens: () => {},
    redirectToAuthorization() {
      this.redirected = true;
    },
    saveCodeVerifier: () => {},
    codeVerifier: () => 'verifier',
  };
}

describe('a gateway that takes API keys and has no authorization server', () => {
  it('answers a keyless request 401 with a bare challenge, pointing to no metadata', async () => {
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
      }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="switchboard"');
  });

  it('says at every discovery and registration path that there is none, and which header to send', async () => {
    for (const p of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/register',
    ]) {
      const res = await fetch(`${gw.url}${p}`, { method: p === '/register' ? 'POST' : 'GET' });
      expect(res.status, p).toBe(404);
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body.error, p).toBe('no_authorization_server');
      expect(body.error_description).toContain('X-API-Key');
    }
  });

  it("an OAuth client's failed attempt carries that explanation; with the header the same client connects", async () => {
    const provider = oauthAttempt();
    const client = new LegacyClient({ name: 'oauth-first', version: '1' });
    const error = await client.connect(new LegacyTransport(new URL(gw.mcpUrl), { authProvider: provider })).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toContain('no OAuth authorization server');
    expect(error?.message).toContain('X-API-Key');
    expect(provider.redirected).toBe(false);

    const keyed = new LegacyClient({ name: 'keyed', version: '1' });
    await keyed.connect(new LegacyTransport(new URL(gw.mcpUrl), { requestInit: { headers: { 'X-API-Key': KEY } } }));
    expect((await keyed.listTools()).tools.length).toBeGreaterThan(0);
    await keyed.close();
  });
});
