import { describe, expect, it } from 'vitest';
import { GatewayError, JsonRpc } from '../../../src/core/errors.js';
import type { Principal } from '../../../src/core/principal.js';
import { Admission, ADMISSION_ORDER, type AdmissionOptions } from '../../../src/http/admission.js';
import type { View } from '../../../src/pipeline/view.js';

const alice: Principal = { id: 'apikey:alice', kind: 'apikey', subject: 'alice', scopes: ['read'], groups: [], claims: {} };
const mallory: Principal = { ...alice, id: 'apikey:mallory', subject: 'mallory' };
const viewA = { profile: 'a' } as unknown as View;
const viewB = { profile: 'b' } as unknown as View;

function admission(overrides: Partial<AdmissionOptions> = {}): Admission {
  const sessions = new Map([['s1', { principal: alice, view: viewA }]]);
  return new Admission({
    origins: { listen: { host: '127.0.0.1' }, allowedHosts: [], allowedOrigins: [] },
    authenticate: async (headers) => {
      if (headers['x-api-key'] === 'good') return alice;
      if (headers['x-api-key'] === 'down') throw new GatewayError('UNAUTHENTICATED', 'Keys unavailable', { reason: 'unavailable' });
      if (headers['x-api-key'] === 'bug') throw new TypeError('boom');
      throw new GatewayError('UNAUTHENTICATED', 'Invalid credential', { reason: 'invalid' });
    },
    sessions: { get: (id: string) => sessions.get(id) as never },
    ...overrides,
  });
}

describe('Admission: the ordered HTTP checks', () => {
  it('names its order: Host/Origin, authentication, body, scope step-up, session', () => {
    expect(ADMISSION_ORDER).toEqual(['host-and-origin', 'authenticate', 'body', 'scope-step-up', 'session']);
  });

  it('refuses a foreign Host with 403, a malformed one with 400, and a foreign Origin with 403', () => {
    const a = admission();
    expect(a.hostAndOrigin({ host: '127.0.0.1:8080' })).toBeUndefined();
    expect(a.hostAndOrigin({ host: 'evil.example' })).toMatchObject({ status: 403, body: { error: { code: JsonRpc.INVALID_REQUEST } } });
    expect(a.hostAndOrigin({ host: 'localhost:1@evil.example' })).toMatchObject({ status: 400 });
    expect(a.hostAndOrigin({ host: 'localhost', origin: 'https://evil.example' })).toMatchObject({ status: 403 });
  });

  it('answers a bad credential 401 with a Bearer challenge, and unreachable keys 503 with Retry-After', async () => {
    const a = admission();
    expect((await a.authenticate({ 'x-api-key': 'good' })).principal).toBe(alice);
    const bad = await a.authenticate({ 'x-api-key': 'nope' });
    expect(bad.refusal).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="switchboard"' }, body: { error: { code: -32006 } } });
    const down = await a.authenticate({ 'x-api-key': 'down' });
    expect(down.refusal).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
  });

  it('points a 401 to the protected-resource metadata when bearer tokens are accepted', async () => {
    const a = admission({
      protectedResource: { resource: () => 'https://gw.example/mcp', authorizationServers: ['https://idp.example'], scopesSupported: ['read'] },
    });
    const { refusal } = await a.authenticate({});
    expect(refusal?.headers?.['WWW-Authenticate']).toContain('resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp"');
  });

  it('throws what is not an authentication failure: a fault is not a 401', async () => {
    await expect(admission().authenticate({ 'x-api-key': 'bug' })).rejects.toThrow('boom');
  });

  it('binds a session to its principal and to the endpoint it was opened on', () => {
    const a = admission();
    expect(a.session('s1', alice, viewA)).toBeUndefined();
    expect(a.session('s1', mallory, viewA)).toMatchObject({ status: 403 });
    expect(a.session('s1', alice, viewB)).toMatchObject({ status: 404, body: { error: { code: JsonRpc.SESSION_NOT_FOUND } } });
    expect(a.session('nope', alice, viewA)).toMatchObject({ status: 404 });
  });

  it('asks for no step-up without bearer JWTs configured, or for an API-key caller', () => {
    expect(admission().scopes({ 'x-api-key': 'good' }, { method: 'tools/call' }, alice)).toBeUndefined();
    const shortfall = () => ({ effect: 'deny', missingScopes: ['write'] }) as never;
    const a = admission({
      protectedResource: { resource: () => 'https://gw.example/mcp', authorizationServers: [], scopesSupported: [] },
      scopeShortfall: shortfall,
    });
    expect(a.scopes({ 'x-api-key': 'good' }, { method: 'tools/call' }, alice)).toBeUndefined();
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';
    const refused = a.scopes({ authorization: `Bearer ${jwt}` }, { jsonrpc: '2.0', id: 7, method: 'tools/call' }, alice);
    expect(refused).toMatchObject({ status: 403, body: { id: 7 } });
    expect(refused?.headers?.['WWW-Authenticate']).toMatch(/error="insufficient_scope".*scope="read write"/);
  });
});
